"""Differentiable layers: each a Function whose forward and backward call one fastconv.ops
pair, plus the fused paths (conv + ReLU, batch-norm + ReLU, residual add + ReLU).

Arguments and defaults follow torch.nn.functional. Inputs may be Tensors or ndarrays;
outputs are Tensors, recorded for backward when an input requires grad.
"""
import numpy as np

from fastconv import ops
from fastconv.ops.batchnorm import _batch_norm_relu
from fastconv.ops.conv import _conv2d_batch_norm, _conv2d_bias_relu, _conv2d_relu_max_pool2d
from fastconv.autograd import Function, Tensor, unbroadcast
from fastconv.random import generator

__all__ = [
    "conv1d", "conv2d", "conv2d_relu", "conv2d_relu_max_pool2d", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d",
    "batch_norm", "batch_norm_relu", "conv2d_batch_norm", "linear", "relu", "leaky_relu",
    "sigmoid", "tanh",
    "softmax", "log_softmax", "dropout", "cross_entropy", "mse_loss", "add_relu", "flatten",
    "l1_penalty", "l2_penalty",
]


def _data(x):
    return x.data if isinstance(x, Tensor) else x


# ---- convolution ---------------------------------------------------------------------------

class _Conv(Function):
    forward_op = backward_op = None

    def forward(self, x, weight, bias, **geometry):
        self.save_for_backward(x, weight)
        self.geometry = geometry
        return type(self).forward_op(x, weight, bias, **geometry)

    def backward(self, grad_out):
        x, weight = self.saved_tensors
        # Only the gradients that flow somewhere are computed: no grad_x for a network's
        # first layer, no grad_weight for frozen filters.
        return type(self).backward_op(grad_out, x, weight, output_mask=self.needs_input_grad,
                                      **self.geometry)


class Conv2d(_Conv):
    forward_op, backward_op = staticmethod(ops.conv2d), staticmethod(ops.conv2d_backward)


class Conv1d(_Conv):
    forward_op, backward_op = staticmethod(ops.conv1d), staticmethod(ops.conv1d_backward)


class Conv2dReLU(Function):
    """relu(conv2d(x)) as one node: the conv kernel applies bias and ReLU as it writes each
    output tile, and only the output is kept (its sign is the ReLU mask), not the
    pre-activation."""

    def forward(self, x, weight, bias, **geometry):
        out = _conv2d_bias_relu(x, weight, bias, **geometry)
        self.save_for_backward(x, weight, out)
        self.geometry = geometry
        return out

    def backward(self, grad_out):
        x, weight, out = self.saved_tensors
        grad_pre = ops.relu_backward(grad_out, out)   # out > 0 exactly where conv(x) > 0
        return ops.conv2d_backward(grad_pre, x, weight, output_mask=self.needs_input_grad,
                                   **self.geometry)


class Conv2dReLUMaxPool2d(Function):
    """max_pool2d(relu(conv2d(x))) as one node. Backward needs the ReLU mask only where the
    pool sends a gradient, at its windows' maxima, where the conv output equals the pooled
    output: the mask is applied to the pooled gradient (4x smaller for 2x2 windows) before
    it is scattered, with the same result bit for bit, and the conv output is not kept (with
    2x2 stride-2 pooling over a layer a direct kernel runs, not even written: the kernel
    pools its own output)."""

    def forward(self, x, weight, bias, geometry, pool):
        out, self.indices, self.activation_shape = _conv2d_relu_max_pool2d(
            x, weight, bias, **geometry, pool=pool)
        self.save_for_backward(x, weight, out)
        self.geometry = geometry
        return out

    def backward(self, grad_out):
        x, weight, out = self.saved_tensors
        grad_pre = ops.max_pool2d_backward(ops.relu_backward(grad_out, out), self.indices,
                                           self.activation_shape)
        return ops.conv2d_backward(grad_pre, x, weight, output_mask=self.needs_input_grad,
                                   **self.geometry)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) over (N, C, H, W); see fastconv.ops.conv2d."""
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C, L); see fastconv.ops.conv1d."""
    return Conv1d.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)


