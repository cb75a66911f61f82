"""Checkpoints of the reference ``xlstm`` package: conversion between its state dicts and ours.

Two things differ from a plain ``load_state_dict``:

* **sLSTM gate names.**  The reference's ``fgate`` projection feeds the input gate and its
  ``igate`` feeds the forget gate; ours are named after what they feed, so the two are swapped.
* **sLSTM cell layouts.**  The reference stores ``slstm_cell._recurrent_kernel_`` and
  ``slstm_cell._bias_`` in a backend-specific layout: ``"vanilla"`` keeps ``[NH, 4*DH, DH]`` and a
  flat ``[4, NH, DH]`` bias, ``"cuda"`` keeps ``[NH, DH, 4*DH]`` and a flat ``[NH, 4, DH]`` bias.
  Ours is the backend-independent ``recurrent_kernel`` ``[NH, DH, 4, DH]`` / ``bias`` ``[NH, 4, DH]``.
  The layout is read off the shape of the recurrent kernel.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

_CELL = "slstm_cell."


def _slstm_prefixes(keys: list[str]) -> set[str]:
    """Prefixes (ending in '.') of every sLSTM layer, found by its ``slstm_cell`` parameters."""
    return {k[: k.index(_CELL)] for k in keys if _CELL in k}


def convert_reference_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Turn a reference ``xlstm`` 2.x state dict (block stack or LM model) into ours."""
    keys = list(state_dict)
    out: dict[str, torch.Tensor] = {}
    for prefix in _slstm_prefixes(keys):
        kernel = state_dict[prefix + _CELL + "_recurrent_kernel_"]
        bias = state_dict[prefix + _CELL + "_bias_"]
        NH, a, b = kernel.shape
        if a == 4 * b:  # vanilla: [NH, 4*DH, DH] indexed [h, g*DH + out, in]
            DH = b
            ours = kernel.reshape(NH, 4, DH, DH).permute(0, 3, 1, 2)
            ours_bias = bias.reshape(4, NH, DH).permute(1, 0, 2)
        elif b == 4 * a:  # cuda: [NH, DH, 4*DH] indexed [h, in, g*DH + out]
            DH = a
            ours = kernel.reshape(NH, DH, 4, DH)
            ours_bias = bias.reshape(NH, 4, DH)
        else:
            raise ValueError(f"{prefix}{_CELL}_recurrent_kernel_ has unexpected shape {tuple(kernel.shape)}.")
        out[prefix + _CELL + "recurrent_kernel"] = ours.contiguous()
        out[prefix + _CELL + "bias"] = ours_bias.contiguous()
    prefixes = _slstm_prefixes(keys)
    swap = {"igate.weight": "fgate.weight", "fgate.weight": "igate.weight"}
    for key, value in state_dict.items():
        if _CELL in key and key.endswith(("_recurrent_kernel_", "_bias_")):
            continue
        new_key = key
        for prefix in prefixes:
            rest = key[len(prefix) :] if key.startswith(prefix) else None
            if rest in swap:
                new_key = prefix + swap[rest]
        out[new_key] = value
    return out


def to_reference_state_dict(module: nn.Module, backend: str = "vanilla") -> dict[str, torch.Tensor]:
    """Export our state dict in the reference layout for sLSTM ``backend`` ``"vanilla"`` or ``"cuda"``."""
    if backend not in ("vanilla", "cuda"):
        raise ValueError(f"backend must be 'vanilla' or 'cuda', got {backend!r}.")
    ours = module.state_dict()
    prefixes = {k[: k.index(_CELL)] for k in ours if _CELL in k}
    swap = {"igate.weight": "fgate.weight", "fgate.weight": "igate.weight"}
    out: dict[str, torch.Tensor] = {}
    for key, value in ours.items():
        prefix = next((p for p in prefixes if key.startswith(p)), None)
        if prefix is None:
            out[key] = value
            continue
        rest = key[len(prefix) :]
        if rest == _CELL + "recurrent_kernel":
            NH, DH = value.shape[0], value.shape[1]
            if backend == "vanilla":
                value = value.permute(0, 2, 3, 1).reshape(NH, 4 * DH, DH)
            else:
                value = value.reshape(NH, DH, 4 * DH)
            out[prefix + _CELL + "_recurrent_kernel_"] = value.contiguous()
        elif rest == _CELL + "bias":
            value = value.permute(1, 0, 2) if backend == "vanilla" else value
            out[prefix + _CELL + "_bias_"] = value.reshape(-1).contiguous()
        elif rest in swap:
            out[prefix + swap[rest]] = value
        else:
            out[key] = value
    return out


def load_reference_state_dict(
    module: nn.Module, state_dict: Mapping[str, torch.Tensor] | nn.Module, strict: bool = True
):
    """Load a reference ``xlstm`` checkpoint (or module) into our ``xLSTMBlockStack``/``xLSTMLMModel``.

    ``state_dict`` may be the reference module itself.  Returns what ``load_state_dict`` returns.
    """
    if isinstance(state_dict, nn.Module):
        state_dict = state_dict.state_dict()
    return module.load_state_dict(convert_reference_state_dict(state_dict), strict=strict)
