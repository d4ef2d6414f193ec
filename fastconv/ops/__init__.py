"""The NumPy op API: ndarray in, ndarray out, names and arguments as in torch.nn.functional.

Layout is NCHW (NCL for 1-D). float32 and float64 are computed as such (float16 as float32,
integers as float64); the output dtype is the computing dtype. Every forward `op` has an
`op_backward` beside it. Inputs are never written to; non-contiguous, Fortran-ordered,
negatively strided and read-only inputs are accepted.
"""
# Each op family adds its import line here.
from fastconv.ops.softmax import softmax, softmax_backward, log_softmax, log_softmax_backward  # noqa: F401
from fastconv.ops.loss import cross_entropy, cross_entropy_backward, mse_loss, mse_loss_backward  # noqa: F401
from fastconv.ops.dropout import dropout, dropout_backward  # noqa: F401
