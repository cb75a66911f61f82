"""Regression tests of the defects found by probing the estimator layer (issue 10's list, by number).

Each test failed before its fix.  Models are tiny (see ``conftest.py``).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import warnings

import lightning as L
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from xlstm_ts import xLSTMForecaster
from xlstm_ts.data.errors import ColumnError
from xlstm_ts.forecasting.persistence import ModelFileError

from .conftest import long_panel, tiny


def _same(a, b):
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    else:
        pd.testing.assert_frame_equal(a, b, check_exact=True)


# --------------------------------------------------------------- 1. set_params after fit changes nothing
def test_set_params_after_fit_does_not_change_predict_backtest_or_save(airline, tmp_path):
    est = tiny(horizon=6, lookback=12, max_epochs=1, loss="quantile").fit(airline)
    forecast, result = est.predict(), est.backtest(airline, n_windows=2)
    est.set_params(loss="mae", quantiles=(0.2, 0.5, 0.8), horizon=3, lookback=4, scaler="none")
    _same(est.predict(), forecast)
    assert list(est.predict().columns) == ["passengers", "q0.1", "q0.5", "q0.9"]
    again = est.backtest(airline, n_windows=2)
    _same(again.forecasts, result.forecasts)
    assert again.overall == result.overall
    assert sorted(set(again.forecasts.groupby("window").size())) == [6]  # all 6 steps, not 1, 3, 5
    est.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    assert loaded.horizon == 6 and loaded.loss == "quantile"
    _same(loaded.predict(), forecast)
    est.fit(airline)  # ... and the new values take effect at the next fit
    assert len(est.predict()) == 3 and isinstance(est.predict(), pd.Series)


# ------------------------------------------------------------------------------ 2. atomic, whole saves
def _saver(path: str, seed: int, n: int) -> None:
    import torch

    torch.set_num_threads(1)
    from xlstm_ts.datasets import load_airline

    y = load_airline()
    est = xLSTMForecaster(
        horizon=3 + seed,
        lookback=6,
        embedding_dim=8,
        num_blocks=1,
        num_heads=2,
        max_epochs=1,
        verbose=False,
        device="cpu",
        random_state=seed,
    ).fit(y)
    for _ in range(n):
        est.save(path)


def test_concurrent_saves_and_loads_never_mix_or_fail(airline, tmp_path):
    path = tmp_path / "shared"
    tiny(horizon=3, lookback=6, max_epochs=1).fit(airline).save(path)
    (path / "notes.txt").write_text("mine")
    ctx = mp.get_context("spawn")
    writers = [ctx.Process(target=_saver, args=(str(path), s, 15)) for s in (0, 1)]
    for w in writers:
        w.start()
    horizons = set()
    try:
        while any(w.is_alive() for w in writers):
            model = xLSTMForecaster.load(path)  # never an error, never a mix
            assert model.network_.horizon == model.horizon == len(model.predict())
            horizons.add(model.horizon)
    finally:
        for w in writers:
            w.join(120)
    assert all(w.exitcode == 0 for w in writers)
    assert (path / "notes.txt").read_text() == "mine"  # unrelated files are kept
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "notes.txt"]
    assert xLSTMForecaster.load(path).horizon in (3, 4)


def test_edited_weights_file_is_refused(series_model, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    series_model.save(tmp_path)
    file = tmp_path / "model.safetensors"
    with safe_open(str(file), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(file))
    name = next(k for k in tensors if k.startswith("model."))
    tensors[name] = tensors[name] + 1.0
    save_file(tensors, str(file), metadata=metadata)
    with pytest.raises(ModelFileError, match="digest"):
        xLSTMForecaster.load(tmp_path)


def test_model_saved_by_an_older_version_fails_clearly(series_model, tmp_path):
    import torch
    from safetensors.torch import save_file

    (tmp_path / "config.json").write_text(json.dumps({"format_version": 1, "xlstm_ts_version": "0.1.0"}))
    save_file(
        {"network.w": torch.zeros(2)}, str(tmp_path / "model.safetensors"), metadata={"format": "xlstm_ts"}
    )
    with pytest.raises(
        ModelFileError, match=r"saved by an older version of xlstm_ts \(xlstm_ts 0\.1\.0, format version 1\)"
    ):
        xLSTMForecaster.load(tmp_path)


# --------------------------------------------------------------------------- 3. numpy hyperparameters
def test_numpy_scalar_hyperparameters_are_normalised_and_saved(airline, tmp_path):
    est = tiny(
        horizon=np.int64(3),
        lookback=np.int32(6),
        learning_rate=np.float32(3e-3),
        dropout=np.float64(0.0),
        max_epochs=np.int64(1),
        quantiles=np.array([0.1, 0.5, 0.9]),
        loss="quantile",
    ).fit(airline)
    assert type(est.params_["horizon"]) is int and type(est.params_["learning_rate"]) is float
    assert est.params_["quantiles"] == (0.1, 0.5, 0.9)
    est.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    _same(loaded.predict(), est.predict())


# --------------------------------------------------------------------------- 4. one covariate as a str
def test_single_covariate_name_as_a_string_is_one_column():
    df = long_panel(n_series=2, length=40)
    df["sensor"] = np.arange(len(df), dtype=float) % 7
    for c in "seno":  # columns named like the characters of "sensor" must not be picked up
        df[c] = 1.0
    est = tiny(horizon=3, lookback=6, max_epochs=1, past_covariates="sensor").fit(df)
    assert est.output_spec_.columns.past_covariates == ("sensor",)
    assert est.network_.n_past == 1


# ----------------------------------------------------------------------- 5. inconsistent saved models
def _rewrite(path, edit):
    from safetensors import safe_open
    from safetensors.torch import load_file

    from xlstm_ts.forecasting import persistence

    with safe_open(str(path / "model.safetensors"), framework="pt") as handle:
        config = json.loads(handle.metadata()["config"])
    tensors = load_file(str(path / "model.safetensors"))
    edit(config)
    for key in ("format_version", "xlstm_ts_version"):
        config.pop(key)
    persistence.write_model(path, config, tensors)  # a fresh digest: only the consistency checks can object


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c["fitted"].update(freq_="not-a-freq"), r"freq_ 'not-a-freq' is not a pandas frequency"),
        (lambda c: c["params"].update(horizon=5), r"horizon is 12 in the network but 5 in the parameters"),
        (lambda c: c["fitted"].update(lookback_=2.5), r"lookback_ must be an int >= 1"),
        (lambda c: c["fitted"].update(layout_="tall"), r"layout_ must be one of"),
        (lambda c: c["params"].update(loss="rmse"), r"'loss' parameter of xLSTMForecaster"),
        (lambda c: c.update({"class": "OtherForecaster"}), r"holds a OtherForecaster, not a xLSTMForecaster"),
    ],
    ids=["bad-freq", "horizon", "lookback", "layout", "loss", "class"],
)
def test_load_validates_the_config_against_weights_and_constraints(edit, match, series_model, tmp_path):
    series_model.save(tmp_path)
    _rewrite(tmp_path, edit)
    with pytest.raises((ModelFileError, InvalidParameterError), match=match):
        xLSTMForecaster.load(tmp_path)


def test_an_edited_frequency_is_detected(series_model, tmp_path):
    """Changing freq_ inside the file (monthly -> daily) without the digest is refused; editing the readable
    config.json copy changes nothing."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    series_model.save(tmp_path)
    copy = json.loads((tmp_path / "config.json").read_text())
    copy["fitted"]["freq_"] = "D"
    (tmp_path / "config.json").write_text(json.dumps(copy))
    assert str(xLSTMForecaster.load(tmp_path).predict().index.freq) == "<MonthBegin>"
    file = tmp_path / "model.safetensors"
    with safe_open(str(file), framework="pt") as handle:
        metadata = handle.metadata()
    config = json.loads(metadata["config"])
    config["fitted"]["freq_"] = "D"
    save_file(load_file(str(file)), str(file), metadata={**metadata, "config": json.dumps(config)})
    with pytest.raises(ModelFileError, match="digest"):
        xLSTMForecaster.load(tmp_path)


