"""Peak resident size of a piece of code, in this process (Linux): the benchmarks' memory measure."""

from pathlib import Path

CLEAR_REFS = Path("/proc/self/clear_refs")  # writing 5 resets the peak resident size (VmHWM) to the current one


def status_kib(field: str) -> int:
    """A size from /proc/self/status (VmRSS, VmHWM) in KiB."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field + ":"))
    return int(line.split()[1])


class PeakRise:
    """``with PeakRise() as rise:`` — afterwards ``rise.bytes`` is how far the block raised the peak resident size
    above the resident size before it."""

    def __enter__(self):
        CLEAR_REFS.write_text("5")
        self.before = status_kib("VmRSS")
        return self

    def __exit__(self, *exc):
        self.bytes = (status_kib("VmHWM") - self.before) * 1024
