"""The scikit-learn estimator contract of ``xLSTMForecaster`` (docs/forecasting.md, "Hyperparameters").

``sklearn.utils.estimator_checks.check_estimator`` as a whole runs in ``test_contract.py`` (with its list
of expected failures: the checks that fit numpy feature matrices).  Here, the individual checks that need
no data (constructor, ``get_params``/``set_params``, ``clone``, ``repr``, tags) run on their own, and the
data-dependent parts of the contract (``fit`` returns self, unfitted errors, pickling, ``predict`` leaves
the fitted state alone) are tested directly with time-series input.
"""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError

from xlstm_ts import xLSTMForecaster
from xlstm_ts.nn import mLSTMBlockConfig, xLSTMBlockStackConfig

from .conftest import TINY, assert_same_state, fitted_state, tiny

PARAM_NAMES = list(inspect.signature(xLSTMForecaster.__init__).parameters)[1:]

# ---------------------------------------------------------------------------------- sklearn's checks
DATA_FREE_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_repr",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_cloneable",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_mixin_order",
]


@pytest.mark.parametrize("check", DATA_FREE_CHECKS)
def test_sklearn_data_free_checks(check):
    getattr(estimator_checks, check)("xLSTMForecaster", xLSTMForecaster())


# ------------------------------------------------------------------------------------- __init__
def test_init_stores_arguments_unchanged_and_validates_nothing():
    quantiles = [0.9, 0.1]  # invalid (unsorted, no 0.5) and a list: must be kept as is, same object
    trainer_kwargs = {"limit_train_batches": 1}
    future = ["promo"]
    est = xLSTMForecaster(
        horizon=0,
        lookback=-3,
        loss="not-a-loss",
        quantiles=quantiles,
        trainer_kwargs=trainer_kwargs,
        future_covariates=future,
        device="tpu",
    )
    assert est.horizon == 0 and est.lookback == -3 and est.loss == "not-a-loss" and est.device == "tpu"
    assert est.quantiles is quantiles and quantiles == [0.9, 0.1]
    assert est.trainer_kwargs is trainer_kwargs
    assert est.future_covariates is future


def test_init_has_keyword_only_parameters_with_attributes():
    signature = inspect.signature(xLSTMForecaster.__init__)
    for name in PARAM_NAMES:
        assert signature.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    est = xLSTMForecaster()
    for name in PARAM_NAMES:
        assert (
            getattr(est, name) is signature.parameters[name].default
            or getattr(est, name) == signature.parameters[name].default
        ), name


# ------------------------------------------------------------------------ get/set_params, clone
def test_get_params_lists_every_constructor_argument():
    params = tiny(horizon=5).get_params()
    assert sorted(params) == sorted(PARAM_NAMES)
    assert params["horizon"] == 5 and params["embedding_dim"] == TINY["embedding_dim"]


def test_set_params_round_trip():
    est = tiny()
    assert est.set_params(horizon=7, loss="quantile", quantiles=(0.2, 0.5, 0.8)) is est
    params = est.get_params()
    assert params["horizon"] == 7 and params["loss"] == "quantile" and params["quantiles"] == (0.2, 0.5, 0.8)
    again = xLSTMForecaster(**params)
    assert again.get_params() == params


def test_set_params_rejects_unknown_names():
    with pytest.raises(ValueError, match="horizont"):
        tiny().set_params(horizont=3)


def test_clone_copies_parameters_and_drops_fitted_state(series_model):
    copy = clone(series_model)
    assert copy.get_params() == series_model.get_params()
    assert not hasattr(copy, "network_")
    with pytest.raises(NotFittedError):
        copy.predict()


def test_clone_with_backbone_config_object():
    config = xLSTMBlockStackConfig(mlstm_block=mLSTMBlockConfig(), num_blocks=1, embedding_dim=8)
    est = tiny(backbone=config)
    copy = clone(est)
    assert copy.backbone is not config  # deep-copied by clone ...
    assert copy.backbone.to_dict() == config.to_dict()  # ... and equal


