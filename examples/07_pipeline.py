"""The xLSTM backbone as scikit-learn pipeline steps: classification and regression on windows.

Runs on a CPU in well under a minute::

    python examples/07_pipeline.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for fewer epochs (used by the test suite; the scores are then rough).

What it shows
-------------
1. A time-series classification problem (which of three shapes a noisy, shifted pulse has), 3-D input
   ``[n, L, C]`` with two channels: ``xLSTMClassifier`` and ``xLSTMEmbedder`` + ``LogisticRegression``
   in a ``Pipeline``, next to a logistic regression on the raw values.
2. Regression on windows of one series: ``sliding_windows`` cuts the airline series into windows, the
   next month is the target, and ``GridSearchCV`` with ``TimeSeriesSplit`` picks the embedder's pooling
   and the ridge strength of ``xLSTMEmbedder`` + ``Ridge``.
3. ``xLSTMEmbedder.from_forecaster``: the backbone of a fitted ``xLSTMForecaster`` as the embedding step.
"""

from __future__ import annotations

import os

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from xlstm_ts import xLSTMClassifier, xLSTMEmbedder, xLSTMForecaster
from xlstm_ts.datasets import load_airline
from xlstm_ts.pipeline import sliding_windows

FAST = os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1"
EPOCHS = {"max_epochs": 5} if FAST else {}  # the defaults otherwise


def pulses(n: int, length: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of two channels: a pulse (square, triangle or sine bump) at a random position in
    channel 0, its running sum in channel 1, plus noise; the label is the pulse's shape."""
    rng = np.random.default_rng(seed)
    shapes = np.array(["square", "triangle", "bump"])
    labels = shapes[rng.integers(0, 3, size=n)]
    t = np.linspace(-1, 1, 16)
    forms = {"square": np.ones_like(t), "triangle": 1 - np.abs(t), "bump": np.cos(t * np.pi / 2) ** 4}
    X = np.zeros((n, length, 2))
    for i, label in enumerate(labels):
        start = rng.integers(0, length - 16)
        X[i, start : start + 16, 0] = forms[label] * rng.uniform(0.7, 1.3)
    X[..., 0] += 0.15 * rng.normal(size=(n, length))
    X[..., 1] = X[..., 0].cumsum(axis=1) / 4
    return X, labels


def classification() -> None:
    X_train, y_train = pulses(150, seed=0)
    X_test, y_test = pulses(150, seed=1)
    flatten = FunctionTransformer(lambda a: a.reshape(len(a), -1))
    models = {
        "logistic regression on the raw values": make_pipeline(
            flatten, StandardScaler(), LogisticRegression(max_iter=5000)
        ),
        "xLSTMClassifier": xLSTMClassifier(**EPOCHS),
        "xLSTMEmbedder + LogisticRegression": Pipeline(
            [
                ("embed", xLSTMEmbedder(**EPOCHS)),
                ("scale", StandardScaler()),
                ("logreg", LogisticRegression(max_iter=5000)),
            ]
        ),
    }
    print(f"1. pulse shapes: {X_train.shape} training windows [n, L, C], three classes")
    for name, model in models.items():
        accuracy = model.fit(X_train, y_train).score(X_test, y_test)
        print(f"   {name:<40s} test accuracy {accuracy:.3f}")
    proba = models["xLSTMClassifier"].predict_proba(X_test[:1])[0]
    classes = models["xLSTMClassifier"].classes_
    shown = ", ".join(f"{c}: {p:.3f}" for c, p in zip(classes.tolist(), proba))
    print(f"   probabilities of the first test window (a {y_test[0]}): {shown}")


def regression() -> None:
    y = load_airline().to_numpy()
    y = np.log(y)  # multiplicative seasonality -> additive
    windows = sliding_windows(y[:-1], 24)  # each window's next month is its target
    target = y[24:]
    n_test = 24
    search = GridSearchCV(
        make_pipeline(xLSTMEmbedder(**EPOCHS), Ridge()),
        {"xlstmembedder__pooling": ["last", "both"], "ridge__alpha": [0.1, 1.0]},
        cv=TimeSeriesSplit(n_splits=3),
        scoring="neg_mean_absolute_error",
    )
    search.fit(windows[:-n_test], target[:-n_test])
    predicted = search.predict(windows[-n_test:])
    mae = np.mean(np.abs(np.exp(predicted) - np.exp(target[-n_test:])))
    naive = np.mean(np.abs(np.exp(windows[-n_test:, -1]) - np.exp(target[-n_test:])))
    print(f"2. airline next month, GridSearchCV(TimeSeriesSplit) chose {search.best_params_}")
    print(f"   MAE on the last {n_test} months: {mae:.1f} passengers (last value: {naive:.1f})")


def from_forecaster() -> None:
    y = load_airline()
    forecaster = xLSTMForecaster(horizon=12, lookback=24, max_epochs=2 if FAST else 20, verbose=False)
    forecaster.fit(y)
    windows = sliding_windows(y.to_numpy(), 24)
    months = (np.arange(len(windows)) + 23) % 12  # calendar month of each window's last step
    summer = np.isin(months, [5, 6, 7]).astype(int)  # does the window end in June-August?
    model = make_pipeline(
        xLSTMEmbedder.from_forecaster(forecaster), StandardScaler(), LogisticRegression(max_iter=5000)
    )
    split = len(windows) * 2 // 3
    accuracy = model.fit(windows[:split], summer[:split]).score(windows[split:], summer[split:])
    print(f"3. forecaster backbone -> LogisticRegression, 'window ends in summer': accuracy {accuracy:.3f}")


if __name__ == "__main__":
    classification()
    regression()
    from_forecaster()
