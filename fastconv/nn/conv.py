"""Convolution layers: Conv1d and Conv2d over (N, C, L) and (N, C, H, W)."""
import numpy as np

from fastconv.nn import functional as F
from fastconv.nn import init
from fastconv.nn.module import Module, Parameter


def _tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


class _ConvNd(Module):
    _nd = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, dtype=np.float32):
        super().__init__()
        n = self._nd
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) "
                             f"must be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _tuple(kernel_size, n), _tuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation = _tuple(dilation, n)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups)
                                         + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_weight_and_bias_(self.weight, self.bias)

    def _geometry(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    def extra_repr(self):
        n = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution: weight (out_channels, in_channels / groups, kernel_size)."""
    _nd = 1

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, **self._geometry())


class Conv2d(_ConvNd):
    """2-D convolution: weight (out_channels, in_channels / groups, kh, kw), PyTorch's
    default initialisation (Kaiming-uniform with a = sqrt(5), bias U(+-1/sqrt(fan_in)))."""
    _nd = 2

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, **self._geometry())

    def forward_relu(self, x):
        """relu(self(x)) through the fused conv + ReLU path (module hooks are not run)."""
        return F.conv2d_relu(x, self.weight, self.bias, **self._geometry())

    def forward_batch_norm(self, x, bn, relu=False):
        """bn(self(x)), then ReLU if `relu`, for an nn.BatchNorm2d `bn` that normalises with
        its running statistics (eval mode, track_running_stats=True), through the fused conv
        + batch-norm path: the same bits, one recorded node (module hooks are not run)."""
        return F.conv2d_batch_norm(x, self.weight, self.bias, bn.running_mean, bn.running_var,
                                   bn.weight, bn.bias, bn.eps, relu, **self._geometry())

    def forward_relu_max_pool(self, x, pool):
        """pool(relu(self(x))) for an nn.MaxPool2d `pool`, through the fused conv + ReLU +
        max-pool path (module hooks are not run)."""
        return F.conv2d_relu_max_pool2d(
            x, self.weight, self.bias, **self._geometry(), kernel_size=pool.kernel_size,
            pool_stride=pool.stride, pool_padding=pool.padding, pool_dilation=pool.dilation,
            ceil_mode=pool.ceil_mode)
