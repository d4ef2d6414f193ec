"""The executable specification of fastconv.ops: the same functions, written as short,
obvious Python loops straight from the definitions. Slow on purpose; read it to learn
what each op computes, and the tests hold every fast kernel to it.

Each function accumulates in Python floats (double precision) and returns arrays of
the dtype the fast op would return.
"""
# Each op family adds its import line here.
from fastconv.reference.softmax import softmax, softmax_backward, log_softmax, log_softmax_backward  # noqa: F401
from fastconv.reference.loss import cross_entropy, cross_entropy_backward, mse_loss, mse_loss_backward  # noqa: F401
from fastconv.reference.dropout import dropout, dropout_backward  # noqa: F401