def conv2d_relu(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """relu(conv2d(x, weight, bias, ...)) with one recorded node (fused path)."""
    return Conv2dReLU.apply(x, weight, bias, stride=stride, padding=padding,
                            dilation=dilation, groups=groups)


def conv2d_relu_max_pool2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                           kernel_size, pool_stride=None, pool_padding=0, pool_dilation=1,
                           ceil_mode=False):
    """max_pool2d(relu(conv2d(x, weight, bias, stride, padding, dilation, groups)),
    kernel_size, pool_stride, pool_padding, pool_dilation, ceil_mode) with one recorded node
    (fused path: the ReLU mask is applied to the pooled gradient)."""
    return Conv2dReLUMaxPool2d.apply(
        x, weight, bias,
        geometry=dict(stride=stride, padding=padding, dilation=dilation, groups=groups),
        pool=dict(kernel_size=kernel_size, stride=pool_stride, padding=pool_padding,
                  dilation=pool_dilation, ceil_mode=ceil_mode))


# ---- pooling -------------------------------------------------------------------------------

class MaxPool2d(Function):
    def forward(self, x, **options):
        out, self.indices = ops.max_pool2d(x, return_indices=True, **options)
        self.input_shape = x.shape
        return out

    def backward(self, grad_out):
        return ops.max_pool2d_backward(grad_out, self.indices, self.input_shape)


class AvgPool2d(Function):
    def forward(self, x, **options):
        self.input_shape, self.options = x.shape, options
        return ops.avg_pool2d(x, **options)

    def backward(self, grad_out):
        return ops.avg_pool2d_backward(grad_out, self.input_shape, **self.options)


class AdaptiveAvgPool2d(Function):
    def forward(self, x, output_size):
        self.input_shape = x.shape
        return ops.adaptive_avg_pool2d(x, output_size)

    def backward(self, grad_out):
        return ops.adaptive_avg_pool2d_backward(grad_out, self.input_shape)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pooling over (N, C, H, W); see fastconv.ops.max_pool2d."""
    return MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           dilation=dilation, ceil_mode=ceil_mode)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Average pooling over (N, C, H, W); see fastconv.ops.avg_pool2d."""
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                           divisor_override=divisor_override)


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed output size; see fastconv.ops.adaptive_avg_pool2d."""
    return AdaptiveAvgPool2d.apply(x, output_size=output_size)


# ---- batch normalisation -------------------------------------------------------------------

class BatchNorm(Function):
    def forward(self, x, weight, bias, relu=False, **options):
        normalise = _batch_norm_relu if relu else ops.batch_norm
        if not self.recording:
            return normalise(x, weight=weight, bias=bias, **options)
        y, mean, invstd = normalise(x, weight=weight, bias=bias, return_stats=True, **options)
        # Batch statistics are used in training, and in eval without running buffers.
        self.batch_stats = options["training"] or (
            options["running_mean"] is None and options["running_var"] is None)
        self.save_for_backward(x, weight, mean, invstd, y if relu else None)
        return y

    def backward(self, grad_out):
        x, weight, mean, invstd, relu_out = self.saved_tensors
        if relu_out is not None:
            grad_out = ops.relu_backward(grad_out, relu_out)
        return ops.batch_norm_backward(grad_out, x, mean, invstd, weight,
                                       training=self.batch_stats)


def _bn_options(running_mean, running_var, training, momentum, eps, num_batches_tracked):
    if num_batches_tracked is not None:
        num_batches_tracked = int(_data(num_batches_tracked))
    return dict(running_mean=_data(running_mean), running_var=_data(running_var),
                training=training, momentum=momentum, eps=eps,
                num_batches_tracked=num_batches_tracked)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, num_batches_tracked=None):
    """Batch normalisation over axis 1 of (N, C), (N, C, L) or (N, C, H, W).

    As torch.nn.functional.batch_norm: in training, normalise with the batch statistics and
    update running_mean / running_var (Tensors or ndarrays, written IN PLACE) with
    `momentum` (None: cumulative average, with num_batches_tracked the count of batches
    including this one); in eval, use the running statistics, or the batch's when both are
    None. See fastconv.ops.batch_norm.
    """
    return BatchNorm.apply(x, weight, bias, **_bn_options(
        running_mean, running_var, training, momentum, eps, num_batches_tracked))


def batch_norm_relu(x, running_mean, running_var, weight=None, bias=None, training=False,
                    momentum=0.1, eps=1e-5, num_batches_tracked=None):
    """relu(batch_norm(...)) as one recorded node (fused path; keeps only the output)."""
    return BatchNorm.apply(x, weight, bias, relu=True, **_bn_options(
        running_mean, running_var, training, momentum, eps, num_batches_tracked))


class Conv2dBatchNorm(Function):
    """batch_norm(conv2d(x)) with running statistics (eval mode), then ReLU if asked, as one
    node: one check of the arguments and the same kernels as the two layers, so the same
    bits. Backward is batch-norm's eval-mode backward (from the kept conv output) then the
    convolution's; nothing is kept when the call is not recorded."""

    def forward(self, x, weight, bias, bn_weight, bn_bias, *, running_mean, running_var, eps,
                relu, geometry):
        result = _conv2d_batch_norm(x, weight, bias, **geometry, running_mean=running_mean,
                                    running_var=running_var, bn_weight=bn_weight,
                                    bn_bias=bn_bias, eps=eps, relu=relu,
                                    keep_conv_output=self.recording)
        if not self.recording:
            return result
        conv_out, y, mean, invstd = result
        self.save_for_backward(x, weight, conv_out, bn_weight, mean, invstd, y if relu else None)
        self.geometry = geometry
        return y

    def backward(self, grad_out):
        x, weight, conv_out, bn_weight, mean, invstd, relu_out = self.saved_tensors
        if relu_out is not None:
            grad_out = ops.relu_backward(grad_out, relu_out)
        grad_conv_out, grad_bn_weight, grad_bn_bias = ops.batch_norm_backward(
            grad_out, conv_out, mean, invstd, bn_weight, training=False)
        grad_x, grad_weight, grad_bias = ops.conv2d_backward(
            grad_conv_out, x, weight, output_mask=self.needs_input_grad[:3], **self.geometry)
        return grad_x, grad_weight, grad_bias, grad_bn_weight, grad_bn_bias


