"""Behaviour of the sequence estimators beyond sklearn's generic checks: 2-D/3-D/DataFrame input,
Pipelines and model selection with time-series splits, clone/pickle/set_output, reproducibility, the
fitted snapshot, input left unchanged, typed errors, and the embedder taken from a forecaster."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import xlstm_ts
from xlstm_ts.pipeline import sliding_windows, xLSTMClassifier, xLSTMEmbedder, xLSTMRegressor

from .conftest import FAST

ALL = (xLSTMEmbedder, xLSTMRegressor, xLSTMClassifier)


def _fit(cls, X, freq, labels, **params):
    est = cls(**{**FAST, **params})
    return est.fit(X, labels if cls is xLSTMClassifier else freq)


def _output(est, X):
    if isinstance(est, xLSTMEmbedder):
        return est.transform(X)
    if isinstance(est, xLSTMClassifier):
        return est.predict_proba(X)
    return est.predict(X)


def test_top_level_package_re_exports_the_estimators():
    assert xlstm_ts.xLSTMEmbedder is xLSTMEmbedder
    assert xlstm_ts.xLSTMRegressor is xLSTMRegressor and xlstm_ts.xLSTMClassifier is xLSTMClassifier
    assert {"xLSTMEmbedder", "xLSTMRegressor", "xLSTMClassifier"} <= set(xlstm_ts.__all__)


# ------------------------------------------------------------------------------------------ input
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_2d_input_is_the_same_as_3d_with_one_channel(cls, waves):
    X, freq, labels = waves
    flat = _fit(cls, X[..., 0], freq, labels)
    deep = _fit(cls, X[..., :1], freq, labels)
    assert flat.n_features_in_ == deep.n_features_in_ == 20 and flat.n_channels_in_ == 1
    np.testing.assert_allclose(_output(flat, X[:5, :, 0]), _output(deep, X[:5, :, :1]))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_3d_input_uses_every_channel(cls, waves):
    X, freq, labels = waves
    est = _fit(cls, X, freq, labels)
    assert est.n_channels_in_ == 2
    changed = X[:5].copy()
    changed[..., 1] += 1.0  # only the second channel moves
    assert not np.allclose(_output(est, X[:5]), _output(est, changed))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_dataframe_input_records_feature_names(cls, waves):
    X, freq, labels = waves
    frame = pd.DataFrame(X[..., 0], columns=[f"t{i}" for i in range(20)])
    est = _fit(cls, frame, freq, labels)
    assert list(est.feature_names_in_) == list(frame.columns)
    with pytest.warns(UserWarning, match="fitted with feature names"):  # sklearn's warning for arrays
        from_array = _output(est, X[:4, :, 0])
    np.testing.assert_allclose(_output(est, frame.iloc[:4]), from_array)
    with pytest.raises(ValueError, match="feature names"):
        _output(est, frame.iloc[:4, ::-1])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_input_is_never_modified(cls, waves):
    X, freq, labels = waves
    before = X.copy()
    est = _fit(cls, X, freq, labels)
    _output(est, X)
    np.testing.assert_array_equal(X, before)


# ----------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_unfitted_use_raises_not_fitted(cls, waves):
    with pytest.raises(NotFittedError):
        _output(cls(), waves[0])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_wrong_length_or_channels_say_what_was_expected(cls, waves):
    X, freq, labels = waves
    est = _fit(cls, X, freq, labels)
    with pytest.raises(ValueError, match=r"X has 19 features, but .* is expecting 20 features"):
        _output(est, X[:, :19])
    with pytest.raises(ValueError, match=rf"X has 1 channels, but {cls.__name__} is expecting 2 channels"):
        _output(est, X[:, :, :1])


def test_four_dimensional_input_is_rejected(waves):
    X, freq, _ = waves
    with pytest.raises(ValueError, match=r"expects a 2-D array .* or a 3-D array .*got an array of shape"):
        xLSTMRegressor(**FAST).fit(X[..., None], freq)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"embedding_dim": 0},
            r"The 'embedding_dim' parameter of xLSTMRegressor must be an int in the range \[2, inf\)\. Got 0 instead\.",
        ),
        (
            {"pooling": "max"},
            r"The 'pooling' parameter of xLSTMRegressor must be a str among .*'both'.*Got 'max' instead",
        ),
        (
            {"learning_rate": -1.0},
            r"'learning_rate' parameter of xLSTMRegressor must be a float in the range \(0\.0, 10\.0\]",
        ),
        ({"device": "tpu"}, r"'device' parameter of xLSTMRegressor must be a str among"),
        (
            {"num_heads": 3},
            r"Invalid backbone hyperparameters for xLSTMRegressor: .*divisible by num_heads=3",
        ),
    ],
)
def test_bad_hyperparameters_raise_at_fit_with_sklearns_message(params, message, waves):
    X, freq, _ = waves
    est = xLSTMRegressor(**{**FAST, **params})  # __init__ accepts anything
    with pytest.raises(InvalidParameterError, match=message):
        est.fit(X, freq)


def test_bad_objective_names_the_embedder(waves):
    with pytest.raises(InvalidParameterError, match=r"'objective' parameter of xLSTMEmbedder .*'forecast'"):
        xLSTMEmbedder(objective="contrastive").fit(waves[0])


def test_forecast_objective_needs_two_steps_and_says_so(waves):
    with pytest.raises(ValueError, match=r"objective='forecast' needs sequences of at least 2 time steps"):
        xLSTMEmbedder(**FAST).fit(waves[0][:, :1])
    assert xLSTMEmbedder(**FAST, objective="reconstruct").fit_transform(waves[0][:, :1]).shape == (60, 16)


def test_single_class_is_rejected_with_the_reason(waves):
    X, _, _ = waves
    with pytest.raises(ValueError, match=r"needs at least 2 classes in y; got 1 class \('a'\)"):
        xLSTMClassifier(**FAST).fit(X, np.array(["a"] * len(X)))


def test_unavailable_device_is_a_typed_error(waves, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda', but no cuda device is available"):
        xLSTMRegressor(**{**FAST, "device": "cuda"}).fit(waves[0], waves[1])


# ----------------------------------------------------------------------------- parameters, state
def test_numpy_scalar_hyperparameters_are_normalised(waves):
    X, freq, _ = waves
    est = xLSTMRegressor(**{**FAST, "embedding_dim": np.int64(8), "learning_rate": np.float32(0.01)})
    est.fit(X, freq)
    assert type(est.params_["embedding_dim"]) is int and type(est.params_["learning_rate"]) is float
    assert est.embedding_dim.__class__ is np.int64  # the constructor value itself is left as given


def test_same_random_state_same_model_and_a_different_one_differs(waves):
    X, freq, _ = waves
    a, b = _fit(xLSTMRegressor, X, freq, None), _fit(xLSTMRegressor, X, freq, None)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c = _fit(xLSTMRegressor, X, freq, None, random_state=1)
    assert not np.allclose(a.predict(X), c.predict(X))


def test_fitting_does_not_move_the_callers_random_generators(waves):
    import torch

    X, freq, _ = waves
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _fit(xLSTMRegressor, X, freq, None)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_set_params_after_fit_takes_effect_at_the_next_fit(waves):
    X, freq, _ = waves
    est = _fit(xLSTMRegressor, X, freq, None)
    before = est.predict(X[:3])
    est.set_params(embedding_dim=16)
    np.testing.assert_array_equal(est.predict(X[:3]), before)
    assert est.params_["embedding_dim"] == 8
    est.fit(X, freq)
    assert est.params_["embedding_dim"] == 16


def test_training_lowers_the_loss(waves):
    X, freq, labels = waves
    for est in (
        _fit(xLSTMClassifier, X, freq, labels, max_epochs=10),
        _fit(xLSTMEmbedder, X, freq, labels, max_epochs=10),
        _fit(xLSTMEmbedder, X, freq, labels, max_epochs=10, objective="reconstruct"),
    ):
        assert len(est.loss_curve_) == 10 and est.loss_curve_[-1] < est.loss_curve_[0], type(est).__name__


def test_regressor_learns_the_frequency(waves):
    X, freq, _ = waves
    model = xLSTMRegressor(device="cpu", max_epochs=40).fit(X[:45], freq[:45])
    baseline = np.mean((freq[45:] - freq[:45].mean()) ** 2)
    assert np.mean((model.predict(X[45:]) - freq[45:]) ** 2) < 0.5 * baseline


def test_regressor_multioutput_shapes(waves):
    X, freq, _ = waves
    Y = np.stack([freq, -2 * freq], axis=1)
    est = _fit(xLSTMRegressor, X, Y, None)
    assert est.predict(X[:4]).shape == (4, 2) and est.n_outputs_ == 2
    one = _fit(xLSTMRegressor, X, freq[:, None], None)
    assert one.predict(X[:4]).shape == (4, 1)


def test_classifier_probabilities_and_labels_agree(waves):
    X, _, labels = waves
    clf = _fit(xLSTMClassifier, X, None, labels)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(clf.classes_) == ["fast", "slow"]
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


# ----------------------------------------------------------------------- sklearn composition
def test_embedder_in_a_pipeline_with_ridge_after_another_transformer(waves):
    X, freq, _ = waves
    flat = X[..., 0]
    model = Pipeline([("scale", StandardScaler()), ("embed", xLSTMEmbedder(**FAST)), ("ridge", Ridge())]).fit(
        flat, freq
    )
    assert model.predict(flat[:5]).shape == (5,)
    assert model.named_steps["embed"].n_features_in_ == 20


def test_grid_search_with_time_series_split(waves):
    X, freq, _ = waves
    search = GridSearchCV(
        make_pipeline(xLSTMEmbedder(**FAST), Ridge()),
        {"xlstmembedder__pooling": ["last", "mean"], "ridge__alpha": [1.0]},
        cv=TimeSeriesSplit(n_splits=2),
    ).fit(X, freq)
    assert search.best_params_["xlstmembedder__pooling"] in ("last", "mean")
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_grid_search_over_classifier_parameters(waves):
    X, _, labels = waves
    search = GridSearchCV(
        xLSTMClassifier(**FAST), {"pooling": ["last", "both"]}, cv=TimeSeriesSplit(n_splits=2)
    ).fit(X, labels)
    assert search.best_estimator_.predict(X[:3]).shape == (3,)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_clone_keeps_parameters_and_drops_the_fit(cls, waves):
    X, freq, labels = waves
    est = _fit(cls, X, freq, labels)
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "network_")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_pickle_round_trip_gives_the_same_outputs(cls, waves):
    X, freq, labels = waves
    est = _fit(cls, X, freq, labels)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_output(again, X), _output(est, X))


def test_set_output_pandas_names_the_embedding_columns(waves):
    X, _, _ = waves
    embedder = xLSTMEmbedder(**FAST, pooling="last").set_output(transform="pandas")
    frame = embedder.fit_transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [f"xlstmembedder{i}" for i in range(8)]
    assert list(embedder.get_feature_names_out()) == list(frame.columns)


def test_embedding_width_follows_pooling(waves):
    X, _, _ = waves
    assert xLSTMEmbedder(**FAST, pooling="both").fit_transform(X).shape == (60, 16)
    assert xLSTMEmbedder(**FAST, pooling="mean").fit_transform(X).shape == (60, 8)


# ------------------------------------------------------------------------------- from_forecaster
@pytest.fixture(scope="module")
def forecaster():
    from xlstm_ts import xLSTMForecaster
    from xlstm_ts.datasets import load_airline

    y = load_airline()
    model = xLSTMForecaster(horizon=6, lookback=24, embedding_dim=16, max_epochs=1, verbose=False)
    return model.fit(y), y


def test_from_forecaster_reuses_its_backbone(forecaster):
    model, y = forecaster
    windows = sliding_windows(y.to_numpy(), 24, stride=6)
    embedder = xLSTMEmbedder.from_forecaster(model, pooling="last")
    emb = embedder.fit_transform(windows)
    assert emb.shape == (len(windows), 16) and embedder.loss_curve_ == []
    # the last hidden state of the most recent window is what the forecaster's own transform returns
    # (up to its per-series scaler, which instance normalisation cancels)
    np.testing.assert_allclose(emb[-1], model.transform()[0], rtol=1e-3, atol=1e-4)
    before = {k: v.clone() for k, v in model.network_.state_dict().items()}
    embedder.fit(windows)
    for key, value in model.network_.state_dict().items():
        assert bool((value == before[key]).all()), key  # the forecaster's network is copied, never trained


def test_from_forecaster_survives_clone_in_a_pipeline(forecaster):
    model, y = forecaster
    windows = sliding_windows(y.to_numpy(), 24, stride=3)
    target = np.arange(len(windows)) % 2
    pipe = make_pipeline(xLSTMEmbedder.from_forecaster(model), LogisticRegression(max_iter=500))
    fitted = clone(pipe).fit(windows, target)
    assert fitted.predict(windows[:2]).shape == (2,)
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(fitted)).predict_proba(windows), fitted.predict_proba(windows)
    )


def test_from_forecaster_checks_channels_and_kind(forecaster):
    model, y = forecaster
    windows = sliding_windows(y.to_numpy(), 24)
    with pytest.raises(
        ValueError, match=r"expects 1 channel\(s\) \(the target and 0 past covariate\(s\)\); got 2"
    ):
        xLSTMEmbedder.from_forecaster(model).fit(np.stack([windows, windows], axis=-1))
    with pytest.raises(
        InvalidParameterError, match=r"'forecaster' parameter of xLSTMEmbedder must be a fitted"
    ):
        xLSTMEmbedder(forecaster=Ridge()).fit(windows)
    from xlstm_ts import xLSTMForecaster

    with pytest.raises(NotFittedError):
        xLSTMEmbedder.from_forecaster(xLSTMForecaster())


# ------------------------------------------------------------------------------- sliding_windows
def test_sliding_windows_shapes_and_values():
    series = np.arange(10.0)
    windows = sliding_windows(series, 4, stride=3)
    np.testing.assert_array_equal(windows, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    frame = pd.DataFrame({"a": series, "b": -series})
    deep = sliding_windows(frame, 4)
    assert deep.shape == (7, 4, 2)
    np.testing.assert_array_equal(deep[2, :, 1], -series[2:6])
    with pytest.raises(ValueError, match="fewer than length=11"):
        sliding_windows(series, 11)
    with pytest.raises(ValueError, match=r"stride must be an int >= 1; got 0"):
        sliding_windows(series, 3, stride=0)


def test_windows_from_a_dataframe_feed_a_pipeline(waves):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"load": rng.normal(size=200).cumsum(), "temp": rng.normal(size=200)})
    windows = sliding_windows(frame.iloc[:-1], 16)  # each window's next "load" value is its target
    target = frame["load"].to_numpy()[16:]
    model = make_pipeline(xLSTMEmbedder(**FAST), Ridge()).fit(windows, target)
    assert model.predict(windows[:3]).shape == (3,)
    flatten = FunctionTransformer(lambda a: a.reshape(len(a), -1))
    assert make_pipeline(flatten, Ridge()).fit(windows, target).predict(windows[:3]).shape == (3,)
