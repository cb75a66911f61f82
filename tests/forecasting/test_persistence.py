"""``save``/``load``: a directory with ``model.safetensors`` (weights + config) and a readable
``config.json``, exact round trips in every layout, the library version recorded, and no unpickling
anywhere on the load path."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

import xlstm_ts
from xlstm_ts import xLSTMForecaster

from .conftest import assert_same_state, fitted_state, tiny

MODELS = ["series_model", "series_q_model", "long_model", "long_q_model", "wide_model", "wide_q_model"]


def assert_identical(a, b) -> None:
    assert type(a) is type(b)
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    else:
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_save_writes_exactly_two_files(series_model, tmp_path):
    target = tmp_path / "model"
    series_model.save(target)  # created if missing
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors"]


@pytest.mark.parametrize("fixture", MODELS)
def test_load_predicts_identically(fixture, request, tmp_path):
    est = request.getfixturevalue(fixture)
    est.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    assert isinstance(loaded, xLSTMForecaster)
    assert_identical(loaded.predict(), est.predict())
    np.testing.assert_array_equal(loaded.transform(), est.transform())


def test_load_predicts_identically_from_new_history(series_model, long_model, airline, long_df, tmp_path):
    for i, (est, data) in enumerate([(series_model, airline[:-5] * 1.5), (long_model, long_df.iloc[:-10])]):
        est.save(tmp_path / str(i))
        loaded = xLSTMForecaster.load(tmp_path / str(i))
        assert_identical(loaded.predict(data), est.predict(data))


def test_load_with_covariates(cov_model, cov_data, tmp_path):
    full, history, future = cov_data
    cov_model.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    assert_identical(loaded.predict(history, X_future=future), cov_model.predict(history, X_future=future))
    assert loaded.future_covariates == ("promo", "season_sin")
    pd.testing.assert_frame_equal(
        loaded.backtest(full, n_windows=2).windows, cov_model.backtest(full, n_windows=2).windows
    )


def test_load_with_patch_size(tmp_path, airline):
    est = tiny(horizon=4, lookback=10, patch_size=3, max_epochs=1).fit(airline)
    est.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    assert loaded.patch_size == 3
    assert_identical(loaded.predict(), est.predict())


def test_load_integer_time(tmp_path, airline):
    y = pd.Series(airline.to_numpy(), name="v")
    est = tiny(horizon=4, lookback=8, max_epochs=1).fit(y)
    est.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    assert_identical(loaded.predict(), est.predict())
    assert list(loaded.predict().index) == [144, 145, 146, 147]


def test_loaded_parameters_and_fitted_state_match(long_q_model, tmp_path):
    long_q_model.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    assert loaded.get_params() == long_q_model.get_params()
    assert_same_state(fitted_state(long_q_model), fitted_state(loaded))


def test_config_records_library_version_and_parameters(series_q_model, tmp_path):
    series_q_model.save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["xlstm_ts_version"] == xlstm_ts.__version__
    assert config["params"]["horizon"] == 12
    assert config["params"]["loss"] == "quantile"
    assert config["params"]["quantiles"] == [0.1, 0.5, 0.9]


def test_save_load_save_again(series_model, tmp_path):
    series_model.save(tmp_path / "a")
    loaded = xLSTMForecaster.load(tmp_path / "a")
    loaded.save(tmp_path / "b")
    again = xLSTMForecaster.load(tmp_path / "b")
    assert_identical(again.predict(), series_model.predict())


def test_save_overwrites_a_previous_model(series_model, long_model, tmp_path):
    long_model.save(tmp_path)
    series_model.save(tmp_path)
    assert_identical(xLSTMForecaster.load(tmp_path).predict(), series_model.predict())


def test_save_does_not_change_the_model(series_model, tmp_path):
    before = fitted_state(series_model)
    series_model.save(tmp_path)
    assert_same_state(before, fitted_state(series_model))


def test_save_with_backbone_config_object(airline, tmp_path):
    from xlstm_ts.nn import mLSTMBlockConfig, xLSTMBlockStackConfig

    config = xLSTMBlockStackConfig(mlstm_block=mLSTMBlockConfig(), num_blocks=1, embedding_dim=8)
    est = xLSTMForecaster(horizon=3, lookback=6, backbone=config, max_epochs=1, verbose=False, device="cpu")
    est.fit(airline).save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    assert isinstance(loaded.backbone, xLSTMBlockStackConfig)
    assert loaded.backbone.to_dict() == config.to_dict()
    assert_identical(loaded.predict(), est.predict())


def test_load_reads_only_the_weights_file(series_model, tmp_path):
    """config.json is a readable copy: the config that load uses lives in model.safetensors."""
    series_model.save(tmp_path)
    (tmp_path / "config.json").unlink()
    assert_identical(xLSTMForecaster.load(tmp_path).predict(), series_model.predict())


def test_load_without_the_weights_file_raises_file_not_found(series_model, tmp_path):
    series_model.save(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors"):
        xLSTMForecaster.load(tmp_path)


def test_load_missing_directory_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        xLSTMForecaster.load(tmp_path / "nothing-here")


def test_load_unknown_format_version_raises(series_model, tmp_path, monkeypatch):
    from xlstm_ts.forecasting import persistence

    monkeypatch.setattr(persistence, "FORMAT_VERSION", 999)
    series_model.save(tmp_path)
    monkeypatch.undo()
    with pytest.raises(persistence.ModelFileError, match=r"format version 999"):
        xLSTMForecaster.load(tmp_path)


def test_load_never_unpickles(series_q_model, tmp_path, monkeypatch):
    series_q_model.save(tmp_path)
    expected = series_q_model.predict()

    def forbidden(*args, **kwargs):
        raise AssertionError("load() must not unpickle anything")

    class ForbiddenUnpickler:
        def __init__(self, *args, **kwargs):
            forbidden()

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", ForbiddenUnpickler)
    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(np, "load", forbidden)
    loaded = xLSTMForecaster.load(tmp_path)
    assert_identical(loaded.predict(), expected)


def test_load_keeps_a_named_time_zone(tmp_path):
    """Timestamps in a named zone (with daylight saving) come back in that zone, not as a fixed offset:
    a daily forecast across the DST change must stay at local midnight after loading."""
    from .conftest import long_panel

    df = long_panel(n_series=2, length=40)
    df["ds"] = list(pd.date_range("2024-02-20", periods=40, freq="D", tz="Europe/Berlin")) * 2
    est = tiny(horizon=4, lookback=8, max_epochs=1).fit(df)  # ends 2024-03-30; forecast crosses 03-31
    est.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    expected = est.predict()
    assert str(expected["ds"].dt.tz) == "Europe/Berlin"
    assert (expected["ds"].dt.hour == 0).all()
    assert_identical(loaded.predict(), expected)
