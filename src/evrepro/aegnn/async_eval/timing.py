"""Wall time of a block on a device: CUDA work is waited for before the clock is read."""

import time

import torch


class Clock:
    """Wall time of a block on a device: CUDA work is waited for before reading the clock."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()
