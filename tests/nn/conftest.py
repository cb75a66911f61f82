"""Shared builders for backbone tests."""

from __future__ import annotations

import pytest
import torch

from xlstm_ts.nn import (
    FeedForwardConfig,
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMBlockStack,
    xLSTMBlockStackConfig,
)

KINDS = ["mlstm", "slstm", "mixed"]


def stack_config(kind: str, embedding_dim: int = 32, num_blocks: int = 3, **kw) -> xLSTMBlockStackConfig:
    mlstm = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=4))
    slstm = sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=4), feedforward=FeedForwardConfig())
    common = dict(num_blocks=num_blocks, embedding_dim=embedding_dim, **kw)
    if kind == "mlstm":
        return xLSTMBlockStackConfig(mlstm_block=mlstm, **common)
    if kind == "slstm":
        return xLSTMBlockStackConfig(slstm_block=slstm, **common)
    return xLSTMBlockStackConfig(mlstm_block=mlstm, slstm_block=slstm, slstm_at=[1], **common)


def perturbed_stack(kind: str, seed: int = 0, dtype=torch.float32, **kw) -> xLSTMBlockStack:
    """A stack whose parameters are moved off their init (zeros/ones inits hide bugs)."""
    torch.manual_seed(seed)
    stack = xLSTMBlockStack(stack_config(kind, **kw)).to(dtype).eval()
    with torch.no_grad():
        for p in stack.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return stack


def flatten_state(state: dict) -> list[torch.Tensor]:
    """Every tensor of a stack state ``{"block_i": {"..._state": tuple | Tensor}}``, in order."""
    return [
        t
        for block in state.values()
        for part in block.values()
        for t in (part if isinstance(part, tuple) else (part,))
    ]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param
