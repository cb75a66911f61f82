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
at most 1.  The gate and stabiliser gradients are ``O(S)`` reductions per head, in their own kernel.

* :func:`mlstm_chunkwise_bwd_dq_kernel`: grid ``(DK blocks, chunks, BH)``, no sequential dependency.
* :func:`mlstm_bwd_dstates_kernel`: grid ``(DK blocks, DV blocks, BH)``, chunks from last to first; writes
  the memory gradient at the end of every chunk (and the initial-state gradients).
* :func:`mlstm_chunkwise_bwd_dkdv_kernel`: grid ``(chunks, BH)``, no sequential dependency; loops over
  the value blocks and writes ``dk``, ``dv`` and ``k . dk``.
* :func:`mlstm_bwd_gates_kernel`: grid ``(BH,)``; the input- and forget-gate gradients from those
  per-step reductions, in two passes over the steps (see its docstring).

The dq kernel also finishes the normaliser: ``den``, ``rho = -(dh . h) / den`` and ``eta`` (read by the
other two), and ``q . dq``; with ``k . dk`` from the dk/dv kernel these are all the gate kernel reads.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ..._triton.common import dot_in, dot_wide
from .chunkwise_fwd import chunk_gates, gate_offset, head_rows


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
    NH,
    G_SB,
    G_SH,
    G_SS,
    scale,
    eps,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    MODE: tl.constexpr,
    HEADS_INNER: tl.constexpr,
):
    pid_k = tl.program_id(0)
    ci = tl.program_id(1).to(tl.int64)
    bh = tl.program_id(2).to(tl.int64)
    BH = tl.num_programs(2)
    k_off, k_step = head_rows(bh, NH, S, DK, HEADS_INNER)
    v_off, v_step = head_rows(bh, NH, S, DV, HEADS_INNER)
    goff = gate_offset(bh, NH, G_SB, G_SH)

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
        row_v = v_off + t[:, None] * v_step + offs_v[None, :]
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

    ig, b, _ = chunk_gates(IG, FG, goff, t, G_SS, mask_t)
    causal = offs_l[:, None] >= offs_l[None, :]
    log_d = tl.where(causal, b[:, None] - b[None, :] + ig[None, :], float("-inf"))
    w = tl.exp(log_d - m_t[:, None])  # [L, L]
    m_prev = tl.load(M_S + chunk_off + tl.arange(0, 1))  # [1]
    gamma = tl.exp(b + m_prev - m_t)  # [L]
    n_prev = tl.load(N_S + chunk_off * DK + offs_k, mask=mask_k, other=0.0)  # [BDK]
    row_k = k_off + t[:, None] * k_step + offs_k[None, :]
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
    NH,
    G_SB,
    G_SH,
    G_SS,
    scale,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    HAS_INIT: tl.constexpr,
    HAS_DFINAL: tl.constexpr,
    MODE: tl.constexpr,
    HEADS_INNER: tl.constexpr,
):
    pid_k = tl.program_id(0)
    pid_v = tl.program_id(1)
    bh = tl.program_id(2).to(tl.int64)
    k_off, k_step = head_rows(bh, NH, S, DK, HEADS_INNER)
    v_off, v_step = head_rows(bh, NH, S, DV, HEADS_INNER)
    goff = gate_offset(bh, NH, G_SB, G_SH)
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
            Q + k_off + t[:, None] * k_step + offs_k[None, :],
            mask=mask_t[:, None] & mask_k[None, :],
            other=0.0,
        )
        den = tl.load(DEN + bh * S + t, mask=mask_t, other=1.0)
        eta = tl.load(ETA + bh * S + t, mask=mask_t, other=0.0)
        m_t = tl.load(M_OUT + bh * S + t, mask=mask_t, other=float("inf"))  # no weight past the end
        g = tl.load(
            DH + v_off + t[:, None] * v_step + offs_v[None, :],
            mask=mask_t[:, None] & mask_v[None, :],
            other=0.0,
        )
        g = g.to(tl.float32) / den[:, None]  # [L, BDV]
        _, b, g_tot = chunk_gates(IG, FG, goff, t, G_SS, mask_t)

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
    NH,
    G_SB,
    G_SH,
    G_SS,
    scale,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    MODE: tl.constexpr,
    HEADS_INNER: tl.constexpr,
):
    ci = tl.program_id(0).to(tl.int64)
    bh = tl.program_id(1).to(tl.int64)
    chunk = bh * NC + ci
    k_off, k_step = head_rows(bh, NH, S, DK, HEADS_INNER)
    v_off, v_step = head_rows(bh, NH, S, DV, HEADS_INNER)
    goff = gate_offset(bh, NH, G_SB, G_SH)

    offs_l = tl.arange(0, L)
    t = ci * L + offs_l
    mask_t = t < S
    offs_k = tl.arange(0, BDK)
    mask_k = offs_k < DK
    causal = offs_l[:, None] >= offs_l[None, :]

    row_k = k_off + t[:, None] * k_step + offs_k[None, :]
    mask_tk = mask_t[:, None] & mask_k[None, :]
    q = tl.load(Q + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
    k = tl.load(K + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
    den = tl.load(DEN + bh * S + t, mask=mask_t, other=1.0)
    eta = tl.load(ETA + bh * S + t, mask=mask_t, other=0.0)
    m_t = tl.load(M_OUT + bh * S + t, mask=mask_t, other=float("inf"))  # no weight past the end
    mb = tl.load(MB_S + chunk + tl.arange(0, 1))  # [1]
    d_n = tl.load(DN_S + chunk * DK + offs_k, mask=mask_k, other=0.0)  # [BDK]

    ig, b, g_tot = chunk_gates(IG, FG, goff, t, G_SS, mask_t)
    log_d = tl.where(causal, b[:, None] - b[None, :] + ig[None, :], float("-inf"))
    w = tl.exp(log_d - m_t[:, None])  # [L(t), L(j)]
    p = dot_in(q, tl.trans(k), MODE) * scale * w  # [L, L]
    e_j = tl.exp(g_tot - b + ig + mb)  # [L] weight of key j in the memory gradient from later steps

    # the normaliser's part of dk, then the value blocks one by one
    d_k = dot_wide(tl.trans(eta[:, None] * w), q, MODE) * scale + e_j[:, None] * d_n[None, :]  # [L, BDK]
    for vb in range(tl.cdiv(DV, BDV)):
        offs_v = vb * BDV + tl.arange(0, BDV)
        mask_v = offs_v < DV
        row_v = v_off + t[:, None] * v_step + offs_v[None, :]
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


@triton.jit
def _larger(a, b):
    return tl.maximum(a, b)


@triton.jit
def _first_by_index(a_idx, a_val, b_idx, b_val):
    # combine of a scan that keeps the entry with the smaller index
    take_a = a_idx < b_idx
    return tl.where(take_a, a_idx, b_idx), tl.where(take_a, a_val, b_val)


@triton.jit
def mlstm_bwd_gates_kernel(
    QDQ_P,
    KDK,
    RHO,  # partial q . dq [NKB, BH, S], k . dk [BH, S], rho [BH, S] (float32)
    IG,
    FG,  # gate pre-activations [B, NH, S] (strides G_SB, G_SH, G_SS)
    M0,  # initial stabiliser [BH] (read when HAS_INIT)
    PULL,  # [BH]: (dC_S . C_S) + (dn_S . n_S), the final state's pull on F_S (read when HAS_PULL)
    DM_T,  # [BH]: gradient of the final stabiliser (read when HAS_DMT)
    G_EX,
    REC,  # scratch [BH, S]: exclusive running sum of the arg-max routing (float64), record flags (int8)
    DI,
    DF,  # outputs [BH, S] (dtype of the gates)
    DM0,  # output [BH]: the stabiliser gradient routed to the initial state (written when HAS_INIT)
    S,
    NKB,
    NH,
    G_SB,
    G_SH,
    G_SS,
    eps,
    BLOCK: tl.constexpr,
    HAS_INIT: tl.constexpr,
    HAS_PULL: tl.constexpr,
    HAS_DMT: tl.constexpr,
):
    """Gate gradients of one head (grid ``(BH,)``).

    With ``A_t = q_t . dq_t``, ``B_j = k_j . dk_j`` and ``d_m_t = eps * rho_t`` (plus the final state's terms
    at the last step), the gradients of the log weights give ``d i_j = B_j`` and ``dF_t = A_t - B_t + d_m_t``.
    The stabiliser ``m_t = F_t + max(m_0, max_{j<=t} (i_j - F_j))`` also sends ``d_m_t`` to the arg-max key
    ``a_t`` (``+`` to ``d i``, ``-`` to ``dF``), unless ``m_0`` is the maximum.  The arg-max is the last
    *record* ``j <= t`` (a step whose ``i_j - F_j`` is at least every earlier one; ties go to the later step,
    as ``torch.cummax`` does), so each record ``r`` collects the routed ``d_m`` of the steps from ``r`` up
    to the next record: a difference of the running sum ``G`` of routed values.  Pass 1 (steps in order)
    finds the records and writes the exclusive ``G``; pass 2 (in reverse) finds each step's next record,
    forms ``d i`` and the reverse running sum ``d log f_t = sum_{s >= t} dF_s``, and ``d f = d log f *
    sigmoid(-f)``.  ``F``, the maximum and ``G`` are float64, as in the PyTorch reference beside the
    wrapper (``gate_gradients_reference``).
    """
    bh = tl.program_id(0).to(tl.int64)
    BH = tl.num_programs(0)
    offs = tl.arange(0, BLOCK)
    base = bh * S
    goff = gate_offset(bh, NH, G_SB, G_SH)  # the gates are read through their strides
    n_blocks = tl.cdiv(S, BLOCK)
    if HAS_INIT:
        m0 = tl.load(M0 + bh).to(tl.float64)
    else:
        m0 = tl.zeros([], dtype=tl.float64)
    last_extra = tl.zeros([], dtype=tl.float32)  # d_m at the last step beyond eps * rho
    pull = tl.zeros([], dtype=tl.float32)
    if HAS_PULL:
        pull = tl.load(PULL + bh)
        last_extra -= pull
    if HAS_DMT:
        last_extra += tl.load(DM_T + bh)

    # pass 1: records, routed d_m and its exclusive running sum
    cum = tl.zeros([], dtype=tl.float64)  # F at the end of the previous block
    best = tl.full([], float("-inf"), dtype=tl.float64)
    g_run = tl.zeros([], dtype=tl.float64)
    to_init = tl.zeros([], dtype=tl.float32)
    for blk in range(n_blocks):
        t = blk * BLOCK + offs
        mask = t < S
        ig = tl.load(IG + goff + t * G_SS, mask=mask, other=0.0).to(tl.float64)
        fg = tl.load(FG + goff + t * G_SS, mask=mask, other=0.0).to(tl.float64)
        logf = tl.where(mask, tl.minimum(fg, 0.0) - tl.log(1.0 + tl.exp(-tl.abs(fg))), 0.0)
        cum_t = cum + tl.cumsum(logf, 0)
        val = tl.where(mask, ig - cum_t, float("-inf"))
        best_t = tl.maximum(tl.associative_scan(val, 0, _larger), best)
        rec = mask & (val >= best_t)
        from_init = m0 >= best_t
        d_m = eps * tl.load(RHO + base + t, mask=mask, other=0.0)
        d_m = tl.where(t == S - 1, d_m + last_extra, d_m)
        d_m = tl.where(mask, d_m, 0.0)
        routed = tl.where(from_init, 0.0, d_m).to(tl.float64)
        g_incl = g_run + tl.cumsum(routed, 0)
        tl.store(G_EX + base + t, g_incl - routed, mask=mask)
        tl.store(REC + base + t, rec.to(tl.int8), mask=mask)
        to_init += tl.sum(tl.where(from_init, d_m, 0.0), 0)
        cum += tl.sum(logf, 0)
        best = tl.maximum(best, tl.max(val, 0))
        g_run += tl.sum(routed, 0)
    if HAS_INIT:
        tl.store(DM0 + bh, to_init)
    g_total = g_run
    tl.debug_barrier()  # pass 2 reads what other threads of this program wrote in pass 1

    # pass 2, last block first: next records, d i, and the reverse running sum of dF
    nxt = g_total  # G_EX at the first record after the current block (g_total if none)
    tail = tl.zeros([], dtype=tl.float64)  # sum of dF over the later blocks (without the routing)
    NONE = 2147483647
    for rev in range(n_blocks):
        blk = n_blocks - 1 - rev
        t = blk * BLOCK + offs
        mask = t < S
        a = tl.zeros([BLOCK], dtype=tl.float32)
        for kb in range(NKB):
            a += tl.load(QDQ_P + kb * BH * S + base + t, mask=mask, other=0.0)
        b = tl.load(KDK + base + t, mask=mask, other=0.0)
        d_m = eps * tl.load(RHO + base + t, mask=mask, other=0.0)
        d_m = tl.where(t == S - 1, d_m + last_extra, d_m)
        d_cum = a - b + d_m
        d_cum = tl.where(t == S - 1, d_cum + pull, d_cum)
        d_cum = tl.where(mask, d_cum, 0.0).to(tl.float64)
        rev_sum = tail + tl.cumsum(d_cum, 0, reverse=True)  # sum over s >= t of dF_s
        g_ex = tl.load(G_EX + base + t, mask=mask, other=0.0)
        rec = tl.load(REC + base + t, mask=mask, other=0) != 0
        # first record at or after t in this block (its index and G_EX), then strictly after t
        idx_in, g_in = tl.associative_scan(
            (tl.where(rec, offs, NONE), g_ex), 0, _first_by_index, reverse=True
        )
        g_in = tl.where(idx_in == NONE, nxt, g_in)
        shifted = mask & (offs < BLOCK - 1) & (t + 1 < S)
        rec_nx = tl.load(REC + base + t + 1, mask=shifted, other=0) != 0
        g_nx = tl.load(G_EX + base + t + 1, mask=shifted, other=0.0)
        idx_ex, g_ex_next = tl.associative_scan(
            (tl.where(rec_nx, offs, NONE), g_nx), 0, _first_by_index, reverse=True
        )
        g_ex_next = tl.where(idx_ex == NONE, nxt, g_ex_next)
        d_i = b.to(tl.float64) + tl.where(rec, g_ex_next - g_ex, 0.0)
        d_logf = rev_sum - (g_total - g_in)
        fg = tl.load(FG + goff + t * G_SS, mask=mask, other=0.0).to(tl.float32)
        sig = tl.exp(-tl.abs(fg))
        sig = tl.where(fg >= 0.0, sig / (1.0 + sig), 1.0 / (1.0 + sig))  # sigmoid(-f)
        d_f = d_logf.to(tl.float32) * sig
        tl.store(DI + base + t, d_i.to(DI.dtype.element_ty), mask=mask)
        tl.store(DF + base + t, d_f.to(DF.dtype.element_ty), mask=mask)
        first = tl.min(tl.where(rec, offs, NONE), 0)
        nxt = tl.where(first == NONE, nxt, tl.sum(tl.where(offs == first, g_ex, 0.0), 0))
        tail += tl.sum(d_cum, 0)


__all__ = [
    "mlstm_bwd_dstates_kernel",
    "mlstm_bwd_gates_kernel",
    "mlstm_chunkwise_bwd_dkdv_kernel",
    "mlstm_chunkwise_bwd_dq_kernel",
    "triton",
]
