"""Text generation for every language model of the library: one :func:`generate`, one small protocol.

:func:`generate` takes the argument names Hugging Face users know (``max_new_tokens``, ``do_sample``,
``temperature``, ``top_k``, ``top_p``, ``eos_token_id``, ``pad_token_id``, ``attention_mask``). The prompt
is consumed by the model's sequence path (the chunkwise kernels) in one call, then every new token costs
one recurrent step, so memory does not grow with the number of generated tokens.

The generation protocol
-----------------------
A model works with :func:`generate` if it provides two methods (:class:`GenerationModel`):

``prefill(input_ids, state=None) -> (logits, state)``
    Consume ``input_ids`` ``[B, S]`` (``S >= 1``, no padding) starting from ``state`` (``None``: the
    initial state) and return the logits of the **last** position, ``[B, V]``, and the state after the
    last token.
``step(token_ids, state) -> (logits, state)``
    Consume one token per row, ``token_ids`` ``[B, 1]``, and return its logits ``[B, 1, V]`` (``[B, V]``
    is accepted too) and the new state.

The state is whatever the model uses, as long as it is a nest of ``dict``, ``list`` and ``tuple``
(named tuples included) whose leaves are tensors **with the batch on dimension 0** (or ``None``):
:func:`generate` selects, merges and freezes rows of it, and never looks inside otherwise.

Padding and end of sequence
---------------------------
* Prompts of different lengths are **left**-padded, with ``attention_mask`` ``[B, S]`` (1 for a real
  token, 0 for a pad; a 0 after a 1 in a row is an error). Rows are grouped by their real length and
  every group is prefilled on its unpadded tokens alone, so a pad never reaches the recurrent state:
  each row generates exactly what it generates alone (to float rounding, since batched kernels may
  round differently).
* A row that emits ``eos_token_id`` (an id or a list of ids) is finished: its later positions hold
  ``pad_token_id`` and its state stays as it was after the end token. ``pad_token_id`` defaults to the
  (first) ``eos_token_id``, as in Hugging Face ``transformers``. Generation stops early once every row is
  finished, so the output can be shorter than ``S + max_new_tokens``.
* ``return_state=True`` also returns the state after every returned token (pads excluded), which a later
  call takes as ``state=`` to continue: ``generate(b, state=s)`` after ``out, s = generate(a, ...)``
  gives what ``generate(cat(out, b))`` gives.

Examples
--------
>>> import torch
>>> from xlstm_ts.nn.generation import top_k_filter, top_p_filter
>>> logits = torch.tensor([[3.0, 1.0, 2.0, 0.0]])
>>> top_k_filter(logits, 2)
tensor([[3., -inf, 2., -inf]])
>>> probs = torch.tensor([[0.5, 0.125, 0.25, 0.125]])
>>> top_p_filter(probs.log(), 0.7).isfinite()
tensor([[ True, False,  True, False]])
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from .cuda_graph import CapturedStep
from .state_nest import map_state

__all__ = ["GenerationModel", "generate", "sample_next_token", "top_k_filter", "top_p_filter"]


@runtime_checkable
class GenerationModel(Protocol):
    """What :func:`generate` needs from a language model (see the module docstring)."""

    def prefill(self, input_ids: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Logits of the last position ``[B, V]`` and the state after ``input_ids`` ``[B, S]``."""
        ...

    def step(self, token_ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Logits ``[B, 1, V]`` of ``token_ids`` ``[B, 1]`` and the state after them."""
        ...


# ---------------------------------------------------------------------------------------------- filters
def top_k_filter(logits: torch.Tensor, top_k: int) -> torch.Tensor:
    """Set every logit below the ``top_k``-th largest of its row to ``-inf``.

    Ties with the ``top_k``-th largest value are kept, so a row can keep more than ``top_k`` tokens.

    Parameters
    ----------
    logits : torch.Tensor
        ``[..., V]``.
    top_k : int
        ``>= 1``; values above ``V`` keep every token.

    Examples
    --------
    >>> top_k_filter(torch.tensor([[1.0, 4.0, 4.0, 2.0]]), 1)
    tensor([[-inf, 4., 4., -inf]])
    """
    _check_int("top_k", top_k, minimum=1)
    k = min(top_k, logits.shape[-1])
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most likely tokens whose probability sums to ``>= top_p``.

    The rest of the row is set to ``-inf``. The most likely token is always kept. Tokens are taken in
    order of decreasing probability; among tokens of equal probability the order is unspecified.

    Parameters
    ----------
    logits : torch.Tensor
        ``[..., V]``; the probabilities are ``softmax(logits)``.
    top_p : float
        In ``(0, 1]``; ``1`` keeps every token.

    Examples
    --------
    >>> probs = torch.tensor([[0.125, 0.5, 0.25, 0.125]])
    >>> top_p_filter(probs.log(), 0.5).isfinite()  # 0.5 alone reaches 0.5
    tensor([[False,  True, False, False]])
    >>> top_p_filter(probs.log(), 0.51).isfinite()  # 0.5 + 0.25
    tensor([[False,  True,  True, False]])
    """
    _check_probability("top_p", top_p)
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits.float(), dim=-1)
    # A token stays if the tokens before it (in sorted order) sum to less than top_p; the first always does.
    before = torch.cumsum(probs, dim=-1) - probs
    drop_sorted = before >= top_p
    drop_sorted[..., 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample_next_token(
    logits: torch.Tensor,
    *,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Next token ids ``[B]`` from last-position logits ``[B, V]``.

    ``do_sample=False`` takes the argmax (the first one on ties). Otherwise the logits are divided by
    ``temperature``, filtered by :func:`top_k_filter` then :func:`top_p_filter`, and one token is drawn
    per row with ``torch.multinomial`` (using ``generator`` when given).

    Examples
    --------
    >>> sample_next_token(torch.tensor([[0.0, 2.0, 1.0]]))
    tensor([1])
    >>> g = torch.Generator().manual_seed(0)
    >>> sample_next_token(torch.tensor([[0.0, 2.0, 1.0]]), do_sample=True, top_k=1, generator=g)
    tensor([1])
    """
    logits = logits.float()
    if not do_sample:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None and top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# ---------------------------------------------------------------------------------------- state helpers
def _select_rows(state: Any, rows: torch.Tensor) -> Any:
    return map_state(lambda t: t.index_select(0, rows.to(t.device)), state)


def _scatter_rows(parts: list[tuple[torch.Tensor, Any]], batch_size: int) -> Any:
    """One batch state from per-group states: ``parts`` is ``[(rows, state_of_those_rows), ...]``."""

    def merge(*leaves: torch.Tensor) -> torch.Tensor:
        first = leaves[0]
        out = first.new_empty((batch_size, *first.shape[1:]))
        for (rows, _), leaf in zip(parts, leaves, strict=True):
            out.index_copy_(0, rows.to(out.device), leaf)
        return out

    return map_state(merge, *(state for _, state in parts))


def _keep_rows(frozen: torch.Tensor, old: Any, new: Any) -> Any:
    """``new`` with the rows where ``frozen`` ``[B]`` is true taken from ``old``."""

    def pick(o: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        mask = frozen.to(n.device).view(-1, *([1] * (n.dim() - 1)))
        return torch.where(mask, o, n)

    return map_state(pick, old, new)


def _state_batch_size(state: Any) -> int | None:
    sizes: set[int] = set()

    def record(t: torch.Tensor) -> torch.Tensor:
        sizes.add(int(t.shape[0]) if t.dim() else -1)
        return t

    map_state(record, state)
    if len(sizes) > 1:
        raise ValueError(
            f"every tensor of a generation state needs the batch on dim 0; got sizes {sorted(sizes)}."
        )
    return sizes.pop() if sizes else None


def _last_logits(logits: torch.Tensor, batch_size: int, where: str) -> torch.Tensor:
    """``[B, V]`` from what ``prefill``/``step`` returned (``[B, V]``, or ``[B, S, V]``: last position)."""
    if logits.dim() == 3:
        logits = logits[:, -1]
    if logits.dim() != 2 or logits.shape[0] != batch_size:
        raise ValueError(
            f"{where} must return logits of shape [batch={batch_size}, vocab] (or [batch, 1, vocab]); "
            f"got {tuple(logits.shape)}."
        )
    return logits


# ------------------------------------------------------------------------------------------- validation
def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}.")


def _check_probability(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{name} must be a float in (0, 1]; got {value!r}.")


def _token_set(name: str, value: int | Sequence[int] | None) -> list[int]:
    if value is None:
        return []
    ids: list[Any] = [value] if isinstance(value, numbers.Integral) else list(value)  # type: ignore[arg-type]
    for token in ids:
        _check_int(name, token, minimum=0)
    if not ids:
        raise ValueError(f"{name} must be an int or a non-empty list of ints; got {value!r}.")
    return [int(t) for t in ids]


def _check_inputs(input_ids: Any, attention_mask: Any) -> torch.Tensor | None:
    if (
        not isinstance(input_ids, torch.Tensor)
        or input_ids.dim() != 2
        or input_ids.dtype
        not in (
            torch.int64,
            torch.int32,
        )
    ):
        got = (
            f"{input_ids.dtype} {tuple(input_ids.shape)}"
            if isinstance(input_ids, torch.Tensor)
            else type(input_ids).__name__
        )
        raise ValueError(f"input_ids must be integer token ids of shape [batch, seq_len]; got {got}.")
    if input_ids.shape[0] < 1 or input_ids.shape[1] < 1:
        raise ValueError(
            f"input_ids needs at least one row and one token; got shape {tuple(input_ids.shape)}."
        )
    if attention_mask is None:
        return None
    if not isinstance(attention_mask, torch.Tensor) or attention_mask.shape != input_ids.shape:
        got = (
            str(tuple(attention_mask.shape))
            if isinstance(attention_mask, torch.Tensor)
            else type(attention_mask).__name__
        )
        raise ValueError(f"attention_mask must be a tensor of shape {tuple(input_ids.shape)}; got {got}.")
    mask = attention_mask.to(input_ids.device)
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("attention_mask must hold only 0 (pad) and 1 (token).")
    mask = mask.bool()
    if not bool(mask[:, -1].all()):
        bad = (~mask[:, -1]).nonzero().flatten().tolist()
        raise ValueError(
            f"attention_mask rows {bad} end in a pad; expected left padding (pads first, every row ending "
            "in at least one token)."
        )
    if bool((mask[:, 1:] < mask[:, :-1]).any()):
        bad = (mask[:, 1:] < mask[:, :-1]).any(dim=1).nonzero().flatten().tolist()
        raise ValueError(f"attention_mask rows {bad} have a pad after a token; expected left padding.")
    return mask


# --------------------------------------------------------------------------------------------- generate
def _prefill(model: GenerationModel, input_ids: torch.Tensor, mask: torch.Tensor | None, state: Any):
    """Logits ``[B, V]`` and state after each row's real tokens; pads never enter the model."""
    B, S = input_ids.shape
    if mask is None or bool(mask.all()):
        logits, new_state = model.prefill(input_ids, state)
        return _last_logits(logits, B, "prefill"), new_state
    lengths = mask.sum(dim=1)
    logit_parts: list[tuple[torch.Tensor, torch.Tensor]] = []
    state_parts: list[tuple[torch.Tensor, Any]] = []
    for length in torch.unique(lengths).tolist():
        rows = (lengths == length).nonzero().flatten()
        sub_state = None if state is None else _select_rows(state, rows)
        logits, sub_new = model.prefill(input_ids[rows, S - int(length) :], sub_state)
        logit_parts.append((rows, _last_logits(logits, len(rows), "prefill")))
        state_parts.append((rows, sub_new))
    first = logit_parts[0][1]
    logits = first.new_empty((B, first.shape[-1]))
    for rows, part in logit_parts:
        logits.index_copy_(0, rows.to(logits.device), part)
    return logits, _scatter_rows(state_parts, B)


def generate(
    model: GenerationModel,
    input_ids: torch.Tensor,
    *,
    max_new_tokens: int,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_token_id: int | Sequence[int] | None = None,
    pad_token_id: int | None = None,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    state: Any = None,
    return_state: bool = False,
    cuda_graph: bool | None = None,
) -> torch.Tensor | tuple[torch.Tensor, Any]:
    """Continue ``input_ids`` with up to ``max_new_tokens`` tokens from ``model``.

    Gradients are off inside; the model is used in whatever mode it is in (call ``model.eval()`` first
    to switch dropout off).

    Parameters
    ----------
    model : GenerationModel
        Any model with ``prefill`` and ``step`` (see the module docstring), e.g. ``xLSTMLMModel``.
    input_ids : torch.Tensor
        Prompt token ids ``[B, S]`` (int64 or int32), left-padded if rows differ in length.
    max_new_tokens : int
        Most tokens to add per row (``>= 0``).
    do_sample : bool
        ``False``: greedy (argmax). ``True``: sample with ``temperature``, ``top_k`` and ``top_p``, which are
        ignored (with a warning) when ``do_sample`` is false.
    temperature : float
        ``> 0``; the logits are divided by it before sampling.
    top_k : int, optional
        Sample only among the ``top_k`` most likely tokens (:func:`top_k_filter`).
    top_p : float, optional
        Sample only from the nucleus of probability ``top_p`` (:func:`top_p_filter`), in ``(0, 1]``.
    eos_token_id : int or list of int, optional
        Token(s) that end a row: later positions of that row hold ``pad_token_id``.
    pad_token_id : int, optional
        Filler after a row's end token; defaults to the first ``eos_token_id``.
    attention_mask : torch.Tensor, optional
        ``[B, S]``, 1 for a token and 0 for a left pad. Pads never reach the model.
    generator : torch.Generator, optional
        Random source for sampling (on the device of the logits), for reproducible draws.
    state : optional
        A state returned by an earlier call (``return_state=True``) or by the model; the prompt continues
        from it. ``None`` starts from the model's initial state.
    return_state : bool
        Also return the state after every returned token (each row's pads excluded).
    cuda_graph : bool, optional
        Decode with the model's step captured in a CUDA graph (:class:`~xlstm_ts.nn.cuda_graph.CapturedStep`):
        the same tokens, with one graph replay per token instead of every kernel launch of a step (3-7x
        faster per token on an H200, see the benchmarks). ``None`` (the default): on a CUDA device when at
        least ``AUTO_CUDA_GRAPH_MIN_TOKENS`` (16) tokens are asked for, and if the step cannot be captured
        (a custom model whose step syncs with the host) a warning and eager steps. ``True``: always (an
        error off a CUDA device or when the capture fails). ``False``: never.

    Returns
    -------
    torch.Tensor or (torch.Tensor, state)
        ``[B, S + n]`` token ids: the prompt (with its pads) then ``n <= max_new_tokens`` new tokens;
        ``n < max_new_tokens`` only when every row has ended.

    Raises
    ------
    ValueError
        For an argument out of range, token ids or a mask of the wrong shape or dtype, right padding, a
        state whose batch size differs from the prompt's, or ``cuda_graph=True`` off a CUDA device.

    Examples
    --------
    >>> import torch
    >>> from xlstm_ts import xLSTMLMModel, xLSTMLMModelConfig, mLSTMBlockConfig
    >>> from xlstm_ts.nn.generation import generate
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = xLSTMLMModel(xLSTMLMModelConfig(mlstm_block=mLSTMBlockConfig(), num_blocks=1,
    ...                                         embedding_dim=16, vocab_size=20)).eval()
    >>> prompt = torch.tensor([[0, 0, 5, 6], [1, 2, 3, 4]])  # row 0 is left-padded
    >>> mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    >>> out = generate(model, prompt, attention_mask=mask, max_new_tokens=3)
    >>> out.shape
    torch.Size([2, 7])
    >>> alone = generate(model, prompt[:1, 2:], max_new_tokens=3)
    >>> torch.equal(out[0, 4:], alone[0, 2:])
    True
    """
    _check_int("max_new_tokens", max_new_tokens, minimum=0)
    if not isinstance(do_sample, bool):
        raise ValueError(f"do_sample must be a bool; got {do_sample!r}.")
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not (0.0 < float(temperature) < float("inf"))
    ):
        raise ValueError(f"temperature must be a finite float > 0; got {temperature!r}.")
    if top_k is not None:
        _check_int("top_k", top_k, minimum=1)
    if top_p is not None:
        _check_probability("top_p", top_p)
    if not do_sample and (temperature != 1.0 or top_k is not None or top_p is not None):
        warnings.warn(
            "temperature, top_k and top_p apply only when do_sample=True; decoding greedily.",
            UserWarning,
            stacklevel=2,
        )
    eos_ids = _token_set("eos_token_id", eos_token_id)
    if pad_token_id is not None:
        _check_int("pad_token_id", pad_token_id, minimum=0)
    pad = pad_token_id if pad_token_id is not None else (eos_ids[0] if eos_ids else None)
    mask = _check_inputs(input_ids, attention_mask)
    if cuda_graph is not None and not isinstance(cuda_graph, bool):
        raise ValueError(f"cuda_graph must be None, True or False; got {cuda_graph!r}.")
    if cuda_graph and input_ids.device.type != "cuda":
        raise ValueError(
            f"cuda_graph=True needs the model and input_ids on a CUDA device; got input_ids on {input_ids.device}."
        )
    B = input_ids.shape[0]
    if state is not None and _state_batch_size(state) not in (None, B):
        raise ValueError(
            f"state has batch size {_state_batch_size(state)}; expected {B} (the rows of input_ids)."
        )

    with torch.no_grad():
        return _decode(
            model,
            input_ids,
            mask,
            state,
            max_new_tokens,
            eos_ids,
            pad,
            return_state,
            cuda_graph,
            dict(do_sample=do_sample, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator),
        )


#: ``generate(cuda_graph=None)`` captures the step on a CUDA device from this many new tokens on (the
#: capture costs about three steps).
AUTO_CUDA_GRAPH_MIN_TOKENS = 16


def _capture(model: GenerationModel, token_ids: torch.Tensor, state: Any, fall_back: bool):
    """``CapturedStep(model, ...)``; with ``fall_back``, ``model.step`` (and a warning) if capture fails."""
    try:
        return CapturedStep(model, token_ids, state)
    except (RuntimeError, ValueError, TypeError) as err:
        if not fall_back:
            raise
        warnings.warn(
            f"could not capture the decoding step in a CUDA graph ({type(err).__name__}: {err}); decoding "
            "with eager steps. Pass cuda_graph=False to skip the attempt.",
            RuntimeWarning,
            stacklevel=4,
        )
        return model.step


def _decode(
    model: GenerationModel,
    input_ids: torch.Tensor,
    mask: torch.Tensor | None,
    state: Any,
    max_new_tokens: int,
    eos_ids: list[int],
    pad: int | None,
    return_state: bool,
    cuda_graph: bool | None,
    sampling: dict[str, Any],
) -> torch.Tensor | tuple[torch.Tensor, Any]:
    """The prefill and the decode loop of :func:`generate` (arguments already checked)."""
    B = input_ids.shape[0]
    logits, state = _prefill(model, input_ids, mask, state)
    device = input_ids.device
    new_tokens = torch.full(
        (B, max_new_tokens), -1 if pad is None else pad, dtype=input_ids.dtype, device=device
    )
    finished = torch.zeros(B, dtype=torch.bool, device=device)
    eos = torch.tensor(eos_ids, dtype=input_ids.dtype, device=device)
    auto = cuda_graph is None
    if auto:
        cuda_graph = device.type == "cuda" and max_new_tokens >= AUTO_CUDA_GRAPH_MIN_TOKENS
    step: Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]] | None = None if cuda_graph else model.step
    n = 0
    while n < max_new_tokens:
        token = sample_next_token(logits, **sampling).to(input_ids.dtype)
        if pad is not None:
            token = torch.where(finished, torch.full_like(token, pad), token)
        new_tokens[:, n] = token
        n += 1
        if n == max_new_tokens and not return_state:
            break  # the last token's step only matters for the returned state
        if step is None:  # captured at the first step, once the state's layout is known
            step = _capture(model, token.unsqueeze(1), state, fall_back=auto)
        step_logits, stepped = step(token.unsqueeze(1), state)
        # Rows that had ended before this token keep their state: their pads are not consumed.
        state = _keep_rows(finished, state, stepped) if bool(finished.any()) else stepped
        logits = _last_logits(step_logits, B, "step")
        if eos_ids:
            finished = finished | torch.isin(token, eos)
            if bool(finished.all()):
                break
    out = torch.cat([input_ids, new_tokens[:, :n]], dim=1)
    return (out, state) if return_state else out
