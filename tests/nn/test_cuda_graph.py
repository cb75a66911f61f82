"""``CapturedStep`` and ``generate(cuda_graph=True)``: the graph replays exactly the eager step.

On the CPU only the argument checks and the state helpers run; the comparisons of captured against eager
decoding are marked ``gpu`` (they need a CUDA device to capture a graph at all).
"""

from __future__ import annotations

import pytest
import torch

from xlstm_ts.kernels import mLSTMState
from xlstm_ts.nn import xLSTMLargeConfig, xLSTMLargeForCausalLM
from xlstm_ts.nn.cuda_graph import CapturedStep
from xlstm_ts.nn.generation import generate
from xlstm_ts.nn.state_nest import map_state, state_leaves

from .test_generation import make_lm


def test_state_helpers_keep_structure_and_copy():
    state = {"a": [mLSTMState(torch.ones(2, 3), torch.zeros(2), torch.full((2, 1), 5.0))], "b": (None,)}
    copy = map_state(torch.clone, state)
    assert isinstance(copy["a"][0], mLSTMState) and copy["b"] == (None,)
    assert [t.shape for t in state_leaves(copy)] == [(2, 3), (2,), (2, 1)]
    copy["a"][0].c.add_(1.0)
    assert torch.equal(state["a"][0].c, torch.ones(2, 3))  # the original is untouched
    with pytest.raises(TypeError, match="nest dicts, lists and tuples"):
        state_leaves({"a": 3})


def test_capture_needs_cuda_and_a_state():
    model = make_lm()
    logits, state = model.prefill(torch.tensor([[1, 2, 3]]))
    with pytest.raises(ValueError, match="CUDA device"):
        CapturedStep(model, logits.argmax(-1)[:, None], state)
    with pytest.raises(ValueError, match="CUDA device"):
        generate(model, torch.tensor([[1, 2, 3]]), max_new_tokens=2, cuda_graph=True)
    with pytest.raises(ValueError, match="must be None, True or False"):
        generate(model, torch.tensor([[1, 2, 3]]), max_new_tokens=2, cuda_graph=1)


def _large() -> xLSTMLargeForCausalLM:
    torch.manual_seed(0)
    model = xLSTMLargeForCausalLM(xLSTMLargeConfig.preset("tiny"))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


MODELS = {"lm-mixed": lambda: make_lm("mixed"), "lm-mlstm": lambda: make_lm("mlstm"), "large": _large}


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("batch", [1, 3])
def test_captured_steps_equal_eager_steps(name, batch):
    model = MODELS[name]().cuda()
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, 20, (batch, 9), generator=g).cuda()
    with torch.no_grad():
        logits, state = model.prefill(prompt)
        captured = CapturedStep(model, logits.argmax(-1)[:, None], state)
        eager_state, graph_state = state, state
        eager_logits = graph_logits = logits
        for _ in range(6):
            eager_logits, eager_state = model.step(eager_logits.argmax(-1).reshape(batch, 1), eager_state)
            graph_logits, graph_state = captured(graph_logits.argmax(-1).reshape(batch, 1), graph_state)
            torch.testing.assert_close(graph_logits, eager_logits, rtol=0, atol=1e-6)
            for a, b in zip(state_leaves(graph_state), state_leaves(eager_state), strict=True):
                torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
        # the returned tensors are the caller's: a later replay does not overwrite them
        kept = graph_logits.clone()
        captured(graph_logits.argmax(-1).reshape(batch, 1), graph_state)
        assert torch.equal(kept, graph_logits)
        with pytest.raises(ValueError, match="captured for tokens of shape"):
            captured(torch.zeros(batch + 1, 1, dtype=torch.long, device="cuda"), graph_state)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(MODELS))
def test_generate_with_cuda_graph_gives_the_same_tokens(name):
    model = MODELS[name]().cuda()
    prompt = torch.tensor([[0, 0, 5, 6, 7], [1, 2, 3, 4, 5]], device="cuda")
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], device="cuda")
    eager = generate(model, prompt, attention_mask=mask, max_new_tokens=12)
    graph = generate(model, prompt, attention_mask=mask, max_new_tokens=12, cuda_graph=True)
    assert torch.equal(eager, graph)
    # end of sequence: a row that ends keeps its state and is padded, captured or not
    eos = int(eager[1, 7])
    kw = dict(attention_mask=mask, max_new_tokens=12, eos_token_id=eos, pad_token_id=0, return_state=True)
    out_e, st_e = generate(model, prompt, **kw)
    out_g, st_g = generate(model, prompt, cuda_graph=True, **kw)
    assert torch.equal(out_e, out_g)
    for a, b in zip(state_leaves(st_g), state_leaves(st_e), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


class _SyncingLM:
    """A protocol model whose step reads a value back to the host, which no CUDA graph can capture."""

    def __init__(self, model) -> None:
        self.model = model
        self.host_reads = 0

    def prefill(self, input_ids, state=None):
        return self.model.prefill(input_ids, state)

    def step(self, token_ids, state):
        self.host_reads += int(token_ids[0, 0].item() >= 0)
        return self.model.step(token_ids, state)


@pytest.mark.gpu
def test_default_captures_on_cuda_and_falls_back_with_a_warning():
    model = make_lm("mixed").cuda()
    prompt = torch.tensor([[1, 2, 3, 4]], device="cuda")
    eager = generate(model, prompt, max_new_tokens=20, cuda_graph=False)
    assert torch.equal(generate(model, prompt, max_new_tokens=20), eager)  # default: captured
    syncing = _SyncingLM(model)
    stream, rng = torch.cuda.current_stream(), torch.cuda.get_rng_state()
    with pytest.warns(RuntimeWarning, match="could not capture"):
        out = generate(syncing, prompt, max_new_tokens=20)
    assert torch.equal(out, eager) and syncing.host_reads >= 19
    with pytest.raises(RuntimeError):
        generate(_SyncingLM(model), prompt, max_new_tokens=20, cuda_graph=True)
    # the failed captures left the stream and the random generator as they were (greedy decoding drew nothing)
    assert torch.cuda.current_stream() == stream
    assert torch.equal(torch.cuda.get_rng_state(), rng)
    assert torch.randn(4, device="cuda").isfinite().all()  # raised "Offset increment outside graph capture"
