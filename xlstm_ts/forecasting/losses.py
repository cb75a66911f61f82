"""Training losses on ``[B, H, Q]`` predictions and ``[B, H]`` targets."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

LOSSES = ("mse", "mae", "huber", "quantile")


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean quantile (pinball) loss; ``pred`` ``[B, H, Q]``, ``target`` ``[B, H]``, ``quantiles`` ``[Q]``."""
    diff = target[..., None] - pred
    return torch.maximum(quantiles * diff, (quantiles - 1) * diff).mean()


def forecast_loss(
    name: str, pred: torch.Tensor, target: torch.Tensor, quantiles: Sequence[float] = ()
) -> torch.Tensor:
    """Loss ``name`` (one of :data:`LOSSES`) between predictions and targets."""
    if name == "quantile":
        q = torch.as_tensor(list(quantiles), dtype=pred.dtype, device=pred.device)
        return pinball_loss(pred, target, q)
    point = pred[..., 0]
    if name == "mse":
        return F.mse_loss(point, target)
    if name == "mae":
        return F.l1_loss(point, target)
    if name == "huber":
        return F.huber_loss(point, target, delta=1.0)
    raise ValueError(f"Unknown loss {name!r}; expected one of {LOSSES}.")


def window_losses(
    name: str, pred: torch.Tensor, target: torch.Tensor, quantiles: Sequence[float] = ()
) -> torch.Tensor:
    """Loss ``name`` of every window ``[B]``: the mean over its horizon (and quantiles) of the elementwise
    loss, so that ``window_losses(...).mean() == forecast_loss(...)`` for windows of one horizon."""
    if name == "quantile":
        q = torch.as_tensor(list(quantiles), dtype=pred.dtype, device=pred.device)
        diff = target[..., None] - pred
        return torch.maximum(q * diff, (q - 1) * diff).mean(dim=(1, 2))
    point = pred[..., 0]
    if name == "mse":
        return ((point - target) ** 2).mean(dim=1)
    if name == "mae":
        return (point - target).abs().mean(dim=1)
    if name == "huber":
        return F.huber_loss(point, target, delta=1.0, reduction="none").mean(dim=1)
    raise ValueError(f"Unknown loss {name!r}; expected one of {LOSSES}.")
