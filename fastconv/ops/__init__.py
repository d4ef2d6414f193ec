"""The NumPy op API: ndarray in, ndarray out, names and arguments as in torch.nn.functional.

Layout is NCHW (NCL for 1-D). float32 and float64 are computed as such (float16 as float32,
integers as float64); the output dtype is the computing dtype. Every forward `op` has an
`op_backward` beside it. Inputs are never written to; non-contiguous, Fortran-ordered,
negatively strided and read-only inputs are accepted.
"""
from fastconv.ops.conv import conv1d, conv1d_backward, conv2d, conv2d_backward
from fastconv.ops.pool import (
    adaptive_avg_pool2d, adaptive_avg_pool2d_backward, avg_pool2d, avg_pool2d_backward,
    max_pool2d, max_pool2d_backward,
)
from fastconv.ops.batchnorm import batch_norm, batch_norm_backward
from fastconv.ops.linear import linear, linear_backward
from fastconv.ops.activation import (
    leaky_relu, leaky_relu_backward, relu, relu_backward, sigmoid, sigmoid_backward,
    tanh, tanh_backward,
)
from fastconv.ops.softmax import log_softmax, log_softmax_backward, softmax, softmax_backward
from fastconv.ops.loss import cross_entropy, cross_entropy_backward, mse_loss, mse_loss_backward
from fastconv.ops.dropout import dropout, dropout_backward
from fastconv.ops.matmul import matmul, matmul_backward
