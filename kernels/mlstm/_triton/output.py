"""The mLSTM layer's output stage in one kernel each way: per-head norm, learnable skip and output gate.

Rows are the ``N = B * S`` steps, features ``I = NH * DH``; one program takes ``BN`` rows of one head (grid
``(cdiv(N, BN), NH)``).  With ``h`` the cell output, ``x`` the conv branch and ``z`` the gate branch::

    n   = (h - mean(h)) * rstd,  rstd = 1 / sqrt(var(h) + eps)      (over the DH features of a head)
    y   = n * (1 + w) + skip * x
    out = y * silu(z)

The backward recomputes ``n`` from ``h`` (nothing is saved but the inputs) and writes ``dh``, ``dx``, ``dz``
and, per program, the partial sums over its rows of ``dy * n`` (for ``w``) and ``dy * x`` (for ``skip``),
which the wrapper adds up.  Every row tensor is read through its row stride (``z`` is one half of the
up-projection); features are contiguous.  Arithmetic in float32 whatever the dtypes.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ..._triton.common import sigmoid


@triton.jit
def _normalised(H, rows, feat, mask, s_h, DH, eps):
    h = tl.load(H + rows[:, None] * s_h + feat[None, :], mask=mask, other=0.0).to(tl.float32)
    mean = tl.sum(h, 1) / DH
    centred = tl.where(mask, h - mean[:, None], 0.0)
    rstd = 1.0 / tl.sqrt(tl.sum(centred * centred, 1) / DH + eps)
    return centred * rstd[:, None], rstd


@triton.jit
def mlstm_output_fwd_kernel(
    H, X, Z, W, SKIP, OUT, N, DH, s_h, s_x, s_z, s_out, eps, BN: tl.constexpr, BD: tl.constexpr
):
    rows = tl.program_id(0).to(tl.int64) * BN + tl.arange(0, BN)
    cols = tl.arange(0, BD)
    feat = tl.program_id(1) * DH + cols
    mask_d = cols < DH
    mask = (rows < N)[:, None] & mask_d[None, :]
    n, _ = _normalised(H, rows, feat, mask, s_h, DH, eps)
    w = tl.load(W + feat, mask=mask_d, other=0.0).to(tl.float32)
    skip = tl.load(SKIP + feat, mask=mask_d, other=0.0).to(tl.float32)
    x = tl.load(X + rows[:, None] * s_x + feat[None, :], mask=mask, other=0.0).to(tl.float32)
    z = tl.load(Z + rows[:, None] * s_z + feat[None, :], mask=mask, other=0.0).to(tl.float32)
    y = n * (1.0 + w)[None, :] + skip[None, :] * x
    out = y * z * sigmoid(z)
    tl.store(OUT + rows[:, None] * s_out + feat[None, :], out.to(OUT.dtype.element_ty), mask=mask)


@triton.jit
def mlstm_output_bwd_kernel(
    H, X, Z, W, SKIP, DOUT, DH_OUT, DX, DZ, PARTIAL, N, DH, I,
    s_h, s_x, s_z, s_dout, eps, BN: tl.constexpr, BD: tl.constexpr,
):  # fmt: skip
    """``dh``, ``dx``, ``dz`` are contiguous ``[N, I]``; ``PARTIAL`` ``[cdiv(N, BN), 2 I]`` (float32) takes the
    program's sums of ``dy * n`` in its first ``I`` columns and of ``dy * x`` in the last ``I``."""
    pid_n = tl.program_id(0).to(tl.int64)
    rows = pid_n * BN + tl.arange(0, BN)
    cols = tl.arange(0, BD)
    feat = tl.program_id(1) * DH + cols
    mask_d = cols < DH
    mask = (rows < N)[:, None] & mask_d[None, :]
    n, rstd = _normalised(H, rows, feat, mask, s_h, DH, eps)
    scale = 1.0 + tl.load(W + feat, mask=mask_d, other=0.0).to(tl.float32)
    skip = tl.load(SKIP + feat, mask=mask_d, other=0.0).to(tl.float32)
    x = tl.load(X + rows[:, None] * s_x + feat[None, :], mask=mask, other=0.0).to(tl.float32)
    z = tl.load(Z + rows[:, None] * s_z + feat[None, :], mask=mask, other=0.0).to(tl.float32)
    dout = tl.load(DOUT + rows[:, None] * s_dout + feat[None, :], mask=mask, other=0.0).to(tl.float32)
    sig = sigmoid(z)
    y = n * scale[None, :] + skip[None, :] * x
    dz = dout * y * sig * (1.0 + z * (1.0 - sig))  # d silu(z) / dz = sig (1 + z (1 - sig))
    dy = dout * z * sig
    dn = dy * scale[None, :]
    # layer-norm backward over the head's features: rstd (dn - mean(dn) - n mean(dn n))
    dh = rstd[:, None] * (dn - (tl.sum(dn, 1) / DH)[:, None] - n * (tl.sum(dn * n, 1) / DH)[:, None])
    out = rows[:, None] * I + feat[None, :]
    tl.store(DH_OUT + out, dh.to(DH_OUT.dtype.element_ty), mask=mask)
    tl.store(DX + out, (dy * skip[None, :]).to(DX.dtype.element_ty), mask=mask)
    tl.store(DZ + out, dz.to(DZ.dtype.element_ty), mask=mask)
    tl.store(PARTIAL + pid_n * 2 * I + feat, tl.sum(dy * n, 0), mask=mask_d)
    tl.store(PARTIAL + pid_n * 2 * I + I + feat, tl.sum(dy * x, 0), mask=mask_d)


__all__ = ["mlstm_output_bwd_kernel", "mlstm_output_fwd_kernel", "triton"]
