"""The C allocator's settings for a training process: freed memory kept for reuse, not handed back to the system.

ECN's batches change shape at every step, so its large buffers (a few MB each) never fit the chunks glibc keeps:
each step mapped fresh pages and faulted them in, ~8,000 page faults and 13 ms of system time per CPU training step.
With large blocks served from the heap and the heap never trimmed, a step faults ~200 pages and spends ~2 ms there.
The process then holds on to its peak memory until it exits, as a training job does anyway.
"""

import ctypes
import ctypes.util

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = ((M_MMAP_THRESHOLD, 1 << 30),  # blocks up to 1 GiB from the heap, not from mmap
            (M_TRIM_THRESHOLD, 1 << 30),  # the heap's free top is returned only beyond 1 GiB
            (M_TOP_PAD, 256 << 20))  # and it grows 256 MiB at a time


def keep_freed_memory() -> bool:
    """Apply ``SETTINGS`` to this process's allocator; False where the C library has no ``mallopt`` (not glibc)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(parameter, value) == 1 for parameter, value in SETTINGS)
