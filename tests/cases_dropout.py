"""Op-table rows for dropout and its backward. Fast op and reference each get a Generator
made from the same seed, so they draw the same mask."""
import numpy as np
from hypothesis import strategies as st

from fastconv import ops, reference
from op_table import Example, OpCase
from strategies import values


def fast_dropout(x, p, seed, training=True):
    return ops.dropout(x, p, np.random.default_rng(seed), training)


def reference_dropout(x, p, seed, training=True):
    return reference.dropout(x, p, np.random.default_rng(seed), training)


def draw_p(draw):
    return draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0)), label="p")


def dropout_example(draw, dtype, integer_valued):
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=1, max_size=3), label="shape"))
    x = values(draw, shape, dtype, integer_valued)
    seed = draw(st.integers(0, 2**32 - 1), label="mask_seed")
    training = draw(st.booleans(), label="training")
    return Example((x, draw_p(draw), seed), {"training": training})


def dropout_backward_example(draw, dtype, integer_valued):
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=1, max_size=3), label="shape"))
    grad_out = values(draw, shape, dtype, integer_valued)
    p = draw_p(draw)
    mask = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="mask_seed")).random(shape) >= p
    return Example((grad_out, mask, p))


CASES = [
    OpCase("dropout", fast_dropout, reference_dropout, dropout_example, exact_on_integers=False),
    OpCase("dropout_backward", ops.dropout_backward, reference.dropout_backward,
           dropout_backward_example, exact_on_integers=False),
]