def test_fit_with_backbone_config_object(airline):
    config = xLSTMBlockStackConfig(mlstm_block=mLSTMBlockConfig(), num_blocks=1, embedding_dim=8)
    est = xLSTMForecaster(horizon=3, lookback=6, backbone=config, max_epochs=1, verbose=False, device="cpu")
    est.fit(airline)
    assert est.transform().shape == (1, 8)


# ------------------------------------------------------------------------------------------ fit
def test_fit_returns_self(airline):
    est = tiny(horizon=3, lookback=6, max_epochs=1)
    assert est.fit(airline) is est


def test_fit_accepts_and_ignores_y(airline):
    est = tiny(horizon=3, lookback=6, max_epochs=1)
    assert est.fit(airline, None) is est


def test_fit_sets_fitted_attributes(series_model):
    for name in ("network_", "scaler_", "freq_", "lookback_", "ids_", "n_series_", "layout_"):
        assert hasattr(series_model, name), name
    assert series_model.freq_ == "MS" and series_model.lookback_ == 36 and series_model.n_series_ == 1


def test_refit_replaces_fitted_state(airline, long_df):
    est = tiny(horizon=3, lookback=6, max_epochs=1).fit(airline)
    est.fit(long_df)
    assert est.layout_ == "long" and est.n_series_ == long_df["unique_id"].nunique()
    assert est.predict()["unique_id"].nunique() == est.n_series_


def test_same_random_state_gives_identical_models(airline):
    first = tiny(horizon=3, lookback=6, max_epochs=1, random_state=3).fit(airline).predict()
    second = tiny(horizon=3, lookback=6, max_epochs=1, random_state=3).fit(airline).predict()
    other = tiny(horizon=3, lookback=6, max_epochs=1, random_state=4).fit(airline).predict()
    pd.testing.assert_series_equal(first, second, check_exact=True)
    assert not np.allclose(first.to_numpy(), other.to_numpy())


def test_validation_size_with_early_stopping(airline):
    est = tiny(horizon=3, lookback=6, max_epochs=3, validation_size=0.2, early_stopping_patience=1)
    est.fit(airline)
    assert 0 <= est.best_epoch_ < est.n_epochs_ <= 3
    assert np.isfinite(est.predict().to_numpy()).all()


