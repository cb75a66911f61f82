"""sLSTM cell and layer: scalar memory with exponential gating and per-head recurrent mixing.

Naming note: the reference package calls the projection that feeds the *input* gate ``fgate`` and
the one that feeds the *forget* gate ``igate``.  Here the names say what the modules do
(``igate`` feeds the input gate); :func:`xlstm_ts.nn.load_reference_state_dict` swaps the two
when it reads a reference checkpoint.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from xlstm_ts.kernels import sLSTMState, slstm_sequence, slstm_step

from .components import CausalConv1d, LinearHeadwiseExpand, MultiHeadLayerNorm, small_init_
from .configs import resolve_backend, sLSTMLayerConfig


class sLSTMCell(nn.Module):
    """Recurrent part of the sLSTM.

    Parameters: ``recurrent_kernel`` ``[NH, DH_in, 4, DH_out]`` (gate order i, f, z, o) and
    ``bias`` ``[NH, 4, DH]`` -- the reference package's backend-independent ("external") layouts.
    """

    def __init__(self, config: sLSTMLayerConfig) -> None:
        super().__init__()
        self.config = config
        NH, DH = config.num_heads, config.head_dim
        self.backend = resolve_backend(config.backend)
        self.recurrent_kernel = nn.Parameter(torch.empty(NH, DH, 4, DH))
        self.bias = nn.Parameter(torch.empty(NH, 4, DH))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        cfg = self.config
        DH = cfg.head_dim
        bound = 1.0 / math.sqrt(cfg.hidden_size)
        with torch.no_grad():
            if cfg.recurrent_weight_init == "zeros":
                self.recurrent_kernel.zero_()
            elif cfg.recurrent_weight_init == "standard":
                self.recurrent_kernel.uniform_(-bound, bound)
            else:
                raise ValueError(f"Unknown recurrent_weight_init {cfg.recurrent_weight_init!r}.")
            self.bias.zero_()
            if cfg.bias_init == "powerlaw_blockdependent":
                ratio = cfg._block_idx / (cfg._num_blocks - 1) if cfg._num_blocks > 1 else 0.0
                position = torch.arange(DH) / max(DH - 1, 1)
                self.bias[:, 1] = -(-5.0 + 12.0 * position ** (0.3 + 1.3 * ratio))
            elif cfg.bias_init == "small_init":
                self.bias[:, 1] = torch.linspace(3.0, 6.0, DH)
            elif cfg.bias_init == "standard":
                self.bias.uniform_(-bound, bound)
            elif cfg.bias_init != "zeros":
                raise ValueError(f"Unknown bias_init {cfg.bias_init!r}.")

    def forward(
        self, gates: torch.Tensor, state: sLSTMState | None = None, return_state: bool = False
    ) -> tuple[torch.Tensor, sLSTMState | None]:
        """``gates`` ``[B, S, NH, 4, DH]`` -> ``h`` ``[B, S, NH, DH]`` (and the final state)."""
        if gates.shape[1] == 1 and return_state:
            h, new_state = slstm_step(
                gates[:, 0], self.recurrent_kernel, self.bias, state, kernel=f"step--{self.backend}"
            )
            return h[:, None], new_state
        return slstm_sequence(
            gates,
            self.recurrent_kernel,
            self.bias,
            initial_state=state,
            return_last_state=return_state,
            kernel=f"sequence--{self.backend}",
        )


class sLSTMLayer(nn.Module):
    """The sLSTM layer of an sLSTM block; maps ``[B, S, E]`` to ``[B, S, E]``.

    ``state`` is a dict ``{"slstm_state": sLSTMState, "conv_state": Tensor[B, K-1, E]}``.
    """

    def __init__(self, config: sLSTMLayerConfig) -> None:
        super().__init__()
        self.config = config
        E, NH = config.embedding_dim, config.num_heads
        self.conv1d = CausalConv1d(E, config.conv1d_kernel_size)
        self.igate = LinearHeadwiseExpand(E, NH, bias=False)
        self.fgate = LinearHeadwiseExpand(E, NH, bias=False)
        self.zgate = LinearHeadwiseExpand(E, NH, bias=False)
        self.ogate = LinearHeadwiseExpand(E, NH, bias=False)
        self.slstm_cell = sLSTMCell(config)
        self.group_norm = MultiHeadLayerNorm(E, weight=config.group_norm_weight)
        self.dropout = nn.Dropout(config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.slstm_cell.reset_parameters()
        self.group_norm.reset_parameters()
        self.conv1d.reset_parameters()
        for gate in (self.igate, self.fgate, self.zgate, self.ogate):
            small_init_(gate.weight, dim=self.config.embedding_dim)

    def forward(
        self, x: torch.Tensor, state: dict | None = None, return_state: bool = False
    ) -> tuple[torch.Tensor, dict | None]:
        state = state or {}
        B, S, E = x.shape
        NH = self.config.num_heads
        x_conv, conv_state = self.conv1d(x, state.get("conv_state"))
        if self.conv1d.conv is not None:
            x_conv = F.silu(x_conv)
        gates = torch.stack([self.igate(x_conv), self.fgate(x_conv), self.zgate(x), self.ogate(x)], dim=2)
        gates = gates.view(B, S, 4, NH, E // NH).transpose(2, 3)  # [B, S, 4, E] -> [B, S, NH, 4, DH]
        h, cell_state = self.slstm_cell(gates, state.get("slstm_state"), return_state)
        y = self.group_norm(self.dropout(h)).reshape(B, S, E)
        new_state = {"slstm_state": cell_state, "conv_state": conv_state} if return_state else None
        return y, new_state
