"""The constraint tables of the estimators, as a public module.

Every estimator of the package (the forecasters here, the sequence estimators of
:mod:`xlstm_ts.pipeline`, the tuning layer's search spaces) describes its hyperparameters with one table
of :class:`Param` entries, checks them at ``fit`` with :func:`validate` (sklearn's
``InvalidParameterError`` and message template, with the calling class's name) and snapshots them with
:func:`normalise` (numpy scalars become Python scalars).  The implementation lives in
``xlstm_ts.forecasting._constraints``; this module is the supported way to reach it from other
subpackages.

Examples
--------
>>> from xlstm_ts.forecasting.constraints import Param, validate
>>> validate({"max_epochs": Param("int", low=1)}, {"max_epochs": 0}, "Demo")
Traceback (most recent call last):
...
sklearn.utils._param_validation.InvalidParameterError: The 'max_epochs' parameter of Demo must be an int in the range [1, inf). Got 0 instead.
"""

from __future__ import annotations

from ._constraints import Param, fail, normalise, plain, validate

__all__ = ["Param", "fail", "normalise", "plain", "validate"]