# ------------------------------------------------------------------------------------- not fitted
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda est, y, d: est.predict(), id="predict"),
        pytest.param(lambda est, y, d: est.predict(y), id="predict(X)"),
        pytest.param(lambda est, y, d: est.transform(), id="transform"),
        pytest.param(lambda est, y, d: est.save(d), id="save"),
        pytest.param(lambda est, y, d: est.score(y), id="score"),
        pytest.param(lambda est, y, d: est.backtest(y, n_windows=1), id="backtest"),
        pytest.param(lambda est, y, d: est.plot(), id="plot"),
    ],
)
def test_unfitted_use_raises_not_fitted_error(call, airline, tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        call(tiny(), airline, tmp_path)
    assert not any(tmp_path.iterdir())  # save wrote nothing


# --------------------------------------------------------------------------- invalid parameters
def test_invalid_horizon_message_is_sklearns_template(airline):
    est = tiny(horizon=0)
    expected = (
        "The 'horizon' parameter of xLSTMForecaster must be an int in the range [1, inf). Got 0 instead."
    )
    with pytest.raises(InvalidParameterError) as info:
        est.fit(airline)
    assert str(info.value) == expected
    assert isinstance(info.value, ValueError)
    assert not hasattr(est, "network_")


INVALID = [
    (
        "horizon",
        1.5,
        r"'horizon' parameter of xLSTMForecaster must be an int in the range \[1, inf\)\. Got 1.5",
    ),
    ("horizon", True, r"'horizon' parameter .* Got True instead"),
    ("horizon", "12", r"'horizon' parameter .* Got '12' instead"),
    ("lookback", 0, r"'lookback' parameter .* an int in the range \[1, inf\) or None\. Got 0 instead"),
    ("embedding_dim", 2, r"'embedding_dim' parameter .* range \[4, inf\)\. Got 2 instead"),
    ("num_blocks", 0, r"'num_blocks' parameter .* Got 0 instead"),
    ("num_heads", 0, r"'num_heads' parameter .* Got 0 instead"),
    ("dropout", 1.0, r"'dropout' parameter .* a float in the range \[0\.0, 1\.0\)\. Got 1\.0 instead"),
    ("dropout", -0.1, r"'dropout' parameter .* Got -0\.1 instead"),
    (
        "loss",
        "rmse",
        r"'loss' parameter of xLSTMForecaster must be a str among \{'huber', 'mae', 'mse', 'quantile'\}\. Got 'rmse' instead",
    ),
    ("scaler", "minmax", r"'scaler' parameter .* Got 'minmax' instead"),
    ("learning_rate", 0.0, r"'learning_rate' parameter .* Got 0\.0 instead"),
    ("learning_rate", "fast", r"'learning_rate' parameter .* Got 'fast' instead"),
    ("batch_size", 0, r"'batch_size' parameter .* Got 0 instead"),
    ("max_epochs", 0, r"'max_epochs' parameter .* Got 0 instead"),
    ("early_stopping_patience", 0, r"'early_stopping_patience' parameter .* or None\. Got 0 instead"),
    ("validation_size", 1.0, r"'validation_size' parameter .* \[0\.0, 1\.0\)\. Got 1\.0 instead"),
    ("stride", 0, r"'stride' parameter .* Got 0 instead"),
    ("patch_size", 0, r"'patch_size' parameter .* Got 0 instead"),
    ("fill_method", "bfill", r"'fill_method' parameter .* Got 'bfill' instead"),
    ("device", "tpu", r"'device' parameter .* Got 'tpu' instead"),
    ("random_state", -1, r"'random_state' parameter .* Got -1 instead"),
    ("trainer_kwargs", [("max_steps", 1)], r"'trainer_kwargs' parameter .* a dict or None"),
    ("backbone", "transformer", r"'backbone' parameter .* Got 'transformer' instead"),
]


@pytest.mark.parametrize(("name", "value", "match"), INVALID, ids=[f"{n}={v!r}" for n, v, _ in INVALID])
def test_invalid_parameter_raises_invalid_parameter_error(name, value, match, airline):
    est = (
        tiny(horizon=3, lookback=6, **{name: value})
        if name not in ("horizon", "lookback")
        else tiny(**{name: value})
    )
    with pytest.raises(InvalidParameterError, match=match):
        est.fit(airline)
    assert not hasattr(est, "network_")


@pytest.mark.parametrize(
    ("quantiles", "match"),
    [
        ((0.1, 0.9), r"'quantiles' parameter .* containing 0\.5"),
        ((0.9, 0.5, 0.1), r"'quantiles' parameter .* increasing"),
        ((0.0, 0.5, 1.0), r"'quantiles' parameter .* \(0, 1\)"),
        ((0.5, 0.5), r"'quantiles' parameter .* distinct"),
        ((), r"'quantiles' parameter .* non-empty"),
    ],
)
def test_invalid_quantiles(quantiles, match, airline):
    with pytest.raises(InvalidParameterError, match=match):
        tiny(horizon=3, lookback=6, loss="quantile", quantiles=quantiles).fit(airline)


def test_quantiles_are_not_checked_for_point_losses(airline):
    tiny(horizon=3, lookback=6, max_epochs=1, loss="mae", quantiles=(0.1, 0.9)).fit(airline)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(embedding_dim=8, num_heads=3), r"backbone hyperparameters.*num_heads=3"),
        (dict(backbone="mixed", num_blocks=2, slstm_at=[5]), r"backbone hyperparameters.*slstm_at"),
    ],
)
def test_inconsistent_backbone_hyperparameters(params, match, airline):
    est = tiny(horizon=3, lookback=6, **params)
    with pytest.raises(InvalidParameterError, match=match):
        est.fit(airline)
    assert not hasattr(est, "network_")