# ------------------------------------------------------------------------------------- 6. tuple ids
def test_tuple_series_ids_are_refused_at_fit():
    wide = pd.DataFrame(
        np.random.default_rng(0).normal(size=(40, 2)),
        index=pd.date_range("2024-01-01", periods=40, freq="h"),
        columns=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]),
    )
    est = tiny(horizon=3, lookback=6, max_epochs=1)
    with pytest.raises(
        ColumnError, match=r"Series ids must be strings or integers; got \('a', 1\).*join the levels"
    ):
        est.fit(wide)
    assert not hasattr(est, "params_")


# ------------------------------------------------------------------------------ 7. validated arguments
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            dict(n_windows=1.5),
            r"'n_windows' parameter of xLSTMForecaster\.backtest must be an int in the range \[1, inf\)\. Got 1\.5",
        ),
        (dict(step=2.5), r"'step' parameter of xLSTMForecaster\.backtest .* Got 2\.5"),
        (dict(season_length=-3), r"'season_length' parameter .* Got -3"),
        (dict(season_length=0), r"'season_length' parameter .* Got 0"),
        (dict(refit="yes"), r"'refit' parameter .* a bool\. Got 'yes'"),
    ],
)
def test_backtest_arguments_are_validated(kwargs, match, series_model, airline):
    with pytest.raises(InvalidParameterError, match=match):
        series_model.backtest(airline, **kwargs)


