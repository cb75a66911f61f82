"""Recurrent state containers shared by every kernel backend.

States are always kept in float32 (float64 when the inputs are float64), whatever the dtype of
the activations, so that long sequences do not drift.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class mLSTMState(NamedTuple):
    """State of the mLSTM cell, in the kernel convention (keys are *not* pre-scaled).

    Attributes
    ----------
    c : torch.Tensor
        Matrix memory, shape ``[B, NH, DK, DV]``.
    n : torch.Tensor
        Normaliser, shape ``[B, NH, DK]``.
    m : torch.Tensor
        Stabiliser (a log-scale), shape ``[B, NH, 1]``.
    """

    c: torch.Tensor
    n: torch.Tensor
    m: torch.Tensor


class sLSTMState(NamedTuple):
    """State of the sLSTM cell; every field has shape ``[B, NH, DH]``.

    ``h`` is the hidden output, ``c`` the cell, ``n`` the normaliser and ``m`` the stabiliser.
    """

    h: torch.Tensor
    c: torch.Tensor
    n: torch.Tensor
    m: torch.Tensor


def state_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype in which states and gate arithmetic are kept for activations of ``dtype``."""
    return torch.float64 if dtype == torch.float64 else torch.float32
