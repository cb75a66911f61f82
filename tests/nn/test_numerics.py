"""Long sequences, large inputs, low precision and gradients of the whole backbone."""

from __future__ import annotations

import pytest
import torch

from xlstm_ts.nn import LinearHeadwiseExpand, components

from .conftest import flatten_state, perturbed_stack


@pytest.mark.parametrize(
    "kind",
    # measured on the 2-core CPU: mlstm 4-8 s, mixed 12-30 s, slstm 65-100 s (a Python loop over 16k steps)
    ["mlstm", pytest.param("slstm", marks=pytest.mark.slow), "mixed"],
)
def test_16k_steps_and_large_inputs_stay_finite(kind):
    stack = perturbed_stack(kind, embedding_dim=16, num_blocks=2)
    x = torch.randn(1, 16384, 16, requires_grad=True)
    y = stack(x)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in stack.parameters())
    big = 1e3 * torch.randn(2, 200, 16)
    y_big, state = stack(big, return_state=True)
    assert torch.isfinite(y_big).all()
    assert all(torch.isfinite(t).all() for t in flatten_state(state))


def test_bf16_autocast_runs_with_float32_states(kind):
    stack = perturbed_stack(kind)
    x = torch.randn(2, 40, 32)
    with torch.no_grad():
        ref = stack(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y, state = stack(x, return_state=True)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y.float(), ref, rtol=0.1, atol=0.1)
    cell_states = [blk.get("mlstm_state") or blk.get("slstm_state") for blk in state.values()]
    assert all(t.dtype == torch.float32 for s in cell_states for t in s)


def test_bf16_parameters_forward_backward(kind):
    stack = perturbed_stack(kind, dtype=torch.bfloat16)
    x = torch.randn(2, 20, 32, dtype=torch.bfloat16, requires_grad=True)
    y = stack(x)
    assert y.dtype == torch.bfloat16 and torch.isfinite(y).all()
    y.float().sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gradcheck_tiny_stack_float64(kind):
    stack = perturbed_stack(kind, dtype=torch.float64, embedding_dim=8, num_blocks=2)
    # shrink the inner widths to keep gradcheck fast: 8 -> inner 64 (mLSTM) is still small enough
    x = torch.randn(1, 5, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: stack(inp), (x,))


SPLIT = pytest.mark.parametrize("split_rows", [1, 10**9], ids=["split", "whole"])


