"""The torch modules of the sequence estimators: an input projection, the xLSTM backbone, pooling over
time and the small heads that the three estimators train.

Shapes (kernels/README.md legend): ``x`` ``[B, L, C]`` raw sequences, ``hidden`` ``[B, L, E]``, the pooled
embedding ``[B, D]`` with ``D = E`` (``"last"``, ``"mean"``) or ``2 E`` (``"both"``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..nn import xLSTMBlockStack, xLSTMBlockStackConfig
from ..nn.configs import BACKBONE_NAMES

BACKBONES = BACKBONE_NAMES
POOLINGS = ("last", "mean", "both")


def pooled_dim(embedding_dim: int, pooling: str) -> int:
    """Width of the pooled embedding."""
    return 2 * embedding_dim if pooling == "both" else embedding_dim


def pool(hidden: torch.Tensor, pooling: str) -> torch.Tensor:
    """``[B, S, E] -> [B, D]``: the last hidden state, the mean over time, or both side by side."""
    if pooling == "last":
        return hidden[:, -1]
    if pooling == "mean":
        return hidden.mean(dim=1)
    return torch.cat([hidden[:, -1], hidden.mean(dim=1)], dim=-1)


class SequenceNetwork(nn.Module):
    """Per-channel standardisation -> ``Linear(C, E)`` -> ``xLSTMBlockStack`` -> pooling -> heads.

    ``loc`` and ``scale`` (buffers, ``[C]``) standardise each channel with statistics of the training
    data, so the network reads raw sequences.  ``head`` maps the pooled embedding to ``n_outputs`` values
    (a regression target, class logits, or a reconstruction of the window); ``step_head``, when present,
    maps every hidden state to the next step's channels (the next-step objective of the embedder).
    """

    loc: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self,
        config: xLSTMBlockStackConfig,
        n_channels: int,
        n_outputs: int,
        pooling: str = "both",
        dropout: float = 0.0,
        step_head: bool = False,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}.")
        E = config.embedding_dim
        self.pooling = pooling
        self.register_buffer("loc", torch.zeros(n_channels))
        self.register_buffer("scale", torch.ones(n_channels))
        self.input_proj = nn.Linear(n_channels, E)
        self.backbone = xLSTMBlockStack(config)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(pooled_dim(E, pooling), n_outputs) if n_outputs > 0 else None
        self.step_head = nn.Linear(E, n_channels) if step_head else None

    @property
    def embedding_size(self) -> int:
        """Width ``D`` of :meth:`embed`'s output."""
        return pooled_dim(self.backbone.config.embedding_dim, self.pooling)

    def set_scaling(self, loc: torch.Tensor, scale: torch.Tensor) -> None:
        """Set the per-channel standardisation (``[C]`` each; ``scale`` > 0)."""
        self.loc.copy_(loc)
        self.scale.copy_(scale)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.loc) / self.scale

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone states ``[B, L, E]`` of raw sequences ``[B, L, C]``."""
        return self.backbone(self.input_proj(self.standardise(x)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embedding ``[B, D]``."""
        return pool(self.hidden(x), self.pooling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``head`` on the pooled embedding: ``[B, n_outputs]``."""
        if self.head is None:
            raise RuntimeError("This SequenceNetwork was built without a head (n_outputs=0).")
        return self.head(self.dropout(self.embed(x)))


class ForecasterBackbone(nn.Module):
    """The embedding part of a fitted forecaster's network, read as ``[B, L, C] -> [B, D]``.

    Channel 0 is the target, channels 1.. the forecaster's past covariates (in its training order).  The
    forecaster's own per-window normalisation applies; its per-series scaler does not (windows carry no
    series id), which is harmless with ``instance_norm=True``, the forecaster's default.
    """

    def __init__(self, network: Any, pooling: str) -> None:
        super().__init__()
        self.network: Any = network  # the forecaster's ForecastNetwork
        self.pooling = pooling

    @property
    def embedding_size(self) -> int:
        return pooled_dim(self.network.backbone.config.embedding_dim, self.pooling)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        future = x.new_zeros(B, L, 0)  # the forecaster has no future covariates (checked by the caller)
        static = x.new_zeros(B, 0)
        hidden, _, _ = self.network.embed(x[..., 0], x[..., 1:], future, static)
        return pool(hidden, self.pooling)
