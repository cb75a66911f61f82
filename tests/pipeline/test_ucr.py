"""Measured on real data: BasicMotions (UEA, bundled inside the ``sktime`` wheel; loaded in tests only),
on its own train/test split, with one fixed seed and the library's default hyperparameters (nothing was
tuned on the test split; ``benchmarks/pipeline_ucr.py`` prints the numbers over three seeds and
docs/benchmarks.md records them).  Both the classifier and the embedder + logistic regression must beat a
logistic regression on the raw values.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from xlstm_ts.pipeline import xLSTMClassifier, xLSTMEmbedder

datasets = pytest.importorskip(
    "sktime.datasets",
    reason="needs sktime, whose wheel bundles the UCR/UEA sets this test reads (pip install --no-deps sktime scikit-base)",
)


def _split(split: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = datasets.load_basic_motions(split=split, return_type="numpy3D")  # [n, C, L]
    return np.ascontiguousarray(X.transpose(0, 2, 1)), np.asarray(y)  # -> [n, L, C]


@pytest.fixture(scope="module")
def basic_motions():
    return (*_split("train"), *_split("test"))


@pytest.fixture(scope="module")
def raw_accuracy(basic_motions):
    X_train, y_train, X_test, y_test = basic_motions
    flat = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    flat.fit(X_train.reshape(len(X_train), -1), y_train)
    return flat.score(X_test.reshape(len(X_test), -1), y_test)


def test_the_data_is_the_multivariate_ucr_set(basic_motions):
    X_train, y_train, X_test, _ = basic_motions
    assert X_train.shape == (40, 100, 6) and X_test.shape == (40, 100, 6)
    assert len(np.unique(y_train)) == 4


def test_classifier_beats_logistic_regression_on_raw_values(basic_motions, raw_accuracy):
    X_train, y_train, X_test, y_test = basic_motions
    accuracy = xLSTMClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    assert accuracy > raw_accuracy, f"xLSTMClassifier {accuracy:.3f} vs raw LR {raw_accuracy:.3f}"


def test_embedder_with_logistic_regression_beats_raw_values(basic_motions, raw_accuracy):
    X_train, y_train, X_test, y_test = basic_motions
    model = make_pipeline(xLSTMEmbedder(random_state=0), StandardScaler(), LogisticRegression(max_iter=5000))
    accuracy = model.fit(X_train, y_train).score(X_test, y_test)
    assert accuracy > raw_accuracy, f"embedder + LR {accuracy:.3f} vs raw LR {raw_accuracy:.3f}"
