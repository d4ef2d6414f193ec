"""The executable specification of fastconv.ops: the same functions, written as short,
obvious Python loops straight from the definitions. Slow on purpose; read it to learn
what each op computes, and the tests hold every fast kernel to it.

Each function accumulates in Python floats (double precision) and returns arrays of
the dtype the fast op would return.
"""
from fastconv.reference.conv import conv1d, conv1d_backward, conv2d, conv2d_backward
from fastconv.reference.pool import (
    adaptive_avg_pool2d, adaptive_avg_pool2d_backward, avg_pool2d, avg_pool2d_backward,
    max_pool2d, max_pool2d_backward,
)
from fastconv.reference.batchnorm import batch_norm, batch_norm_backward
from fastconv.reference.linear import linear, linear_backward
from fastconv.reference.activation import (
    leaky_relu, leaky_relu_backward, relu, relu_backward, sigmoid, sigmoid_backward,
    tanh, tanh_backward,
)
from fastconv.reference.softmax import log_softmax, log_softmax_backward, softmax, softmax_backward
from fastconv.reference.loss import cross_entropy, cross_entropy_backward, mse_loss, mse_loss_backward
from fastconv.reference.dropout import dropout, dropout_backward
from fastconv.reference.matmul import matmul, matmul_backward
