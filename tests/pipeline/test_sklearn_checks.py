"""scikit-learn's estimator checks on the three sequence estimators, with their default settings.

2-D input counts as univariate sequences (``[n, L]``: each column is a time step), so sklearn's standard
checks apply as they are: fitting, predicting and transforming numpy feature matrices, DataFrames, lists,
read-only memmaps, bad input (NaN, inf, complex, sparse, objects, empty), pickling, ``clone``,
``set_output``, subset and order invariance, idempotent refits, and the accuracy bars of
``check_classifiers_train`` and ``check_regressors_train``.

``EXPECTED_FAILED_CHECKS`` lists the checks each estimator is known to fail, with a one-line reason. It is
empty for all three: with their default settings every check passes (scikit-learn 1.9.1; the
``check_array_api_input`` check skips itself unless ``SCIPY_ARRAY_API`` is set).  A check that starts
failing fails this file; accepting it means listing it here with its reason.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from xlstm_ts.pipeline import xLSTMClassifier, xLSTMEmbedder, xLSTMRegressor

ESTIMATORS = [xLSTMEmbedder(), xLSTMRegressor(), xLSTMClassifier()]

#: class name -> {check name: why it fails}.  Nothing is expected to fail (see the module docstring).
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "xLSTMEmbedder": {},
    "xLSTMRegressor": {},
    "xLSTMClassifier": {},
}


def _expected_failures(estimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_tags_say_what_each_estimator_is(estimator):
    tags = estimator.__sklearn_tags__()
    assert tags.input_tags.three_d_array and tags.requires_fit and not tags.non_deterministic
    kind = type(estimator).__name__
    assert tags.estimator_type == {"xLSTMRegressor": "regressor", "xLSTMClassifier": "classifier"}.get(kind)
    assert (tags.transformer_tags is not None) == (kind == "xLSTMEmbedder")
    assert tags.target_tags.required == (kind != "xLSTMEmbedder")
    assert tags.target_tags.multi_output == (kind == "xLSTMRegressor")
