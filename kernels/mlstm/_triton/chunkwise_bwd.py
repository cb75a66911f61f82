"""Backward pass of the chunkwise mLSTM: the true gradients of the forward function.

Notation (per head, global step ``t``, key step ``j <= t``; ``F`` the running sum of log forget gates,
``m_t`` the forward's stabiliser, ``den_t`` its normaliser, ``scale = 1/sqrt(DK)``)::

    W[t, j] = exp(F_t - F_j + i_j - m_t)        P[t, j] = W[t, j] * scale * (q_t . k_j)
    g_t     = dh_t / den_t                       eta_t   = d loss / d qn_t
    dP[t, j] = g_t . v_j + eta_t

so that ``dq_t = scale * sum_j W dP k_j``, ``dk_j = scale * sum_t W dP q_t``, ``dv_j = sum_t P g_t``, plus
the terms of the state entering the sequence and of the final state.  Terms from other chunks go through
the chunk-entry memories saved by the forward (for ``dq``) and through the gradient of the memory,
carried backwards over the chunks (for ``dk``, ``dv``): ``D`` is the gradient with respect to the
*unstabilised* memory at a chunk boundary, kept as ``exp(M) * D_tilde`` so that every exponential stays
at most 1.  The gate and stabiliser gradients are cheap reductions done by the wrapper in PyTorch.

* :func:`mlstm_chunkwise_bwd_dq_kernel`: grid ``(DK blocks, chunks, BH)``, no sequential dependency.
* :func:`mlstm_bwd_dstates_kernel`: grid ``(DK blocks, DV blocks, BH)``, chunks from last to first; writes
  the memory gradient at the end of every chunk (and the initial-state gradients).
* :func:`mlstm_chunkwise_bwd_dkdv_kernel`: grid ``(chunks, BH)``, no sequential dependency; loops over
  the value blocks and writes ``dk``, ``dv`` and ``k . dk``.

The dq kernel also finishes the normaliser: ``den``, ``rho = -(dh . h) / den`` and ``eta`` (read by the
other two), and ``q . dq``, so that the wrapper only does ``O(S)`` work per head.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ..._triton.common import dot_in, dot_wide
from .chunkwise_fwd import chunk_gates


@triton.jit
def mlstm_chunkwise_bwd_dq_kernel(
    Q,
    K,
    V,
    IG,
    FG,
    H,
    DH,
    QN,
    M_OUT,  # inputs, outputs and forward statistics
    C_S,
    N_S,
    M_S,  # chunk-entry states from the forward
    DQ,
    DEN,
    RHO,
    ETA,
    QDQ_P,  # outputs: dq (dtype of q), den, rho, eta, partial q . dq [NKB, BH, S]
    S,
    DK,
    DV,
    NC,
    scale,
    eps,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    MODE: tl.constexpr,
):
    pid_k = tl.program_id(0)
    ci = tl.program_id(1).to(tl.int64)
    bh = tl.program_id(2).to(tl.int64)
    BH = tl.num_programs(2)

    offs_l = tl.arange(0, L)
    t = ci * L + offs_l
    mask_t = t < S
    offs_k = pid_k * BDK + tl.arange(0, BDK)
    mask_k = offs_k < DK
    qn = tl.load(QN + bh * S + t, mask=mask_t, other=0.0)
    m_t = tl.load(M_OUT + bh * S + t, mask=mask_t, other=float("inf"))  # no weight past the end
    floor = tl.exp(-m_t)
    den = tl.maximum(tl.abs(qn), floor) + eps  # [L]
    chunk_off = bh * NC + ci

    acc = tl.zeros([L, BDK], dtype=tl.float32)  # g C_prev^T
    gv = tl.zeros([L, L], dtype=tl.float32)  # g v^T
    dh_h = tl.zeros([L], dtype=tl.float32)  # dh . h
    for vb in range(tl.cdiv(DV, BDV)):
        offs_v = vb * BDV + tl.arange(0, BDV)
        mask_v = offs_v < DV
        row_v = bh * S * DV + t[:, None] * DV + offs_v[None, :]
        mask_tv = mask_t[:, None] & mask_v[None, :]
        dh = tl.load(DH + row_v, mask=mask_tv, other=0.0).to(tl.float32)  # [L, BDV]
        dh_h += tl.sum(dh * tl.load(H + row_v, mask=mask_tv, other=0.0).to(tl.float32), 1)
        g = dh / den[:, None]
        v = tl.load(V + row_v, mask=mask_tv, other=0.0)  # [L, BDV]
        c_prev = tl.load(
            C_S + chunk_off * DK * DV + offs_k[:, None] * DV + offs_v[None, :],
            mask=mask_k[:, None] & mask_v[None, :],
            other=0.0,
        )  # [BDK, BDV]
        acc += dot_wide(g, tl.trans(c_prev), MODE)
        gv += dot_wide(g, tl.trans(v), MODE)

    # d loss / d den = rho; d loss / d qn = eta (zero where the floor exp(-m) is the maximum)
    rho = -dh_h / den
    eta = tl.where(tl.abs(qn) > floor, tl.where(qn >= 0, rho, -rho), 0.0)
    eta = tl.where(mask_t, eta, 0.0)
    if pid_k == 0:
        tl.store(DEN + bh * S + t, den, mask=mask_t)
        tl.store(RHO + bh * S + t, rho, mask=mask_t)
        tl.store(ETA + bh * S + t, eta, mask=mask_t)

    ig, b, _ = chunk_gates(IG, FG, bh, t, mask_t, S)
    causal = offs_l[:, None] >= offs_l[None, :]
    log_d = tl.where(causal, b[:, None] - b[None, :] + ig[None, :], float("-inf"))
    w = tl.exp(log_d - m_t[:, None])  # [L, L]
    m_prev = tl.load(M_S + chunk_off + tl.arange(0, 1))  # [1]
    gamma = tl.exp(b + m_prev - m_t)  # [L]
    n_prev = tl.load(N_S + chunk_off * DK + offs_k, mask=mask_k, other=0.0)  # [BDK]
    row_k = bh * S * DK + t[:, None] * DK + offs_k[None, :]
    mask_tk = mask_t[:, None] & mask_k[None, :]
    k = tl.load(K + row_k, mask=mask_tk, other=0.0)

    dq = dot_wide((gv + eta[:, None]) * w, k, MODE)  # [L, BDK]
    dq = (dq + gamma[:, None] * (acc + eta[:, None] * n_prev[None, :])) * scale
    tl.store(DQ + row_k, dq.to(DQ.dtype.element_ty), mask=mask_tk)
    q = tl.load(Q + row_k, mask=mask_tk, other=0.0).to(tl.float32)
    tl.store(QDQ_P + pid_k.to(tl.int64) * BH * S + bh * S + t, tl.sum(q * dq, 1), mask=mask_t)


@triton.jit
def mlstm_bwd_dstates_kernel(
    Q,
    IG,
    FG,
    DH,
    DEN,
    ETA,
    M_OUT,  # inputs and forward statistics
    M_T,
    DC_T,
    DN_T,
    M0,  # final stabiliser, final-state gradients, initial stabiliser
    D_S,
    DN_S,
    MB_S,  # outputs: memory gradient at the end of each chunk, as exp(mb) * d
    DC0,
    DN0,  # initial-state gradients (when HAS_INIT)
    S,
    DK,
    DV,
    NC,
    scale,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    HAS_INIT: tl.constexpr,
    HAS_DFINAL: tl.constexpr,
    MODE: tl.constexpr,
):
    pid_k = tl.program_id(0)
    pid_v = tl.program_id(1)
    bh = tl.program_id(2).to(tl.int64)
    write_n = pid_v == 0
    write_m = (pid_v == 0) & (pid_k == 0)

    offs_l = tl.arange(0, L)
    offs_k = pid_k * BDK + tl.arange(0, BDK)
    offs_v = pid_v * BDV + tl.arange(0, BDV)
    mask_k = offs_k < DK
    mask_v = offs_v < DV
    tile = offs_k[:, None] * DV + offs_v[None, :]
    tile_mask = mask_k[:, None] & mask_v[None, :]

    # gradient of the unstabilised memory at the end of the sequence: exp(mb) * d_c
    mb = -tl.load(M_T + bh + tl.arange(0, 1))  # [1]
    if HAS_DFINAL:
        d_c = tl.load(DC_T + bh * DK * DV + tile, mask=tile_mask, other=0.0)
        d_n = tl.load(DN_T + bh * DK + offs_k, mask=mask_k, other=0.0)
    else:
        d_c = tl.zeros([BDK, BDV], dtype=tl.float32)
        d_n = tl.zeros([BDK], dtype=tl.float32)

    for rev in range(NC):
        ci = NC - 1 - rev
        chunk = bh * NC + ci
        tl.store(D_S + chunk * DK * DV + tile, d_c.to(D_S.dtype.element_ty), mask=tile_mask)
        if write_n:
            tl.store(DN_S + chunk * DK + offs_k, d_n, mask=mask_k)
        if write_m:
            tl.store(MB_S + chunk + tl.arange(0, 1), mb)

        t = ci * L + offs_l
        mask_t = t < S
        q = tl.load(
            Q + bh * S * DK + t[:, None] * DK + offs_k[None, :],
            mask=mask_t[:, None] & mask_k[None, :],
            other=0.0,
        )
        den = tl.load(DEN + bh * S + t, mask=mask_t, other=1.0)
        eta = tl.load(ETA + bh * S + t, mask=mask_t, other=0.0)
        m_t = tl.load(M_OUT + bh * S + t, mask=mask_t, other=float("inf"))  # no weight past the end
        g = tl.load(
            DH + bh * S * DV + t[:, None] * DV + offs_v[None, :],
            mask=mask_t[:, None] & mask_v[None, :],
            other=0.0,
        )
        g = g.to(tl.float32) / den[:, None]  # [L, BDV]
        _, b, g_tot = chunk_gates(IG, FG, bh, t, mask_t, S)

        # move the memory gradient to the start of the chunk
        u = tl.where(mask_t, b - m_t, float("-inf"))  # [L]
        m_new = tl.maximum(g_tot + mb, tl.max(u, 0))  # [1]
        carry = tl.exp(g_tot + mb - m_new)  # [1]
        qw = q.to(tl.float32) * (tl.exp(u - m_new) * scale)[:, None]  # [L, BDK]
        d_c = d_c * carry[:, None] + dot_wide(tl.trans(qw), g, MODE)
        d_n = d_n * carry + tl.sum(qw * eta[:, None], 0)
        mb = m_new

    if HAS_INIT:
        factor = tl.exp(tl.load(M0 + bh + tl.arange(0, 1)) + mb)  # [1], at most 1
        tl.store(DC0 + bh * DK * DV + tile, d_c * factor[:, None], mask=tile_mask)
        if write_n:
            tl.store(DN0 + bh * DK + offs_k, d_n * factor, mask=mask_k)


@triton.jit
def mlstm_chunkwise_bwd_dkdv_kernel(
    Q,
    K,
    V,
    IG,
    FG,
    DH,
    DEN,
    ETA,
    M_OUT,  # inputs and forward statistics
    D_S,
    DN_S,
    MB_S,  # memory gradient at the end of each chunk
    DK_OUT,
    DV_OUT,
    KDK,  # outputs: dk, dv (dtype of k, v) and k . dk [BH, S] (float32)
    S,
    DK,
    DV,
    NC,
    scale,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    MODE: tl.constexpr,
):
    ci = tl.program_id(0).to(tl.int64)
    bh = tl.program_id(1).to(tl.int64)
    chunk = bh * NC + ci

    offs_l = tl.arange(0, L)
    t = ci * L + offs_l
    mask_t = t < S
    offs_k = tl.arange(0, BDK)
    mask_k = offs_k < DK
    causal = offs_l[:, None] >= offs_l[None, :]

    row_k = bh * S * DK + t[:, None] * DK + offs_k[None, :]
    mask_tk = mask_t[:, None] & mask_k[None, :]
    q = tl.load(Q + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
    k = tl.load(K + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
    den = tl.load(DEN + bh * S + t, mask=mask_t, other=1.0)
    eta = tl.load(ETA + bh * S + t, mask=mask_t, other=0.0)
    m_t = tl.load(M_OUT + bh * S + t, mask=mask_t, other=float("inf"))  # no weight past the end
    mb = tl.load(MB_S + chunk + tl.arange(0, 1))  # [1]
    d_n = tl.load(DN_S + chunk * DK + offs_k, mask=mask_k, other=0.0)  # [BDK]

    ig, b, g_tot = chunk_gates(IG, FG, bh, t, mask_t, S)
    log_d = tl.where(causal, b[:, None] - b[None, :] + ig[None, :], float("-inf"))
    w = tl.exp(log_d - m_t[:, None])  # [L(t), L(j)]
    p = dot_in(q, tl.trans(k), MODE) * scale * w  # [L, L]
    e_j = tl.exp(g_tot - b + ig + mb)  # [L] weight of key j in the memory gradient from later steps

    # the normaliser's part of dk, then the value blocks one by one
    d_k = dot_wide(tl.trans(eta[:, None] * w), q, MODE) * scale + e_j[:, None] * d_n[None, :]  # [L, BDK]
    for vb in range(tl.cdiv(DV, BDV)):
        offs_v = vb * BDV + tl.arange(0, BDV)
        mask_v = offs_v < DV
        row_v = bh * S * DV + t[:, None] * DV + offs_v[None, :]
        mask_tv = mask_t[:, None] & mask_v[None, :]
        v = tl.load(V + row_v, mask=mask_tv, other=0.0)  # [L, BDV]
        g = tl.load(DH + row_v, mask=mask_tv, other=0.0).to(tl.float32) / den[:, None]  # [L, BDV]
        d_c = tl.load(
            D_S + chunk * DK * DV + offs_k[:, None] * DV + offs_v[None, :],
            mask=mask_k[:, None] & mask_v[None, :],
            other=0.0,
        )  # [BDK, BDV]
        d_v = dot_wide(tl.trans(p), g, MODE) + e_j[:, None] * dot_wide(k, d_c, MODE)  # [L, BDV]
        tl.store(DV_OUT + row_v, d_v.to(DV_OUT.dtype.element_ty), mask=mask_tv)
        gv = dot_wide(g, tl.trans(v), MODE)  # [L, L]
        d_k += dot_wide(tl.trans(gv * w), q, MODE) * scale + e_j[:, None] * dot_wide(v, tl.trans(d_c), MODE)
    tl.store(DK_OUT + row_k, d_k.to(DK_OUT.dtype.element_ty), mask=mask_tk)
    tl.store(KDK + bh * S + t, tl.sum(k.to(tl.float32) * d_k, 1), mask=mask_t)


__all__ = [
    "mlstm_bwd_dstates_kernel",
    "mlstm_chunkwise_bwd_dkdv_kernel",
    "mlstm_chunkwise_bwd_dq_kernel",
    "triton",
]
