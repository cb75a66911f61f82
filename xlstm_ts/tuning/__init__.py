"""Hyperparameter search for the forecasters (Optuna, the optional extra ``tune``) and a time splitter
for panels that scikit-learn's model selection understands.

``import xlstm_ts.tuning`` does not import Optuna: :class:`PanelTimeSeriesSplit` and the search spaces
work without it, and :func:`tune` imports it when called (an ImportError names the extra to install).
See ``docs/tuning.md``.
"""

from .search import METRICS, TuneResult, tune
from .spaces import Dimension, SearchSpace, default_search_space
from .splitters import PanelTimeSeriesSplit

__all__ = [
    "tune",
    "TuneResult",
    "METRICS",
    "PanelTimeSeriesSplit",
    "SearchSpace",
    "Dimension",
    "default_search_space",
]
