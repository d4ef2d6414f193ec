"""Op-table rows for cross_entropy and mse_loss and their backwards."""
import numpy as np
from hypothesis import strategies as st

from fastconv import ops, reference
from op_table import Example, OpCase
from strategies import values

REDUCTIONS = ("mean", "sum", "none")


def draw_grad_out(draw, reduction, shape, dtype, integer_valued):
    """None (meaning 1), a 0-D array for 'mean'/'sum', or an array of `shape` for 'none'."""
    if draw(st.booleans(), label="default_grad_out"):
        return None
    return values(draw, shape if reduction == "none" else (), dtype, integer_valued)


def cross_entropy_args(draw, dtype, integer_valued):
    batch = draw(st.integers(0, 5), label="N")
    classes = draw(st.sampled_from([1, 2, 3, 5, 8, 33]), label="C")
    logits = values(draw, (batch, classes), dtype, integer_valued, low=-5.0, high=5.0)
    seed = draw(st.integers(0, 2**32 - 1), label="target_seed")
    target_dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8]), label="target_dtype")
    target = np.random.default_rng(seed).integers(0, classes, batch).astype(target_dtype)
    reduction = draw(st.sampled_from(REDUCTIONS), label="reduction")
    smoothing = draw(st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0)),
                     label="label_smoothing")
    kwargs = {"reduction": reduction, "label_smoothing": smoothing}
    return logits, target, kwargs, batch * classes + 1


def cross_entropy_example(draw, dtype, integer_valued):
    logits, target, kwargs, reduction = cross_entropy_args(draw, dtype, integer_valued)
    return Example((logits, target), kwargs, reduction=reduction)


def cross_entropy_backward_example(draw, dtype, integer_valued):
    logits, target, kwargs, reduction = cross_entropy_args(draw, dtype, integer_valued)
    kwargs["grad_out"] = draw_grad_out(draw, kwargs["reduction"], (len(target),), dtype,
                                       integer_valued)
    return Example((logits, target), kwargs, reduction=reduction)


# At least one axis: the harness's C layout (np.ascontiguousarray) makes 0-D arrays 1-D.
def mse_args(draw, dtype, integer_valued):
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=1, max_size=3), label="shape"))
    input = values(draw, shape, dtype, integer_valued)
    target = values(draw, shape, dtype, integer_valued)
    reduction = draw(st.sampled_from(REDUCTIONS), label="reduction")
    return input, target, reduction, int(np.prod(shape)) + 1


def mse_loss_example(draw, dtype, integer_valued):
    input, target, reduction, length = mse_args(draw, dtype, integer_valued)
    return Example((input, target), {"reduction": reduction}, reduction=length)


def mse_loss_backward_example(draw, dtype, integer_valued):
    input, target, reduction, length = mse_args(draw, dtype, integer_valued)
    grad_out = draw_grad_out(draw, reduction, input.shape, dtype, integer_valued)
    return Example((input, target), {"reduction": reduction, "grad_out": grad_out},
                   reduction=length)


CASES = [
    OpCase("cross_entropy", ops.cross_entropy, reference.cross_entropy, cross_entropy_example,
           exact_on_integers=False, tolerance_factor=2.0),
    OpCase("cross_entropy_backward", ops.cross_entropy_backward, reference.cross_entropy_backward,
           cross_entropy_backward_example, exact_on_integers=False, tolerance_factor=2.0),
    # Squares and sums of small integers are exact, and the mean divides once in float64.
    OpCase("mse_loss", ops.mse_loss, reference.mse_loss, mse_loss_example),
    OpCase("mse_loss_backward", ops.mse_loss_backward, reference.mse_loss_backward,
           mse_loss_backward_example, exact_on_integers=False),
]
