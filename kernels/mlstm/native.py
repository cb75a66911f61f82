"""Pure-PyTorch mLSTM kernels: chunkwise sequence form and single step (autograd for gradients).

This is the CPU path and the fallback everywhere.  The chunkwise form keeps memory linear in the
sequence length: per chunk of ``L`` steps it builds an ``L x L`` intra-chunk matrix and carries the
matrix memory across chunk boundaries with a short recurrence.

Shapes follow ``kernels/README.md``: ``q, k`` ``[B, NH, S, DK]``, ``v`` ``[B, NH, S, DV]``, gate
pre-activations ``i, f`` ``[B, NH, S]``.  Gate arithmetic and states use float32 (float64 when the
inputs are float64); ``h`` is returned in the dtype of ``q``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..states import mLSTMState, state_dtype


def _initial(
    state: mLSTMState | None, B: int, NH: int, DK: int, DV: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if state is None:
        return (
            torch.zeros(B, NH, DK, DV, dtype=dtype, device=device),
            torch.zeros(B, NH, DK, dtype=dtype, device=device),
            torch.zeros(B, NH, dtype=dtype, device=device),
        )
    c, n, m = state
    return c.to(dtype), n.to(dtype), m.to(dtype).reshape(B, NH)


def mlstm_chunkwise_native(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    initial_state: mLSTMState | None = None,
    return_last_state: bool = False,
    chunk_size: int = 64,
    eps: float = 1e-6,
) -> tuple[torch.Tensor, mLSTMState | None]:
    """Chunkwise mLSTM for any sequence length; returns ``(h, state or None)``.

    A sequence whose length is not a multiple of the chunk is padded at the end with
    ``q = k = v = 0``, log forget gate exactly ``0`` and input gate ``-inf``: a padded step adds
    ``exp(-inf) = 0`` to the memory and does not decay it, so outputs and final state are those
    of the unpadded sequence.
    """
    B, NH, S, DK = q.shape
    DV = v.shape[-1]
    out_dtype = q.dtype
    cdt = state_dtype(out_dtype)
    L = max(1, min(chunk_size, S))
    NC = -(-S // L)
    pad = NC * L - S

    q = q.to(cdt) * (1.0 / math.sqrt(DK))
    k, v, i = k.to(cdt), v.to(cdt), i.to(cdt)
    log_f = F.logsigmoid(f.to(cdt))
    if pad:
        q = F.pad(q, (0, 0, 0, pad))
        k = F.pad(k, (0, 0, 0, pad))
        v = F.pad(v, (0, 0, 0, pad))
        i = F.pad(i, (0, pad), value=float("-inf"))
        log_f = F.pad(log_f, (0, pad), value=0.0)

    qc = q.reshape(B, NH, NC, L, DK)  # [B, NH, S, DK] -> [B, NH, NC, L, DK]
    kc = k.reshape(B, NH, NC, L, DK)
    vc = v.reshape(B, NH, NC, L, DV)
    ic = i.reshape(B, NH, NC, L)
    cum = log_f.reshape(B, NH, NC, L).cumsum(-1)  # b_l: log decay from the chunk start to l
    total = cum[..., -1]  # g: log decay over the whole chunk, [B, NH, NC]

    # Contribution of each chunk to the memory at its end, stabilised by its own maximum.
    a = total[..., None] - cum + ic  # log weight of step l in the end-of-chunk memory
    a_max = a.amax(-1)  # [B, NH, NC]
    kw = kc * torch.exp(a - a_max[..., None])[..., None]
    c_local = kw.transpose(-1, -2) @ vc  # [B, NH, NC, DK, DV]
    n_local = kw.sum(-2)  # [B, NH, NC, DK]

    # Recurrence over chunk boundaries; keeps the state *entering* each chunk.
    c, n, m = _initial(initial_state, B, NH, DK, DV, cdt, q.device)
    c_in, n_in, m_in = [], [], []
    # unbind rather than index: indexing inside the loop makes autograd build a full-size gradient
    # per chunk (quadratic in the number of chunks)
    chunks = zip(total.unbind(-1), a_max.unbind(-1), c_local.unbind(2), n_local.unbind(2))
    for g_k, a_k, c_k, n_k in chunks:
        c_in.append(c)
        n_in.append(n)
        m_in.append(m)
        m_new = torch.maximum(g_k + m, a_k)
        decay = torch.exp(g_k + m - m_new)
        gain = torch.exp(a_k - m_new)
        c = decay[..., None, None] * c + gain[..., None, None] * c_k
        n = decay[..., None] * n + gain[..., None] * n_k
        m = m_new
    c_prev = torch.stack(c_in, dim=2)  # [B, NH, NC, DK, DV]
    n_prev = torch.stack(n_in, dim=2)  # [B, NH, NC, DK]
    m_prev = torch.stack(m_in, dim=2)  # [B, NH, NC]

    # Outputs: inter-chunk part from the entering state plus the causal intra-chunk part.
    causal = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()
    log_d = (cum[..., :, None] - cum[..., None, :] + ic[..., None, :]).masked_fill(~causal, float("-inf"))
    m_inter = cum + m_prev[..., None]  # [B, NH, NC, L]
    m_out = torch.maximum(m_inter, log_d.amax(-1))
    gamma = torch.exp(m_inter - m_out)
    scores = (qc @ kc.transpose(-1, -2)) * torch.exp(log_d - m_out[..., None])  # [B, NH, NC, L, L]
    numerator = gamma[..., None] * (qc @ c_prev) + scores @ vc  # [B, NH, NC, L, DV]
    qn = gamma * (qc @ n_prev[..., None]).squeeze(-1) + scores.sum(-1)
    denominator = torch.maximum(qn.abs(), torch.exp(-m_out)) + eps
    h = (numerator / denominator[..., None]).reshape(B, NH, NC * L, DV)[:, :, :S]
    state = mLSTMState(c, n, m[..., None]) if return_last_state else None
    return h.to(out_dtype), state


def mlstm_step_native(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    state: mLSTMState | None = None,
    eps: float = 1e-6,
) -> tuple[torch.Tensor, mLSTMState]:
    """One recurrent step. ``q, k`` ``[B, NH, DK]``, ``v`` ``[B, NH, DV]``, ``i, f`` ``[B, NH]``.

    Returns ``h`` ``[B, NH, DV]`` (dtype of ``q``) and the updated state (float32).
    """
    B, NH, DK = q.shape
    DV = v.shape[-1]
    cdt = state_dtype(q.dtype)
    c, n, m = _initial(state, B, NH, DK, DV, cdt, q.device)
    q_s = q.to(cdt) * (1.0 / math.sqrt(DK))
    k, v, i = k.to(cdt), v.to(cdt), i.to(cdt)
    log_f = F.logsigmoid(f.to(cdt))
    m_new = torch.maximum(log_f + m, i)
    decay = torch.exp(log_f + m - m_new)
    gain = torch.exp(i - m_new)
    c = decay[..., None, None] * c + gain[..., None, None] * (k[..., :, None] * v[..., None, :])
    n = decay[..., None] * n + gain[..., None] * k
    numerator = (q_s[..., None, :] @ c).squeeze(-2)
    denominator = torch.maximum((q_s * n).sum(-1).abs(), torch.exp(-m_new)) + eps
    h = numerator / denominator[..., None]
    return h.to(q.dtype), mLSTMState(c, n, m_new[..., None])


def mlstm_output_native(
    h: torch.Tensor,
    x: torch.Tensor,
    z: torch.Tensor,
    weight: torch.Tensor,
    skip: torch.Tensor,
    eps: float = 1e-5,
    out_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """The mLSTM layer's output stage in PyTorch: ``(norm(h) * (1 + weight) + skip * x) * silu(z)``.

    ``h`` ``[B, S, NH, DH]`` is normalised per head over ``DH`` (no bias); ``x``, ``z`` are ``[B, S, NH * DH]``,
    ``weight``, ``skip`` ``[NH * DH]``.  Returns ``[B, S, NH * DH]``, cast to ``out_dtype`` when given (the layer
    passes the autocast dtype, which the down-projection would cast to anyway).

    >>> h = torch.randn(2, 3, 4, 8)
    >>> x, z = torch.randn(2, 3, 32), torch.randn(2, 3, 32)
    >>> mlstm_output_native(h, x, z, torch.zeros(32), torch.ones(32)).shape
    torch.Size([2, 3, 32])
    """
    B, S, NH, DH = h.shape
    n = F.layer_norm(h, (DH,), eps=eps) * (1.0 + weight).view(NH, DH)
    y = (n.reshape(B, S, NH * DH) + skip * x) * F.silu(z)
    return y if out_dtype is None else y.to(out_dtype)
