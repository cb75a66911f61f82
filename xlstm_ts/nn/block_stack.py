"""``xLSTMBlockStack``: the xLSTM backbone, a residual stack of mLSTM and sLSTM blocks."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from .blocks import mLSTMBlock, sLSTMBlock, xLSTMBlock
from .components import LayerNorm
from .configs import mLSTMBlockConfig, xLSTMBlockStackConfig
from .pretrained import PretrainedMixin

StackState = dict[str, dict]


class xLSTMBlockStack(PretrainedMixin, nn.Module):
    """Residual stack of xLSTM blocks followed by an optional LayerNorm; ``[B, S, E] -> [B, S, E]``.

    Unlike the reference implementation it accepts any sequence length and can carry its
    recurrent state: ``forward(x, state, return_state=True)`` continues where the previous call
    stopped, and :meth:`step` advances by one time step.  ``save_pretrained`` / ``from_pretrained``
    (:class:`~xlstm_ts.nn.pretrained.PretrainedMixin`) write and read it as JSON config + safetensors.  Processing a sequence whole, in pieces
    with the state carried over, or step by step gives the same outputs (to float rounding).

    Examples
    --------
    >>> import torch
    >>> from xlstm_ts import xLSTMBlockStack, xLSTMBlockStackConfig, mLSTMBlockConfig, sLSTMBlockConfig
    >>> cfg = xLSTMBlockStackConfig(mlstm_block=mLSTMBlockConfig(), slstm_block=sLSTMBlockConfig(),
    ...                             num_blocks=2, embedding_dim=32, slstm_at=[1])
    >>> stack = xLSTMBlockStack(cfg).eval()
    >>> x = torch.randn(2, 10, 32)
    >>> y = stack(x)
    >>> y_a, state = stack(x[:, :6], return_state=True)
    >>> y_b, state = stack(x[:, 6:], state=state, return_state=True)
    >>> torch.allclose(torch.cat([y_a, y_b], 1), y, atol=1e-5)
    True
    >>> y_t, state = stack.step(torch.randn(2, 1, 32), state)
    >>> y_t.shape
    torch.Size([2, 1, 32])
    """

    config_class = xLSTMBlockStackConfig

    def __init__(self, config: xLSTMBlockStackConfig) -> None:
        super().__init__()
        self.config = config
        blocks: list[xLSTMBlock] = []
        for idx in range(config.num_blocks):
            block_cfg = config.block_config(idx)
            blocks.append(
                mLSTMBlock(block_cfg) if isinstance(block_cfg, mLSTMBlockConfig) else sLSTMBlock(block_cfg)
            )
        self.blocks = nn.ModuleList(blocks)
        self.post_blocks_norm = (
            LayerNorm(config.embedding_dim) if config.add_post_blocks_norm else nn.Identity()
        )

    def reset_parameters(self) -> None:
        for block in self.blocks:
            cast(xLSTMBlock, block).reset_parameters()
        if isinstance(self.post_blocks_norm, LayerNorm):
            self.post_blocks_norm.reset_parameters()

    def _check_input(self, x: torch.Tensor) -> None:
        E = self.config.embedding_dim
        if x.dim() != 3 or x.shape[-1] != E or x.shape[1] < 1:
            raise ValueError(
                f"xLSTMBlockStack expects input of shape [batch, seq_len >= 1, embedding_dim={E}]; "
                f"got {tuple(x.shape)}."
            )

    def forward(
        self, x: torch.Tensor, state: StackState | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, StackState]:
        """Run the stack over ``x`` ``[B, S, E]``.

        Parameters
        ----------
        state : dict, optional
            ``{"block_<i>": block_state}`` from a previous call (or :meth:`step`) to continue from.
        return_state : bool
            Return ``(y, state)`` instead of ``y``.
        """
        self._check_input(x)
        state = state or {}
        new_state: StackState = {}
        for idx, block in enumerate(self.blocks):
            x, block_state = block(x, state.get(f"block_{idx}"), return_state)
            if return_state:
                new_state[f"block_{idx}"] = block_state
        y = self.post_blocks_norm(x)
        return (y, new_state) if return_state else y

    def uncompile(self) -> None:
        """Undo :meth:`torch.nn.Module.compile`: calls run the eager module again (a no-op if not compiled).

        ``compile()`` keeps a compiled ``__call__`` in ``_compiled_call_impl``; torch has no public undo.
        """
        self._compiled_call_impl = None

    def step(self, x: torch.Tensor, state: StackState | None = None) -> tuple[torch.Tensor, StackState]:
        """Advance by one time step: ``x`` ``[B, 1, E]`` -> ``(y [B, 1, E], new_state)``."""
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"step expects input of shape [batch, 1, embedding_dim]; got {tuple(x.shape)}.")
        return self.forward(x, state, return_state=True)  # type: ignore[return-value]
