"""Named configurations of the small (NeurIPS) xLSTM language model, and parameter counts of any model config.

The xLSTM Large family has its own presets (:meth:`xlstm_ts.nn.xLSTMLargeConfig.preset`, e.g. ``"7b"``).
The small model's variants differ in where the sLSTM blocks sit:

* ``"mlstm"``: mLSTM blocks only;
* ``"slstm"``: sLSTM blocks only;
* ``"alternating"``: sLSTM at the odd positions (1, 3, ...), mLSTM elsewhere.

>>> cfg = lm_preset("alternating", vocab_size=100, num_blocks=4, embedding_dim=64)
>>> cfg.slstm_at
[1, 3]
>>> count_parameters(cfg) > 0
True
"""

from __future__ import annotations

from typing import Any

import torch

from .configs import (
    FeedForwardConfig,
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMLMModelConfig,
)
from .large_config import xLSTMLargeConfig

LM_PRESETS = ("mlstm", "slstm", "alternating")


def lm_preset(
    name: str,
    vocab_size: int,
    num_blocks: int = 4,
    embedding_dim: int = 128,
    num_heads: int = 4,
    **overrides: Any,
) -> xLSTMLMModelConfig:
    """An :class:`~xlstm_ts.nn.xLSTMLMModelConfig` of one of the variants ``"mlstm"``, ``"slstm"``, ``"alternating"``.

    The blocks use the reference defaults (mLSTM: up-projection 2, conv 4, blocks of 4; sLSTM: conv 4 and a
    gated feed-forward of factor 1.3) with ``num_heads`` heads; ``overrides`` go to the LM config
    (``context_length``, ``tie_weights``, ``dropout``, ...).

    >>> lm_preset("slstm", vocab_size=50).block_map
    [1, 1, 1, 1]
    """
    if name not in LM_PRESETS:
        raise ValueError(f"Unknown lm_preset {name!r}; expected one of {list(LM_PRESETS)}.")
    mlstm = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=num_heads))
    slstm = sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=num_heads), feedforward=FeedForwardConfig())
    blocks: dict[str, Any]
    if name == "mlstm":
        blocks = dict(mlstm_block=mlstm)
    elif name == "slstm":
        blocks = dict(slstm_block=slstm, slstm_at="all")
    else:
        blocks = dict(mlstm_block=mlstm, slstm_block=slstm, slstm_at=list(range(1, num_blocks, 2)))
    return xLSTMLMModelConfig(
        vocab_size=vocab_size, num_blocks=num_blocks, embedding_dim=embedding_dim, **blocks, **overrides
    )


def count_parameters(config: xLSTMLMModelConfig | xLSTMLargeConfig) -> int:
    """Parameters of the model a config describes, without allocating it.

    An :class:`~xlstm_ts.nn.xLSTMLargeConfig` is counted in closed form
    (:meth:`~xlstm_ts.nn.xLSTMLargeConfig.num_parameters`); any other model config is built on PyTorch's
    ``meta`` device (shapes only, no memory) and its parameters are summed, shared ones once.
    """
    if isinstance(config, xLSTMLargeConfig):
        return config.num_parameters()
    from .lm_model import xLSTMLMModel

    with torch.device("meta"):
        model = xLSTMLMModel(config)
    return sum(p.numel() for p in model.parameters())
