"""Walking a recurrent state of any nesting: the one place that knows what a state may be made of.

A state of the generation protocol (:mod:`xlstm_ts.nn.generation`) is a nest of ``dict``, ``list`` and
``tuple`` (named tuples included) whose leaves are tensors or ``None``. Generation selects and merges rows
of such states, and :mod:`xlstm_ts.nn.cuda_graph` copies them into and out of a graph's buffers; both walk
them with these two functions.

>>> import torch
>>> from xlstm_ts.kernels import mLSTMState
>>> state = {"block_0": mLSTMState(torch.ones(2, 3), torch.zeros(2), torch.zeros(2, 1)), "conv": None}
>>> [tuple(t.shape) for t in state_leaves(state)]
[(2, 3), (2,), (2, 1)]
>>> type(map_state(torch.clone, state)["block_0"]).__name__
'mLSTMState'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["map_state", "state_leaves"]


def map_state(fn: Callable[..., torch.Tensor], *states: Any) -> Any:
    """Apply ``fn`` leaf-wise to states of the same structure; ``None`` leaves stay ``None``.

    Raises ``TypeError`` for anything but dicts, lists, tuples, tensors and ``None``.
    """
    first = states[0]
    if first is None:
        return None
    if isinstance(first, torch.Tensor):
        return fn(*states)
    if isinstance(first, dict):
        return {key: map_state(fn, *(s[key] for s in states)) for key in first}
    if isinstance(first, (list, tuple)):
        items = [map_state(fn, *parts) for parts in zip(*states, strict=True)]
        if hasattr(first, "_fields"):  # named tuple
            return type(first)(*items)
        return type(first)(items)
    raise TypeError(
        f"a recurrent state must nest dicts, lists and tuples of tensors; got a {type(first).__name__}."
    )


def state_leaves(state: Any) -> list[torch.Tensor]:
    """The tensors of a state, in a fixed order (``None`` leaves skipped)."""
    leaves: list[torch.Tensor] = []

    def collect(t: torch.Tensor) -> torch.Tensor:
        leaves.append(t)
        return t

    map_state(collect, state)
    return leaves
