"""The ``xlstm-ts forecast`` command on the bundled data and on a user CSV (tiny settings)."""

from __future__ import annotations

import pandas as pd
import pytest

from xlstm_ts.cli import main
from xlstm_ts.datasets import load_airline_long


def test_forecast_on_bundled_data_prints_backtest_forecast_and_writes_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "fc.png"
    assert main(["forecast", "--quiet", "--max-epochs", "2", "--windows", "2", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "xLSTMForecaster" in out and "seasonal naive (m=12)" in out
    assert "1961-01-01" in out and "1961-12-01" in out
    assert plot.is_file() and plot.stat().st_size > 1000


def test_forecast_on_a_csv_with_several_series(tmp_path, capsys):
    long = load_airline_long()
    second = long.assign(unique_id="airline_x2", y=long["y"] * 2)
    csv = tmp_path / "data.csv"
    pd.concat([long, second]).rename(columns={"ds": "month", "y": "passengers"}).to_csv(csv, index=False)
    args = ["forecast", "--csv", str(csv), "--time-col", "month", "--target", "passengers", "--id-col",
            "unique_id", "--quiet", "--max-epochs", "1", "--windows", "1", "--no-plot", "--horizon", "6"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2 series" in out and "airline_x2" in out


def test_missing_column_is_a_clear_error(tmp_path):
    csv = tmp_path / "data.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(csv, index=False)
    with pytest.raises(SystemExit, match=r"column 'ds' not in data\.csv"):
        main(["forecast", "--csv", str(csv)])
