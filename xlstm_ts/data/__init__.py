"""Data layer: validation of user data, per-series scaling and training windows.

* :mod:`~xlstm_ts.data.validation`: :func:`parse_panel` reads long / wide / Series input into
  :class:`PanelData` with typed, actionable errors (:mod:`~xlstm_ts.data.errors`).
* :mod:`~xlstm_ts.data.scaling`: :class:`PanelScaler` (target per series, covariates globally; known
  and unseen series), built on :class:`SeriesScaler`.
* :mod:`~xlstm_ts.data.windowing`: :class:`WindowDataset`: training, prediction and backtest windows.

This package imports numpy, pandas and torch only (no Lightning, no estimator modules).
"""

from .errors import (
    ColumnError,
    FrequencyError,
    InputDataError,
    MissingValueError,
    SeriesTooShortError,
    TimestampError,
)
from .scaling import CovariateScaler, PanelScaler, SeriesScaler
from .validation import (
    ColumnSpec,
    PanelData,
    check_min_length,
    future_index,
    make_future_frame,
    parse_future_covariates,
    parse_panel,
)
from .windowing import WindowDataset, window_starts

__all__ = [
    # errors
    "InputDataError",
    "ColumnError",
    "FrequencyError",
    "MissingValueError",
    "SeriesTooShortError",
    "TimestampError",
    # validation
    "ColumnSpec",
    "PanelData",
    "parse_panel",
    "check_min_length",
    "future_index",
    "make_future_frame",
    "parse_future_covariates",
    # scaling
    "SeriesScaler",
    "CovariateScaler",
    "PanelScaler",
    # windowing
    "WindowDataset",
    "window_starts",
]
