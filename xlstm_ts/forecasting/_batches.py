"""Training and validation batches sliced on the training device.

A :class:`WindowBatches` holds a :class:`~xlstm_ts.data.windowing.WindowDataset` and, once told the device
(:class:`PlaceBatches` does that when training starts), a copy of the series on that device.  Each epoch
draws one permutation there and slices every batch from the resident copy: no host-to-device copy, no
Python per window and no synchronisation per step.  Lightning takes any sized iterable as a loader.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from ..data.windowing import WindowDataset

#: Device types whose tensors take the float64 series (MPS has no float64: host batches there).
RESIDENT_DEVICES = ("cpu", "cuda")


class WindowBatches:
    """Batches of ``dataset`` of ``batch_size`` windows (the last one may be smaller: every window is used),
    in a new random order each epoch (one generator on the device, seeded once with ``seed``), or in order."""

    def __init__(self, dataset: WindowDataset, batch_size: int, shuffle: bool, seed: int = 0) -> None:
        self.dataset, self.batch_size, self.shuffle, self.seed = dataset, batch_size, shuffle, seed
        self.device = torch.device("cpu")
        self._generator: torch.Generator | None = None
        self._resident: WindowDataset | None = None

    def place(self, device: torch.device | str) -> None:
        """Build later batches on ``device`` (host batches for devices without float64)."""
        device = torch.device(device)
        self.device = device if device.type in RESIDENT_DEVICES else torch.device("cpu")
        self._resident = self._generator = None

    def resident(self) -> WindowDataset:
        """The dataset on :attr:`device` (copied there once)."""
        if self._resident is None:
            self._resident = self.dataset.to(self.device)
        return self._resident

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        data = self.resident()
        n = len(data)
        if self.shuffle:
            if self._generator is None:
                self._generator = torch.Generator(device=self.device).manual_seed(self.seed)
            order = torch.randperm(n, generator=self._generator, device=self.device)
        else:
            order = torch.arange(n, device=self.device)
        for a in range(0, n, self.batch_size):
            yield data.batch(order[a : a + self.batch_size])
