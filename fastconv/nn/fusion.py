"""Inference-time fusion: fold a batch-norm layer into the convolution before it."""
import copy

import numpy as np

from fastconv.nn.conv import _ConvNd
from fastconv.nn.module import Parameter
from fastconv.nn.normalization import _BatchNorm


def fuse_conv_bn_eval(conv, bn):
    """A new convolution equal to bn(conv(x)) with bn in eval mode (running statistics):
    weight' = weight * s, bias' = (bias - running_mean) * s + beta, s = gamma / sqrt(var + eps)
    per output channel, computed in float64 and stored in the conv's dtype. One pass
    instead of two at inference. `conv` and `bn` are left unchanged."""
    if not isinstance(conv, _ConvNd) or not isinstance(bn, _BatchNorm):
        raise TypeError(f"expected a convolution and a batch-norm layer, got "
                        f"{type(conv).__name__} and {type(bn).__name__}")
    if bn.running_mean is None:
        raise ValueError("the batch-norm layer has no running statistics "
                         "(track_running_stats=False) to fold")
    if bn.num_features != conv.out_channels:
        raise ValueError(f"bn.num_features ({bn.num_features}) must equal conv.out_channels "
                         f"({conv.out_channels})")
    mean = bn.running_mean.data.astype(np.float64)
    scale = 1.0 / np.sqrt(bn.running_var.data.astype(np.float64) + bn.eps)
    shift = np.zeros_like(mean)
    if bn.weight is not None:
        scale = scale * bn.weight.data
        shift = bn.bias.data.astype(np.float64)
    dtype = conv.weight.data.dtype
    bias = np.zeros_like(mean) if conv.bias is None else conv.bias.data.astype(np.float64)
    fused = copy.deepcopy(conv)
    scale_w = scale.reshape((-1,) + (1,) * (conv.weight.ndim - 1))
    fused.weight = Parameter((conv.weight.data * scale_w).astype(dtype))
    fused.bias = Parameter(((bias - mean) * scale + shift).astype(dtype))
    fused.train(False)
    return fused
