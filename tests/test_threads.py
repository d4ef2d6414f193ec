"""Thread control: set/get_num_threads, OMP_NUM_THREADS and threadpoolctl."""
import os
import subprocess
import sys
import threading

import pytest

import fastconv
from fastconv._ext import threads as omp


@pytest.fixture
def restore_threads():
    saved = fastconv._threads._requested
    saved_default = omp.omp_max_threads()
    yield
    fastconv._threads._requested = saved
    omp.omp_set_num_threads(saved_default)


@pytest.mark.skipif(not omp.openmp_enabled(), reason="serial build: always 1 thread")
def test_set_then_get(restore_threads):
    fastconv.set_num_threads(1)
    assert fastconv.get_num_threads() == 1
    fastconv.set_num_threads(2)
    assert fastconv.get_num_threads() == 2


def test_serial_build_uses_one_thread(restore_threads):
    if omp.openmp_enabled():
        pytest.skip("OpenMP build")
    fastconv.set_num_threads(2)
    assert fastconv.get_num_threads() == 1


def test_request_caps_other_python_threads(restore_threads):
    fastconv.set_num_threads(1)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(fastconv.get_num_threads()))
    worker.start()
    worker.join()
    assert seen == [1]


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-3, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_bad_thread_counts(bad, error, restore_threads):
    with pytest.raises(error, match="n must be"):
        fastconv.set_num_threads(bad)


def run_python(code, **env):
    full_env = dict(os.environ, **env)
    result = subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.mark.skipif(not omp.openmp_enabled(), reason="serial build")
def test_omp_num_threads_is_honoured():
    assert run_python("import fastconv; print(fastconv.get_num_threads())", OMP_NUM_THREADS="1") == "1"
    assert run_python("import fastconv; print(fastconv.get_num_threads())", OMP_NUM_THREADS="3") == "3"


@pytest.mark.skipif(not omp.openmp_enabled(), reason="serial build")
def test_threadpoolctl_limits_apply(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastconv.set_num_threads(2)
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fastconv.get_num_threads() == 1
    assert fastconv.get_num_threads() == 2
    openmp_libs = [lib for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "openmp"]
    assert openmp_libs, "threadpoolctl does not see the OpenMP runtime fastconv uses"
