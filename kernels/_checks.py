"""Shape checks of the public kernel operations, shared by the ops in ``kernels/__init__.py`` and by the
Triton wrappers that can also be called directly.  Each raises ``ValueError`` saying what was expected and
what was received."""

from __future__ import annotations

import torch

from .states import mLSTMState, sLSTMState


def _expect(condition: bool, what: str, got: object) -> None:
    if not condition:
        raise ValueError(f"{what}; got {got}.")


def check_mlstm(q, k, v, i, f, seq: bool) -> None:
    lead = 4 if seq else 3
    _expect(q.dim() == lead, f"q must have {lead} dims ([B, NH{', S' if seq else ''}, DK])", tuple(q.shape))
    _expect(k.shape == q.shape, f"k must have the shape of q {tuple(q.shape)}", tuple(k.shape))
    _expect(
        v.dim() == lead and v.shape[:-1] == q.shape[:-1],
        f"v must be [B, NH{', S' if seq else ''}, DV] matching q {tuple(q.shape)}",
        tuple(v.shape),
    )
    for name, gate in (("igate", i), ("fgate", f)):
        _expect(
            gate.shape == q.shape[:-1], f"{name} must have shape {tuple(q.shape[:-1])}", tuple(gate.shape)
        )


def check_mlstm_state(state: mLSTMState | None, q: torch.Tensor, v: torch.Tensor) -> None:
    if state is None:
        return
    B, NH, DK, DV = q.shape[0], q.shape[1], q.shape[-1], v.shape[-1]
    expected = ((B, NH, DK, DV), (B, NH, DK), (B, NH, 1))
    got = tuple(tuple(t.shape) for t in state)
    _expect(got == expected, f"mLSTM state (c, n, m) must have shapes {expected}", got)


def check_mlstm_output(h, x, z, weight, skip) -> None:
    _expect(h.dim() == 4, "h must have 4 dims ([B, S, NH, DH])", tuple(h.shape))
    B, S, NH, DH = h.shape
    for name, t in (("x", x), ("z", z)):
        _expect(
            tuple(t.shape) == (B, S, NH * DH),
            f"{name} must be [B, S, NH * DH] = {(B, S, NH * DH)}",
            tuple(t.shape),
        )
    for name, t in (("weight", weight), ("skip", skip)):
        _expect(tuple(t.shape) == (NH * DH,), f"{name} must be [NH * DH] = {(NH * DH,)}", tuple(t.shape))


def check_slstm(x: torch.Tensor, r: torch.Tensor, b: torch.Tensor, seq: bool) -> None:
    lead = 5 if seq else 4
    _expect(
        x.dim() == lead and x.shape[-2] == 4,
        f"x must be [B, {'S, ' if seq else ''}NH, 4, DH] gate pre-activations",
        tuple(x.shape),
    )
    NH, DH = x.shape[-3], x.shape[-1]
    _expect(tuple(r.shape) == (NH, DH, 4, DH), f"recurrent_kernel must be {(NH, DH, 4, DH)}", tuple(r.shape))
    _expect(tuple(b.shape) == (NH, 4, DH), f"bias must be {(NH, 4, DH)}", tuple(b.shape))


def check_slstm_state(state: sLSTMState | None, x: torch.Tensor) -> None:
    if state is None:
        return
    expected = (x.shape[0], x.shape[-3], x.shape[-1])
    got = tuple(tuple(t.shape) for t in state)
    _expect(all(g == expected for g in got), f"sLSTM state (h, c, n, m) must each be {expected}", got)
