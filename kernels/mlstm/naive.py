"""Readable mLSTM reference forms, meant to run in float64 as test oracles.

Shapes: ``q, k`` ``[B, NH, S, DK]``; ``v`` ``[B, NH, S, DV]``; gate pre-activations ``i, f``
``[B, NH, S]``.  Both functions follow the equations of the stabilised mLSTM exactly as written in
``kernels/README.md``; they trade speed for obviousness.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..states import mLSTMState


def mlstm_recurrent_naive(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    initial_state: mLSTMState | None = None,
    eps: float = 1e-6,
) -> tuple[torch.Tensor, mLSTMState]:
    """Token-by-token recurrence; returns ``h`` ``[B, NH, S, DV]`` and the final state.

    This is the definition the faster forms are checked against.  The computation runs in the
    dtype of ``q`` (use float64 for a reference).
    """
    B, NH, S, DK = q.shape
    DV = v.shape[-1]
    if initial_state is None:
        c = q.new_zeros(B, NH, DK, DV)
        n = q.new_zeros(B, NH, DK)
        m = q.new_zeros(B, NH)
    else:
        c, n, m = (t.to(q.dtype) for t in initial_state)
        m = m.reshape(B, NH)
    scale = 1.0 / math.sqrt(DK)
    outputs = []
    for t in range(S):
        log_f = F.logsigmoid(f[:, :, t])
        m_new = torch.maximum(log_f + m, i[:, :, t])
        decay = torch.exp(log_f + m - m_new)
        gain = torch.exp(i[:, :, t] - m_new)
        k_t, v_t, q_t = k[:, :, t], v[:, :, t], q[:, :, t] * scale
        c = decay[..., None, None] * c + gain[..., None, None] * (k_t[..., :, None] * v_t[..., None, :])
        n = decay[..., None] * n + gain[..., None] * k_t
        numerator = torch.einsum("bhd,bhde->bhe", q_t, c)
        qn = (q_t * n).sum(-1)
        denominator = torch.maximum(qn.abs(), torch.exp(-m_new)) + eps
        outputs.append(numerator / denominator[..., None])
        m = m_new
    h = torch.stack(outputs, dim=2) if outputs else v.new_zeros(B, NH, 0, DV)
    return h, mLSTMState(c, n, m[..., None])


def mlstm_parallel_naive(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    eps: float = 1e-6,
) -> torch.Tensor:
    """Quadratic (attention-like) form with a row-wise stabiliser; returns ``h`` only.

    It uses the row maximum of the log decay matrix as its stabiliser, so it differs from the
    recurrent form by ``O(eps * exp(m))`` (the two families place ``eps`` on different scales).
    It starts from a zero state and cannot return one.
    """
    S, DK = q.shape[-2], q.shape[-1]
    log_f = F.logsigmoid(f)  # [B, NH, S]
    cum = torch.cumsum(log_f, dim=-1)
    causal = torch.ones(S, S, dtype=torch.bool, device=q.device).tril()
    # log_decay[t, j] = sum_{s=j+1..t} log_f[s] + i[j] for j <= t
    log_decay = cum[..., :, None] - cum[..., None, :] + i[..., None, :]
    log_decay = log_decay.masked_fill(~causal, float("-inf"))
    row_max = log_decay.amax(dim=-1, keepdim=True)
    weights = (q @ k.transpose(-1, -2)) / math.sqrt(DK) * torch.exp(log_decay - row_max)
    normaliser = torch.maximum(weights.sum(-1, keepdim=True).abs(), torch.exp(-row_max)) + eps
    return (weights / normaliser) @ v
