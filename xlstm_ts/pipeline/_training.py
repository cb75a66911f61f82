"""A plain PyTorch training loop for the sequence estimators.

Why not the forecasting engine (Lightning, in ``xlstm_ts.forecasting._training``): it is built around
series windows (window datasets sliced on the device, validation splits of each series, checkpoint
reload) and is private to forecasting; these estimators train on an in-memory tensor of sequences, and
scikit-learn's estimator checks fit them hundreds of times, where a Trainer's start-up would dominate.
The loop here is AdamW over shuffled mini-batches with gradient clipping, seeded from ``random_state``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

DEVICES = ("auto", "cpu", "cuda", "gpu", "mps")


def resolve_device(device: str, caller: str) -> torch.device:
    """``"auto"``: a CUDA GPU when there is one, else the CPU; ``"gpu"`` reads as ``"cuda"``.

    Raises ``ValueError`` when the device asked for is not available."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = "cuda" if device == "gpu" else device
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
    }
    if not available[name]:
        raise ValueError(f"{caller} was asked for device={device!r}, but no {name} device is available.")
    return torch.device(name)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch inside the block and give the caller's generator states back afterwards."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@dataclass(frozen=True)
class LoopOptions:
    max_epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    seed: int
    device: torch.device


#: ``loss(network, inputs, targets) -> scalar``; ``targets`` is None for self-supervised objectives.
LossFn = Callable[[nn.Module, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def train_network(
    network: nn.Module,
    loss: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor | None,
    options: LoopOptions,
) -> list[float]:
    """Train ``network`` in place on ``inputs`` (``[n, ...]``, and ``targets`` row-aligned) and return the
    mean training loss of every epoch.  The network ends on the CPU, in eval mode."""
    network.to(options.device).train()
    inputs = inputs.to(options.device)
    targets = targets.to(options.device) if targets is not None else None
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=options.learning_rate, weight_decay=options.weight_decay
    )
    order = torch.Generator().manual_seed(options.seed)
    n = inputs.shape[0]
    batch = min(options.batch_size, n)
    curve: list[float] = []
    for _ in range(options.max_epochs):
        permutation = torch.randperm(n, generator=order).to(options.device)
        total = 0.0
        for start in range(0, n, batch):
            rows = permutation[start : start + batch]
            value = loss(network, inputs[rows], None if targets is None else targets[rows])
            optimiser.zero_grad(set_to_none=True)
            value.backward()
            nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimiser.step()
            total += float(value.detach()) * len(rows)
        curve.append(total / n)
    network.to("cpu").eval()
    return curve


@torch.no_grad()
def batched(
    fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor, device: torch.device, size: int = 256
):
    """``fn`` over ``inputs`` in row batches of ``size`` on ``device``; the results concatenated on the CPU."""
    parts = [fn(inputs[i : i + size].to(device)).cpu() for i in range(0, inputs.shape[0], size)]
    return torch.cat(parts) if parts else torch.empty(0)
