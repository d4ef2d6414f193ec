"""Op-table rows for softmax / log_softmax and their backwards."""
from hypothesis import strategies as st

from fastconv import ops, reference
from op_table import Example, OpCase
from strategies import values


def draw_shape_and_dim(draw):
    """A small shape of 1 to 4 axes (some of size 0) and an axis, sometimes with a long
    last axis so that a softmax over an earlier axis spans several C panels (inner > 64)."""
    shape = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4), label="shape")
    if len(shape) <= 3 and draw(st.booleans(), label="long_last_axis"):
        shape[-1] = draw(st.integers(60, 70), label="last_axis")
    dim = draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    return tuple(shape), dim


def forward_example(draw, dtype, integer_valued):
    shape, dim = draw_shape_and_dim(draw)
    x = values(draw, shape, dtype, integer_valued, low=-5.0, high=5.0)
    return Example((x,), {"dim": dim}, reduction=shape[dim] + 1)


def softmax_backward_example(draw, dtype, integer_valued):
    shape, dim = draw_shape_and_dim(draw)
    grad_out = values(draw, shape, dtype, integer_valued)
    output = values(draw, shape, dtype, integer_valued, low=0.0, high=1.0)
    return Example((grad_out, output), {"dim": dim}, reduction=shape[dim] + 1)


def log_softmax_backward_example(draw, dtype, integer_valued):
    shape, dim = draw_shape_and_dim(draw)
    grad_out = values(draw, shape, dtype, integer_valued)
    output = values(draw, shape, dtype, integer_valued, low=-5.0, high=0.0)
    return Example((grad_out, output), {"dim": dim}, reduction=shape[dim] + 1)


CASES = [
    OpCase("softmax", ops.softmax, reference.softmax, forward_example,
           exact_on_integers=False, tolerance_factor=2.0),
    OpCase("softmax_backward", ops.softmax_backward, reference.softmax_backward,
           softmax_backward_example),
    OpCase("log_softmax", ops.log_softmax, reference.log_softmax, forward_example,
           exact_on_integers=False, tolerance_factor=2.0),
    OpCase("log_softmax_backward", ops.log_softmax_backward, reference.log_softmax_backward,
           log_softmax_backward_example, exact_on_integers=False, tolerance_factor=2.0),
]
