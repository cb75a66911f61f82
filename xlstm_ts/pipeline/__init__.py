"""scikit-learn estimators on sequences with an xLSTM backbone.

:class:`xLSTMEmbedder` (a transformer: windows -> embeddings, one row per window),
:class:`xLSTMRegressor` and :class:`xLSTMClassifier` take 2-D input ``[n, L]`` (n univariate sequences
of length L), 3-D input ``[n, L, C]`` (C channels per step) or a DataFrame whose rows are sequences.
:func:`sliding_windows` cuts one long series into such windows.  See ``docs/pipelines.md``.
"""

from ._sequences import sliding_windows
from .classifier import xLSTMClassifier
from .embedder import xLSTMEmbedder
from .regressor import xLSTMRegressor

__all__ = ["sliding_windows", "xLSTMClassifier", "xLSTMEmbedder", "xLSTMRegressor"]
