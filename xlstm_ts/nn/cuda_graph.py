"""A language model's decoding step captured in a CUDA graph: one replay per token instead of hundreds of
kernel launches.

At batch 1 a recurrent decoding step is bound by the host: every block launches a dozen small kernels
(norms, projections, the mLSTM step, the gates) and the GPU waits for Python between them. A CUDA graph
records those launches once and replays them as one. :class:`CapturedStep` does that for any model of the
generation protocol (:mod:`xlstm_ts.nn.generation`): it is a drop-in ``step(token_ids, state)``, fixed
to the batch size, dtype and state layout it was captured with.

The semantics are those of the uncaptured step: the inputs are copied into the graph's static buffers
before each replay, and the logits and state it returns are fresh tensors (copies of the graph's output
buffers), so a caller may keep, compare or mix states of different steps as with ``model.step``. The two
copies cost about what reading the state once costs, a small fraction of a step.

Examples
--------
On a CUDA device (the graph needs one)::

    logits, state = model.prefill(prompt)                 # [B, V], state
    step = CapturedStep(model, logits.argmax(-1), state)  # warm-up and capture
    for _ in range(100):
        logits, state = step(logits.argmax(-1), state)    # one graph replay per token

or simply ``model.generate(prompt, max_new_tokens=100, cuda_graph=True)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from .state_nest import map_state, state_leaves

__all__ = ["CapturedStep"]


def _layout(leaves: list[torch.Tensor]) -> list[tuple[tuple[int, ...], torch.dtype, torch.device]]:
    return [(tuple(t.shape), t.dtype, t.device) for t in leaves]


@contextlib.contextmanager
def _restored_on_failure(device: torch.device) -> Iterator[None]:
    """Puts back the current stream and the default CUDA generator of ``device`` if a capture inside fails.

    When a capture fails (a step that reads from the host, say), ``torch.cuda.graph`` leaves its side stream
    current and the generator in capture mode, so that every later random op on the device raises ("Offset
    increment outside graph capture").  A failed capture drew no random numbers, so the generator gets back
    the state it had before.
    """
    index = device.index if device.index is not None else torch.cuda.current_device()
    generator = torch.cuda.default_generators[index]
    stream = torch.cuda.current_stream(device)
    rng = generator.clone_state()
    try:
        yield
    except BaseException:
        torch.cuda.set_stream(stream)
        generator.graphsafe_set_state(rng)
        raise


class CapturedStep:
    """``model.step`` captured in a CUDA graph for one batch size and state layout.

    Parameters
    ----------
    model
        A model with ``step(token_ids, state) -> (logits, state)`` on a CUDA device, in eval mode
        (dropout would be frozen into the graph).
    token_ids : torch.Tensor
        Example tokens ``[B]`` or ``[B, 1]`` on the model's device; fixes the batch size and shape.
    state
        Example state (e.g. from ``model.prefill``); fixes the state layout. Not modified.
    warmup : int
        Eager steps run on a side stream before the capture (Triton compiles and the allocator settles).

    Raises
    ------
    ValueError
        When the tokens are not on a CUDA device, or the state is ``None`` or holds a tensor on another
        device than the tokens.

    Notes
    -----
    Calling it with tokens or a state of another shape, dtype or device raises a ``ValueError``: capture a
    new one for a new batch size. Gradients are never recorded. The graph holds its own memory pool (about
    one step's activations and two copies of the state).
    """

    def __init__(self, model: Any, token_ids: torch.Tensor, state: Any, *, warmup: int = 2) -> None:
        if not isinstance(token_ids, torch.Tensor) or token_ids.device.type != "cuda":
            where = token_ids.device if isinstance(token_ids, torch.Tensor) else type(token_ids).__name__
            raise ValueError(
                f"CapturedStep needs the model and its tokens on a CUDA device; got tokens on {where}. "
                "Decode with model.step (or generate(cuda_graph=False)) on other devices."
            )
        leaves = state_leaves(state)
        if not leaves:
            raise ValueError("CapturedStep needs a state to capture (e.g. the one model.prefill returns).")
        if any(t.device != token_ids.device for t in leaves):
            raise ValueError(
                f"every state tensor must be on {token_ids.device} (the tokens' device); got "
                f"{sorted({str(t.device) for t in leaves})}."
            )
        self.model = model
        self._tokens = token_ids.clone()
        self._state = map_state(torch.clone, state)  # the graph's input buffers
        self._state_leaves = state_leaves(self._state)
        self._layout = _layout(self._state_leaves)
        side = torch.cuda.Stream(device=token_ids.device)
        side.wait_stream(torch.cuda.current_stream(token_ids.device))
        with torch.no_grad(), torch.cuda.stream(side):
            for _ in range(warmup):
                model.step(self._tokens, self._state)
        torch.cuda.current_stream(token_ids.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with _restored_on_failure(token_ids.device), torch.no_grad(), torch.cuda.graph(self.graph):
            self._logits, self._new_state = model.step(self._tokens, self._state)

    def __call__(self, token_ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One decoding step by graph replay: ``(logits, new_state)`` as ``model.step`` returns them."""
        if token_ids.shape != self._tokens.shape or token_ids.device != self._tokens.device:
            raise ValueError(
                f"this CapturedStep was captured for tokens of shape {tuple(self._tokens.shape)} on "
                f"{self._tokens.device}; got {tuple(token_ids.shape)} on {token_ids.device}. Capture "
                "another one for a new batch size."
            )
        leaves = state_leaves(state)
        if _layout(leaves) != self._layout:
            raise ValueError(
                "the state's tensors differ in shape, dtype or device from those this CapturedStep was "
                "captured with; capture another one."
            )
        with torch.no_grad():
            self._tokens.copy_(token_ids)
            for buffer, value in zip(self._state_leaves, leaves, strict=True):
                buffer.copy_(value)
            self.graph.replay()
            return self._logits.clone(), map_state(torch.clone, self._new_state)
