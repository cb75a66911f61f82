"""Covariates: future-known, past-only and static columns on a synthetic hourly panel.

Runs on a CPU in well under a minute::

    python examples/03_covariates.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for a much smaller model, shorter series and fewer epochs (used by the
test suite).

What it shows
-------------
``make_synthetic`` builds a long DataFrame (``unique_id``, ``ds``, ``y``) with

* ``promo`` and ``season_sin``: **future-known** covariates (planned promotions, a calendar feature);
  the model reads them over the history and over the horizon, so ``predict`` needs their future values
  in ``X_future``;
* ``sensor``: a **past-only** covariate, known up to the present;
* ``store_size``: a **static** covariate, one value per series.

The last ``HORIZON`` hours of each series are held out; a model with covariates and one without are
compared on them.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from xlstm_ts import xLSTMForecaster
from xlstm_ts.data.errors import ColumnError
from xlstm_ts.datasets import (
    SYNTHETIC_FUTURE_COVARIATES,
    SYNTHETIC_PAST_COVARIATES,
    SYNTHETIC_STATIC_COVARIATES,
    make_synthetic,
)

FAST = os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1"
HORIZON = 24  # hours


def settings() -> dict:
    common = dict(horizon=HORIZON, lookback=48, random_state=0, verbose=False)
    if FAST:
        return dict(common, max_epochs=2, embedding_dim=16, num_blocks=1, num_heads=2)
    return dict(common, max_epochs=15, embedding_dim=32, num_blocks=1)


def main() -> None:
    length = 150 if FAST else 400
    df = make_synthetic(n_series=3, length=length, freq="h", seed=1)
    print(f"{df['unique_id'].nunique()} series x {length} hours; columns: {list(df.columns)}")

    # Hold out the last HORIZON hours of every series.
    history = df.groupby("unique_id", sort=False).head(length - HORIZON).reset_index(drop=True)
    held_out = df.groupby("unique_id", sort=False).tail(HORIZON).reset_index(drop=True)
    # What is known about the future: ids, timestamps and the future-known covariates only.
    x_future = held_out[["unique_id", "ds", *SYNTHETIC_FUTURE_COVARIATES]]

    model = xLSTMForecaster(
        future_covariates=SYNTHETIC_FUTURE_COVARIATES,
        past_covariates=SYNTHETIC_PAST_COVARIATES,
        static_covariates=SYNTHETIC_STATIC_COVARIATES,
        **settings(),
    ).fit(history)

    try:
        model.predict(history)
    except ColumnError as err:  # future covariates are required for the horizon
        print(f"\nwithout X_future: {type(err).__name__}: {str(err)[:100]}...")

    forecast = model.predict(history, X_future=x_future)
    print("\nfirst forecast rows:")
    print(forecast.head(6).to_string(index=False, float_format="{:.2f}".format))

    plain = xLSTMForecaster(**settings()).fit(history[["unique_id", "ds", "y"]])
    plain_forecast = plain.predict(history[["unique_id", "ds", "y"]])

    rows = []
    for sid, truth in held_out.groupby("unique_id", sort=False):
        with_cov = forecast.loc[forecast["unique_id"] == sid, "y"].to_numpy()
        without = plain_forecast.loc[plain_forecast["unique_id"] == sid, "y"].to_numpy()
        actual = truth["y"].to_numpy()
        rows.append(
            {
                "series": sid,
                "promo hours": int(truth["promo"].sum()),
                "MAE with covariates": np.abs(with_cov - actual).mean(),
                "MAE target only": np.abs(without - actual).mean(),
            }
        )
    print("\nheld-out MAE per series:")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
