"""Op-table rows for pooling: small planes, every kernel/stride/padding/dilation/ceil_mode
combination the ops accept, drawn per axis so H and W differ."""
from hypothesis import strategies as st

import fastconv.ops as ops
import fastconv.reference as reference
from fastconv.ops._validate import window_output_size
from op_table import Example, OpCase
from strategies import values


def _axis(draw, dilated, ceil_mode):
    """kernel, stride, padding, dilation and an input size along one axis, such that at
    least one window fits (with ceil_mode the kernel may overhang a small input) and
    size >= dilation, so no dilated window steps over the whole input from the left
    padding (the ops refuse that)."""
    kernel = draw(st.integers(1, 3), label="kernel")
    stride = draw(st.integers(1, 3), label="stride")
    dilation = draw(st.integers(1, 2), label="dilation") if dilated else 1
    padding = draw(st.integers(0, kernel // 2), label="padding")
    smallest = min(n for n in range(dilation, 9)
                   if window_output_size(n, kernel, stride, padding, dilation, ceil_mode) >= 1)
    size = draw(st.integers(smallest, 8), label="size")
    return kernel, stride, padding, dilation, size


def _collapse(pair):
    """An (h, w) pair, or a plain int when both are equal, to exercise both spellings."""
    return pair[0] if pair[0] == pair[1] else pair


def _window_args(draw, dilated):
    ceil_mode = draw(st.booleans(), label="ceil_mode")
    h, w = _axis(draw, dilated, ceil_mode), _axis(draw, dilated, ceil_mode)
    kernel, stride, padding, dilation, _ = (_collapse(p) for p in zip(h, w))
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    if dilated:
        kwargs["dilation"] = dilation
    shape = (draw(st.integers(1, 2), label="N"), draw(st.integers(1, 3), label="C"), h[4], w[4])
    return shape, kwargs, h[0] * w[0]


def max_pool2d_example(draw, dtype, integer_valued):
    shape, kwargs, window = _window_args(draw, dilated=True)
    x = values(draw, shape, dtype, integer_valued)
    return Example((x,), dict(kwargs, return_indices=True), reduction=window)


def max_pool2d_backward_example(draw, dtype, integer_valued):
    shape, kwargs, window = _window_args(draw, dilated=True)
    x = values(draw, shape, dtype, integer_valued)
    _, indices = reference.max_pool2d(x, return_indices=True, **kwargs)
    grad_out = values(draw, indices.shape, dtype, integer_valued)
    return Example((grad_out, indices, shape), reduction=window)


def _avg_args(draw):
    shape, kwargs, window = _window_args(draw, dilated=False)
    kwargs["count_include_pad"] = draw(st.booleans(), label="count_include_pad")
    kwargs["divisor_override"] = draw(st.sampled_from([None, None, 1, 2, 5, -3]))
    return shape, kwargs, window


def avg_pool2d_example(draw, dtype, integer_valued):
    shape, kwargs, window = _avg_args(draw)
    return Example((values(draw, shape, dtype, integer_valued),), kwargs, reduction=window)


def avg_pool2d_backward_example(draw, dtype, integer_valued):
    shape, kwargs, window = _avg_args(draw)
    out_shape = ops.avg_pool2d(values(draw, shape, dtype, False), **kwargs).shape
    grad_out = values(draw, out_shape, dtype, integer_valued)
    return Example((grad_out, shape), kwargs, reduction=window)


def _adaptive_args(draw):
    shape = (draw(st.integers(1, 2), label="N"), draw(st.integers(1, 3), label="C"),
             draw(st.integers(1, 8), label="H"), draw(st.integers(1, 8), label="W"))
    size = st.integers(1, 8)
    output_size = draw(st.one_of(size, st.tuples(size, size),
                                 st.tuples(st.none(), size), st.tuples(size, st.none())),
                       label="output_size")
    return shape, output_size


def adaptive_avg_pool2d_example(draw, dtype, integer_valued):
    shape, output_size = _adaptive_args(draw)
    x = values(draw, shape, dtype, integer_valued)
    return Example((x, output_size), reduction=shape[2] * shape[3])


def adaptive_avg_pool2d_backward_example(draw, dtype, integer_valued):
    shape, output_size = _adaptive_args(draw)
    out_shape = ops.adaptive_avg_pool2d(values(draw, shape, dtype, False), output_size).shape
    grad_out = values(draw, out_shape, dtype, integer_valued)
    return Example((grad_out, shape), reduction=shape[2] * shape[3])


# Averages divide, so integer-valued inputs need not give bit-equal results.
CASES = [
    OpCase("max_pool2d", ops.max_pool2d, reference.max_pool2d, max_pool2d_example),
    OpCase("max_pool2d_backward", ops.max_pool2d_backward, reference.max_pool2d_backward,
           max_pool2d_backward_example),
    OpCase("avg_pool2d", ops.avg_pool2d, reference.avg_pool2d, avg_pool2d_example,
           exact_on_integers=False),
    OpCase("avg_pool2d_backward", ops.avg_pool2d_backward, reference.avg_pool2d_backward,
           avg_pool2d_backward_example, exact_on_integers=False),
    OpCase("adaptive_avg_pool2d", ops.adaptive_avg_pool2d, reference.adaptive_avg_pool2d,
           adaptive_avg_pool2d_example, exact_on_integers=False),
    OpCase("adaptive_avg_pool2d_backward", ops.adaptive_avg_pool2d_backward,
           reference.adaptive_avg_pool2d_backward, adaptive_avg_pool2d_backward_example,
           exact_on_integers=False),
]
