"""Optuna, imported on first use: it is the optional extra ``tune``."""

from __future__ import annotations

import importlib
from typing import Any

#: The message of the ImportError raised when Optuna is missing.
MISSING = 'xlstm_ts.tuning.{what} needs Optuna (>= 5): pip install "xlstm-ts[tune]"'


def import_optuna(what: str = "tune") -> Any:
    """The ``optuna`` module, or an ImportError that names the extra to install."""
    try:
        return importlib.import_module("optuna")
    except ImportError as err:
        raise ImportError(MISSING.format(what=what)) from err
