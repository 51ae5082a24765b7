"""The training processes' allocator settings: large buffers of changing sizes stop faulting fresh pages in."""

import subprocess
import sys

SCRIPT = """
import resource, sys
import numpy as np
from evrepro.training.allocator import keep_freed_memory
if sys.argv[1] == "kept":
    assert keep_freed_memory()
def step(size):  # a few MB buffers whose sizes change every step, as ECN's do
    buffers = [np.zeros(size + 4096 * k, np.float32) for k in range(4)]
    return sum(float(b[::1024].sum()) for b in buffers)
for size in range(1_000_000, 1_000_000 + 20 * 5000, 5000):  # warm-up
    step(size)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for size in range(1_200_000, 1_200_000 + 50 * 5000, 5000):
    step(size)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def test_kept_memory_is_reused_instead_of_faulted_in_again():
    default, kept = faults("default"), faults("kept")
    assert default > 10_000  # glibc maps every block of this size afresh: ~4 MB of pages per buffer
    assert kept < default / 20
