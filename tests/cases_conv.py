"""Op-table rows for convolution: conv2d, conv1d and their backwards.

Each example draws groups (including depthwise, one input channel per group), kernel
sizes, strides, paddings (ints, pairs, 'same', 'valid'), dilations and a spatial size
just large enough for at least one output. Shapes stay small: the reference is pure Python.
"""
import math

from hypothesis import strategies as st

from fastconv import ops, reference
from fastconv.ops._validate import window_output_size
from op_table import Example, OpCase
from strategies import values


def draw_config(draw, nd):
    """A valid convolution: shapes of x and weight, keyword arguments, output spatial size."""
    groups = draw(st.sampled_from([1, 1, 2, 3]), label="groups")
    depthwise = draw(st.booleans(), label="depthwise")
    in_per_group = 1 if depthwise else draw(st.integers(1, 3), label="C/groups")
    out_per_group = draw(st.integers(1, 2), label="OC/groups")
    kernel = tuple(draw(st.integers(1, 3), label="kernel") for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2), label="dilation") for _ in range(nd))
    padding_kind = draw(st.sampled_from(["ints", "ints", "ints", "same", "valid"]), label="padding kind")
    if padding_kind == "same":
        stride = (1,) * nd
        pad_totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        padding = "same"
    else:
        stride = tuple(draw(st.integers(1, 3), label="stride") for _ in range(nd))
        pads = (0,) * nd if padding_kind == "valid" else \
            tuple(draw(st.integers(0, 2), label="padding") for _ in range(nd))
        pad_totals = [2 * p for p in pads]
        padding = "valid" if padding_kind == "valid" else pads
    size = tuple(
        draw(st.integers(max(1, d * (k - 1) + 1 - p), 7), label="size")
        for k, d, p in zip(kernel, dilation, pad_totals)
    )
    out_size = tuple(
        window_output_size(n, k, s, (p // 2, p - p // 2), d)
        for n, k, s, p, d in zip(size, kernel, stride, pad_totals, dilation)
    )
    batch = draw(st.integers(1, 2), label="N")
    x_shape = (batch, groups * in_per_group) + size
    w_shape = (groups * out_per_group, in_per_group) + kernel
    kwargs = dict(
        stride=_int_or_tuple(draw, stride),
        padding=padding if isinstance(padding, str) else _int_or_tuple(draw, padding),
        dilation=_int_or_tuple(draw, dilation),
        groups=groups,
    )
    return x_shape, w_shape, kwargs, out_size


def _int_or_tuple(draw, items):
    """Equal per-axis values sometimes as one int: both spellings must mean the same."""
    if len(set(items)) == 1 and draw(st.booleans(), label="as int"):
        return items[0]
    return items


def forward_example(nd):
    def example(draw, dtype, integer_valued):
        x_shape, w_shape, kwargs, _ = draw_config(draw, nd)
        x = values(draw, x_shape, dtype, integer_valued)
        weight = values(draw, w_shape, dtype, integer_valued)
        bias = values(draw, w_shape[:1], dtype, integer_valued) \
            if draw(st.booleans(), label="bias") else None
        reduction = math.prod(w_shape[1:]) + 1
        return Example((x, weight), dict(kwargs, bias=bias), reduction)
    return example


def backward_example(nd):
    def example(draw, dtype, integer_valued):
        x_shape, w_shape, kwargs, out_size = draw_config(draw, nd)
        grad_out = values(draw, (x_shape[0], w_shape[0]) + out_size, dtype, integer_valued)
        x = values(draw, x_shape, dtype, integer_valued)
        weight = values(draw, w_shape, dtype, integer_valued)
        out_per_group = w_shape[0] // kwargs["groups"]
        reduction = max(out_per_group * math.prod(w_shape[2:]),   # grad_x
                        x_shape[0] * math.prod(out_size))         # grad_weight, grad_bias
        if draw(st.booleans(), label="masked"):
            kwargs = dict(kwargs, output_mask=draw(st.tuples(st.booleans(), st.booleans(),
                                                             st.booleans()), label="output_mask"))
        return Example((grad_out, x, weight), kwargs, reduction)
    return example


CASES = [
    OpCase("conv2d", ops.conv2d, reference.conv2d, example=forward_example(2)),
    OpCase("conv2d_backward", ops.conv2d_backward, reference.conv2d_backward,
           example=backward_example(2)),
    OpCase("conv1d", ops.conv1d, reference.conv1d, example=forward_example(1)),
    OpCase("conv1d_backward", ops.conv1d_backward, reference.conv1d_backward,
           example=backward_example(1)),
]