def conv2d_batch_norm(x, weight, bias, running_mean, running_var, bn_weight=None, bn_bias=None,
                      eps=1e-5, relu=False, stride=1, padding=0, dilation=1, groups=1):
    """batch_norm(conv2d(x, weight, bias, stride, padding, dilation, groups), running_mean,
    running_var, bn_weight, bn_bias, training=False, eps=eps), then relu if `relu`, as one
    recorded node (eval-mode batch-norm folded onto its convolution: the same bits as the
    two calls, with less Python in between). running_mean and running_var are required."""
    return Conv2dBatchNorm.apply(
        x, weight, bias, bn_weight, bn_bias, running_mean=_data(running_mean),
        running_var=_data(running_var), eps=eps, relu=relu,
        geometry=dict(stride=stride, padding=padding, dilation=dilation, groups=groups))


# ---- linear and activations ----------------------------------------------------------------

class Linear(Function):
    def forward(self, x, weight, bias):
        self.save_for_backward(x, weight)
        return ops.linear(x, weight, bias)

    def backward(self, grad_out):
        x, weight = self.saved_tensors
        return ops.linear_backward(grad_out, x, weight)


def linear(x, weight, bias=None):
    """x @ weight.T + bias over the last axis; see fastconv.ops.linear."""
    return Linear.apply(x, weight, bias)


class ReLU(Function):
    def forward(self, x):
        self.out = ops.relu(x)
        return self.out

    def backward(self, grad_out):
        return ops.relu_backward(grad_out, self.out)   # out > 0 exactly where x > 0


class LeakyReLU(Function):
    def forward(self, x, negative_slope):
        self.x, self.negative_slope = x, negative_slope
        return ops.leaky_relu(x, negative_slope)

    def backward(self, grad_out):
        return ops.leaky_relu_backward(grad_out, self.x, self.negative_slope)


class Sigmoid(Function):
    def forward(self, x):
        self.out = ops.sigmoid(x)
        return self.out

    def backward(self, grad_out):
        return ops.sigmoid_backward(grad_out, self.out)


class Tanh(Function):
    def forward(self, x):
        self.out = ops.tanh(x)
        return self.out

    def backward(self, grad_out):
        return ops.tanh_backward(grad_out, self.out)


class Softmax(Function):
    def forward(self, x, dim):
        self.out, self.dim = ops.softmax(x, dim), dim
        return self.out

    def backward(self, grad_out):
        return ops.softmax_backward(grad_out, self.out, self.dim)


class LogSoftmax(Function):
    def forward(self, x, dim):
        self.out, self.dim = ops.log_softmax(x, dim), dim
        return self.out

    def backward(self, grad_out):
        return ops.log_softmax_backward(grad_out, self.out, self.dim)


