"""Numerical parity with the reference ``xlstm`` 2.0.6 package (sLSTM backend "vanilla", CPU)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

xlstm = pytest.importorskip("xlstm", reason="reference package xlstm==2.0.6 (test oracle) is not installed")

from xlstm_ts import nn as ours  # noqa: E402
from xlstm_ts.nn import convert_reference_state_dict, load_reference_state_dict, to_reference_state_dict  # noqa: E402

KINDS = ["mlstm", "slstm", "mixed"]


def reference_config(kind: str, cls=None, **extra):
    cls = cls or xlstm.xLSTMBlockStackConfig
    m = xlstm.mLSTMBlockConfig(mlstm=xlstm.mLSTMLayerConfig(num_heads=4))
    s = xlstm.sLSTMBlockConfig(
        slstm=xlstm.sLSTMLayerConfig(backend="vanilla", num_heads=4), feedforward=xlstm.FeedForwardConfig()
    )
    common = dict(context_length=48, num_blocks=3, embedding_dim=64, **extra)
    if kind == "mlstm":
        return cls(mlstm_block=m, **common)
    if kind == "slstm":
        return cls(slstm_block=s, slstm_at="all", **common)
    return cls(mlstm_block=m, slstm_block=s, slstm_at=[1], **common)


def perturb(module: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))


@pytest.mark.parametrize("kind", KINDS)
def test_block_stack_matches_reference(kind):
    torch.manual_seed(0)
    ref = xlstm.xLSTMBlockStack(reference_config(kind)).eval()
    perturb(ref)
    mine = ours.xLSTMBlockStack(
        ours.xLSTMBlockStackConfig.from_dict(dataclasses.asdict(reference_config(kind)))
    )
    mine.eval()
    result = load_reference_state_dict(mine, ref)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(3, 48, 64)
    with torch.no_grad():
        torch.testing.assert_close(mine(x), ref(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_match_reference(kind):
    torch.manual_seed(1)
    ref = xlstm.xLSTMBlockStack(reference_config(kind))
    perturb(ref, seed=1)
    mine = ours.xLSTMBlockStack(
        ours.xLSTMBlockStackConfig.from_dict(dataclasses.asdict(reference_config(kind)))
    )
    load_reference_state_dict(mine, ref)
    x = torch.randn(2, 24, 64)
    w = torch.randn(2, 24, 64)
    (ref(x) * w).sum().backward()
    (mine(x) * w).sum().backward()
    ref_grads = convert_reference_state_dict({n: p.grad for n, p in ref.named_parameters()})
    for name, p in mine.named_parameters():
        # float32 sums over B*S terms: compare relative to the gradient's own scale
        scale = ref_grads[name].abs().max().item()
        err = (p.grad - ref_grads[name]).abs().max().item()
        assert err <= 1e-5 * scale + 1e-7, f"grad of {name}: max error {err:.3g} vs scale {scale:.3g}"


def test_lm_model_and_its_step_match_reference():
    torch.manual_seed(2)
    cfg = reference_config("mixed", cls=xlstm.xLSTMLMModelConfig, vocab_size=97)
    ref = xlstm.xLSTMLMModel(cfg).eval()
    ref.reset_parameters()
    perturb(ref, seed=2)
    mine = ours.xLSTMLMModel(
        ours.xLSTMLMModelConfig.from_dict(
            dataclasses.asdict(reference_config("mixed", cls=xlstm.xLSTMLMModelConfig, vocab_size=97))
        )
    ).eval()
    load_reference_state_dict(mine, ref.state_dict())
    idx = torch.randint(0, 97, (2, 40))
    with torch.no_grad():
        torch.testing.assert_close(mine(idx), ref(idx), rtol=0, atol=1e-5)
        # the reference's own step loop against our step loop
        ref_state, my_state = None, None
        for t in range(6):
            ref_logits, ref_state = ref.step(idx[:, t : t + 1], ref_state)
            my_logits, my_state = mine.step(idx[:, t : t + 1], my_state)
            torch.testing.assert_close(my_logits, ref_logits, rtol=0, atol=1e-5)


def test_slstm_gate_names_are_swapped_on_load():
    """Loading without the fgate/igate swap must visibly change the output (the swap is real)."""
    torch.manual_seed(3)
    ref = xlstm.xLSTMBlockStack(reference_config("slstm")).eval()
    perturb(ref, seed=3)
    mine = ours.xLSTMBlockStack(
        ours.xLSTMBlockStackConfig.from_dict(dataclasses.asdict(reference_config("slstm")))
    )
    mine.eval()
    converted = convert_reference_state_dict(ref.state_dict())
    unswapped = dict(converted)
    for key in converted:
        if key.endswith("xlstm.igate.weight"):
            unswapped[key] = converted[key.replace("igate", "fgate")]
            unswapped[key.replace("igate", "fgate")] = converted[key]
    x = torch.randn(2, 16, 64)
    mine.load_state_dict(unswapped)
    with torch.no_grad():
        wrong = mine(x)
        mine.load_state_dict(converted)
        assert (wrong - ref(x)).abs().max() > 1e-2
        torch.testing.assert_close(mine(x), ref(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("backend", ["vanilla", "cuda"])
def test_export_round_trip_for_both_reference_layouts(backend):
    torch.manual_seed(4)
    mine = ours.xLSTMBlockStack(
        ours.xLSTMBlockStackConfig.from_dict(dataclasses.asdict(reference_config("mixed")))
    )
    perturb(mine, seed=4)
    exported = to_reference_state_dict(mine, backend=backend)
    rk = next(v for k, v in exported.items() if k.endswith("_recurrent_kernel_"))
    NH, DH = 4, 16
    assert tuple(rk.shape) == ((NH, 4 * DH, DH) if backend == "vanilla" else (NH, DH, 4 * DH))
    back = convert_reference_state_dict(exported)
    for name, value in mine.state_dict().items():
        torch.testing.assert_close(back[name], value, rtol=0, atol=0, msg=name)
    if backend == "vanilla":
        ref = xlstm.xLSTMBlockStack(reference_config("mixed"))
        assert set(ref.state_dict()) == set(exported)
        ref.load_state_dict(exported)
