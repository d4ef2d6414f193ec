"""What a user would write by hand in NumPy: the baselines fastconv must beat.
Convolution by im2col (and its adjoint col2im), pooling by sliding windows, batch norm
by whole-array expressions. float32 in, float32 out."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv2d_im2col(x, weight, stride=1, padding=0):
    """Forward conv2d (groups 1, dilation 1) as one big im2col matrix times the weights."""
    n, c, h, w = x.shape
    k, _, kh, kw = weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    oh, ow = windows.shape[2], windows.shape[3]
    # (N, OH, OW, C, KH, KW) rows times (C*KH*KW, K) weights
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    out = cols @ weight.reshape(k, -1).T
    return np.ascontiguousarray(out.reshape(n, oh, ow, k).transpose(0, 3, 1, 2))


def col2im_add(grad_cols, x_shape, kh, kw, stride, padding):
    """The adjoint of the im2col above: add each window column back onto the padded image."""
    n, c, h, w = x_shape
    oh, ow = grad_cols.shape[1], grad_cols.shape[2]
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), grad_cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += \
                grad_cols[..., i, j].transpose(0, 3, 1, 2)
    return padded[:, :, padding:padding + h, padding:padding + w]


def conv2d_backward_data_im2col(grad_out, x_shape, weight, stride=1, padding=0):
    """grad_x: grad_out times the weights gives window columns, col2im adds them back."""
    n, k, oh, ow = grad_out.shape
    _, c, kh, kw = weight.shape
    rows = grad_out.transpose(0, 2, 3, 1).reshape(n * oh * ow, k)
    cols = (rows @ weight.reshape(k, -1)).reshape(n, oh, ow, c, kh, kw)
    return col2im_add(cols, x_shape, kh, kw, stride, padding)


def conv2d_backward_weight_im2col(grad_out, x, kernel_shape, stride=1, padding=0):
    """grad_weight: grad_out (as a K x rows matrix) times the im2col matrix of x."""
    n, k, oh, ow = grad_out.shape
    _, c, kh, kw = kernel_shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    rows = grad_out.transpose(0, 2, 3, 1).reshape(n * oh * ow, k)
    return (rows.T @ cols).reshape(kernel_shape)


def max_pool2d(x, kernel, stride, padding):
    """Values and flat in-plane indices (h*W + w) of each window's maximum."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)),
                    constant_values=-np.inf)
    windows = sliding_window_view(padded, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    oh, ow = windows.shape[2], windows.shape[3]
    flat = windows.reshape(n, c, oh, ow, kernel * kernel)
    best = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
    rows = np.arange(oh)[:, None] * stride - padding + best // kernel
    cols = np.arange(ow)[None, :] * stride - padding + best % kernel
    return out, rows * w + cols


def max_pool2d_backward(grad_out, indices, x_shape):
    """Scatter-add each gradient to the position its maximum came from."""
    n, c, h, w = x_shape
    grad_x = np.zeros((n * c, h * w), grad_out.dtype)
    planes = np.arange(n * c)[:, None]
    np.add.at(grad_x, (planes, indices.reshape(n * c, -1)), grad_out.reshape(n * c, -1))
    return grad_x.reshape(x_shape)


def avg_pool2d(x, kernel, stride):
    """Window means (no padding)."""
    windows = sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.mean(axis=(-2, -1))


def avg_pool2d_backward(grad_out, x_shape, kernel, stride):
    """Each output's mean gradient added back over its window, one tap at a time."""
    oh, ow = grad_out.shape[2], grad_out.shape[3]
    grad_x = np.zeros(x_shape, grad_out.dtype)
    share = grad_out / (kernel * kernel)
    for i in range(kernel):
        for j in range(kernel):
            grad_x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += share
    return grad_x


def global_avg_pool2d(x):
    return x.mean(axis=(2, 3), keepdims=True)


def global_avg_pool2d_backward(grad_out, x_shape):
    return np.broadcast_to(grad_out / (x_shape[2] * x_shape[3]), x_shape).copy()


def batch_norm_train(x, weight, bias, eps=1e-5):
    """Training-mode batch norm: y, the batch mean and 1/sqrt(var + eps)."""
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    invstd = 1.0 / np.sqrt(var + eps)
    scale = (weight * invstd)[:, None, None]
    return (x - mean[:, None, None]) * scale + bias[:, None, None], mean, invstd


def batch_norm_train_backward(grad_out, x, mean, invstd, weight):
    """grad_x, grad_weight, grad_bias of training-mode batch norm."""
    count = x.shape[0] * x.shape[2] * x.shape[3]
    xhat = (x - mean[:, None, None]) * invstd[:, None, None]
    grad_bias = grad_out.sum(axis=(0, 2, 3))
    grad_weight = (grad_out * xhat).sum(axis=(0, 2, 3))
    grad_x = (weight * invstd)[:, None, None] * (
        grad_out - (grad_bias / count)[:, None, None] - xhat * (grad_weight / count)[:, None, None])
    return grad_x, grad_weight, grad_bias
