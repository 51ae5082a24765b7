"""A file's fixed-size records read in blocks into one reused buffer, so that decoding a file of any size needs,
beside its output, the memory of one block (small enough to stay in cache between the read and the decoding)."""

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from evrepro.events.array import EventFormatError

BLOCK_BYTES = 1 << 19


def record_blocks(handle: BinaryIO, count: int, record_bytes: int, where: str) -> Iterator[np.ndarray]:
    """The next ``count`` records of ``record_bytes`` bytes of ``handle`` as uint8 arrays of at most ``BLOCK_BYTES``:
    views of one buffer, each overwritten by the next."""
    per_block = max(1, BLOCK_BYTES // record_bytes)
    buffer = np.empty(min(count, per_block) * record_bytes, np.uint8)
    for start in range(0, count, per_block):
        block = buffer[: min(per_block, count - start) * record_bytes]
        got = handle.readinto(block)
        if got != block.size:
            raise EventFormatError(f"{where}: ends at byte {handle.tell()}, {block.size - got} bytes short of record "
                                   f"{start + got // record_bytes}: the file shrank while it was read")
        yield block
