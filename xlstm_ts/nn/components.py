"""Building blocks shared by the mLSTM and sLSTM layers: norms, causal conv, headwise linear, FFN.

Parameter names and initialisations follow the reference ``xlstm`` package so that its state
dicts load unchanged (see :func:`xlstm_ts.nn.load_reference_state_dict`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from xlstm_ts.kernels._linalg import sum_outer

from .configs import FeedForwardConfig

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "relu": F.relu,
    "relu^2": lambda x: torch.square(F.relu(x)),
    "sigmoid": torch.sigmoid,
    "swish": F.silu,
    "selu": F.selu,
}


def small_init_(param: torch.Tensor, dim: int) -> torch.Tensor:
    """Normal init with std ``sqrt(2 / (5 dim))`` ("Transformers without Tears")."""
    return nn.init.normal_(param, mean=0.0, std=math.sqrt(2 / (5 * dim)))


def wang_init_(param: torch.Tensor, dim: int, num_blocks: int) -> torch.Tensor:
    """Normal init with std ``2 / num_blocks / sqrt(dim)`` for output projections."""
    return nn.init.normal_(param, mean=0.0, std=2 / num_blocks / math.sqrt(dim))


class LayerNorm(nn.Module):
    """LayerNorm without bias whose scale is stored as an offset: ``scale = 1 + weight``."""

    def __init__(self, ndim: int, weight: bool = True, bias: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        self.ndim = ndim
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(ndim)) if weight else None
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    @property
    def scale(self) -> torch.Tensor | None:
        return None if self.weight is None else 1.0 + self.weight

    def reset_parameters(self) -> None:
        for p in (self.weight, self.bias):
            if p is not None:
                nn.init.zeros_(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (self.ndim,), self.scale, self.bias, self.eps)


class MultiHeadLayerNorm(LayerNorm):
    """Per-head normalisation over the head dim; ``x`` is ``[..., NH, DH]`` and ``ndim = NH * DH``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        NH, DH = x.shape[-2:]
        y = F.layer_norm(x, (DH,), eps=self.eps)
        scale = self.scale
        if scale is not None:
            y = y * scale.view(NH, DH)
        if self.bias is not None:
            y = y + self.bias.view(NH, DH)
        return y


