"""Typed errors for problems in the user's input data.

Every error raised while reading forecasting data derives from :class:`InputDataError`, itself a
:class:`ValueError`, so ``except ValueError`` keeps working and ``except InputDataError`` catches exactly
the data problems.  Each message says what was expected, what was received and how to fix it.

Examples
--------
>>> from xlstm_ts.data.errors import InputDataError, MissingValueError
>>> issubclass(MissingValueError, InputDataError) and issubclass(InputDataError, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "ColumnError",
    "FrequencyError",
    "InputDataError",
    "MissingValueError",
    "SeriesTooShortError",
    "TimestampError",
]


class InputDataError(ValueError):
    """Base of every input-data error (a :class:`ValueError`)."""


class MissingValueError(InputDataError):
    """NaN or infinite values in the target or the covariates, or rows missing from future covariates.

    The message names the series, the column, how many values are missing and the first affected timestamp,
    and suggests ``fill_method=`` where filling applies.
    """


class SeriesTooShortError(InputDataError):
    """One or more series are shorter than the model needs; the message lists every one with its length."""


class TimestampError(InputDataError):
    """Duplicated, unsorted or missing (NaT) timestamps within a series."""


class FrequencyError(InputDataError):
    """The frequency cannot be inferred, differs between series, or a series has gaps or irregular steps."""


class ColumnError(InputDataError):
    """Missing columns, non-numeric target or covariates, or columns that differ from those seen in fit."""
