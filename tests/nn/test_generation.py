"""Generation (``xlstm_ts.nn.generation``): the filters on crafted logits, prefill + step == forward,
determinism, seeded sampling, left padding, end of sequence, state continuation and argument errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from xlstm_ts import xLSTMLMModel, xLSTMLMModelConfig
from xlstm_ts.nn.generation import GenerationModel, generate, sample_next_token, top_k_filter, top_p_filter

from .conftest import flatten_state, stack_config

V = 31


def make_lm(kind: str = "mixed", seed: int = 0) -> xLSTMLMModel:
    """A small LM with its parameters moved off their init, so its logits are far from uniform."""
    torch.manual_seed(seed)
    cfg = stack_config(kind)
    model = xLSTMLMModel(xLSTMLMModelConfig.from_dict({**cfg.to_dict(), "vocab_size": V})).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model


@pytest.fixture(scope="module")
def lm() -> xLSTMLMModel:
    return make_lm()


class CountingLM:
    """A protocol-only model: the next token is ``(last + 1) % 10``, the state counts consumed tokens."""

    vocab = 10

    def __init__(self) -> None:
        self.step_state_shapes: list[tuple[int, ...]] = []

    def _logits(self, last: torch.Tensor) -> torch.Tensor:
        return F.one_hot((last + 1) % self.vocab, self.vocab).float() * 10

    def prefill(self, input_ids, state=None):
        count = input_ids.new_zeros(input_ids.shape[0]) if state is None else state["count"]
        return self._logits(input_ids[:, -1]), {
            "count": count + input_ids.shape[1],
            "last": (input_ids[:, -1],),
        }

    def step(self, token_ids, state):
        self.step_state_shapes.append(tuple(state["count"].shape))
        return self._logits(token_ids[:, 0]).unsqueeze(1), {
            "count": state["count"] + 1,
            "last": (token_ids[:, 0],),
        }


# ---------------------------------------------------------------------------------------------- filters
def test_top_k_keeps_exactly_the_k_largest():
    logits = torch.tensor([[0.5, 3.0, -1.0, 2.0, 1.0], [4.0, 3.0, 2.0, 1.0, 0.0]])
    out = top_k_filter(logits, 2)
    assert out.isfinite().tolist() == [[False, True, False, True, False], [True, True, False, False, False]]
    torch.testing.assert_close(out[out.isfinite()], logits[out.isfinite()])  # survivors are unchanged


def test_top_k_keeps_ties_and_saturates_at_vocab_size():
    logits = torch.tensor([[1.0, 2.0, 2.0, 0.0]])
    assert top_k_filter(logits, 2).isfinite().tolist() == [[False, True, True, False]]
    assert top_k_filter(logits, 1).isfinite().tolist() == [[False, True, True, False]]  # tie with the max
    assert top_k_filter(logits, 99).isfinite().all()


def test_top_p_keeps_the_smallest_set_reaching_p():
    # probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (exact in binary), shuffled
    probs = torch.tensor([[0.125, 0.0625, 0.5, 0.0625, 0.25]])
    logits = probs.log() + 3.0  # a constant shift does not change the softmax
    kept = {
        p: top_p_filter(logits, p).isfinite()[0].nonzero().flatten().tolist() for p in (0.3, 0.5, 0.6, 0.75)
    }
    assert kept[0.3] == [2]  # 0.5 >= 0.3
    assert kept[0.5] == [2]  # 0.5 >= 0.5: the boundary is inclusive
    assert kept[0.6] == [2, 4]  # 0.5 < 0.6 <= 0.75
    assert kept[0.75] == [2, 4]
    assert top_p_filter(logits, 0.8).isfinite()[0].nonzero().flatten().tolist() == [0, 2, 4]
    assert top_p_filter(logits, 1.0).isfinite().all()


def test_top_p_always_keeps_the_most_likely_token_and_works_per_row():
    logits = torch.tensor([[0.0, 5.0, 0.0], [9.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    out = top_p_filter(logits, 1e-6)
    assert out.isfinite().sum(-1).tolist() == [1, 1, 1]
    assert out.isfinite()[:2].tolist() == [[False, True, False], [True, False, False]]
    three_d = top_p_filter(logits.unsqueeze(0), 1e-6)
    assert torch.equal(three_d[0].isfinite(), out.isfinite())


@pytest.mark.parametrize(
    ("fn", "value"), [(top_k_filter, 0), (top_k_filter, 1.5), (top_p_filter, 0.0), (top_p_filter, 1.2)]
)
def test_filters_reject_bad_values(fn, value):
    with pytest.raises(ValueError, match=r"top_[kp] must be .*got"):
        fn(torch.zeros(1, 4), value)


def test_sampling_draws_only_filtered_tokens():
    logits = torch.tensor([[2.0, 1.9, 1.8, 1.7, -5.0]]).expand(4000, 5)
    g = torch.Generator().manual_seed(0)
    drawn = sample_next_token(logits, do_sample=True, top_k=2, generator=g)
    assert set(drawn.tolist()) == {0, 1}
    probs = torch.tensor([[0.5, 0.25, 0.125, 0.0625, 0.0625]]).log().expand(4000, 5)
    drawn = sample_next_token(probs, do_sample=True, top_p=0.7, generator=g)
    assert set(drawn.tolist()) == {0, 1}
    # within the nucleus, the renormalised probabilities are 2/3 and 1/3
    assert abs((drawn == 0).float().mean().item() - 2 / 3) < 0.04
    assert sample_next_token(probs[:2]).tolist() == [0, 0]  # greedy


# -------------------------------------------------------------------------------- prefill, step, forward
@pytest.mark.parametrize("kind", ["mlstm", "slstm", "mixed"])
def test_prefill_then_steps_equal_a_full_forward(kind):
    model = make_lm(kind)
    tokens = torch.randint(0, V, (2, 20))
    with torch.no_grad():
        full = model(tokens)
        logits, state = model.prefill(tokens[:, :12])
        stepped = [logits]
        for t in range(12, 20):
            step_logits, state = model.step(tokens[:, t : t + 1], state)
            assert step_logits.shape == (2, 1, V)
            stepped.append(step_logits[:, 0])
    assert logits.shape == (2, V)
    torch.testing.assert_close(torch.stack(stepped, 1), full[:, 11:], rtol=1e-5, atol=1e-5)


def test_lm_model_implements_the_protocol(lm):
    assert isinstance(lm, GenerationModel)
    assert isinstance(CountingLM(), GenerationModel)


def test_greedy_is_deterministic_and_is_the_argmax_of_the_forward(lm):
    prompt = torch.randint(0, V, (3, 6))
    a = lm.generate(prompt, max_new_tokens=10)
    b = generate(lm, prompt, max_new_tokens=10)
    assert torch.equal(a, b) and a.shape == (3, 16) and torch.equal(a[:, :6], prompt)
    with torch.no_grad():
        assert torch.equal(lm(a[:, :-1])[:, 5:].argmax(-1), a[:, 6:])


def test_seeded_sampling_is_reproducible(lm):
    prompt = torch.randint(0, V, (2, 5))

    def sample(seed):
        g = torch.Generator().manual_seed(seed)
        return lm.generate(prompt, 15, do_sample=True, temperature=1.5, top_k=20, top_p=0.95, generator=g)

    assert torch.equal(sample(3), sample(3))
    assert not torch.equal(sample(3), sample(4))  # 30 draws from ~20 tokens: equal by chance ~never


def test_max_new_tokens_zero_returns_the_prompt(lm):
    prompt = torch.randint(0, V, (2, 4))
    assert torch.equal(lm.generate(prompt, 0), prompt)


# ------------------------------------------------------------------------------------------ left padding
def test_left_padded_rows_equal_their_unpadded_runs(lm):
    lengths = [3, 8, 5, 8]
    S = max(lengths)
    rows = [torch.randint(0, V, (n,)) for n in lengths]
    ids = torch.randint(0, V, (len(rows), S))  # pads hold random tokens: they must not matter
    mask = torch.zeros(len(rows), S, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, S - len(row) :] = row
        mask[i, S - len(row) :] = 1
    out, state = lm.generate(ids, 7, attention_mask=mask, return_state=True)
    assert torch.equal(out[:, :S], ids)
    for i, row in enumerate(rows):
        alone, alone_state = lm.generate(row[None], 7, return_state=True)
        assert torch.equal(out[i, S:], alone[0, len(row) :]), i
        # the state after prompt + new tokens: pads left no trace in it
        for batched, single in zip(flatten_state(state), flatten_state(alone_state), strict=True):
            torch.testing.assert_close(batched[i : i + 1], single, rtol=1e-5, atol=1e-5)


def test_left_padding_with_an_initial_state(lm):
    history = torch.randint(0, V, (2, 6))
    _, state = lm.generate(history, 0, return_state=True)
    ids = torch.tensor([[0, 0, 4, 5], [1, 2, 3, 4]])
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    out = lm.generate(ids, 5, attention_mask=mask, state=state)
    for i, n in enumerate([2, 4]):
        _, row_state = lm.generate(history[i : i + 1], 0, return_state=True)
        alone = lm.generate(ids[i : i + 1, 4 - n :], 5, state=row_state)
        assert torch.equal(out[i, 4:], alone[0, n:])


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        ([[1, 1, 0], [1, 1, 1]], "end in a pad"),
        ([[1, 0, 1], [1, 1, 1]], "pad after a token"),
        ([[0, 2, 1], [1, 1, 1]], "only 0"),
        ([[1, 1], [1, 1]], "shape"),
    ],
)
def test_bad_attention_masks_raise(lm, mask, match):
    with pytest.raises(ValueError, match=match):
        lm.generate(torch.zeros(2, 3, dtype=torch.long), 2, attention_mask=torch.tensor(mask))


# ------------------------------------------------------------------------------------------ end of sequence
def test_rows_stop_at_eos_and_are_padded():
    model = CountingLM()
    prompt = torch.tensor([[6], [2]])
    out, state = generate(model, prompt, max_new_tokens=5, eos_token_id=8, pad_token_id=0, return_state=True)
    assert out.tolist() == [[6, 7, 8, 0, 0, 0], [2, 3, 4, 5, 6, 7]]
    # row 0 consumed 6, 7, 8 and no pad; row 1 consumed all six tokens
    assert state["count"].tolist() == [3, 6] and state["last"][0].tolist() == [8, 7]


def test_pad_defaults_to_eos_and_generation_stops_when_every_row_ended():
    model = CountingLM()
    out = generate(model, torch.tensor([[6], [5]]), max_new_tokens=20, eos_token_id=[8, 7])
    # row 0 ends at 7 and is padded with the first eos id, 8; row 1 ends one token later; then it stops
    assert out.tolist() == [[6, 7, 8], [5, 6, 7]]
    assert len(model.step_state_shapes) == 2


def test_memory_does_not_grow_with_the_generated_length(lm):
    model = CountingLM()
    generate(model, torch.tensor([[1], [2]]), max_new_tokens=50)
    assert set(model.step_state_shapes) == {(2,)}
    prompt = torch.randint(0, V, (2, 4))
    _, short = lm.generate(prompt, 2, return_state=True)
    _, long = lm.generate(prompt, 40, return_state=True)
    assert [t.shape for t in flatten_state(short)] == [t.shape for t in flatten_state(long)]


# ------------------------------------------------------------------------------------------ continuation
def test_generation_continues_from_a_returned_state(lm):
    first = torch.randint(0, V, (2, 5))
    out, state = lm.generate(first, 6, return_state=True)
    more = torch.randint(0, V, (2, 3))
    continued = lm.generate(more, 4, state=state)
    at_once = lm.generate(torch.cat([out, more], 1), 4)
    assert torch.equal(continued, at_once[:, out.shape[1] :])


def test_a_state_with_another_batch_size_is_rejected(lm):
    _, state = lm.generate(torch.randint(0, V, (3, 4)), 1, return_state=True)
    with pytest.raises(ValueError, match="state has batch size 3; expected 2"):
        lm.generate(torch.randint(0, V, (2, 4)), 1, state=state)


# --------------------------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(max_new_tokens=-1), "max_new_tokens must be an int >= 0; got -1"),
        (dict(max_new_tokens=2.0), "max_new_tokens must be an int"),
        (dict(max_new_tokens=2, do_sample=True, temperature=0.0), "temperature must be a finite float > 0"),
        (dict(max_new_tokens=2, do_sample=True, top_k=0), "top_k must be an int >= 1; got 0"),
        (dict(max_new_tokens=2, do_sample=True, top_p=1.5), r"top_p must be a float in \(0, 1\]; got 1.5"),
        (dict(max_new_tokens=2, eos_token_id=-3), "eos_token_id must be an int >= 0"),
        (dict(max_new_tokens=2, do_sample="yes"), "do_sample must be a bool"),
    ],
)
def test_bad_arguments_raise_with_what_was_expected(lm, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(lm, torch.zeros(1, 3, dtype=torch.long), **kwargs)


def test_bad_input_ids_raise(lm):
    with pytest.raises(ValueError, match=r"input_ids must be integer token ids .*torch.float32 \(1, 3\)"):
        generate(lm, torch.zeros(1, 3), max_new_tokens=1)
    with pytest.raises(ValueError, match="at least one row and one token"):
        generate(lm, torch.zeros(1, 0, dtype=torch.long), max_new_tokens=1)


def test_sampling_options_without_do_sample_warn(lm):
    prompt = torch.randint(0, V, (1, 3))
    with pytest.warns(UserWarning, match="only when do_sample=True"):
        out = lm.generate(prompt, 3, top_k=2)
    assert torch.equal(out, lm.generate(prompt, 3))


def test_the_old_greedy_flag_still_works_but_is_deprecated(lm):
    prompt = torch.randint(0, V, (2, 3))
    with pytest.deprecated_call():
        old = lm.generate(prompt, 4, greedy=True)
    assert torch.equal(old, lm.generate(prompt, 4))
    with pytest.deprecated_call():
        g = torch.Generator().manual_seed(1)
        sampled = lm.generate(prompt, 4, greedy=False, generator=g)
    assert torch.equal(
        sampled, lm.generate(prompt, 4, do_sample=True, generator=torch.Generator().manual_seed(1))
    )
    with pytest.deprecated_call(), pytest.raises(ValueError, match="contradicts"):
        lm.generate(prompt, 4, greedy=True, do_sample=True)
