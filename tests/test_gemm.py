"""The GEMM engine against its naive twin (fastconv/_kernels/gemm.h), and ops.matmul:
shapes across every block edge, the epilogue, custom stores, strided operands, thread
counts, every ISA the CPU runs, bad inputs."""
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from fastconv import ops, reference
from fastconv._ext import gemm
from fastconv._ext import threads as omp
from gradcheck import assert_gradient_close
from thread_count import with_threads

RNG = np.random.default_rng(0)
DTYPES = ("float32", "float64")


def operands(M, N, K, dtype, integer_valued=False):
    if integer_valued:  # every sum exact: engine and twin must agree bit for bit
        a = RNG.integers(-3, 4, size=(M, K)).astype(dtype)
        b = RNG.integers(-3, 4, size=(K, N)).astype(dtype)
    else:
        a = RNG.uniform(-1, 1, size=(M, K)).astype(dtype)
        b = RNG.uniform(-1, 1, size=(K, N)).astype(dtype)
    return a, b


def run(a, b, c0=None, row_bias=None, col_bias=None, accumulate=False, relu=False,
        naive=False, threads=1):
    """C per the epilogue, by the engine or its naive twin; c0 is C's value before."""
    dtype = np.result_type(a, b)
    c = np.full((a.shape[0], b.shape[1]), np.nan, dtype) if c0 is None else c0.copy()
    gemm.gemm(c, a, b, row_bias, col_bias, accumulate=accumulate, relu=relu, naive=naive,
              num_threads=threads)
    return c


def assert_close(fast, naive, a, b, extra=0.0):
    """Within the rounding bound of a K-term sum: (K + 2) eps (|A| |B| + |the rest|)."""
    eps = np.finfo(fast.dtype).eps
    K = a.shape[1]
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64) + extra + 1e-30
    assert np.all(np.abs(fast.astype(np.float64) - naive) <= 4 * (K + 2) * eps * scale)


