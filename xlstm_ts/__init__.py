"""xlstm-ts: xLSTM time-series forecasting with a scikit-learn-style API.

The estimator is :class:`xLSTMForecaster`; the backbone lives in :mod:`xlstm_ts.nn` and its kernels in :mod:`xlstm_ts.kernels`.
"""

from ._version import __version__
from .forecasting import xLSTMForecaster
from .nn import (
    FeedForwardConfig,
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMBlockStack,
    xLSTMBlockStackConfig,
    xLSTMLMModel,
    xLSTMLMModelConfig,
)

__all__ = [
    "xLSTMForecaster",
    "FeedForwardConfig",
    "__version__",
    "mLSTMBlockConfig",
    "mLSTMLayerConfig",
    "sLSTMBlockConfig",
    "sLSTMLayerConfig",
    "xLSTMBlockStack",
    "xLSTMBlockStackConfig",
    "xLSTMLMModel",
    "xLSTMLMModelConfig",
]