def test_quantiles_given_as_a_string_get_the_template_message(airline):
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'quantiles' parameter of xLSTMForecaster must be .*Got '0\.5' instead",
    ):
        tiny(loss="quantile", quantiles="0.5").fit(airline)


# -------------------------------------------------------------------------------- 8. scale-equivariance
@pytest.fixture(scope="module")
def equivariance_base(airline):
    params = dict(horizon=4, lookback=8, trainer_kwargs={"max_steps": 3}, max_epochs=1)
    y = airline.iloc[:60]
    return params, y, tiny(**params).fit(y).predict().to_numpy()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exponent=st.floats(-12, 12))
def test_forecasts_of_scaled_data_are_scaled_forecasts(exponent, equivariance_base):
    """For c > 0 (a negative c mirrors the series, which a network need not mirror)."""
    params, y, base = equivariance_base
    c = 10.0**exponent
    got = tiny(**params).fit(y * c).predict().to_numpy()
    np.testing.assert_allclose(got / c, base, rtol=2e-5)


@pytest.mark.parametrize("instance_norm", [True, False])
def test_a_large_offset_does_not_collapse_the_forecast(instance_norm, airline):
    y = airline.iloc[:60]
    params = dict(
        horizon=4, lookback=8, max_epochs=1, trainer_kwargs={"max_steps": 3}, instance_norm=instance_norm
    )
    base = tiny(**params).fit(y).predict().to_numpy()
    shifted = tiny(**params).fit(y + 1e12).predict().to_numpy() - 1e12
    assert np.ptp(shifted) > 0  # not a constant
    np.testing.assert_allclose(shifted, base, atol=1e-3 * np.ptp(y))


@pytest.mark.parametrize("scaler", ["standard", "robust", "none"])
def test_tiny_magnitude_series_keep_their_sign_and_shape(scaler, airline):
    y = airline.iloc[:60]
    params = dict(horizon=4, lookback=8, max_epochs=1, trainer_kwargs={"max_steps": 3}, scaler=scaler)
    base = tiny(**params).fit(y).predict().to_numpy()
    for c in (1e-11, 1e-13):
        np.testing.assert_allclose(tiny(**params).fit(y * c).predict().to_numpy() / c, base, rtol=2e-5)


# ------------------------------------------------------------------------------ 9. save with callbacks
def test_save_with_a_callback_in_trainer_kwargs(airline, tmp_path):
    class Noop(L.Callback):
        pass

    est = tiny(
        horizon=3, lookback=6, max_epochs=1, trainer_kwargs={"callbacks": [Noop()], "max_steps": 5}
    ).fit(airline)
    with pytest.warns(UserWarning, match=r"trainer_kwargs entries \['callbacks'\] .* not saved"):
        est.save(tmp_path / "m")
    loaded = xLSTMForecaster.load(tmp_path / "m")
    assert loaded.trainer_kwargs == {"max_steps": 5}
    _same(loaded.predict(), est.predict())


