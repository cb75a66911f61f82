"""The forecasting network: per-step tokens -> xLSTM backbone -> direct multi-horizon head.

Inputs of one batch (shapes): ``x`` ``[B, L]`` target history (already scaled per series),
``past`` ``[B, L, P]`` past-only covariates, ``future`` ``[B, L + H, F]`` future-known covariates
over the history and the horizon, ``static`` ``[B, K]``.  Output ``[B, H, Q]`` (``Q`` quantiles,
1 for point losses) on the same scale as ``x``.

With ``patch_size = p > 1`` the history is cut into ``ceil(L / p)`` non-overlapping patches that
become the backbone's tokens (PatchTST/xLSTMTime style), which shortens the recurrence ``p``-fold.

Per-window instance normalisation (``instance_norm=True``) subtracts each window's mean and divides
by its standard deviation (plus a small floor, see ``WINDOW_EPS``) before the backbone and undoes it on the output, which lets
one model serve series of different levels and trends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from ..nn import (
    FeedForwardConfig,
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMBlockStack,
    xLSTMBlockStackConfig,
)

BACKBONES = ("mlstm", "slstm", "mixed")
#: Floor added to the per-window standard deviation, in the units the network reads.  Behind a per-series
#: scaler those units are the series' own scale, so the floor is relative to the data; without one
#: (``relative_eps=True``) it is taken relative to the window's largest magnitude instead.  Either way,
#: scaling the data by ``c > 0`` scales the forecast by ``c``.
WINDOW_EPS = 1e-5


def stack_config(
    backbone: str | xLSTMBlockStackConfig,
    embedding_dim: int,
    num_blocks: int,
    num_heads: int,
    slstm_at: Sequence[int] | None,
    dropout: float,
    caller: str = "xLSTMForecaster",
) -> xLSTMBlockStackConfig:
    """The backbone config described by the flat hyperparameters (a copy of ``backbone`` if a config)."""
    if isinstance(backbone, xLSTMBlockStackConfig):
        return xLSTMBlockStackConfig.from_dict(backbone.to_dict())
    mlstm = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=num_heads))
    slstm = sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=num_heads), feedforward=FeedForwardConfig())
    common: dict[str, Any] = dict(num_blocks=num_blocks, embedding_dim=embedding_dim, dropout=dropout)
    try:
        if backbone == "mlstm":
            return xLSTMBlockStackConfig(mlstm_block=mlstm, **common)
        if backbone == "slstm":
            return xLSTMBlockStackConfig(slstm_block=slstm, **common)
        at = [num_blocks // 2] if slstm_at is None else list(slstm_at)
        return xLSTMBlockStackConfig(mlstm_block=mlstm, slstm_block=slstm, slstm_at=at, **common)
    except ValueError as err:  # e.g. heads not dividing the width, slstm_at out of range
        raise InvalidParameterError(f"Invalid backbone hyperparameters for {caller}: {err}") from err


class ForecastNetwork(nn.Module):
    """``xLSTMBlockStack`` with an input projection and a direct multi-horizon output head."""

    def __init__(
        self,
        stack_config: xLSTMBlockStackConfig,
        horizon: int,
        n_outputs: int = 1,
        n_past: int = 0,
        n_future: int = 0,
        n_static: int = 0,
        instance_norm: bool = True,
        dropout: float = 0.0,
        patch_size: int = 1,
        relative_eps: bool = False,
    ) -> None:
        super().__init__()
        E = stack_config.embedding_dim
        self.horizon, self.n_outputs, self.instance_norm = horizon, n_outputs, instance_norm
        self.n_past, self.n_future, self.n_static = n_past, n_future, n_static
        self.patch_size = patch_size
        self.relative_eps = relative_eps
        self.input_proj = nn.Linear(patch_size * (1 + n_past + n_future + n_static), E)
        self.backbone = xLSTMBlockStack(stack_config)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(E + horizon * n_future + n_static, horizon * n_outputs)

    def embed(self, x, past, future, static) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Backbone hidden states ``[B, L, E]`` plus the window's location and scale ``[B, 1]``."""
        if self.instance_norm:
            loc = x.mean(dim=1, keepdim=True)
            spread = x.std(dim=1, keepdim=True, unbiased=False)
            if self.relative_eps:
                scale = spread + WINDOW_EPS * x.abs().amax(dim=1, keepdim=True)
                scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero window
            else:
                scale = spread + WINDOW_EPS
        else:
            loc = torch.zeros_like(x[:, :1])
            scale = torch.ones_like(x[:, :1])
        L = x.shape[1]
        parts = [((x - loc) / scale)[..., None], past, future[:, :L]]
        if self.n_static:
            parts.append(static[:, None, :].expand(-1, L, -1))
        features = torch.cat(parts, dim=-1)  # [B, L, C] with C = 1+P+F+K
        p = self.patch_size
        if p > 1:  # non-overlapping patches; the oldest patch is left-padded by repeating the first row
            pad = (-L) % p
            if pad:
                features = torch.cat([features[:, :1].expand(-1, pad, -1), features], dim=1)
            features = features.reshape(features.shape[0], -1, p * features.shape[-1])  # [B, L/p, p*C]
        return self.backbone(self.input_proj(features)), loc, scale  # tokens [B, L/p, E]

    def forward(self, x, past, future, static) -> torch.Tensor:
        hidden, loc, scale = self.embed(x, past, future, static)
        B, L = x.shape
        head_in = [self.dropout(hidden[:, -1])]
        if self.n_future:
            head_in.append(future[:, L:].reshape(B, -1))
        if self.n_static:
            head_in.append(static)
        out = self.head(torch.cat(head_in, dim=-1)).view(B, self.horizon, self.n_outputs)
        return out * scale[..., None] + loc[..., None]