# --------------------------------------------------------------------------------------- pickle
@pytest.mark.parametrize("fixture", ["series_model", "long_q_model", "wide_model"])
def test_pickle_round_trip_predicts_identically(fixture, request):
    est = request.getfixturevalue(fixture)
    restored = pickle.loads(pickle.dumps(est))
    assert restored.get_params() == est.get_params()
    expected, got = est.predict(), restored.predict()
    if isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(got, expected, check_exact=True)
    else:
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    np.testing.assert_array_equal(restored.transform(), est.transform())


# ------------------------------------------------------------------- predict leaves state alone
def test_predict_and_friends_do_not_change_fitted_state(series_model, airline):
    before = fitted_state(series_model)
    series_model.predict()
    series_model.predict(airline[:-7] * 2.0)
    series_model.transform()
    series_model.transform(airline[:-3])
    series_model.score(airline)
    series_model.backtest(airline, n_windows=2)
    assert_same_state(before, fitted_state(series_model))
    assert series_model.predict().equals(series_model.predict())


def test_predict_with_new_series_does_not_change_fitted_state(wide_model, wide_df):
    before = fitted_state(wide_model)
    renamed = wide_df.rename(columns=lambda c: f"new_{c}") * 3.0
    wide_model.predict(renamed)
    assert_same_state(before, fitted_state(wide_model))


def test_predict_does_not_change_fitted_state_with_covariates(cov_model, cov_data):
    _, history, future = cov_data
    before = fitted_state(cov_model)
    cov_model.predict(history, X_future=future)
    assert_same_state(before, fitted_state(cov_model))


def test_trainer_kwargs_and_stride(airline):
    est = tiny(horizon=3, lookback=6, stride=4, trainer_kwargs={"limit_train_batches": 1}).fit(airline)
    assert est.get_params()["trainer_kwargs"] == {"limit_train_batches": 1}
    assert np.isfinite(est.predict().to_numpy()).all()


def test_fit_does_not_reseed_the_global_random_generators(airline):
    """``random_state`` seeds the estimator's own randomness; the user's global RNG streams (numpy,
    ``random``, torch) must not be reset by ``fit`` (sklearn's convention: no global seeding)."""
    import random

    import torch

    draws = []
    for seed in (1, 2):
        np.random.seed(seed)
        random.seed(seed)
        torch.manual_seed(seed)
        tiny(horizon=3, lookback=6, max_epochs=1, random_state=0).fit(airline)
        draws.append((np.random.rand(3).tolist(), random.random(), torch.rand(3).tolist()))
    assert draws[0][0] != draws[1][0], "fit reset numpy's global RNG"
    assert draws[0][1] != draws[1][1], "fit reset random's global RNG"
    assert draws[0][2] != draws[1][2], "fit reset torch's global RNG"


def test_quiet_fit_prints_nothing(airline, capfd):
    tiny(horizon=3, lookback=6, max_epochs=1, verbose=False).fit(airline).predict()
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)


def test_user_callbacks_are_added_to_the_forecasters_own():
    """trainer_kwargs["callbacks"] must not silently switch off early stopping / checkpointing."""
    import lightning as L

    from xlstm_ts import xLSTMForecaster
    from xlstm_ts.datasets import load_airline

    seen = {}

    class Spy(L.Callback):
        def on_fit_start(self, trainer, pl_module):
            seen["names"] = [type(cb).__name__ for cb in trainer.callbacks]

    xLSTMForecaster(
        horizon=6,
        max_epochs=2,
        embedding_dim=8,
        num_blocks=1,
        validation_size=0.2,
        verbose=False,
        trainer_kwargs={"callbacks": [Spy()]},
    ).fit(load_airline())
    assert {"Spy", "EarlyStopping", "ModelCheckpoint"} <= set(seen["names"])
