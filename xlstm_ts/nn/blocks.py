"""Residual xLSTM blocks: ``x + layer(norm(x))``, followed for sLSTM blocks by ``x + ffn(norm(x))``."""

from __future__ import annotations

import torch
from torch import nn

from .components import GatedFeedForward, LayerNorm
from .configs import mLSTMBlockConfig, sLSTMBlockConfig
from .mlstm import mLSTMLayer
from .slstm import sLSTMLayer


class xLSTMBlock(nn.Module):
    """Pre-norm residual block around an mLSTM or sLSTM layer, with an optional gated FFN."""

    def __init__(
        self, layer: mLSTMLayer | sLSTMLayer, embedding_dim: int, ffn: GatedFeedForward | None
    ) -> None:
        super().__init__()
        self.xlstm_norm = LayerNorm(embedding_dim)
        self.xlstm = layer
        self.ffn_norm = LayerNorm(embedding_dim) if ffn is not None else None
        self.ffn = ffn

    def reset_parameters(self) -> None:
        self.xlstm.reset_parameters()
        self.xlstm_norm.reset_parameters()
        if self.ffn is not None and self.ffn_norm is not None:
            self.ffn.reset_parameters()
            self.ffn_norm.reset_parameters()

    def forward(
        self, x: torch.Tensor, state: dict | None = None, return_state: bool = False
    ) -> tuple[torch.Tensor, dict | None]:
        y, new_state = self.xlstm(self.xlstm_norm(x), state, return_state)
        x = x + y
        if self.ffn is not None and self.ffn_norm is not None:
            x = x + self.ffn(self.ffn_norm(x))
        return x, new_state


class mLSTMBlock(xLSTMBlock):
    """mLSTM block (no feed-forward)."""

    def __init__(self, config: mLSTMBlockConfig) -> None:
        super().__init__(mLSTMLayer(config.mlstm), config.mlstm.embedding_dim, ffn=None)
        self.config = config


class sLSTMBlock(xLSTMBlock):
    """sLSTM block with its gated feed-forward."""

    def __init__(self, config: sLSTMBlockConfig) -> None:
        ffn = GatedFeedForward(config.feedforward) if config.feedforward is not None else None
        super().__init__(sLSTMLayer(config.slstm), config.slstm.embedding_dim, ffn=ffn)
        self.config = config
