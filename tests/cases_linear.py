"""Op-table rows of the linear family."""
from hypothesis import strategies as st

from fastconv import ops, reference
from op_table import Example, OpCase
from strategies import values


def draw_sizes(draw):
    """Leading axes of x (0 to 2 of them, so x is 1-, 2- or 3-D), in_features, out_features.
    in_features crosses the kernel's 8-wide dot-product lanes; the rows cross its row tile."""
    leading = tuple(draw(st.lists(st.integers(1, 5), min_size=0, max_size=2), label="leading"))
    in_features = draw(st.integers(1, 20), label="in_features")
    out_features = draw(st.integers(1, 12), label="out_features")
    return leading, in_features, out_features


def linear_example(draw, dtype, integer_valued):
    leading, in_features, out_features = draw_sizes(draw)
    x = values(draw, leading + (in_features,), dtype, integer_valued)
    weight = values(draw, (out_features, in_features), dtype, integer_valued)
    bias = None
    if draw(st.booleans(), label="has_bias"):
        bias = values(draw, (out_features,), dtype, integer_valued)
    return Example((x, weight, bias), reduction=in_features + 1)


def linear_backward_example(draw, dtype, integer_valued):
    leading, in_features, out_features = draw_sizes(draw)
    grad_out = values(draw, leading + (out_features,), dtype, integer_valued)
    x = values(draw, leading + (in_features,), dtype, integer_valued)
    weight = values(draw, (out_features, in_features), dtype, integer_valued)
    rows = 1
    for n in leading:
        rows *= n
    return Example((grad_out, x, weight), reduction=max(out_features, rows))


CASES = [
    OpCase("linear", ops.linear, reference.linear, example=linear_example),
    OpCase("linear_backward", ops.linear_backward, reference.linear_backward,
           example=linear_backward_example),
]
