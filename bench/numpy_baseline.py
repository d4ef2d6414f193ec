"""The NumPy im2col convolution a user would write by hand: the peer fastconv must beat."""
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
