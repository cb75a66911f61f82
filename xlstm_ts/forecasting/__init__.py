"""Forecasting estimators on pandas data (``xLSTMForecaster``), backtesting and persistence."""

from .backtest import BacktestResult, backtest
from .forecaster import xLSTMForecaster

__all__ = ["BacktestResult", "backtest", "xLSTMForecaster"]
