"""A whole sequence == pieces with the state carried == a step loop, for stacks and the LM."""

from __future__ import annotations

import pytest
import torch

from xlstm_ts import xLSTMLMModel, xLSTMLMModelConfig

from .conftest import flatten_state, perturbed_stack, stack_config


@pytest.mark.parametrize("S", [1, 7, 63, 65])
def test_any_length_runs_and_matches_in_float64(kind, S):
    stack = perturbed_stack(kind, dtype=torch.float64)
    x = torch.randn(2, S, 32, dtype=torch.float64)
    y_full = stack(x)
    assert y_full.shape == x.shape
    cut = max(1, S // 3)
    y1, st = stack(x[:, :cut], return_state=True)
    if cut < S:
        y2, st = stack(x[:, cut:], state=st, return_state=True)
        y1 = torch.cat([y1, y2], dim=1)
    torch.testing.assert_close(y1, y_full, rtol=1e-10, atol=1e-10)


def test_full_equals_pieces_equals_step_loop_float32(kind):
    stack = perturbed_stack(kind)
    x = torch.randn(2, 50, 32)
    with torch.no_grad():
        y_full, st_full = stack(x, return_state=True)
        pieces, st = [], None
        for a, b in [(0, 13), (13, 14), (14, 50)]:
            y, st = stack(x[:, a:b], state=st, return_state=True)
            pieces.append(y)
        steps, st_step = [], None
        for t in range(50):
            y, st_step = stack.step(x[:, t : t + 1], st_step)
            steps.append(y)
    torch.testing.assert_close(torch.cat(pieces, 1), y_full, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.cat(steps, 1), y_full, rtol=1e-5, atol=1e-5)
    for a, b, c in zip(flatten_state(st), flatten_state(st_step), flatten_state(st_full), strict=True):
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(b, c, rtol=1e-5, atol=1e-5)


def test_length_longer_than_context_length_is_fine():
    stack = perturbed_stack("mixed", context_length=16)
    assert stack(torch.randn(1, 100, 32)).shape == (1, 100, 32)


def test_lm_generate_uses_carried_state_consistently():
    torch.manual_seed(0)
    cfg = stack_config("mixed")
    model = xLSTMLMModel(xLSTMLMModelConfig.from_dict({**cfg.to_dict(), "vocab_size": 31})).eval()
    prompt = torch.randint(0, 31, (2, 9))
    out = model.generate(prompt, max_new_tokens=5)  # greedy by default
    assert out.shape == (2, 14) and torch.equal(out[:, :9], prompt)
    # greedy continuation == argmax of the full forward over the generated sequence
    with torch.no_grad():
        logits = model(out[:, :-1])
    torch.testing.assert_close(logits[:, 8:].argmax(-1), out[:, 9:])
    sampled = model.generate(
        prompt, 3, do_sample=True, temperature=0.7, top_k=5, generator=torch.Generator().manual_seed(0)
    )
    assert sampled.shape == (2, 12)


def test_bad_inputs_raise_clear_errors():
    stack = perturbed_stack("mlstm")
    with pytest.raises(ValueError, match=r"embedding_dim=32.*got \(2, 5, 16\)"):
        stack(torch.randn(2, 5, 16))
    with pytest.raises(ValueError, match="seq_len >= 1"):
        stack(torch.randn(2, 0, 32))
    with pytest.raises(ValueError, match=r"step expects input of shape \[batch, 1, embedding_dim\]"):
        stack.step(torch.randn(2, 3, 32))
