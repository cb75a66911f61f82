"""sLSTM kernels: the native loop and step against the float64 reference loop."""

from __future__ import annotations

import pytest
import torch

from xlstm_ts.kernels import sLSTMState, slstm_sequence, slstm_step
from xlstm_ts.kernels.slstm import slstm_recurrent_naive, slstm_sequence_native


def make_inputs(B, S, NH, DH, dtype=torch.float64, seed=0, state=False):
    g = torch.Generator().manual_seed(seed)
    x = (2 * torch.randn(B, S, NH, 4, DH, generator=g, dtype=torch.float64)).to(dtype)
    r = (0.5 * torch.randn(NH, DH, 4, DH, generator=g, dtype=torch.float64) / DH**0.5).to(dtype)
    b = torch.randn(NH, 4, DH, generator=g, dtype=torch.float64).to(dtype)
    init = None
    if state:
        init = sLSTMState(
            torch.randn(B, NH, DH, generator=g, dtype=torch.float64),
            torch.randn(B, NH, DH, generator=g, dtype=torch.float64),
            torch.rand(B, NH, DH, generator=g, dtype=torch.float64) + 0.5,
            torch.randn(B, NH, DH, generator=g, dtype=torch.float64),
        )
    return (x, r, b), init


def _run(fn, inputs, init):
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    init_leaves = (
        None if init is None else sLSTMState(*(t.detach().clone().requires_grad_(True) for t in init))
    )
    h, state = fn(*leaves, init_leaves)
    g = torch.Generator().manual_seed(1)
    loss = (h.double() * torch.randn(h.shape, generator=g, dtype=torch.float64)).sum()
    for t in state:
        loss = loss + (t.double() * torch.randn(t.shape, generator=g, dtype=torch.float64)).sum()
    loss.backward()
    grads = [t.grad for t in leaves] + ([] if init_leaves is None else [t.grad for t in init_leaves])
    return h, state, grads


NAMES = ["dx", "dR", "db", "dh0", "dc0", "dn0", "dm0"]


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
@pytest.mark.parametrize(
    "B,S,NH,DH",
    [(1, 1, 1, 4), (2, 7, 2, 5), (3, 65, 4, 8), (1, 20, 1, 16)],
    ids=["S1", "S7-DH5", "S65", "S20-DH16"],
)
def test_native_matches_reference_float64(B, S, NH, DH, with_state):
    inputs, init = make_inputs(B, S, NH, DH, state=with_state)
    h_ref, st_ref, g_ref = _run(slstm_recurrent_naive, inputs, init)
    h, st, g = _run(lambda *a: slstm_sequence_native(*a, return_last_state=True), inputs, init)
    torch.testing.assert_close(h, h_ref, rtol=1e-12, atol=1e-12)
    for name, a, b in zip("hcnm", st, st_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=f"final state {name}")
    for name, a, b in zip(NAMES, g, g_ref, strict=False):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f"gradient {name}")


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.bfloat16, 3e-2)], ids=["fp32", "bf16"])
def test_low_precision_against_float64(dtype, tol):
    inputs, _ = make_inputs(2, 33, 2, 8, dtype=dtype)
    h, st = slstm_sequence(*inputs, return_last_state=True)
    assert h.dtype == dtype and all(t.dtype == torch.float32 for t in st)
    h_ref, _ = slstm_recurrent_naive(*(t.double() for t in inputs))
    torch.testing.assert_close(h.double(), h_ref, rtol=tol, atol=tol)


def test_gradcheck():
    inputs, init = make_inputs(1, 4, 2, 3, state=True)
    leaves = [t.requires_grad_(True) for t in (*inputs, *init)]

    def fn(x, r, b, *state):
        h, st = slstm_sequence_native(x, r, b, sLSTMState(*state), True)
        return h, *st

    assert torch.autograd.gradcheck(fn, leaves)


def test_state_passing_and_step_loop_equal_full_sequence():
    inputs, init = make_inputs(2, 19, 2, 6, state=True)
    x, r, b = inputs
    h_full, st_full = slstm_sequence(x, r, b, initial_state=init, return_last_state=True)
    h1, st1 = slstm_sequence(x[:, :8], r, b, initial_state=init, return_last_state=True)
    h2, st2 = slstm_sequence(x[:, 8:], r, b, initial_state=st1, return_last_state=True)
    torch.testing.assert_close(torch.cat([h1, h2], 1), h_full, rtol=1e-12, atol=1e-12)
    state, hs = init, []
    for t in range(19):
        h_t, state = slstm_step(x[:, t], r, b, state)
        hs.append(h_t)
    torch.testing.assert_close(torch.stack(hs, 1), h_full, rtol=1e-12, atol=1e-12)
    for a, b_, c in zip(st2, state, st_full, strict=True):
        torch.testing.assert_close(a, c, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(b_, c, rtol=1e-12, atol=1e-12)


def test_long_sequence_with_large_inputs_stays_finite_including_gradients():
    inputs, _ = make_inputs(1, 4096, 2, 8, dtype=torch.float32)
    x, r, b = inputs
    x = (1e3 * x).requires_grad_(True)
    r = (4 * r).requires_grad_(True)
    h, st = slstm_sequence(x, r, b, return_last_state=True)
    assert torch.isfinite(h).all() and all(torch.isfinite(t).all() for t in st)
    h.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(r.grad).all()


def test_shape_errors_are_clear():
    (x, r, b), _ = make_inputs(1, 3, 2, 4, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"recurrent_kernel must be \(2, 4, 4, 4\)"):
        slstm_sequence(x, r[:, :2], b)
    with pytest.raises(ValueError, match=r"x must be \[B, S, NH, 4, DH\]"):
        slstm_sequence(x[..., :3, :], r, b)