def edge_sizes(dtype):
    """Sizes of M, N and K around every edge of the blocking in use, and a few primes."""
    MR, NR, MC, KC, NC = gemm.blocking(dtype)
    return ([1, 2, MR - 1, MR, MR + 1, 2 * MR + 1, 37, MC + 1],
            [1, 3, NR - 1, NR, NR + 1, 2 * NR + 3, 97],
            [0, 1, 7, KC - 1, KC + 1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_edge_sizes_match_naive_twin_exactly_on_integers(dtype):
    sizes_m, sizes_n, sizes_k = edge_sizes(dtype)
    for M in sizes_m:
        for N in sizes_n:
            for K in sizes_k:
                a, b = operands(M, N, K, dtype, integer_valued=True)
                np.testing.assert_array_equal(run(a, b), run(a, b, naive=True),
                                              err_msg=f"M={M} N={N} K={K}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_beyond_every_block(dtype):
    MR, NR, MC, KC, NC = gemm.blocking(dtype)
    for M, N, K in [(MC + MR + 3, NR + 5, 2 * KC + 3), (MR + 2, NC + NR + 1, KC + 9),
                    (2 * MC + 1, 2 * NR - 1, 3)]:
        a, b = operands(M, N, K, dtype)
        assert_close(run(a, b), run(a, b, naive=True), a, b)
        a, b = operands(M, N, K, dtype, integer_valued=True)
        np.testing.assert_array_equal(run(a, b, threads=2), run(a, b, naive=True))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("bias", ["none", "row", "col", "both"])
@pytest.mark.parametrize("relu", [False, True])
def test_epilogue(dtype, accumulate, bias, relu):
    M, N, K = 31, 45, 300
    for integer_valued in (False, True):
        a, b = operands(M, N, K, dtype, integer_valued)
        c0 = RNG.integers(-20, 20, size=(M, N)).astype(dtype)
        row_bias = RNG.integers(-20, 20, size=M).astype(dtype) if bias in ("row", "both") else None
        col_bias = RNG.integers(-20, 20, size=N).astype(dtype) if bias in ("col", "both") else None
        args = dict(c0=c0, row_bias=row_bias, col_bias=col_bias, accumulate=accumulate, relu=relu)
        fast, naive = run(a, b, **args), run(a, b, naive=True, **args)
        if integer_valued:
            np.testing.assert_array_equal(fast, naive)
        else:
            assert_close(fast, naive, a, b, extra=40.0)
        # the twin is the definition spelled out: check it once against NumPy
        expected = (c0 if accumulate else 0) + a.astype(np.float64) @ b.astype(np.float64)
        expected = expected + (0 if row_bias is None else row_bias[:, None])
        expected = expected + (0 if col_bias is None else col_bias[None, :])
        if relu:
            expected = np.maximum(expected, 0)
        assert_close(naive, expected, a, b, extra=40.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_sum_keeps_only_c_and_the_biases(dtype):
    a, b = operands(5, 40, 0, dtype)
    c0 = RNG.uniform(-1, 1, size=(5, 40)).astype(dtype)
    row_bias, col_bias = RNG.uniform(-1, 1, 5).astype(dtype), RNG.uniform(-1, 1, 40).astype(dtype)
    for accumulate in (False, True):
        for relu in (False, True):
            args = dict(c0=c0, row_bias=row_bias, col_bias=col_bias, accumulate=accumulate,
                        relu=relu)
            np.testing.assert_array_equal(run(a, b, **args), run(a, b, naive=True, **args))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_keeps_nan(dtype):
    a, b = operands(15, 33, 4, dtype, integer_valued=True)
    a[3, 1] = np.nan
    fast = run(a, b, relu=True)
    np.testing.assert_array_equal(fast, run(a, b, relu=True, naive=True))
    assert np.isnan(fast[3]).all() and (fast[np.arange(15) != 3] >= 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2])
def test_column_blocks(dtype, threads):
    """With col_block, C's columns land block by block in matrices of their own (as several
    images' outputs): blocks a multiple of NR wide (tiles written in place), narrower and
    wider than NR (tiles split across blocks), a short last block; biases and ReLU per
    element; every entry outside the blocks' columns untouched."""
    MR, NR, MC, KC, NC = gemm.blocking(dtype)
    for M, block, blocks, K in [(MR + 3, 2 * NR, 3, KC + 5), (MR + 3, NR // 2 + 1, 7, 9),
                                (2, 3 * NR + 5, 2, 1), (5, 13, 4, 0)]:
        N = block * blocks - block // 3  # the last block is short
        for integer_valued in (True, False):
            a, b = operands(M, N, K, dtype, integer_valued)
            row_bias = RNG.integers(-5, 5, size=M).astype(dtype)
            col_bias = RNG.integers(-5, 5, size=N).astype(dtype)
            product = np.full((M, blocks * block), np.nan, dtype)
            run_naive = run(a, b, row_bias=row_bias, col_bias=col_bias, relu=True, naive=True)
            product[:, :N] = run_naive
            expected = product.reshape(M, blocks, block).transpose(1, 0, 2)
            for naive in (False, True):
                c = np.full((blocks, M, block), np.nan, dtype)
                gemm.gemm(c.reshape(blocks * M, block), a, b, row_bias, col_bias, relu=True,
                          naive=naive, num_threads=threads, col_block=block)
                if integer_valued or naive:
                    np.testing.assert_array_equal(c, expected)
                else:
                    filled = ~np.isnan(expected)
                    assert np.array_equal(filled, ~np.isnan(c))
                    np.testing.assert_allclose(c[filled], expected[filled],
                                               rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2])
def test_custom_store(dtype, threads):
    """The store gets every tile once per k block and adds it into its own destination
    (here C transposed)."""
    MR, NR, MC, KC, NC = gemm.blocking(dtype)
    for M, N, K in [(1, 1, 1), (MR + 1, NR + 1, 2 * KC + 1), (40, 70, 5)]:
        for integer_valued in (True, False):
            a, b = operands(M, N, K, dtype, integer_valued)
            out_t = np.zeros((N, M), dtype)
            gemm.gemm(out_t, a, b, None, None, store_transposed=True, num_threads=threads)
            naive_t = np.zeros((N, M), dtype)
            gemm.gemm(naive_t, a, b, None, None, store_transposed=True, naive=True)
            if integer_valued:
                np.testing.assert_array_equal(out_t, naive_t)
            else:
                assert_close(out_t.T, naive_t.T, a, b)


def layouts(x):
    """x in other memory layouts, all read in place by the engine."""
    yield np.asfortranarray(x)
    yield np.ascontiguousarray(x[::-1, ::-1])[::-1, ::-1]
    wide = np.zeros((x.shape[0] * 2, x.shape[1] * 3), x.dtype)
    wide[::2, ::3] = x
    yield wide[::2, ::3]
    yield np.ascontiguousarray(x.T).T


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_operands(dtype):
    M, N, K = 29, 50, 270
    a, b = operands(M, N, K, dtype, integer_valued=True)
    expected = run(a, b, naive=True)
    for a_view in layouts(a):
        for b_view in layouts(b):
            np.testing.assert_array_equal(run(a_view, b_view), expected)
    # C with strided rows: the engine writes through ldc and leaves the gaps alone
    big = np.full((M, N + 7), -5, dtype)
    gemm.gemm(big[:, :N], a, b, None, None)
    np.testing.assert_array_equal(big[:, :N], expected)
    assert (big[:, N:] == -5).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_bits_for_any_thread_count(dtype):
    MR, NR, MC, KC, NC = gemm.blocking(dtype)
    for M, N, K in [(100, 300, KC + 20), (2 * MC + 5, 40, 2 * KC + 1), (3, 1000, 70),
                    (MR * 3, NR * 3, 9)]:
        a, b = operands(M, N, K, dtype)
        row_bias = RNG.uniform(-1, 1, M).astype(dtype)
        one = run(a, b, row_bias=row_bias, relu=True, threads=1)
        for threads in (2, 3):
            assert one.tobytes() == run(a, b, row_bias=row_bias, relu=True,
                                        threads=threads).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_narrow_products_have_the_bits_of_wide_ones(dtype):
    """A sliver of few real columns may take a narrower kernel (AVX-512: the first 16 of
    32 columns, A packed or read in place); each element's sum stays the full kernel's.
    The narrow product's columns equal, bit for bit, the same columns of a wider product
    whose slivers are all full."""
    MR, NR, MC, KC, NC = gemm.blocking(dtype)
    K = 2 * KC + 7
    for M, N in [(2 * MR + 3, 5), (MR, NR // 2), (2 * MR, NR // 2 + 1), (MR + 1, 2 * NR + 9)]:
        a, b = operands(M, N, K, dtype)
        wide_b = np.concatenate([b, operands(1, NR - N % NR, K, dtype)[1]], axis=1)
        c0 = RNG.uniform(-1, 1, size=(M, N)).astype(dtype)
        wide_c0 = np.concatenate([c0, np.zeros((M, wide_b.shape[1] - N), dtype)], axis=1)
        for accumulate in (False, True):
            narrow = run(a, b, c0, accumulate=accumulate, relu=True)
            wide = run(a, wide_b, wide_c0, accumulate=accumulate, relu=True)
            assert narrow.tobytes() == np.ascontiguousarray(wide[:, :N]).tobytes()


def supported_isas():
    isas = ["generic"]
    if omp.cpu_supports("avx2") and omp.cpu_supports("fma"):
        isas.append("avx2")
    if omp.cpu_supports("avx512f"):
        isas.append("avx512")
    return isas


def test_isa_is_the_forced_one_or_the_best():
    forced = os.environ.get("FASTCONV_ISA")
    if forced in supported_isas():
        assert gemm.isa() == forced and not gemm.isa_forced_refused()
    elif forced:
        assert gemm.isa() == supported_isas()[-1] and gemm.isa_forced_refused()
    else:
        assert gemm.isa() == supported_isas()[-1] and not gemm.isa_forced_refused()


@pytest.mark.skipif(os.environ.get("FASTCONV_ISA") is not None,
                    reason="already inside a forced-ISA run")
@pytest.mark.parametrize("isa", supported_isas() + ["avx1024"])
def test_every_isa(isa):
    """The engine's tests above pass with each micro-kernel family forced; a name the CPU
    cannot run falls back to the best one."""
    env = dict(os.environ, FASTCONV_ISA=isa)
    tests = os.path.dirname(__file__)
    only = "isa_is_the_forced" if isa not in supported_isas() else "not matmul"
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
           os.path.join(tests, "test_gemm.py"), "-k", only]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


# ops.matmul: the public face of the engine

def random(*shape):
    return RNG.uniform(-1, 1, size=shape)


def test_matmul_matches_numpy_on_layouts():
    a, b = random(37, 300), random(300, 45)
    for a_view in layouts(a):
        for b_view in layouts(b):
            np.testing.assert_allclose(ops.matmul(a_view, b_view), a @ b, rtol=1e-12, atol=1e-12)


def test_matmul_odd_byte_strides_are_copied():
    raw = np.zeros(37 * 8 * 5 + 1, np.uint8)[1:].view(np.float64)  # misaligned data
    a = raw[: 37 * 5].reshape(37, 5)
    a[...] = random(37, 5)
    b = np.lib.stride_tricks.as_strided(np.zeros(1000, np.uint8), shape=(5, 3), strides=(3, 1))
    np.testing.assert_allclose(ops.matmul(a, b.astype(np.float64)), a @ b, atol=1e-12)
    np.testing.assert_allclose(ops.matmul(a, b), a @ b, atol=1e-12)


def test_matmul_dtypes():
    a32, b32 = random(3, 4).astype(np.float32), random(4, 2).astype(np.float32)
    assert ops.matmul(a32, b32).dtype == np.float32
    assert ops.matmul(a32, b32.astype(np.float16)).dtype == np.float32
    assert ops.matmul(a32, b32.astype(np.float64)).dtype == np.float64
    ints = ops.matmul(np.arange(6).reshape(2, 3), np.arange(3).reshape(3, 1))
    assert ints.dtype == np.float64 and ints.tolist() == [[5.0], [14.0]]


def test_matmul_reference_backward_matches_finite_differences():
    a, b, grad_out = random(3, 4), random(4, 2), random(3, 2)
    grad_a, grad_b = reference.matmul_backward(grad_out, a, b)
    assert_gradient_close(grad_a, lambda v: reference.matmul(v, b), a, grad_out)
    assert_gradient_close(grad_b, lambda v: reference.matmul(a, v), b, grad_out)


def test_matmul_backward_matches_numpy():
    a, b, grad_out = random(40, 300), random(300, 17), random(40, 17)
    grad_a, grad_b = ops.matmul_backward(grad_out, a, b)
    np.testing.assert_allclose(grad_a, grad_out @ b.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_b, a.T @ grad_out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shapes", [((0, 3), (3, 4)), ((2, 3), (3, 0)), ((2, 0), (0, 4)),
                                    ((0, 0), (0, 0))])
def test_matmul_zero_size(shapes):
    a, b = np.ones(shapes[0]), np.ones(shapes[1])
    out = ops.matmul(a, b)
    assert out.shape == (a.shape[0], b.shape[1]) and (out == 0).all()
    grad_a, grad_b = ops.matmul_backward(np.ones(out.shape), a, b)
    assert grad_a.shape == a.shape and grad_b.shape == b.shape
    assert (grad_a == 0).all() and (grad_b == 0).all()


def test_matmul_bad_inputs():
    with pytest.raises(ValueError, match=r"a must be 2-D"):
        ops.matmul(random(3), random(3, 2))
    with pytest.raises(ValueError, match=r"b must be 2-D"):
        ops.matmul(random(2, 3), random(3, 2, 1))
    with pytest.raises(ValueError, match=r"a's columns must equal b's rows.*\(2, 3\).*\(4, 2\)"):
        ops.matmul(random(2, 3), random(4, 2))
    with pytest.raises(ValueError, match=r"grad_out must have shape \(2, 5\)"):
        ops.matmul_backward(random(5, 2), random(2, 3), random(3, 5))
    with pytest.raises(ValueError, match=r"grad_out must be 2-D"):
        ops.matmul_backward(random(10), random(2, 3), random(3, 5))
    for bad in (np.ones((2, 2), complex), np.ones((2, 2), bool), np.ones((2, 2), object)):
        with pytest.raises(TypeError, match="a must hold"):
            ops.matmul(bad, random(2, 2))
        with pytest.raises(TypeError, match="b must hold"):
            ops.matmul(random(2, 2), bad)
        with pytest.raises(TypeError, match="grad_out must hold"):
            ops.matmul_backward(bad, random(2, 2), random(2, 2))


def test_matmul_threads_same_bits():
    a, b = random(200, 150).astype(np.float32), random(150, 300).astype(np.float32)
    one = with_threads(1, ops.matmul, a, b)
    assert one.tobytes() == with_threads(2, ops.matmul, a, b).tobytes()


def test_matmul_against_torch():
    torch = pytest.importorskip("torch")
    a, b = random(33, 70), random(70, 20)
    np.testing.assert_allclose(ops.matmul(a, b), torch.from_numpy(a).mm(torch.from_numpy(b)).numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64", "i686", "i386"),
                    reason="denormals are flushed on x86 only")
@pytest.mark.parametrize("threads", [1, 2])
def test_denormals_are_flushed_inside_the_kernel_only(threads):
    tiny = np.float32(1e-40)  # a float32 denormal
    assert tiny != 0
    a = np.full((64, 64), tiny, np.float32)
    b = np.eye(64, dtype=np.float32)
    product = with_threads(threads, ops.matmul, a, b)
    assert not product.any(), "denormal inputs should read as zero inside the GEMM"
    # The calling thread's floating-point mode is given back: NumPy still sees denormals.
    assert np.float32(tiny) * np.float32(1.0) != 0
