"""Saving and loading a fitted forecaster: safetensors weights and a JSON config, no pickle.

Runs on a CPU in well under a minute::

    python examples/05_save_load.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for a much smaller model and fewer epochs (used by the test suite).

What it shows
-------------
``model.save(directory)`` writes ``model.safetensors`` (network weights, scaler statistics and the stored
prediction context, with the config -- hyperparameters, fitted metadata, library version -- and a digest in
its metadata) atomically, plus ``config.json``, a readable copy of that config;
``xLSTMForecaster.load(directory)`` checks the digest and rebuilds the model, which predicts exactly as the original, both
from the stored context and from new history.  The script exits non-zero if the predictions differ.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from xlstm_ts import xLSTMForecaster
from xlstm_ts.datasets import make_synthetic

FAST = os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1"


def settings() -> dict:
    common = dict(horizon=12, lookback=36, loss="quantile", random_state=0, verbose=False)
    if FAST:
        return dict(common, max_epochs=2, embedding_dim=16, num_blocks=1, num_heads=2)
    return dict(common, max_epochs=10)


def main() -> None:
    df = make_synthetic(n_series=3, length=200, covariates=False, seed=1)
    model = xLSTMForecaster(**settings()).fit(df)
    before = model.predict()

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "synthetic-model"
        model.save(directory)
        for path in sorted(directory.iterdir()):
            print(f"{path.name:20s} {path.stat().st_size:>9,d} bytes")
        config = json.loads((directory / "config.json").read_text())  # the readable copy
        print(
            f"saved by xlstm_ts {config['xlstm_ts_version']} (format {config['format_version']}), "
            f"sha256 {config['sha256'][:12]}..."
        )

        loaded = xLSTMForecaster.load(directory)

    after = loaded.predict()
    pd.testing.assert_frame_equal(after, before, check_exact=True)
    newer = df.groupby("unique_id").head(150)  # forecast from other history, without refitting
    pd.testing.assert_frame_equal(loaded.predict(newer), model.predict(newer), check_exact=True)
    print("\nthe loaded model predicts exactly as the original:")
    print(after.head(6).to_string(index=False, float_format="{:.3f}".format))


if __name__ == "__main__":
    main()
