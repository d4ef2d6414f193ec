"""The one table of ops that drives the kernel tests.

A row (`OpCase`) says which fast function is checked against which reference function
and how to draw its inputs. Adding an op is adding a row to the `cases_<family>.py`
file of its family; `test_op_table.py` runs every row through the same checks:
fast == reference (any dtype, any memory layout), inputs left unchanged, bitwise equal
results for 1 thread and for all threads, and the same results from concurrent Python threads.
"""
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Example:
    """One call: positional and keyword arguments, and the length of the longest sum
    behind any output element (it sets the float tolerance)."""
    args: tuple
    kwargs: dict = field(default_factory=dict)
    reduction: int = 1


@dataclass(frozen=True)
class OpCase:
    name: str
    fast: Callable
    reference: Callable
    # example(draw, dtype, integer_valued) -> Example; `draw` is Hypothesis' draw function.
    example: Callable[[Any, np.dtype, bool], Example]
    # With integer-valued inputs the fast op must equal the reference bit for bit.
    exact_on_integers: bool = True
    # Multiplies the derived tolerance, for ops that amplify rounding (division by a std, exp).
    tolerance_factor: float = 1.0


def tolerance(dtype, reduction, factor=1.0):
    """Relative and absolute tolerance for a result that sums `reduction` rounded terms."""
    eps = np.finfo(dtype).eps
    return 8.0 * factor * eps * (reduction + 1)


def all_cases():
    from cases_conv import CASES as conv
    from cases_pool import CASES as pool
    from cases_batchnorm import CASES as batchnorm
    from cases_linear import CASES as linear
    from cases_activation import CASES as activation
    from cases_softmax import CASES as softmax
    from cases_loss import CASES as loss
    from cases_dropout import CASES as dropout
    from cases_matmul import CASES as matmul

    return conv + pool + batchnorm + linear + activation + softmax + loss + dropout + matmul
