"""Every row of the op table against its reference, in every dtype and memory layout,
with inputs left unchanged, the same bits for any thread count, and thread safety."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from op_table import all_cases, tolerance
from strategies import DTYPES, LAYOUTS, with_layout
from thread_count import with_threads

CASES = all_cases()
IDS = [case.name for case in CASES]


def assert_same_result(fast, ref, tol, exact):
    """Compare op results: arrays, scalars, None, or tuples of those."""
    if isinstance(ref, tuple):
        assert isinstance(fast, tuple) and len(fast) == len(ref), f"{type(fast)} vs {type(ref)}"
        for f, r in zip(fast, ref):
            assert_same_result(f, r, tol, exact)
        return
    if ref is None:
        assert fast is None
        return
    fast_arr, ref_arr = np.asarray(fast), np.asarray(ref)
    assert fast_arr.shape == ref_arr.shape, f"shape {fast_arr.shape} != reference {ref_arr.shape}"
    assert fast_arr.dtype == ref_arr.dtype, f"dtype {fast_arr.dtype} != reference {ref_arr.dtype}"
    if exact or ref_arr.dtype.kind in "iub":
        np.testing.assert_array_equal(fast_arr, ref_arr)
    else:
        scale = max(1.0, float(np.max(np.abs(ref_arr[np.isfinite(ref_arr)]), initial=0.0)))
        np.testing.assert_allclose(fast_arr, ref_arr, rtol=tol, atol=tol * scale, equal_nan=True)


def relayout(example, layout):
    args = tuple(with_layout(a, layout) for a in example.args)
    kwargs = {k: with_layout(v, layout) for k, v in example.kwargs.items()}
    return args, kwargs


def snapshot(args, kwargs):
    return [np.array(a, copy=True) for a in (*args, *kwargs.values()) if isinstance(a, np.ndarray)]


def draw_example(case, data, dtype=None, integer_valued=None):
    dtype = np.dtype(dtype or data.draw(st.sampled_from(DTYPES), label="dtype"))
    if integer_valued is None:
        integer_valued = data.draw(st.booleans(), label="integer_valued")
    return case.example(data.draw, dtype, integer_valued), dtype, integer_valued


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_matches_reference(case, data):
    example, dtype, integer_valued = draw_example(case, data)
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    args, kwargs = relayout(example, layout)
    before = snapshot(args, kwargs)
    fast = case.fast(*args, **kwargs)
    assert all(np.array_equal(b, a, equal_nan=True) for b, a in zip(before, snapshot(args, kwargs))), \
        "the op wrote to its input"
    ref = case.reference(*example.args, **example.kwargs)
    tol = tolerance(dtype, example.reduction, case.tolerance_factor)
    assert_same_result(fast, ref, tol, exact=integer_valued and case.exact_on_integers)




def assert_bitwise_equal(a, b):
    if isinstance(a, tuple):
        for x, y in zip(a, b):
            assert_bitwise_equal(x, y)
    elif a is None:
        assert b is None
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=20)
@given(data=st.data())
def test_same_bits_for_any_thread_count(case, data):
    example, _, _ = draw_example(case, data, integer_valued=False)
    one = with_threads(1, case.fast, *example.args, **example.kwargs)
    for n in (2, 3):
        assert_bitwise_equal(one, with_threads(n, case.fast, *example.args, **example.kwargs))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=3)
@given(data=st.data())
def test_concurrent_python_threads(case, data):
    example, _, _ = draw_example(case, data, integer_valued=False)
    expected = case.fast(*example.args, **example.kwargs)
    results = [None] * 4
    errors = []

    def work(i):
        try:
            for _ in range(3):
                results[i] = case.fast(*example.args, **example.kwargs)
        except Exception as exc:  # reported below, with the thread's number
            errors.append((i, exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for result in results:
        assert_bitwise_equal(expected, result)