def relu(x):
    return ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def sigmoid(x):
    return Sigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)


def softmax(x, dim=-1):
    return Softmax.apply(x, dim=dim)


def log_softmax(x, dim=-1):
    return LogSoftmax.apply(x, dim=dim)


class AddReLU(Function):
    """relu(a + b), the end of a residual block, as one node keeping only the output."""

    def forward(self, a, b):
        self.shapes = np.shape(a), np.shape(b)
        self.out = ops.relu(np.add(a, b))
        return self.out

    def backward(self, grad_out):
        grad = ops.relu_backward(grad_out, self.out)
        return tuple(unbroadcast(grad, s) if need else None
                     for s, need in zip(self.shapes, self.needs_input_grad))


def add_relu(a, b):
    """relu(a + b) (broadcasting) with one recorded node (fused residual path)."""
    return AddReLU.apply(a, b)


def flatten(x, start_dim=1, end_dim=-1):
    """Merge axes start_dim..end_dim into one (a differentiable reshape)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    return x.flatten(start_dim, end_dim)


# ---- dropout -------------------------------------------------------------------------------

class Dropout(Function):
    def forward(self, x, p, rng):
        out, self.mask = ops.dropout(x, p, rng=rng, training=True)
        self.p = p
        return out

    def backward(self, grad_out):
        return ops.dropout_backward(grad_out, self.mask, self.p)


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout: zero each element with probability p and scale the rest by
    1 / (1 - p). The mask is drawn from `rng`, or from fastconv's shared generator (seeded
    by fastconv.manual_seed) when rng is None. Identity (the input itself) when not
    training or p == 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x if isinstance(x, Tensor) else Tensor(x)
    return Dropout.apply(x, p=p, rng=generator() if rng is None else rng)


# ---- losses --------------------------------------------------------------------------------

class CrossEntropy(Function):
    def forward(self, logits, target, reduction, label_smoothing):
        self.logits, self.target = logits, target
        self.options = dict(reduction=reduction, label_smoothing=label_smoothing)
        return ops.cross_entropy(logits, target, **self.options)

    def backward(self, grad_out):
        return ops.cross_entropy_backward(self.logits, self.target, grad_out=grad_out,
                                          **self.options), None


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of (N, C) logits against (N,) integer class targets (a Tensor or an
    ndarray; never differentiated); see fastconv.ops.cross_entropy."""
    return CrossEntropy.apply(logits, _data(target), reduction=reduction,
                              label_smoothing=label_smoothing)


class MSE(Function):
    def forward(self, input, target, reduction):
        self.input, self.target, self.reduction = input, target, reduction
        return ops.mse_loss(input, target, reduction)

    def backward(self, grad_out):
        grad = ops.mse_loss_backward(self.input, self.target, self.reduction, grad_out)
        need_input, need_target = self.needs_input_grad
        return grad if need_input else None, -grad if need_target else None


def mse_loss(input, target, reduction="mean"):
    """Mean squared error; both input and target may require grad."""
    return MSE.apply(input, target, reduction=reduction)


# ---- regularisation terms ------------------------------------------------------------------

class _Penalty(Function):
    def forward(self, *params):
        self.params = params
        dtype = np.result_type(*params) if params else np.float64
        return np.asarray(sum(float(self.value(p)) for p in params), dtype)

    def backward(self, grad_out):
        return tuple(grad_out * self.grad(p) if need else None
                     for p, need in zip(self.params, self.needs_input_grad))


class L1Penalty(_Penalty):
    @staticmethod
    def value(p):
        return np.sum(np.abs(p), dtype=np.float64)

    @staticmethod
    def grad(p):
        return np.sign(p)


class L2Penalty(_Penalty):
    @staticmethod
    def value(p):
        return np.sum(np.square(p, dtype=np.float64))

    @staticmethod
    def grad(p):
        return 2 * p


def l1_penalty(params):
    """sum over params of sum(|p|), a scalar Tensor: add `lam * l1_penalty(model.parameters())`
    to the loss for L1 regularisation (the subgradient at 0 is 0)."""
    return L1Penalty.apply(*params)


def l2_penalty(params):
    """sum over params of sum(p ** 2), a scalar Tensor (no 1/2 factor, as Keras' l2): adding
    `lam * l2_penalty(...)` adds 2 * lam * p to each gradient, i.e. weight decay 2 * lam
    for plain SGD."""
    return L2Penalty.apply(*params)
