"""Reference fully connected layer: y[..., o] = b[o] + sum over k of x[..., k] * W[o, k]."""
import numpy as np

from fastconv.ops._validate import as_array, float_dtype


def linear(x, weight, bias=None):
    x, weight = as_array(x, "x"), as_array(weight, "weight")
    bias = None if bias is None else as_array(bias, "bias")
    out_features, in_features = weight.shape
    y = np.zeros(x.shape[:-1] + (out_features,), float_dtype(x, weight, bias))
    for lead in np.ndindex(x.shape[:-1]):
        for o in range(out_features):
            total = 0.0 if bias is None else float(bias[o])
            for k in range(in_features):
                total += float(x[lead + (k,)]) * float(weight[o, k])
            y[lead + (o,)] = total
    return y


def linear_backward(grad_out, x, weight):
    grad_out, x, weight = as_array(grad_out, "grad_out"), as_array(x, "x"), as_array(weight, "weight")
    out_features, in_features = weight.shape
    dtype = float_dtype(grad_out, x, weight)
    leading = list(np.ndindex(x.shape[:-1]))

    # grad_x[..., k] = sum over o of grad_out[..., o] * W[o, k]
    grad_x = np.zeros(x.shape, dtype)
    for lead in leading:
        for k in range(in_features):
            total = 0.0
            for o in range(out_features):
                total += float(grad_out[lead + (o,)]) * float(weight[o, k])
            grad_x[lead + (k,)] = total

    # grad_weight[o, k] = sum over every leading index of grad_out[..., o] * x[..., k]
    grad_weight = np.zeros(weight.shape, dtype)
    for o in range(out_features):
        for k in range(in_features):
            total = 0.0
            for lead in leading:
                total += float(grad_out[lead + (o,)]) * float(x[lead + (k,)])
            grad_weight[o, k] = total

    # grad_bias[o] = sum over every leading index of grad_out[..., o]
    grad_bias = np.zeros(out_features, dtype)
    for o in range(out_features):
        total = 0.0
        for lead in leading:
            total += float(grad_out[lead + (o,)])
        grad_bias[o] = total

    return grad_x, grad_weight, grad_bias
