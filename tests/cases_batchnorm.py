"""Op-table rows for batch normalisation: forward in training and in eval, and both backward forms."""
import numpy as np
from hypothesis import strategies as st

from fastconv import ops, reference
from op_table import Example, OpCase
from strategies import DTYPES, values

# The fast kernels sum in double in the reference's order, so in a default build they agree
# with it to the last bit. Builds that contract a*b + c into FMAs (FASTCONV_NATIVE=1) round
# the variance and gradient sums differently, and dividing by a small std amplifies that;
# a factor of 4 covers it. Integer-valued inputs give non-integer y (division by a std),
# so bitwise agreement on integers is not part of the contract.
TOLERANCE_FACTOR = 4.0


def draw_shape(draw):
    """(N, C), (N, C, L) or (N, C, H, W), small, with at least 2 values per channel."""
    ndim = draw(st.integers(2, 4), label="ndim")
    n = draw(st.integers(1, 4), label="N")
    c = draw(st.integers(1, 3), label="C")
    spatial = tuple(draw(st.integers(1, 3), label="spatial") for _ in range(ndim - 2))
    if n * int(np.prod(spatial, dtype=np.int64)) < 2:
        n = 2
    return (n, c) + spatial


def values_per_channel(shape):
    return shape[0] * int(np.prod(shape[2:], dtype=np.int64))


def maybe(draw, label, make):
    return make() if draw(st.booleans(), label=label) else None


def draw_affine(draw, c, dtype, integer_valued):
    weight = maybe(draw, "has_weight", lambda: values(draw, (c,), dtype, integer_valued))
    bias = maybe(draw, "has_bias", lambda: values(draw, (c,), dtype, integer_valued))
    return weight, bias


def draw_running(draw, c, integer_valued):
    """Running buffers in their own dtype (float32 or float64, independent of x)."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES), label="running_dtype"))
    mean = values(draw, (c,), dtype, integer_valued)
    var = np.abs(values(draw, (c,), dtype, integer_valued, low=0.25, high=2.0))
    return mean, var


def train_example(draw, dtype, integer_valued):
    shape = draw_shape(draw)
    c = shape[1]
    x = values(draw, shape, dtype, integer_valued)
    weight, bias = draw_affine(draw, c, dtype, integer_valued)
    if draw(st.booleans(), label="has_running"):
        running_mean, running_var = draw_running(draw, c, integer_valued)
    else:
        running_mean = running_var = None
    momentum = draw(st.sampled_from([0.1, 0.0, 0.5, 1.0, None]), label="momentum")
    num_batches_tracked = draw(st.integers(1, 5), label="num_batches_tracked") if momentum is None else None
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.5]), label="eps")
    kwargs = dict(weight=weight, bias=bias, momentum=momentum, eps=eps,
                  num_batches_tracked=num_batches_tracked)
    return Example((x, running_mean, running_var), kwargs, reduction=values_per_channel(shape))


def in_training(batch_norm):
    """batch_norm in training, on copies of the running buffers (the op updates them in
    place and the runner checks that inputs stay unchanged): returns y, the saved
    statistics and the updated buffers."""
    def call(x, running_mean, running_var, **kwargs):
        running_mean = None if running_mean is None else np.array(running_mean, copy=True)
        running_var = None if running_var is None else np.array(running_var, copy=True)
        y, save_mean, save_invstd = batch_norm(x, running_mean, running_var, training=True,
                                               return_stats=True, **kwargs)
        return y, save_mean, save_invstd, running_mean, running_var
    return call


def eval_example(draw, dtype, integer_valued):
    shape = draw_shape(draw)
    c = shape[1]
    x = values(draw, shape, dtype, integer_valued)
    weight, bias = draw_affine(draw, c, dtype, integer_valued)
    # Mostly fixed running statistics; sometimes None, which means batch statistics.
    if draw(st.integers(0, 3), label="running_kind"):
        running_mean, running_var = draw_running(draw, c, integer_valued)
    else:
        running_mean = running_var = None
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.5]), label="eps")
    kwargs = dict(weight=weight, bias=bias, training=False, eps=eps, return_stats=True)
    return Example((x, running_mean, running_var), kwargs, reduction=values_per_channel(shape))


def backward_example(training):
    def example(draw, dtype, integer_valued):
        shape = draw_shape(draw)
        c = shape[1]
        x = values(draw, shape, dtype, integer_valued)
        grad_out = values(draw, shape, dtype, integer_valued)
        weight, bias = draw_affine(draw, c, dtype, integer_valued)
        running_mean, running_var = (None, None) if training else draw_running(draw, c, integer_valued)
        eps = draw(st.sampled_from([1e-5, 1e-3, 0.5]), label="eps")
        _, save_mean, save_invstd = reference.batch_norm(
            x, running_mean, running_var, weight, bias, training=training, eps=eps,
            return_stats=True)
        return Example((grad_out, x, save_mean, save_invstd, weight), dict(training=training),
                       reduction=values_per_channel(shape))
    return example


CASES = [
    OpCase("batch_norm_train", in_training(ops.batch_norm), in_training(reference.batch_norm),
           example=train_example, exact_on_integers=False, tolerance_factor=TOLERANCE_FACTOR),
    OpCase("batch_norm_eval", ops.batch_norm, reference.batch_norm,
           example=eval_example, exact_on_integers=False, tolerance_factor=TOLERANCE_FACTOR),
    OpCase("batch_norm_backward_train", ops.batch_norm_backward, reference.batch_norm_backward,
           example=backward_example(True), exact_on_integers=False,
           tolerance_factor=TOLERANCE_FACTOR),
    OpCase("batch_norm_backward_eval", ops.batch_norm_backward, reference.batch_norm_backward,
           example=backward_example(False), exact_on_integers=False,
           tolerance_factor=TOLERANCE_FACTOR),
]
