"""Readable sLSTM reference recurrence, meant to run in float64 as a test oracle.

Shapes: gate pre-activations from the input projections ``x`` ``[B, S, NH, 4, DH]`` in gate order
``(i, f, z, o)``; recurrent kernel ``R`` ``[NH, DH_in, 4, DH_out]``; bias ``b`` ``[NH, 4, DH]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..states import sLSTMState


def slstm_recurrent_naive(
    x: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    bias: torch.Tensor,
    initial_state: sLSTMState | None = None,
) -> tuple[torch.Tensor, sLSTMState]:
    """Step-by-step sLSTM; returns ``h`` ``[B, S, NH, DH]`` and the final state.

    Per head and step: ``raw = x_t + R^T h_{t-1} + b``; ``m_t = i`` where ``n_{t-1} == 0`` (first
    step), else ``max(i, log sigmoid(f) + m_{t-1})``; both gates clamped at one (as ``exp(min(x, 0))``, which keeps the backward finite where ``exp(x)`` would overflow); ``h = sigmoid(o) c / n``.
    """
    B, S, NH, _, DH = x.shape
    if initial_state is None:
        h = c = n = m = x.new_zeros(B, NH, DH)
    else:
        h, c, n, m = (t.to(x.dtype) for t in initial_state)
    zero = torch.zeros((), dtype=x.dtype)  # gates clamped at exp(0) = 1
    outputs = []
    for t in range(S):
        recurrent = torch.einsum("bhd,hdgo->bhgo", h, recurrent_kernel.to(x.dtype))
        raw = x[:, t] + recurrent + bias.to(x.dtype)
        i_raw, f_raw, z_raw, o_raw = raw.unbind(dim=2)
        log_f_plus_m = F.logsigmoid(f_raw) + m
        m_new = torch.where(n == 0, i_raw, torch.maximum(i_raw, log_f_plus_m))
        i_gate = torch.exp(torch.minimum(i_raw - m_new, zero))
        f_gate = torch.exp(torch.minimum(log_f_plus_m - m_new, zero))
        c = f_gate * c + i_gate * torch.tanh(z_raw)
        n = f_gate * n + i_gate
        h = torch.sigmoid(o_raw) * c / n
        m = m_new
        outputs.append(h)
    out = torch.stack(outputs, dim=1) if outputs else x.new_zeros(B, 0, NH, DH)
    return out, sLSTMState(h, c, n, m)
