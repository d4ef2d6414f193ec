"""fastconv keeps freed heap memory mapped (fastconv/_heap.py): a second round of the same
allocations costs no page faults. Run in fresh processes, so malloc's state is known."""
import os
import subprocess
import sys

import pytest

from fastconv._heap import _glibc, keep_freed_memory

pytestmark = pytest.mark.skipif(not _glibc(), reason="malloc tuning is glibc-only")

# Rounds of 8 arrays of 3 MiB (under the 4 MiB from which NumPy asks for huge pages), each
# written then all freed, as a training step does with its activations; prints the minor
# page faults of the last round.
ROUNDS = """
import resource
import numpy as np
import fastconv
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(3 << 18, np.float32) for _ in range(8)]
    del arrays
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults_of_last_round(keep_heap):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    env["FASTCONV_KEEP_HEAP"] = keep_heap
    out = subprocess.run([sys.executable, "-c", ROUNDS], env=env, check=True,
                         capture_output=True, text=True)
    return int(out.stdout)


def test_freed_arrays_are_reused_without_page_faults():
    pages = 8 * (3 << 20) // 4096
    assert _faults_of_last_round("1") < pages // 20
    # and malloc left alone hands the memory back and faults it in again
    assert _faults_of_last_round("0") > pages // 2


@pytest.mark.parametrize("name, value", [("FASTCONV_KEEP_HEAP", "0"), ("MALLOC_TOP_PAD_", "0"),
                                         ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")])
def test_malloc_left_alone_when_asked_or_tuned_by_the_user(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert keep_freed_memory() is False
