"""Keep the memory of freed arrays in the process between training steps (glibc only).

Every forward and backward allocates its activations and gradients afresh as NumPy
arrays. With glibc's defaults, arrays of a few MiB are mmap'ed or carved from the top of
the heap, and once a step has freed them the heap top is handed back to the kernel; the
next step then takes a page fault on every 4 KiB page again (measured: 4,000 faults and a
quarter of a simple-CNN training step at batch 64; 6,500 faults per ResNet-18 step).
Raising malloc's mmap threshold to its maximum (32 MiB) and its trim threshold to
256 MiB keeps that memory mapped, as the caching allocators of other frameworks do: a
process holds at most 256 MiB of freed heap above what it is using.

Applied once, when fastconv is imported. FASTCONV_KEEP_HEAP=0 leaves malloc alone, and so
does a malloc tuned by the user already (MALLOC_*_ variables or glibc.malloc tunables).
"""
import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3     # mallopt parameters, from glibc's malloc.h
MMAP_THRESHOLD = 32 << 20                        # the largest glibc accepts on 64-bit
TRIM_THRESHOLD = 256 << 20


def _glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr, or not this name (musl, macOS)
        return False


def _user_tuned():
    return (any(name.startswith("MALLOC_") and name.endswith("_") for name in os.environ)
            or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""))


def keep_freed_memory():
    """Tune glibc's malloc as above; True when it took effect."""
    if os.environ.get("FASTCONV_KEEP_HEAP", "1") == "0" or not _glibc() or _user_tuned():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt     # the process's own C library
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