@SPLIT
@pytest.mark.parametrize("lead", [(3, 700), (5,), (2, 3, 4)], ids=["B,S", "N", "3 lead dims"])
def test_headwise_linear_gradients_match_float64(lead, split_rows, monkeypatch):
    # the weight gradient summed in parts over the rows (kernels/_linalg.py) or whole: same as one product
    monkeypatch.setattr(components, "_SPLIT_ROWS", {"cpu": split_rows})
    torch.manual_seed(0)
    layer = LinearHeadwiseExpand(12, 3, bias=True).double()
    x = torch.randn(*lead, 12, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(*lead, 12, dtype=torch.float64)
    w = layer.weight.detach().clone().requires_grad_(True)
    b = layer.bias.detach().clone().requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    ref = torch.einsum("...hi,hoi->...ho", x2.view(*lead, 3, 4), w).reshape(*lead, 12) + b
    ref.backward(dy)
    y = layer(x)
    y.backward(dy)
    torch.testing.assert_close(y, ref.detach())
    for got, want in [(x.grad, x2.grad), (layer.weight.grad, w.grad), (layer.bias.grad, b.grad)]:
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@SPLIT
@pytest.mark.parametrize("E,NH", [(16, 4), (64, 2)], ids=["d=4", "d=32"])
def test_headwise_linear_under_bf16_autocast_keeps_parameter_dtypes(E, NH, split_rows, monkeypatch):
    monkeypatch.setattr(components, "_SPLIT_ROWS", {"cpu": split_rows})
    torch.manual_seed(0)
    layer = LinearHeadwiseExpand(E, NH)
    x = torch.randn(2, 1500, E, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    assert y.dtype == torch.bfloat16
    y.float().square().mean().backward()
    assert x.grad.dtype == torch.float32 and layer.weight.grad.dtype == torch.float32
    x2 = x.detach().clone().requires_grad_(True)
    w2 = layer.weight.detach().clone().requires_grad_(True)
    d = E // NH
    ref = torch.einsum("bshi,hoi->bsho", x2.view(2, 1500, NH, d), w2).reshape(2, 1500, E)
    ref.square().mean().backward()
    torch.testing.assert_close(layer.weight.grad, w2.grad, rtol=0.05, atol=1e-3)
    torch.testing.assert_close(x.grad, x2.grad, rtol=0.05, atol=1e-5)


@pytest.mark.parametrize("NH,d_in,expand", [(4, 4, 1), (3, 5, 2), (16, 2, 1)])
def test_dense_block_diagonal_headwise_equals_the_per_head_product(NH, d_in, expand, monkeypatch):
    # the 16-bit CUDA path for narrow heads (one dense GEMM with the block-diagonal weight), run here in
    # float64 on the CPU: outputs and both gradients against the per-head einsum
    monkeypatch.setattr(components, "_DENSE_DEVICES", {"cpu"})
    monkeypatch.setattr(components, "_SPLIT_ROWS", {"cpu": 1})
    monkeypatch.setattr(components.LinearHeadwiseExpand, "_dense", lambda self, x: True)
    torch.manual_seed(0)
    E = NH * d_in
    layer = LinearHeadwiseExpand(E, NH, bias=True, expand_factor=expand).double()
    x = torch.randn(3, 1100, E, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(3, 1100, E * expand, dtype=torch.float64)
    y = layer(x)
    y.backward(dy)
    x2 = x.detach().clone().requires_grad_(True)
    w2 = layer.weight.detach().clone().requires_grad_(True)
    ref = torch.einsum("bshi,hoi->bsho", x2.view(3, 1100, NH, d_in), w2).reshape(3, 1100, -1) + layer.bias
    ref.backward(dy)
    torch.testing.assert_close(y, ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(layer.weight.grad, w2.grad, rtol=1e-10, atol=1e-10)


def test_dense_block_diagonal_headwise_is_chosen_for_16_bit_products_of_narrow_heads(monkeypatch):
    monkeypatch.setattr(components, "_DENSE_DEVICES", {"cpu"})
    narrow, wide = LinearHeadwiseExpand(64, 16), LinearHeadwiseExpand(64, 2)  # heads of 4 and of 32
    x = torch.randn(2, 3, 64)
    assert not narrow._dense(x) and not wide._dense(x)  # float32 products keep the per-head GEMM
    assert narrow._dense(x.bfloat16()) and not wide._dense(x.bfloat16())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert narrow._dense(x)
        y = narrow(x)
    assert y.dtype == torch.bfloat16
    monkeypatch.setattr(components, "_DENSE_DEVICES", {"cuda"})
    assert not narrow._dense(x.bfloat16())  # only where the device is listed


@pytest.mark.gpu
@pytest.mark.parametrize("NH,d_in", [(64, 4), (128, 4), (16, 8)])
def test_gpu_dense_headwise_under_bf16_autocast_matches_float64(NH, d_in):
    # the path the 16-bit CUDA products of narrow heads take, against the per-head product in float64
    torch.manual_seed(0)
    E = NH * d_in
    layer = LinearHeadwiseExpand(E, NH).cuda()
    x = torch.randn(4, 700, E, device="cuda", requires_grad=True)
    assert layer._dense(x.bfloat16())
    with torch.autocast("cuda", dtype=torch.bfloat16):
        y = layer(x)
    dy = torch.randn_like(y, dtype=torch.float32)
    y.backward(dy)
    x64 = x.detach().double().requires_grad_(True)
    w64 = layer.weight.detach().double().requires_grad_(True)
    ref = torch.einsum("bshi,hoi->bsho", x64.view(4, 700, NH, d_in), w64).reshape(4, 700, E)
    ref.backward(dy.double())
    for got, want, what in [(y, ref, "y"), (x.grad, x64.grad, "dx"), (layer.weight.grad, w64.grad, "dw")]:
        err = (got.double() - want).norm() / want.norm()
        assert err < 1e-2, f"{what}: relative error {err:.2e}"


def test_headwise_under_autocast_leaves_float64_alone():
    # like autocast itself, which casts only float32 and 16-bit operands
    layer = LinearHeadwiseExpand(8, 2).double()
    x = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    assert y.dtype == torch.float64
    y.sum().backward()
    assert x.grad.dtype == torch.float64 and layer.weight.grad.dtype == torch.float64