def test_a_failed_save_leaves_no_directory(series_model, tmp_path, monkeypatch):
    from xlstm_ts.forecasting import persistence

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        series_model.save(tmp_path / "new")
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------------- 12. max_steps shorter than an epoch
def test_max_steps_shorter_than_an_epoch_with_validation(airline):
    est = tiny(horizon=3, lookback=6, validation_size=0.2, batch_size=8, trainer_kwargs={"max_steps": 2}).fit(
        airline
    )
    assert np.isfinite(est.predict().to_numpy()).all()


# ------------------------------------------------------------------------ 13. non-crossing quantiles
def test_quantiles_never_cross(airline, long_df):
    est = tiny(
        horizon=6,
        lookback=12,
        loss="quantile",
        quantiles=(0.05, 0.1, 0.5, 0.9, 0.95),
        max_epochs=1,
        trainer_kwargs={"max_steps": 1},
        learning_rate=0.5,
    ).fit(airline)
    out = est.predict()[["q0.05", "q0.1", "q0.5", "q0.9", "q0.95"]].to_numpy()
    assert (np.diff(out, axis=1) >= 0).all()
    bt = (
        est.backtest(airline, n_windows=3)
        .forecasts[["y_q0.05", "y_q0.1", "y_q0.5", "y_q0.9", "y_q0.95"]]
        .to_numpy()
    )
    assert (np.diff(bt, axis=1) >= 0).all()


# ------------------------------------------------------------------------------- 17. CPU threads
def test_num_threads_is_used_and_restored(airline, monkeypatch):
    import torch

    seen = []

    class Spy(L.Callback):
        def on_train_start(self, trainer, pl_module):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    tiny(horizon=3, lookback=6, max_epochs=1, num_threads=2, trainer_kwargs={"callbacks": [Spy()]}).fit(
        airline
    )
    est = tiny(horizon=3, lookback=6, max_epochs=1, trainer_kwargs={"callbacks": [Spy()]}).fit(airline)
    assert seen == [2, 1]  # "auto": one thread for a small model
    est.predict()
    assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before
    with pytest.raises(InvalidParameterError, match=r"'num_threads' parameter .* 'auto' or an int"):
        tiny(num_threads=0).fit(airline)


def test_auto_threads_grow_with_the_work():
    from xlstm_ts.forecasting._training import SMALL_STEP_WORK, auto_threads

    assert auto_threads(SMALL_STEP_WORK / 10) == 1
    assert auto_threads(SMALL_STEP_WORK * 10) is None  # large work: torch's own setting


# --------------------------------------------------------------------------------- 16. quiet output
def test_verbose_fit_prints_one_line_and_no_banners(airline, capfd):
    with warnings.catch_warnings():
        tiny(horizon=3, lookback=6, max_epochs=3, verbose=True, validation_size=0.2).fit(airline)
    out, err = capfd.readouterr()
    text = out + err
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "xLSTMForecaster: 3 epoch(s)" in lines[0] and "val_loss" in lines[0]
    for banner in ("GPU available", "TPU available", "litlogger", "Tip", "LOCAL_RANK"):
        assert banner not in text


def test_fit_does_not_draw_from_the_callers_random_generators(airline):
    """Everything random in ``fit`` happens inside its own seeded block: the caller's global streams go on
    exactly where they were (the thread heuristic sizes the network on the meta device, drawing nothing)."""
    import random

    import torch

    def draws():
        return torch.rand(3).tolist(), np.random.rand(2).tolist(), random.random()

    torch.manual_seed(5), np.random.seed(5), random.seed(5)
    expected = draws()
    torch.manual_seed(5), np.random.seed(5), random.seed(5)
    tiny(horizon=3, lookback=6, max_epochs=1).fit(airline)
    assert draws() == expected
