"""Fused single-step mLSTM kernel: state update and output in one launch.

Only ``@triton.jit`` code lives here; the launch (validation, output allocation, block sizes) is
in :mod:`xlstm_ts.kernels.mlstm.triton_step`.

Work split
----------
The wrapper views every tensor with its batch and head axes merged into one row axis ``BH``:
``q, k`` ``[BH, DK]``, ``v`` ``[BH, DV]``, gates ``[BH]``, ``c`` ``[BH, DK, DV]``, ``n`` ``[BH, DK]``,
``m`` ``[BH]``.  The grid is ``(BH, cdiv(DV, BLOCK_DV))``: program ``(r, j)`` owns head-row ``r``
and the value columns ``j*BLOCK_DV ... j*BLOCK_DV + BLOCK_DV - 1``.  Each program reads the whole
key axis (``DK`` padded to ``BLOCK_DK``, a power of two), because the output of a column needs the
dot product of ``q`` with that entire column of the new memory and with the entire new normaliser.
The normaliser and stabiliser are recomputed by every program of a row (a few dozen flops) and
written once, by the program with ``j == 0``.

All gate and state arithmetic is float32, whatever the dtype of ``q, k, v``; ``h`` is rounded to
the dtype of its output buffer on store.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def mlstm_step_fwd_kernel(
    # inputs; row axis BH = B * NH
    q_ptr,  # [BH, DK]
    k_ptr,  # [BH, DK]
    v_ptr,  # [BH, DV]
    i_ptr,  # [BH] input-gate pre-activation
    f_ptr,  # [BH] forget-gate pre-activation
    c_ptr,  # [BH, DK, DV] previous memory (read only when HAS_STATE)
    n_ptr,  # [BH, DK] previous normaliser (read only when HAS_STATE)
    m_ptr,  # [BH] previous stabiliser (read only when HAS_STATE)
    # outputs (fresh buffers, never aliasing the inputs)
    h_ptr,  # [BH, DV]
    c_out_ptr,  # [BH, DK, DV] float32
    n_out_ptr,  # [BH, DK] float32
    m_out_ptr,  # [BH] float32
    # strides, in elements
    stride_q_bh,
    stride_q_dk,
    stride_k_bh,
    stride_k_dk,
    stride_v_bh,
    stride_v_dv,
    stride_i_bh,
    stride_f_bh,
    stride_c_bh,
    stride_c_dk,
    stride_c_dv,
    stride_n_bh,
    stride_n_dk,
    stride_m_bh,
    stride_h_bh,
    stride_h_dv,
    stride_co_bh,
    stride_co_dk,
    stride_co_dv,
    stride_no_bh,
    stride_no_dk,
    stride_mo_bh,
    # sizes and scalars
    DK,
    DV,
    scale,  # 1 / sqrt(DK), applied to q
    eps,
    HAS_STATE: tl.constexpr,
    BLOCK_DK: tl.constexpr,
    BLOCK_DV: tl.constexpr,
):
    # 64-bit row index: BH * DK * DV can exceed 2**31 elements for large batches.
    row = tl.program_id(0).to(tl.int64)
    col_block = tl.program_id(1)

    offs_dk = tl.arange(0, BLOCK_DK)
    offs_dv = col_block * BLOCK_DV + tl.arange(0, BLOCK_DV)
    mask_dk = offs_dk < DK
    mask_dv = offs_dv < DV
    mask_c = mask_dk[:, None] & mask_dv[None, :]  # [BLOCK_DK, BLOCK_DV]

    # ---- gates (scalars of this row) -------------------------------------------------------------
    i_gate = tl.load(i_ptr + row * stride_i_bh).to(tl.float32)
    f_gate = tl.load(f_ptr + row * stride_f_bh).to(tl.float32)
    # log sigmoid(f) = min(f, 0) - log(1 + exp(-|f|)).  The log1p is evaluated as
    # log(u) * z / (u - 1) with u = 1 + z, which stays accurate when z is tiny (u rounds to 1 there
    # and log1p(z) is z itself); every exponent here is <= 0, so nothing overflows.
    z = tl.exp(-tl.abs(f_gate))
    u = 1.0 + z
    u_is_one = u == 1.0
    log1p_z = tl.where(u_is_one, z, tl.log(u) * (z / tl.where(u_is_one, 1.0, u - 1.0)))
    log_f = tl.minimum(f_gate, 0.0) - log1p_z

    if HAS_STATE:
        m_prev = tl.load(m_ptr + row * stride_m_bh).to(tl.float32)
    else:
        m_prev = tl.zeros_like(log_f)  # a fresh state has m = 0
    m_new = tl.maximum(log_f + m_prev, i_gate)
    decay = tl.exp(log_f + m_prev - m_new)  # exponent <= 0
    gain = tl.exp(i_gate - m_new)  # exponent <= 0

    # ---- vectors of this row ---------------------------------------------------------------------
    q = tl.load(q_ptr + row * stride_q_bh + offs_dk * stride_q_dk, mask=mask_dk, other=0.0)
    q = q.to(tl.float32) * scale  # [BLOCK_DK]
    k = tl.load(k_ptr + row * stride_k_bh + offs_dk * stride_k_dk, mask=mask_dk, other=0.0)
    k = k.to(tl.float32)  # [BLOCK_DK]
    v = tl.load(v_ptr + row * stride_v_bh + offs_dv * stride_v_dv, mask=mask_dv, other=0.0)
    v = v.to(tl.float32)  # [BLOCK_DV]

    # Rank-one write k v^T; padded rows/columns are zero because k and v were loaded as zero there.
    kv = k[:, None] * v[None, :]  # [BLOCK_DK] x [BLOCK_DV] -> [BLOCK_DK, BLOCK_DV]
    if HAS_STATE:
        c_prev = tl.load(
            c_ptr + row * stride_c_bh + offs_dk[:, None] * stride_c_dk + offs_dv[None, :] * stride_c_dv,
            mask=mask_c,
            other=0.0,
        ).to(tl.float32)
        n_prev = tl.load(n_ptr + row * stride_n_bh + offs_dk * stride_n_dk, mask=mask_dk, other=0.0)
        c_new = decay * c_prev + gain * kv
        n_new = decay * n_prev.to(tl.float32) + gain * k
    else:
        # decay * 0 is 0 for every finite decay, and decay = exp(<= 0) is finite unless m_new is NaN
        c_new = gain * kv
        n_new = gain * k

    # ---- output ----------------------------------------------------------------------------------
    numerator = tl.sum(q[:, None] * c_new, axis=0)  # [BLOCK_DK, BLOCK_DV] -> [BLOCK_DV]
    qn = tl.sum(q * n_new, axis=0)  # [BLOCK_DK] -> scalar
    denominator = tl.maximum(tl.abs(qn), tl.exp(-m_new)) + eps
    h = numerator / denominator

    tl.store(
        h_ptr + row * stride_h_bh + offs_dv * stride_h_dv,
        h.to(h_ptr.dtype.element_ty),
        mask=mask_dv,
    )
    tl.store(
        c_out_ptr + row * stride_co_bh + offs_dk[:, None] * stride_co_dk + offs_dv[None, :] * stride_co_dv,
        c_new,
        mask=mask_c,
    )
    # n and m do not depend on the column block: the first block of the row writes them.
    if col_block == 0:
        tl.store(n_out_ptr + row * stride_no_bh + offs_dk * stride_no_dk, n_new, mask=mask_dk)
        tl.store(m_out_ptr + row * stride_mo_bh, m_new)