class CausalConv1d(nn.Module):
    """Depthwise causal convolution over time with a carried state.

    ``forward(x, state)`` takes ``x`` ``[B, S, F]`` and the last ``kernel_size - 1`` inputs of the
    previous piece (``[B, K-1, F]``, zeros when ``None``) and returns ``(y, new_state)``, so a
    sequence processed in pieces gives the same output as in one go.  ``kernel_size = 0`` is the
    identity.
    """

    def __init__(self, feature_dim: int, kernel_size: int = 4, bias: bool = True) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.kernel_size = kernel_size
        self.conv = (
            nn.Conv1d(feature_dim, feature_dim, kernel_size, groups=feature_dim, bias=bias)
            if kernel_size > 0
            else None
        )

    def reset_parameters(self) -> None:
        if self.conv is not None:
            self.conv.reset_parameters()

    def forward(
        self, x: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.conv is None:
            return x, state
        history = self.kernel_size - 1
        if state is None:
            state = x.new_zeros(x.shape[0], history, x.shape[2])
        padded = torch.cat([state.to(x.dtype), x], dim=1)  # [B, K-1+S, F]
        # Depthwise causal conv as K shifted multiply-adds: same result as self.conv, and on the CPU faster
        # than the depthwise conv1d kernel (measured: see docs/benchmarks.md, 'CausalConv1d on the CPU').
        S = x.shape[1]
        weight = self.conv.weight[:, 0, :]  # [F, 1, K] -> [F, K]
        y = padded[:, :S] * weight[:, 0]
        for k in range(1, self.kernel_size):
            y = y + padded[:, k : k + S] * weight[:, k]
        if self.conv.bias is not None:
            y = y + self.conv.bias
        return y, padded[:, padded.shape[1] - history :]


#: Rows from which the weight gradient of a headwise projection is summed in parts, by device type (see
#: _HeadwiseMatmul); other devices never split (slower on the CPU; measured: see docs/benchmarks.md, 'Weight
#: gradients over long row counts').
_SPLIT_ROWS = {"cuda": 16384}


def _gemm_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype a product of ``x`` runs in: the autocast dtype where autocast is on for its device (which, like
    autocast, leaves float64 alone)."""
    kind = x.device.type
    if torch.is_autocast_enabled(kind) and x.dtype in (torch.float32, torch.float16, torch.bfloat16):
        return torch.get_autocast_dtype(kind)
    return x.dtype


def _save_cast(ctx, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cast ``x`` and ``w`` to the product's dtype once (what autocast would do inside the GEMM), keep the cast
    operands for the backward and the original dtypes for the gradients; returns the cast operands."""
    dt = _gemm_dtype(x)
    xc, wc = x.to(dt), w.to(dt)
    ctx.save_for_backward(xc, wc)
    ctx.dtypes = (x.dtype, w.dtype)
    return xc, wc


class _HeadwiseMatmul(torch.autograd.Function):
    """``x @ w^T`` per head, ``x`` ``[NH, N, d_in]``, ``w`` ``[NH, d_out, d_in]``; the weight gradient
    ``dy^T x`` sums over all ``N`` rows with :func:`~xlstm_ts.kernels._linalg.sum_outer` (split over the rows)
    where cuBLAS would run one slow long-K GEMM per head (float32 or tiny heads, and many rows).  Under autocast the forward product runs in the
    autocast dtype, and so does the backward (the gradients come back in the dtypes of ``x`` and ``w``)."""

    @staticmethod
    def forward(ctx, x, w):
        xc, wc = _save_cast(ctx, x, w)
        with torch.autocast(x.device.type, enabled=False):
            return torch.bmm(xc, wc.transpose(1, 2))

    @staticmethod
    def backward(ctx, dy):
        xc, w = ctx.saved_tensors
        x_dtype, w_dtype = ctx.dtypes
        dx = dw = None
        if ctx.needs_input_grad[0]:
            dx = torch.bmm(dy, w.to(dy.dtype)).to(x_dtype)  # [NH, N, d_out] @ [NH, d_out, d_in]
        if ctx.needs_input_grad[1]:
            rows, d_in = xc.shape[1], xc.shape[-1]
            xc = xc.to(dy.dtype)
            # [NH, d_out, N] @ [NH, N, d_in].  One batched GEMM per head walks all N rows in a few thread blocks
            # when the GEMM is float32 or the heads are tiny; split over N there, once N is long enough to pay
            # for the extra launches; bf16 GEMMs with heads of 16 or more are as fast whole (measured with
            # benchmarks/backbone_gpu.py: see docs/benchmarks.md, 'Weight gradients over long row counts')
            split_rows = _SPLIT_ROWS.get(dy.device.type)
            if split_rows is not None and rows >= split_rows and (dy.dtype == torch.float32 or d_in < 16):
                dw = sum_outer(dy, xc)
            else:
                dw = torch.bmm(dy.transpose(1, 2), xc)
            dw = dw.to(w_dtype)
        return dx, dw


#: Devices on which narrow heads (``d_in`` below ``_DENSE_BELOW``) multiply as one dense block-diagonal GEMM when
#: the product runs in 16 bits (see _BlockDiagonalMatmul).
_DENSE_DEVICES = {"cuda"}
_DENSE_BELOW = 16


def _block_diagonal(w: torch.Tensor) -> torch.Tensor:
    """``[NH, d_out, d_in]`` -> the ``[NH * d_out, NH * d_in]`` matrix with those blocks on its diagonal."""
    NH, d_out, d_in = w.shape
    eye = torch.eye(NH, device=w.device, dtype=w.dtype)
    return (w[:, :, None, :] * eye[:, None, :, None]).reshape(NH * d_out, NH * d_in)


def _diagonal_blocks(m: torch.Tensor, NH: int) -> torch.Tensor:
    """Inverse of :func:`_block_diagonal`: the ``NH`` diagonal blocks of ``m``, ``[NH, d_out, d_in]``."""
    d_out, d_in = m.shape[0] // NH, m.shape[1] // NH
    return m.view(NH, d_out, NH, d_in).diagonal(dim1=0, dim2=2).permute(2, 0, 1).contiguous()


class _BlockDiagonalMatmul(torch.autograd.Function):
    """``x @ w^T`` per head as one dense GEMM with the block-diagonal matrix of ``w``: ``x`` ``[N, NH * d_in]``.

    For narrow heads a batched GEMM per head runs in tiny tiles (16 x 16 tensor-core tiles at ``d_in = 4``, a
    quarter of which is used), and its ``[NH, N, d]`` layout costs a transpose copy on the way in and out; the
    dense product does ``NH`` times the arithmetic, which 16-bit tensor cores absorb, reads and writes the
    rows where they are, and gives the same result (the extra terms are exact zeros).  Used on CUDA when the
    product runs in 16 bits (measured: see docs/benchmarks.md, 'Weight gradients over long row counts')."""

    @staticmethod
    def forward(ctx, x, w):
        xc, wc = _save_cast(ctx, x, w)
        with torch.autocast(x.device.type, enabled=False):
            return xc @ _block_diagonal(wc).t()

    @staticmethod
    def backward(ctx, dy):
        xc, w = ctx.saved_tensors
        x_dtype, w_dtype = ctx.dtypes
        NH = w.shape[0]
        dx = dw = None
        if ctx.needs_input_grad[0]:
            dx = (dy @ _block_diagonal(w).to(dy.dtype)).to(x_dtype)
        if ctx.needs_input_grad[1]:
            dense = sum_outer(dy[None], xc.to(dy.dtype)[None])[0]  # [NH * d_out, NH * d_in]
            dw = _diagonal_blocks(dense, NH).to(w_dtype)
        return dx, dw


class LinearHeadwiseExpand(nn.Module):
    """Block-diagonal linear map: the features are split into ``num_heads`` blocks mapped separately.

    ``weight`` has shape ``[num_heads, out_per_head, in_per_head]`` (the reference layout).
    """

    def __init__(self, in_features: int, num_heads: int, bias: bool = False, expand_factor: int = 1) -> None:
        super().__init__()
        if in_features % num_heads:
            raise ValueError(f"in_features={in_features} must be divisible by num_heads={num_heads}.")
        self.in_features = in_features
        self.num_heads = num_heads
        self.out_features = in_features * expand_factor
        d_in, d_out = in_features // num_heads, self.out_features // num_heads
        self.weight = nn.Parameter(torch.empty(num_heads, d_out, d_in))
        self.bias = nn.Parameter(torch.empty(self.out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, mean=0.0, std=math.sqrt(2 / 5 / self.weight.shape[-1]))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        if self._dense(x):
            y = _BlockDiagonalMatmul.apply(x.reshape(-1, self.in_features), self.weight).view(*lead, -1)
        else:
            # [..., F] -> [N, NH, d_in] -> [NH, N, d_in] @ [NH, d_in, d_out] -> [N, NH, d_out]
            xh = x.reshape(-1, self.num_heads, self.weight.shape[-1]).transpose(0, 1)
            y = _HeadwiseMatmul.apply(xh, self.weight).transpose(0, 1).reshape(*lead, self.out_features)
        return y if self.bias is None else y + self.bias

    def _dense(self, x: torch.Tensor) -> bool:
        # narrow heads whose product runs in 16 bits (autocast, or 16-bit inputs) on a device that has tensor cores
        if (
            x.device.type not in _DENSE_DEVICES
            or self.weight.shape[-1] >= _DENSE_BELOW
            or self.num_heads == 1
        ):
            return False
        return _gemm_dtype(x) in (torch.float16, torch.bfloat16)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_heads={self.num_heads}, bias={self.bias is not None}"


class GatedFeedForward(nn.Module):
    """``proj_down(act(gate) * up)`` where ``[gate, up] = proj_up(x)``."""

    def __init__(self, config: FeedForwardConfig) -> None:
        super().__init__()
        self.config = config
        assert config._proj_up_dim is not None, "FeedForwardConfig.embedding_dim must be set"
        self.proj_up = nn.Linear(config.embedding_dim, 2 * config._proj_up_dim, bias=config.bias)
        self.proj_down = nn.Linear(config._proj_up_dim, config.embedding_dim, bias=config.bias)
        self.act_fn = ACTIVATIONS[config.act_fn]
        self.dropout = nn.Dropout(config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        small_init_(self.proj_up.weight, dim=self.config.embedding_dim)
        wang_init_(self.proj_down.weight, dim=self.config.embedding_dim, num_blocks=self.config._num_blocks)
        for layer in (self.proj_up, self.proj_down):
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.proj_up(x).chunk(2, dim=-1)
        return self.dropout(self.proj_down(self.act_fn(gate) * up))


def soft_cap(x: torch.Tensor, cap: float | None) -> torch.Tensor:
    """``cap * tanh(x / cap)``: a smooth clamp of ``x`` to ``(-cap, cap)``; the identity when ``cap`` is None.

    >>> soft_cap(torch.tensor([1.0, 100.0]), 15.0)
    tensor([ 0.9985, 15.0000])
    """
    if cap is None:
        return x
    return cap * torch.tanh(x / cap)


class RMSNorm(nn.Module):
    """Root-mean-square norm over the last dim: ``x * rsqrt(mean(x**2) + eps) * weight (+ bias)``.

    Unlike :class:`LayerNorm` (the small model's ``1 + weight`` scale), ``weight`` is the scale itself and
    starts at one, as in the xLSTM Large (7B) model.  With ``force_float32_reductions`` the normalisation
    runs in float32 and is cast back to the input dtype before the weight is applied.

    >>> norm = RMSNorm(4)
    >>> norm(torch.tensor([[1.0, -1.0, 1.0, -1.0]]))
    tensor([[ 1.0000, -1.0000,  1.0000, -1.0000]], grad_fn=<MulBackward0>)
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-6,
        use_weight: bool = True,
        use_bias: bool = False,
        force_float32_reductions: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.force_float32_reductions = force_float32_reductions
        self.weight = nn.Parameter(torch.ones(num_features)) if use_weight else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if use_bias else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            nn.init.ones_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _affine(self, y: torch.Tensor) -> torch.Tensor:
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        if self.force_float32_reductions:
            x = x.float()
        return (x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)).to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._affine(self._normalize(x))


class HeadwiseLayerNorm(RMSNorm):
    """Mean-centred LayerNorm of each head: ``x`` ``[..., NH, DH]`` -> ``[..., NH * DH]``.

    The statistics are taken over ``DH`` per head; ``weight`` (ones) and ``bias`` are flat ``[NH * DH]``
    and applied after the heads are merged.  This is the xLSTM Large head norm; the small model's
    :class:`MultiHeadLayerNorm` keeps its ``1 + weight`` scale and shape.

    >>> norm = HeadwiseLayerNorm(num_heads=2, head_dim=2)
    >>> norm(torch.tensor([[[1.0, 3.0], [0.0, -2.0]]])).detach()
    tensor([[-1.0000,  1.0000,  1.0000, -1.0000]])
    """

    def __init__(
        self,
        num_heads: int,
        head_dim: int,
        eps: float = 1e-6,
        use_weight: bool = True,
        use_bias: bool = False,
        force_float32_reductions: bool = True,
    ) -> None:
        super().__init__(num_heads * head_dim, eps, use_weight, use_bias, force_float32_reductions)
        self.num_heads = num_heads
        self.head_dim = head_dim

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        if self.force_float32_reductions:
            x = x.float()
        centred = x - x.mean(dim=-1, keepdim=True)
        return (centred * torch.rsqrt(x.var(dim=-1, keepdim=True, unbiased=False) + self.eps)).to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (self.num_heads, self.head_dim):
            raise ValueError(
                f"HeadwiseLayerNorm expects [..., {self.num_heads}, {self.head_dim}] (NH, DH); "
                f"got shape {tuple(x.shape)}."
            )
        y = self._normalize(x)
        return self._affine(y.reshape(*x.shape[:-2], self.num_heads * self.head_dim))
