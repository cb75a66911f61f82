"""Triton sLSTM sequence kernel against the float64 reference: outputs, final state and every gradient.

Without a GPU the kernels run under the Triton interpreter (``TRITON_INTERPRET=1``, set by
tests/conftest.py) at tiny shapes.  The interpreter's bfloat16 ``tl.dot`` is wrong (docs/gpu.md, 'Triton facts the kernels and tests depend on'),
so bfloat16 is covered by the ``gpu`` tests only.

Tolerances: the kernel computes in float32, the reference in float64.  Tensors are compared by the
relative error of the whole tensor (``||a - b|| / ||b||``) and by the largest error relative to the
largest value; float32 gives ~1e-7 on outputs and ~1e-6 on gradients at these sizes, the bounds are
ten times that.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.kernels.test_slstm import NAMES, make_inputs
from xlstm_ts.kernels import sLSTMState
from xlstm_ts.kernels.slstm import slstm_recurrent_naive, slstm_sequence_native

triton = pytest.importorskip("triton")
from xlstm_ts.kernels.slstm.triton_sequence import LAUNCH_ENV, MAX_DH, slstm_sequence_triton  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def assert_close_rel(a: torch.Tensor, b: torch.Tensor, rel: float, what: str) -> None:
    a, b = a.double().cpu(), b.double().cpu()
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    assert torch.isfinite(a).all(), f"{what}: non-finite values"
    err = (a - b).norm() / b.norm().clamp_min(1e-30)
    worst = (a - b).abs().max() / b.abs().max().clamp_min(1e-30)
    assert err < rel and worst < 10 * rel, (
        f"{what}: relative error {err:.2e}, worst {worst:.2e} (bound {rel:g})"
    )


def _to(tensors, dtype):
    return [t.to(device=DEVICE, dtype=dtype) for t in tensors]


def _triton(*args):
    return slstm_sequence_triton(*args, return_last_state=True)


def _grads(fn, inputs, init, on_outputs=True, on_state=True):
    """Outputs, final state and the gradients of a random linear loss on the outputs and/or the state.

    The loss weights do not depend on the dtype, so every backend sees the same loss.
    """
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    init_leaves = (
        None if init is None else sLSTMState(*(t.detach().clone().requires_grad_(True) for t in init))
    )
    h, state = fn(*leaves, init_leaves)
    g = torch.Generator().manual_seed(1)
    w_h = torch.randn(h.shape, generator=g, dtype=torch.float64).to(h.device)
    loss = (h.double() * w_h).sum() if on_outputs else 0.0
    for t in state:
        w = torch.randn(t.shape, generator=g, dtype=torch.float64).to(t.device)
        if on_state:
            loss = loss + (t.double() * w).sum()
    loss.backward()
    grads = [t.grad for t in leaves] + ([] if init_leaves is None else [t.grad for t in init_leaves])
    return h, state, grads


def _check(got, ref, out_tol=1e-6, grad_tol=1e-5):
    h, st, g = got
    h_ref, st_ref, g_ref = ref
    assert_close_rel(h, h_ref, out_tol, "h")
    for name, a, b in zip("hcnm", st, st_ref, strict=True):
        assert a.dtype == torch.float32
        assert_close_rel(a, b, out_tol, f"final state {name}")
    assert len(g) == len(g_ref)
    for name, a, b in zip(NAMES, g, g_ref, strict=False):  # no initial-state gradients without one
        assert_close_rel(a, b, grad_tol, f"gradient {name}")


def _compare(B, S, NH, DH, with_state, on_outputs=True, on_state=True, seed=0):
    inputs, init = make_inputs(B, S, NH, DH, state=with_state, seed=seed)
    ref = _grads(slstm_recurrent_naive, inputs, init, on_outputs, on_state)
    init32 = None if init is None else sLSTMState(*_to(init, torch.float32))
    got = _grads(_triton, _to(inputs, torch.float32), init32, on_outputs, on_state)
    assert got[0].dtype == torch.float32
    _check(got, ref)


SHAPES = [
    pytest.param(1, 1, 1, 16, id="S1"),
    pytest.param(3, 7, 2, 16, id="S7-B3-NH2"),
    pytest.param(1, 7, 1, 32, id="S7-DH32"),
    pytest.param(1, 65, 1, 16, id="S65"),
    pytest.param(3, 65, 2, 32, id="S65-B3-NH2-DH32"),
    pytest.param(2, 20, 1, 20, id="S20-DH20-padded"),
]


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
@pytest.mark.parametrize("B,S,NH,DH", SHAPES)
def test_float32_matches_float64_reference(B, S, NH, DH, with_state):
    _compare(B, S, NH, DH, with_state)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
@pytest.mark.parametrize("on", ["outputs", "state"])
def test_loss_on_outputs_only_or_final_state_only(on, with_state):
    # the autograd Function gets None for the gradients of the outputs it was not given
    _compare(3, 7, 2, 16, with_state, on_outputs=on == "outputs", on_state=on == "state", seed=3)


@pytest.mark.parametrize(
    "override",
    [{"RESIDENT": False}, {"ACC_DR": True}, {"BB": 32}, {"RESIDENT": False, "ACC_DR": True, "BDH": 32}],
    ids=["weights-reloaded", "dR-in-kernel", "BB32", "wider-padding"],
)
def test_other_launch_parameters_give_the_same_result(override, monkeypatch):
    monkeypatch.setenv(LAUNCH_ENV, json.dumps(override))
    _compare(3, 9, 2, 16, True, seed=5)


WIDE = {"WIDE": True, "BN": 16}  # the wide kernels at interpreter sizes: several column blocks per head


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
@pytest.mark.parametrize(
    "B,S,NH,DH",
    [
        pytest.param(1, 1, 1, 16, id="S1-one-block"),
        pytest.param(3, 7, 2, 20, id="S7-DH20-two-blocks"),
        pytest.param(2, 9, 1, 40, id="S9-DH40-three-blocks"),
        pytest.param(1, 65, 1, 32, id="S65"),
    ],
)
def test_wide_kernels_match_float64_reference(B, S, NH, DH, with_state, monkeypatch):
    # the kernels for heads wider than the on-chip ones (state through memory, output columns in blocks)
    monkeypatch.setenv(LAUNCH_ENV, json.dumps(WIDE))
    _compare(B, S, NH, DH, with_state, seed=B + S)


@pytest.mark.parametrize("on", ["outputs", "state"])
def test_wide_kernels_loss_on_outputs_only_or_final_state_only(on, monkeypatch):
    monkeypatch.setenv(LAUNCH_ENV, json.dumps(WIDE))
    _compare(2, 8, 2, 24, True, on_outputs=on == "outputs", on_state=on == "state", seed=9)


def test_wide_kernels_state_passing_and_float16(monkeypatch):
    monkeypatch.setenv(LAUNCH_ENV, json.dumps(WIDE))
    inputs, init = make_inputs(2, 13, 1, 40, state=True, seed=10)
    x, r, b = _to(inputs, torch.float32)
    s0 = sLSTMState(*_to(init, torch.float32))
    h_full, st_full = _triton(x, r, b, s0)
    h1, st1 = _triton(x[:, :5], r, b, s0)
    h2, st2 = _triton(x[:, 5:], r, b, st1)
    torch.testing.assert_close(torch.cat([h1, h2], dim=1), h_full, rtol=1e-5, atol=1e-6)
    for a, c in zip(st2, st_full, strict=True):
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-6)
    ref = _grads(slstm_recurrent_naive, [t.to(torch.float16).double() for t in inputs], init)
    got = _grads(_triton, _to(inputs, torch.float16), sLSTMState(*_to(init, torch.float32)))
    assert got[0].dtype == torch.float16
    _check(got, ref, out_tol=3e-3, grad_tol=1e-2)


def test_exact_ties_and_zero_normaliser_in_initial_state():
    # Step 0 (R times h0 = 0, bias 0): lanes with raw_i == log sigmoid(raw_f) + m0 exactly (raw_f = 100
    # makes log sigmoid(raw_f) = -4e-44, lost when added to m0 = 1), where max() splits its gradient in
    # half; lanes with n0 == 0, where m takes raw_i and the forget-gate exponent is compared with 0.
    B, S, NH, DH = 2, 3, 1, 16
    (x, r, _), init = make_inputs(B, S, NH, DH, state=True, seed=7)
    b = torch.zeros(NH, 4, DH, dtype=torch.float64)
    h0, c0, n0, m0 = (t.clone() for t in init)
    h0.zero_()
    x[:, 0, :, 0, :8] = 1.0
    x[:, 0, :, 1, :8] = 100.0
    m0[..., :8] = 1.0
    n0[..., 8:12] = 0.0
    init = sLSTMState(h0, c0, n0, m0)
    ref = _grads(slstm_recurrent_naive, (x, r, b), init)
    got = _grads(_triton, _to((x, r, b), torch.float32), sLSTMState(*_to(init, torch.float32)))
    _check(got, ref)
    # the tie matters: a full (not halved) gradient through max() would give another dm0
    assert ref[2][-1][..., :8].abs().max() > 1e-3


@pytest.mark.parametrize("S", [1, 33])
def test_float16_against_float64(S):
    inputs, init = make_inputs(2, S, 2, 16, state=True, seed=2)
    inputs = [t.half().double() for t in inputs]  # the reference sees the same rounded inputs
    ref = _grads(slstm_recurrent_naive, inputs, init)
    got = _grads(_triton, _to(inputs, torch.float16), sLSTMState(*_to(init, torch.float32)))
    assert got[0].dtype == torch.float16
    # h is rounded to float16 (11 bits) for the output and for the recurrent product
    _check(got, ref, out_tol=3e-3, grad_tol=1e-2)


@pytest.mark.parametrize("split", [1, 8, 18])
def test_state_passing_across_calls(split):
    inputs, init = make_inputs(2, 19, 2, 16, state=True, seed=4)
    x, r, b = _to(inputs, torch.float32)
    s0 = sLSTMState(*_to(init, torch.float32))
    h_full, st_full = _triton(x, r, b, s0)
    h1, st1 = _triton(x[:, :split], r, b, s0)
    h2, st2 = _triton(x[:, split:], r, b, st1)
    torch.testing.assert_close(torch.cat([h1, h2], dim=1), h_full, rtol=1e-5, atol=1e-6)
    for a, c in zip(st2, st_full, strict=True):
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_step_kernel_chained_matches_float64_reference(with_state):
    # step--triton (called directly: the registry offers it on CUDA only), four steps carrying the state:
    # outputs, final state and all gradients
    from xlstm_ts.kernels.slstm import slstm_step_triton

    B, S, NH, DH = 3, 4, 2, 20

    def stepped(x, r, b, init):
        state, hs = init, []
        for t in range(x.shape[1]):
            h, state = slstm_step_triton(x[:, t], r, b, state)
            assert h.dtype == x.dtype and all(f.dtype == torch.float32 for f in state)
            hs.append(h)
        return torch.stack(hs, dim=1), state

    inputs, init = make_inputs(B, S, NH, DH, state=with_state, seed=7)
    ref = _grads(slstm_recurrent_naive, inputs, init)
    init32 = None if init is None else sLSTMState(*_to(init, torch.float32))
    _check(_grads(stepped, _to(inputs, torch.float32), init32), ref)


def test_agrees_with_native_float32_and_saves_nothing_without_grad():
    inputs, _ = make_inputs(2, 30, 2, 16, seed=6)
    x, r, b = _to(inputs, torch.float32)
    with torch.no_grad():
        h, st = _triton(x, r, b, None)
        h_nat, st_nat = slstm_sequence_native(x, r, b, None, True)
        h_no_state, none = slstm_sequence_triton(x, r, b)
    assert none is None and h.grad_fn is None
    torch.testing.assert_close(h_no_state, h)
    assert_close_rel(h, h_nat, 1e-6, "h")
    for a, c in zip(st, st_nat, strict=True):
        assert_close_rel(a, c, 1e-6, "state")


def test_empty_sequence_returns_the_initial_state():
    inputs, init = make_inputs(2, 0, 1, 16, state=True)
    x, r, b = _to(inputs, torch.float32)
    h, st = _triton(x, r, b, sLSTMState(*init))
    assert h.shape == (2, 0, 1, 16)
    for a, c in zip(st, init, strict=True):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, c.float())
    _, st = _triton(x, r, b, None)
    assert all((t == 0).all() and t.shape == (2, 1, 16) for t in st)


def test_rejects_what_it_cannot_run():
    x = torch.zeros(1, 2, 1, 4, MAX_DH + 1, dtype=torch.float16)
    with pytest.raises(ValueError, match=r"DH <= 256; got \(1, 2, 1, 4, 257\)"):
        slstm_sequence_triton(x, torch.zeros(1, 257, 4, 257), torch.zeros(1, 4, 257))
    x = torch.zeros(1, 2, 1, 4, 8, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"float32, float16 or bfloat16 inputs; got torch\.float64"):
        slstm_sequence_triton(x, x[0, 0].expand(8, 4, 8), x[0, 0])


# ------------------------------------------------------------------------------------------------ GPU sweep
# float32 runs exact float32 products (the GPU's exp and log are less exact than numpy's); bfloat16 rounds h
# and the weights to 8 significant bits in every recurrent product and the output to bfloat16.  The GPU run
# that passed with these bounds: see docs/benchmarks.md, 'GPU test tolerances'.
GPU_TOL = {torch.float32: (5e-5, 2e-4), torch.bfloat16: (3e-2, 8e-2)}


def _poison_cuda_cache() -> None:
    # fill memory the caching allocator hands out next with NaN: an unwritten output then shows up
    block = torch.empty(256 * 1024 * 1024 // 4, device="cuda")
    block.fill_(float("nan"))
    del block


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("B", [1, 64])
@pytest.mark.parametrize("DH", [16, 32, 64, 128, 48, 96, 192, 256])
def test_gpu_sweep_against_float64(DH, B, dtype):
    # float32 past 64 and bfloat16 past 128 run the wide kernels
    S, NH = 40, 2
    inputs, init = make_inputs(B, S, NH, DH, state=True)
    inputs = [t.to(dtype).double() for t in inputs]  # the reference sees the same rounded inputs
    ref = _grads(slstm_recurrent_naive, [t.cuda() for t in inputs], sLSTMState(*(t.cuda() for t in init)))
    _poison_cuda_cache()
    got = _grads(_triton, _to(inputs, dtype), sLSTMState(*_to(init, torch.float32)))
    assert got[0].dtype == dtype
    _check(got, ref, *GPU_TOL[dtype])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_gpu_long_sequence_recurrent_gradient_finite(dtype):
    B, S, NH, DH = 4, 2048, 2, 64
    inputs, _ = make_inputs(B, S, NH, DH, dtype=torch.float32)
    x, r, b = (t.cuda() for t in inputs)
    x = (10 * x).to(dtype).requires_grad_(True)
    r = (4 * r).to(dtype).requires_grad_(True)
    h, st = slstm_sequence_triton(x, r, b, return_last_state=True)
    (h.float().square().mean() + st.c.square().mean()).backward()
    assert torch.isfinite(h).all() and all(torch.isfinite(t).all() for t in st)
    assert torch.isfinite(r.grad).all() and torch.isfinite(x.grad).all()
    # the same gradient as the native loop (float32 throughout there)
    r_nat = r.detach().float().requires_grad_(True)
    h_nat, st_nat = slstm_sequence_native(x.detach().float(), r_nat, b, return_last_state=True)
    (h_nat.square().mean() + st_nat.c.square().mean()).backward()
    assert_close_rel(
        r.grad, r_nat.grad, 1e-3 if dtype == torch.float32 else 1e-1, "recurrent-kernel gradient"
    )


def test_auto_routes_by_head_dim():
    # heads up to MAX_DH take the Triton kernels in every dtype (the wide ones past 64 in float32 and past 128
    # in 16 bits); wider heads go to the native loop, and an explicit request says why
    from xlstm_ts.kernels import get_kernel

    cuda = torch.device("cuda")
    for DH, want in [(64, "triton"), (128, "triton"), (256, "triton"), (257, "native")]:
        for dtype in (torch.float32, torch.bfloat16):
            x = torch.zeros(1, 2, 1, 4, DH, dtype=dtype)
            assert get_kernel("slstm", "sequence--auto", cuda, dtype, inputs=(x,)).backend == want, (
                DH,
                dtype,
            )
            assert get_kernel("slstm", "step--auto", cuda, dtype, inputs=(x[:, 0],)).backend == want, (
                DH,
                dtype,
            )


#: "high" (three TF32 products per product) keeps about float32's accuracy; "medium" (one TF32 product) is as
#: coarse as float16
PRECISION_TOL = {"high": (2e-4, 1e-3), "medium": (5e-3, 2e-2)}


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["high", "medium"])
@pytest.mark.parametrize("DH", [32, 64, 128])
def test_gpu_float32_under_lower_matmul_precision(DH, precision):
    # the float32 modes that follow torch.set_float32_matmul_precision (128 runs the wide kernels)
    S, NH, B = 40, 2, 64
    inputs, init = make_inputs(B, S, NH, DH, state=True)
    ref = _grads(
        slstm_recurrent_naive, [t.cuda().double() for t in inputs], sLSTMState(*(t.cuda() for t in init))
    )
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        _poison_cuda_cache()
        got = _grads(_triton, _to(inputs, torch.float32), sLSTMState(*_to(init, torch.float32)))
    finally:
        torch.set_float32_matmul_precision(before)
    _check(got, ref, *PRECISION_TOL[precision])
