"""Hyperparameter search with Optuna: rolling-origin folds, pruning and a study that resumes.

Needs the ``tune`` extra (``pip install "xlstm-ts[tune]"``).  Runs on a CPU in about a minute::

    python examples/06_tuning.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for fewer trials and epochs (used by the test suite).

What it shows
-------------
* Why scikit-learn's ``TimeSeriesSplit`` is the wrong splitter for a long DataFrame of several series, and
  what ``PanelTimeSeriesSplit`` does instead.
* The default search space of ``xLSTMForecaster`` (derived from its constraint table).
* ``tune`` with a small conditional search space of its own, pruning on the validation loss, a journal
  file as storage (run the script twice with the same ``--storage`` to see it resume), and the best
  model refitted and scored once on a final month that the search never saw.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import TimeSeriesSplit

from xlstm_ts import xLSTMForecaster
from xlstm_ts.tuning import PanelTimeSeriesSplit, default_search_space, tune

FAST = os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1"
HORIZON = 7


def make_panel(n_series: int = 4, length: int = 140, seed: int = 0) -> pd.DataFrame:
    """Daily series with a weekly cycle, different levels and trends, and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(n_series):
        y = 20 + 5 * i + 0.03 * (i - 1) * t + 3 * np.sin(2 * np.pi * t / 7 + i) + rng.normal(0, 0.5, length)
        frames.append(
            pd.DataFrame(
                {"unique_id": f"store_{i}", "ds": pd.date_range("2024-01-01", periods=length), "y": y}
            )
        )
    return pd.concat(frames, ignore_index=True)


def describe_folds(df: pd.DataFrame, splitter, name: str) -> None:
    print(f"\n{name}:")
    for k, (train, test) in enumerate(splitter.split(df)):
        tr, te = df.iloc[train], df.iloc[test]
        scored = te.sort_values("ds").groupby("unique_id").tail(HORIZON)
        print(
            f"  fold {k}: trains on {tr.unique_id.nunique()} series up to {tr.ds.max().date()}, "
            f"scores {scored.unique_id.nunique()} series from {scored.ds.min().date()}"
        )


def space(trial) -> dict:
    """A small conditional space: the sLSTM position is only sampled for a mixed backbone."""
    backbone = trial.suggest_categorical("backbone", ["mlstm", "mixed"])
    params = {
        "lookback": HORIZON * trial.suggest_int("lookback_per_horizon", 2, 4),
        "embedding_dim": trial.suggest_categorical("embedding_dim", [16, 32]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 2e-2, log=True),
        "backbone": backbone,
        "num_blocks": 2,
    }
    if backbone == "mixed":
        params["slstm_at"] = [trial.suggest_int("slstm_at", 0, 1)]
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", help="journal file or database URL (default: a temporary file)")
    args = parser.parse_args()

    df = make_panel()
    last = df.ds.max() - pd.Timedelta(days=HORIZON)
    search_rows, final_rows = df[df.ds <= last], df  # the final week is scored once, after the search

    describe_folds(
        search_rows, TimeSeriesSplit(n_splits=3), "sklearn TimeSeriesSplit (splits rows: wrong here)"
    )
    describe_folds(search_rows, PanelTimeSeriesSplit(n_splits=3, horizon=HORIZON), "PanelTimeSeriesSplit")

    model = xLSTMForecaster(
        horizon=HORIZON,
        num_heads=2,
        max_epochs=2 if FAST else 8,
        validation_size=0.2,  # the validation loss of each epoch feeds the pruner
        early_stopping_patience=None,
        verbose=False,
        num_threads=1,
    )
    print("\nThe default search space of xLSTMForecaster (from its constraint table):")
    print("  " + default_search_space(model, max_lookback=70).describe().replace("\n", "\n  "))

    storage = args.storage or str(Path(tempfile.mkdtemp(prefix="xlstm_ts_tune_")) / "example.journal")
    print(f"\nTuning with a custom space, study stored in {storage}:")
    result = tune(
        model,
        search_rows,
        search_space=space,
        n_trials=3 if FAST else 10,
        cv=PanelTimeSeriesSplit(n_splits=2, horizon=HORIZON),
        storage=storage,
        study_name="example-06",
        random_state=0,
    )
    trials = result.trials_
    print(f"\n{len(trials)} trial(s): {trials['state'].value_counts().to_dict()}")
    print(f"best mean MAE over the folds: {result.best_score_:.3f} with {result.best_params_}")

    forecast = result.best_estimator_.predict()  # refitted on all the search rows
    truth = final_rows.merge(forecast, on=["unique_id", "ds"], suffixes=("", "_pred"))
    print(f"MAE of the best model on the held-out final week: {np.abs(truth.y - truth.y_pred).mean():.3f}")
    print(f"\nInspect the study:  optuna-dashboard {storage}")


if __name__ == "__main__":
    main()
