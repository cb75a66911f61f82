"""Pure-PyTorch sLSTM kernels: sequence loop and single step (autograd for gradients).

The input projections of every step arrive precomputed (``x`` ``[B, S, NH, 4, DH]``, gate order
``i, f, z, o``), with the bias folded in once; each step then costs one batched
``[NH, B, DH] @ [NH, DH, 4*DH]`` matmul plus the pointwise gate update.  Internally the batch is
kept head-major so that no transpose happens inside the loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..states import sLSTMState, state_dtype


def _pointwise(
    raw: torch.Tensor, c: torch.Tensor, n: torch.Tensor, m: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gate update for one step; ``raw`` is ``[..., 4, DH]``, states ``[..., DH]``."""
    i_raw, f_raw, z_raw, o_raw = raw.unbind(dim=-2)
    log_f_plus_m = F.logsigmoid(f_raw) + m
    m_new = torch.where(n == 0, i_raw, torch.maximum(i_raw, log_f_plus_m))
    zero = torch.zeros((), dtype=raw.dtype, device=raw.device)  # gates clamped at 1 = exp(0)
    i_gate = torch.exp(torch.minimum(i_raw - m_new, zero))
    f_gate = torch.exp(torch.minimum(log_f_plus_m - m_new, zero))
    c = f_gate * c + i_gate * torch.tanh(z_raw)
    n = f_gate * n + i_gate
    h = torch.sigmoid(o_raw) * c / n
    return h, c, n, m_new


def _initial(state: sLSTMState | None, B: int, NH: int, DH: int, dtype, device) -> list[torch.Tensor]:
    if state is None:
        return [torch.zeros(NH, B, DH, dtype=dtype, device=device) for _ in range(4)]
    return [t.to(dtype).transpose(0, 1) for t in state]  # [B, NH, DH] -> [NH, B, DH]


def slstm_sequence_native(
    x: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    bias: torch.Tensor,
    initial_state: sLSTMState | None = None,
    return_last_state: bool = False,
) -> tuple[torch.Tensor, sLSTMState | None]:
    """sLSTM over a whole sequence; returns ``h`` ``[B, S, NH, DH]`` (dtype of ``x``) and the state.

    ``recurrent_kernel`` is ``[NH, DH_in, 4, DH_out]`` and ``bias`` ``[NH, 4, DH]``.
    """
    B, _, NH, G, DH = x.shape
    cdt = state_dtype(x.dtype)
    # [B, S, NH, 4, DH] -> [S, NH, B, 4, DH], bias folded in for all steps at once
    pre = (x.to(cdt) + bias.to(cdt)).permute(1, 2, 0, 3, 4).contiguous()
    r = recurrent_kernel.to(cdt).reshape(NH, DH, G * DH)  # [NH, DH, 4, DH] -> [NH, DH, 4*DH]
    h, c, n, m = _initial(initial_state, B, NH, DH, cdt, x.device)
    outputs = []
    # unbind, not pre[t]: indexing would make autograd build a full-size gradient per step (O(S^2))
    for pre_t in pre.unbind(0):
        raw = pre_t + torch.bmm(h, r).view(NH, B, G, DH)
        h, c, n, m = _pointwise(raw, c, n, m)
        outputs.append(h)
    if outputs:
        out = torch.stack(outputs, dim=0).permute(2, 0, 1, 3)  # [S, NH, B, DH] -> [B, S, NH, DH]
    else:
        out = x.new_zeros(B, 0, NH, DH, dtype=cdt)
    state = sLSTMState(*(t.transpose(0, 1) for t in (h, c, n, m))) if return_last_state else None
    return out.to(x.dtype), state


def slstm_step_native(
    x: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    bias: torch.Tensor,
    state: sLSTMState | None = None,
) -> tuple[torch.Tensor, sLSTMState]:
    """One sLSTM step; ``x`` is ``[B, NH, 4, DH]``. Returns ``h`` ``[B, NH, DH]`` and the new state."""
    out, new_state = slstm_sequence_native(x[:, None], recurrent_kernel, bias, state, True)
    assert new_state is not None
    return out[:, 0], new_state
