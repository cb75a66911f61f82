"""A small synthetic panel with every kind of covariate, for examples and tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import check_float, check_int

__all__ = [
    "SYNTHETIC_FUTURE_COVARIATES",
    "SYNTHETIC_PAST_COVARIATES",
    "SYNTHETIC_STATIC_COVARIATES",
    "make_synthetic",
]

#: Columns of :func:`make_synthetic` known for future timestamps too (pass them for the forecast horizon).
SYNTHETIC_FUTURE_COVARIATES = ("promo", "season_sin")
#: Columns observed only up to the present (known in the lookback window, unknown in the horizon).
SYNTHETIC_PAST_COVARIATES = ("sensor",)
#: Columns constant per series.
SYNTHETIC_STATIC_COVARIATES = ("store_size",)

_PROMO_RATE = 0.05  # share of steps with a promotion
_PROMO_LIFT = 0.2  # a promotion raises y by this fraction of the series level


def _season_position(ds: pd.DatetimeIndex, season_length: int) -> np.ndarray:
    """Position of each timestamp in the seasonal cycle, counted in steps of the frequency from a fixed
    calendar origin (1970-01-01 for fixed frequencies, the period ordinal otherwise), so that it depends
    on the timestamp alone: for hourly data and a 24-step season it is the hour of the day."""
    wall = ds.tz_localize(None) if ds.tz is not None else ds
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(ds.freq))
        steps = np.asarray((wall - pd.Timestamp("1970-01-01")) // step, dtype=np.int64)
    except (TypeError, ValueError):  # calendar frequencies (months, weeks, ...)
        try:
            steps = np.asarray(wall.to_period().asi8, dtype=np.int64)
        except (TypeError, ValueError, AttributeError):
            steps = np.arange(len(ds), dtype=np.int64)
    return (steps % season_length).astype(np.float64)


def make_synthetic(
    n_series: int = 3,
    length: int = 400,
    freq: str = "h",
    season_length: int = 24,
    trend: float = 0.01,
    noise: float = 0.1,
    start: str | pd.Timestamp = "2024-01-01",
    seed: int = 0,
    covariates: bool = True,
) -> pd.DataFrame:
    """A seeded synthetic panel in long format, with future-known, past-only and static covariates.

    Series ``i`` (``unique_id = "series_i"``) is, at step ``t`` with seasonal position ``p_t``::

        y = level_i + trend * t + amplitude_i * sin(2π p_t / season_length + phase_i)
            + lift_i * promo_t + noise * ε_t

    with ``level_i = 10 * store_size_i``, ``store_size_i ~ U(0.5, 2)`` (rounded to 2 decimals),
    ``amplitude_i ~ U(0.1, 0.3) * level_i``, ``phase_i ~ U(0, 2π)``, ``lift_i = 0.2 * level_i`` and
    ``ε_t ~ N(0, 1)``. ``p_t`` is the timestamp's position in the seasonal cycle counted from a fixed
    calendar origin, so it is a function of the timestamp alone (for ``freq="h"``, ``season_length=24``:
    the hour of the day).

    Columns, and what a forecaster may use them for:

    ========== ======================================================================================
    unique_id  series id (str)
    ds         timestamp
    y          target (float)
    promo      **future-known** covariate: 0/1 promotion flags (~5% of steps, planned ahead); y is
               raised by ``lift_i`` on those steps. Pass its future values for the horizon.
    season_sin **future-known** calendar covariate: ``sin(2π p_t / season_length)``, computable for any
               future timestamp.
    sensor     **past-only** covariate: a noisy copy of the previous step's target,
               ``sensor_t = y_{t-1} + noise * η_t`` (``sensor_0 = level_i``); it is observed with y, so
               it is unknown for future steps and carries information about the past only.
    store_size **static** covariate: constant per series; it scales the level (``level_i = 10 * store_size_i``).
    ========== ======================================================================================

    The same names are in :data:`SYNTHETIC_FUTURE_COVARIATES`, :data:`SYNTHETIC_PAST_COVARIATES` and
    :data:`SYNTHETIC_STATIC_COVARIATES`.

    Parameters
    ----------
    n_series : int
        Number of series (at least 1).
    length : int
        Steps per series (at least 1).
    freq : str
        pandas frequency of ``ds``.
    season_length : int
        Period of the seasonality in steps (at least 1; 1 means no seasonality).
    trend : float
        Slope of the linear trend in units of y per step (0 for none).
    noise : float
        Standard deviation of the Gaussian noise of y and of ``sensor`` (at least 0).
    start : str or pandas.Timestamp
        First timestamp.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same arguments give the same frame.
    covariates : bool
        Add ``promo``, ``season_sin``, ``sensor`` and ``store_size``. With ``False`` only ``unique_id``,
        ``ds``, ``y`` are returned, and y has no promotion effect (the random draws are the same, so
        ``y(True) - y(False)`` is exactly ``lift_i * promo``).

    Returns
    -------
    pandas.DataFrame
        ``n_series * length`` rows sorted by ``unique_id`` then ``ds``, with a default RangeIndex.

    Examples
    --------
    >>> from xlstm_ts.datasets import make_synthetic
    >>> df = make_synthetic(n_series=2, length=48, seed=0)
    >>> df.shape
    (96, 7)
    >>> list(df.columns)
    ['unique_id', 'ds', 'y', 'promo', 'season_sin', 'sensor', 'store_size']
    >>> df.groupby("unique_id")["store_size"].nunique().tolist()
    [1, 1]
    >>> make_synthetic(n_series=2, length=48, seed=0).equals(df)
    True
    >>> list(make_synthetic(n_series=1, length=5, covariates=False).columns)
    ['unique_id', 'ds', 'y']
    """
    func = "make_synthetic"
    n_series = check_int("n_series", func, n_series, 1)
    length = check_int("length", func, length, 1)
    season_length = check_int("season_length", func, season_length, 1)
    trend = check_float("trend", func, trend)
    noise = check_float("noise", func, noise, 0.0)
    try:
        ds = pd.date_range(start=start, periods=length, freq=freq)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"make_synthetic could not build timestamps from start={start!r} and freq={freq!r}: {exc}"
        ) from exc
    angle = 2.0 * np.pi * _season_position(ds, season_length) / season_length
    season_sin = np.sin(angle)
    t = np.arange(length, dtype=np.float64)

    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        # One fixed sequence of draws per series, whatever `covariates` is.
        store_size = round(float(rng.uniform(0.5, 2.0)), 2)
        level = 10.0 * store_size
        amplitude = float(rng.uniform(0.1, 0.3)) * level
        phase = float(rng.uniform(0.0, 2.0 * np.pi))
        eps = rng.standard_normal(length)
        promo = (rng.random(length) < _PROMO_RATE).astype(np.int64)
        eta = rng.standard_normal(length)

        y = level + trend * t + amplitude * np.sin(angle + phase) + noise * eps
        frame = {"unique_id": f"series_{i}", "ds": ds, "y": y}
        if covariates:
            y = y + _PROMO_LIFT * level * promo
            sensor = np.empty(length)
            sensor[0] = level
            sensor[1:] = y[:-1] + noise * eta[1:]
            frame.update(
                y=y, promo=promo, season_sin=season_sin, sensor=sensor, store_size=np.full(length, store_size)
            )
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)
