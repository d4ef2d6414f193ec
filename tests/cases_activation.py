"""Op-table rows of the activation family."""
from hypothesis import strategies as st

from fastconv import ops, reference
from op_table import Example, OpCase
from strategies import values


def draw_shape(draw):
    # No 0-d arrays: strategies.with_layout(arr, "C") turns them 1-D (np.ascontiguousarray
    # does); test_activation.py checks 0-d inputs instead.
    return tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4), label="shape"))


def draw_slope(draw):
    return draw(st.one_of(st.just(0.01), st.floats(-2.0, 2.0)), label="negative_slope")


def unary_example(low, high):
    """Draws x over [low, high) for a forward."""
    def example(draw, dtype, integer_valued):
        x = values(draw, draw_shape(draw), dtype, integer_valued, low=low, high=high)
        return Example((x,))
    return example


def backward_example(low, high):
    """Draws grad_out, and the saved input or output over [low, high)."""
    def example(draw, dtype, integer_valued):
        shape = draw_shape(draw)
        grad_out = values(draw, shape, dtype, integer_valued)
        saved = values(draw, shape, dtype, integer_valued, low=low, high=high)
        return Example((grad_out, saved))
    return example


def leaky_relu_example(draw, dtype, integer_valued):
    x = values(draw, draw_shape(draw), dtype, integer_valued)
    return Example((x,), {"negative_slope": draw_slope(draw)})


def leaky_relu_backward_example(draw, dtype, integer_valued):
    shape = draw_shape(draw)
    grad_out = values(draw, shape, dtype, integer_valued)
    x = values(draw, shape, dtype, integer_valued)
    return Example((grad_out, x), {"negative_slope": draw_slope(draw)})


CASES = [
    OpCase("relu", ops.relu, reference.relu, example=unary_example(-1.0, 1.0)),
    OpCase("relu_backward", ops.relu_backward, reference.relu_backward,
           example=backward_example(-1.0, 1.0)),
    OpCase("leaky_relu", ops.leaky_relu, reference.leaky_relu, example=leaky_relu_example),
    OpCase("leaky_relu_backward", ops.leaky_relu_backward, reference.leaky_relu_backward,
           example=leaky_relu_backward_example),
    # exp and tanh of float32 round differently from the reference's double-then-float32.
    OpCase("sigmoid", ops.sigmoid, reference.sigmoid, example=unary_example(-8.0, 8.0),
           exact_on_integers=False),
    OpCase("sigmoid_backward", ops.sigmoid_backward, reference.sigmoid_backward,
           example=backward_example(0.0, 1.0)),
    OpCase("tanh", ops.tanh, reference.tanh, example=unary_example(-4.0, 4.0),
           exact_on_integers=False),
    OpCase("tanh_backward", ops.tanh_backward, reference.tanh_backward,
           example=backward_example(-1.0, 1.0)),
]
