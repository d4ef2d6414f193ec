"""Op-table rows of matmul. Sizes cross the engine's micro-tiles (MR up to 14, NR up to 32)
so edge tiles are drawn often; the engine's block sizes are crossed in tests/test_gemm.py."""
from hypothesis import strategies as st

from fastconv import ops, reference
from op_table import Example, OpCase
from strategies import values


def draw_sizes(draw):
    return (draw(st.integers(1, 17), label="M"), draw(st.integers(0, 20), label="K"),
            draw(st.integers(1, 35), label="N"))


def matmul_example(draw, dtype, integer_valued):
    M, K, N = draw_sizes(draw)
    a = values(draw, (M, K), dtype, integer_valued)
    b = values(draw, (K, N), dtype, integer_valued)
    return Example((a, b), reduction=max(K, 1))


def matmul_backward_example(draw, dtype, integer_valued):
    M, K, N = draw_sizes(draw)
    grad_out = values(draw, (M, N), dtype, integer_valued)
    a = values(draw, (M, K), dtype, integer_valued)
    b = values(draw, (K, N), dtype, integer_valued)
    return Example((grad_out, a, b), reduction=max(M, N))


CASES = [
    OpCase("matmul", ops.matmul, reference.matmul, example=matmul_example),
    OpCase("matmul_backward", ops.matmul_backward, reference.matmul_backward,
           example=matmul_backward_example),
]
