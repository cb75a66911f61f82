"""Forward pass of the chunkwise mLSTM (one program per head and value block, chunks in sequence).

Layout (flattened heads, all contiguous): ``q, k`` ``[BH, S, DK]``, ``v, h`` ``[BH, S, DV]``, gates
``[BH, S]``, states ``c`` ``[BH, DK, DV]``, ``n`` ``[BH, DK]``, ``m`` ``[BH]`` (float32).  Program
``(pid_v, pid_bh)`` owns the value columns ``[pid_v * BDV, (pid_v + 1) * BDV)`` of one head and walks
the chunks of ``L`` steps in order, carrying its slice of the memory ``c`` in registers.  The key-side
quantities (``n``, ``m``, the normaliser) do not depend on the value block; every program computes them
and the one with ``pid_v == 0`` writes them.

Per chunk, with ``b`` the running sum of the log forget gates inside the chunk, ``g`` its total and
``m_prev`` the stabiliser entering the chunk (exactly the recurrent ``m`` one step earlier)::

    log_d[t, j] = b_t - b_j + i_j  (j <= t)        m_t   = max(b_t + m_prev, max_j log_d[t, j])
    W = exp(log_d - m_t)                            gamma = exp(b_t + m_prev - m_t)
    num = gamma * (q C_prev) + (q k^T * W) v        qn    = gamma * (q . n_prev) + rowsum(q k^T * W)
    h   = num / (max(|qn|, exp(-m_t)) + eps)

and the memory leaving the chunk is ``exp(g + m_prev - m_new) C_prev + sum_j exp(g - b_j + i_j - m_new)
k_j v_j^T`` with ``m_new = max(g + m_prev, max_j (g - b_j + i_j))``.  Steps past the end of the sequence
are masked to ``q = k = v = 0``, log forget gate ``0`` and input gate ``-inf``, which changes neither the
outputs nor the state.  The backward needs ``m_t`` and ``qn_t`` per step (written to ``M_OUT``, ``QN``)
and, when ``SAVE_STATES``, the state entering every chunk.

Matrix products follow ``MODE`` (0 float32, 1 float16, 2 bfloat16 inputs; see ``_common.py``).
"""

from __future__ import annotations

import triton
import triton.language as tl

from ._common import dot_in, dot_wide, logsigmoid


@triton.jit
def mlstm_chunkwise_fwd_kernel(
    Q, K, V, IG, FG,  # inputs
    C0, N0, M0,  # initial state (read when HAS_INIT)
    H, M_OUT, QN,  # per-step outputs
    C_T, N_T, M_T,  # final state
    C_S, N_S, M_S,  # state entering each chunk (written when SAVE_STATES): [BH, NC, ...]
    S, DK, DV, NC, scale, eps,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    HAS_INIT: tl.constexpr,
    SAVE_STATES: tl.constexpr,
    MODE: tl.constexpr,
):
    pid_v = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    first = pid_v == 0

    offs_l = tl.arange(0, L)
    offs_k = tl.arange(0, BDK)
    offs_v = pid_v * BDV + tl.arange(0, BDV)
    mask_k = offs_k < DK
    mask_v = offs_v < DV
    causal = offs_l[:, None] >= offs_l[None, :]

    # running state of this program: c [BDK, BDV], n [BDK], m (shape [1])
    state_off = bh * DK * DV + offs_k[:, None] * DV + offs_v[None, :]
    state_mask = mask_k[:, None] & mask_v[None, :]
    if HAS_INIT:
        c = tl.load(C0 + state_off, mask=state_mask, other=0.0)
        n = tl.load(N0 + bh * DK + offs_k, mask=mask_k, other=0.0)
        m_prev = tl.load(M0 + bh + tl.arange(0, 1))
    else:
        c = tl.zeros([BDK, BDV], dtype=tl.float32)
        n = tl.zeros([BDK], dtype=tl.float32)
        m_prev = tl.zeros([1], dtype=tl.float32)

    for ci in range(NC):
        t = ci * L + offs_l
        mask_t = t < S
        if SAVE_STATES:
            chunk_off = bh * NC + ci
            tl.store(C_S + chunk_off * DK * DV + offs_k[:, None] * DV + offs_v[None, :], c, mask=state_mask)
            if first:
                tl.store(N_S + chunk_off * DK + offs_k, n, mask=mask_k)
                tl.store(M_S + chunk_off + tl.arange(0, 1), m_prev)

        row_k = bh * S * DK + t[:, None] * DK + offs_k[None, :]
        mask_tk = mask_t[:, None] & mask_k[None, :]
        q = tl.load(Q + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
        k = tl.load(K + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
        row_v = bh * S * DV + t[:, None] * DV + offs_v[None, :]
        mask_tv = mask_t[:, None] & mask_v[None, :]
        v = tl.load(V + row_v, mask=mask_tv, other=0.0)  # [L, BDV]
        ig = tl.load(IG + bh * S + t, mask=mask_t, other=0.0).to(tl.float32)
        fg = tl.load(FG + bh * S + t, mask=mask_t, other=0.0).to(tl.float32)
        ig = tl.where(mask_t, ig, float("-inf"))
        logf = tl.where(mask_t, logsigmoid(fg), 0.0)

        b = tl.cumsum(logf, 0)  # [L] log decay from the chunk start to step t (inclusive)
        g = tl.sum(logf, 0)  # log decay over the whole chunk
        log_d = b[:, None] - b[None, :] + ig[None, :]  # [L, L]
        log_d = tl.where(causal, log_d, float("-inf"))
        m_inter = b + m_prev  # [L]
        m_t = tl.maximum(m_inter, tl.max(log_d, 1))  # [L], the recurrent stabiliser at each step
        w = tl.exp(log_d - m_t[:, None])  # [L, L], 0 above the diagonal
        gamma = tl.exp(m_inter - m_t)  # [L]

        p = dot_in(q, tl.trans(k), MODE) * scale * w  # [L, L]
        num = dot_in(p, v, MODE) + dot_wide(q, c, MODE) * (gamma * scale)[:, None]  # [L, BDV]
        qn = gamma * scale * tl.sum(q.to(tl.float32) * n[None, :], 1) + tl.sum(p, 1)  # [L]
        den = tl.maximum(tl.abs(qn), tl.exp(-m_t)) + eps
        h = num / den[:, None]
        tl.store(H + row_v, h.to(H.dtype.element_ty), mask=mask_tv)
        if first:
            tl.store(M_OUT + bh * S + t, m_t, mask=mask_t)
            tl.store(QN + bh * S + t, qn, mask=mask_t)

        # memory leaving the chunk
        a = g - b + ig  # [L] log weight of step j in the end-of-chunk memory
        m_new = tl.maximum(g + m_prev, tl.max(a, 0))  # [1]
        decay = tl.exp(g + m_prev - m_new)  # [1]
        kw = k.to(tl.float32) * tl.exp(a - m_new)[:, None]  # [L, BDK]
        c = c * decay[:, None] + dot_in(tl.trans(kw), v, MODE)
        n = n * decay + tl.sum(kw, 0)
        m_prev = m_new

    tl.store(C_T + state_off, c, mask=state_mask)
    if first:
        tl.store(N_T + bh * DK + offs_k, n, mask=mask_k)
        tl.store(M_T + bh + tl.arange(0, 1), m_prev)


__all__ = ["mlstm_chunkwise_fwd_kernel", "triton"]
