"""The executable specification of fastconv.ops: the same functions, written as short,
obvious Python loops straight from the definitions. Slow on purpose; read it to learn
what each op computes, and the tests hold every fast kernel to it.

Each function accumulates in Python floats (double precision) and returns arrays of
the dtype the fast op would return.
"""
# Each op family adds its import line here.
from fastconv.reference.conv import conv1d, conv1d_backward, conv2d, conv2d_backward  # noqa: F401
