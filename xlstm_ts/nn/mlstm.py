"""mLSTM cell and layer (the NeurIPS-2024 "small" xLSTM design).

The layer up-projects to an inner width ``I``, runs a causal conv + SiLU branch that feeds q and k,
takes v from the un-convolved branch, runs the mLSTM cell through the kernel registry, normalises its output
per head, adds a learnable skip of the conv branch and gates the result with ``SiLU(z)`` before projecting
down (the last three as one fused output stage, :func:`xlstm_ts.kernels.mlstm_output`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from xlstm_ts.kernels import mLSTMState, mlstm_output, mlstm_sequence, mlstm_step

from .components import CausalConv1d, LinearHeadwiseExpand, MultiHeadLayerNorm, small_init_, wang_init_
from .configs import check_backend, mLSTMLayerConfig, resolve_backend


def output_kernel(backend: str) -> str:
    """Kernel name of the layer's output stage for a layer ``backend``.

    Under ``torch.compile`` with ``backend="auto"`` the PyTorch stage: inductor fuses it about as well as our
    Triton stage and can fuse it with its neighbours (captured compiled training step 10.51 ms with it against
    10.90 ms with the Triton stage; mLSTM only, bf16, H200; docs/benchmarks.md, 'third pass').  Eager calls
    take the Triton stage on CUDA (``"auto"``), which made the eager step's kernels a third cheaper.
    """
    if backend == "auto" and torch.compiler.is_compiling():
        return "output--native"
    return f"output--{backend}"


class mLSTMCell(nn.Module):
    """Gates from ``concat(q, k, v)``, the mLSTM recurrence, and a per-head output norm.

    Inputs ``q, k, v`` are ``[B, S, I]``; the output is ``[B, S, I]``.
    """

    def __init__(
        self, inner_dim: int, num_heads: int, backend: str = "auto", chunk_size: int = 64, eps: float = 1e-6
    ) -> None:
        super().__init__()
        check_backend("mlstm", backend, type(self).__name__)
        self.num_heads = num_heads
        self.backend = resolve_backend(backend)
        self.chunk_size = chunk_size
        self.eps = eps
        self.igate = nn.Linear(3 * inner_dim, num_heads)
        self.fgate = nn.Linear(3 * inner_dim, num_heads)
        self.outnorm = MultiHeadLayerNorm(inner_dim, weight=True, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.outnorm.reset_parameters()
        nn.init.zeros_(self.fgate.weight)
        with torch.no_grad():
            self.fgate.bias.copy_(torch.linspace(3.0, 6.0, self.num_heads))
        nn.init.zeros_(self.igate.weight)
        nn.init.normal_(self.igate.bias, mean=0.0, std=0.1)

    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        state: mLSTMState | None = None,
        return_state: bool = False,
    ) -> tuple[torch.Tensor, mLSTMState | None]:
        B, S, inner = q.shape
        h, new_state = self.recurrence(q, k, v, state, return_state)
        h = self.outnorm(h.transpose(1, 2))  # [B, NH, S, DH] -> [B, S, NH, DH]
        return h.reshape(B, S, inner), new_state

    def recurrence(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        state: mLSTMState | None = None,
        return_state: bool = False,
    ) -> tuple[torch.Tensor, mLSTMState | None]:
        """The gates and the mLSTM recurrence without the output norm: ``h`` ``[B, NH, S, DH]`` (the layer
        normalises it in its fused output stage)."""
        B, S, _ = q.shape
        NH = self.num_heads
        gate_in = torch.cat([q, k, v], dim=-1)
        # both gates in one product (gate_in is read once, and its gradient is one product, not a sum of two);
        # each output is the same dot product as with the two layers
        w = torch.cat([self.igate.weight, self.fgate.weight])
        b = torch.cat([self.igate.bias, self.fgate.bias])
        i, f = F.linear(gate_in, w, b).transpose(1, 2).split(NH, dim=1)  # [B, S, 2 NH] -> 2 x [B, NH, S]
        qh, kh, vh = (t.view(B, S, NH, -1).transpose(1, 2) for t in (q, k, v))  # [B, S, I] -> [B, NH, S, DH]
        new_state: mLSTMState | None
        if S == 1 and return_state:
            h, new_state = mlstm_step(
                qh[:, :, 0],
                kh[:, :, 0],
                vh[:, :, 0],
                i[:, :, 0],
                f[:, :, 0],
                state,
                eps=self.eps,
                kernel=f"step--{self.backend}",
            )
            h = h[:, :, None]
        else:
            h, new_state = mlstm_sequence(
                qh,
                kh,
                vh,
                i,
                f,
                initial_state=state,
                return_last_state=return_state,
                chunk_size=self.chunk_size,
                eps=self.eps,
                kernel=f"chunkwise--{self.backend}",
            )
        return h, new_state


class mLSTMLayer(nn.Module):
    """The mLSTM layer of an mLSTM block; maps ``[B, S, E]`` to ``[B, S, E]``.

    ``forward(x, state=None, return_state=False)``: ``state`` is a dict
    ``{"mlstm_state": mLSTMState, "conv_state": Tensor[B, K-1, I]}`` as returned by a previous call.
    """

    def __init__(self, config: mLSTMLayerConfig) -> None:
        super().__init__()
        self.config = config
        inner = config._inner_embedding_dim
        assert inner is not None, "mLSTMLayerConfig.embedding_dim must be set"
        self.proj_up = nn.Linear(config.embedding_dim, 2 * inner, bias=config.bias)
        blocks = inner // config.qkv_proj_blocksize
        self.q_proj = LinearHeadwiseExpand(inner, blocks, bias=config.bias)
        self.k_proj = LinearHeadwiseExpand(inner, blocks, bias=config.bias)
        self.v_proj = LinearHeadwiseExpand(inner, blocks, bias=config.bias)
        self.conv1d = CausalConv1d(inner, config.conv1d_kernel_size)
        self.mlstm_cell = mLSTMCell(inner, config.num_heads, config.backend, config.chunk_size, config.eps)
        self.learnable_skip = nn.Parameter(torch.ones(inner))
        self.proj_down = nn.Linear(inner, config.embedding_dim, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        E = self.config.embedding_dim
        small_init_(self.proj_up.weight, dim=E)
        wang_init_(self.proj_down.weight, dim=E, num_blocks=self.config._num_blocks)
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            small_init_(proj.weight, dim=E)
        for p in (
            self.proj_up.bias,
            self.proj_down.bias,
            self.q_proj.bias,
            self.k_proj.bias,
            self.v_proj.bias,
        ):
            if p is not None:
                nn.init.zeros_(p)
        nn.init.ones_(self.learnable_skip)
        self.conv1d.reset_parameters()
        self.mlstm_cell.reset_parameters()

    def forward(
        self, x: torch.Tensor, state: dict | None = None, return_state: bool = False
    ) -> tuple[torch.Tensor, dict | None]:
        state = state or {}
        x_mlstm, z = self.proj_up(x).chunk(2, dim=-1)
        x_conv, conv_state = self.conv1d(x_mlstm, state.get("conv_state"))
        x_conv = F.silu(x_conv)
        q, k, v = self.q_proj(x_conv), self.k_proj(x_conv), self.v_proj(x_mlstm)
        cell = self.mlstm_cell
        norm_weight = cell.outnorm.weight
        assert norm_weight is not None  # (the cell's norm always has a weight)
        h, cell_state = cell.recurrence(q, k, v, state.get("mlstm_state"), return_state)
        # (norm(h) + skip * x_conv) * silu(z) in one fused stage; under autocast it returns the dtype the
        # down-projection casts to, so the result is the same as casting there (autocast leaves float64 alone,
        # and so does this)
        device = x.device.type
        out_dtype = None
        operands = (h, x_conv, z, norm_weight, self.learnable_skip)
        if torch.is_autocast_enabled(device) and all(t.dtype != torch.float64 for t in operands):
            out_dtype = torch.get_autocast_dtype(device)
        y = mlstm_output(
            h.transpose(1, 2),  # [B, NH, S, DH] -> [B, S, NH, DH]
            x_conv,
            z,
            norm_weight,
            self.learnable_skip,
            eps=cell.outnorm.eps,
            out_dtype=out_dtype,
            kernel=output_kernel(cell.backend),
        )
        y = self.dropout(self.proj_down(y))
        new_state = {"mlstm_state": cell_state, "conv_state": conv_state} if return_state else None
        return y, new_state
