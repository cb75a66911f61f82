"""Small synthetic panels and the tiny forecaster the tuning tests train (shared with the worker script)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_panel(n_series: int = 3, length: int = 60, seed: int = 0) -> pd.DataFrame:
    """A long DataFrame of ``n_series`` noisy sine waves of different levels, daily, all on one calendar."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(n_series):
        y = 10 * (i + 1) + np.sin(2 * np.pi * t / 7 + i) + 0.1 * rng.standard_normal(length)
        frames.append(
            pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=length), "y": y})
        )
    return pd.concat(frames, ignore_index=True)


def tiny_model(**overrides):
    """A forecaster that trains in well under a second on :func:`make_panel` data."""
    from xlstm_ts import xLSTMForecaster

    params = dict(
        horizon=3,
        lookback=12,
        embedding_dim=8,
        num_heads=2,
        num_blocks=1,
        max_epochs=2,
        verbose=False,
        num_threads=1,
    )
    params.update(overrides)
    return xLSTMForecaster(**params)
