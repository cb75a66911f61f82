"""Backtests, scores and plots: the evaluation part of :class:`~xlstm_ts.forecasting._base.BaseForecaster`.

The window forecasts come from the forecaster's own prediction path; the cutoffs, the refit histories and
the metrics from :mod:`xlstm_ts.forecasting.backtest`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ..data.validation import PanelData, check_min_length, future_index, parse_panel
from ._constraints import validate
from ._core import ForecasterCore
from .backtest import (
    BACKTEST_CONSTRAINTS,
    BacktestResult,
    backtest_cutoffs,
    score_windows,
    season_for,
    split_at,
)
from .output import forecast_arrays


class EvaluatingForecaster(ForecasterCore):
    """``backtest``, ``score`` and ``plot``, for :class:`BaseForecaster`."""

    # ------------------------------------------------------------------------------------ evaluation
    def backtest(
        self,
        X,
        n_windows: int = 3,
        step: int | None = None,
        refit: bool = False,
        season_length: int | None = None,
    ) -> BacktestResult:
        """Rolling-origin evaluation on ``X``.

        The last of the ``n_windows`` windows forecasts the final ``horizon`` steps of each series;
        earlier windows move back by ``step`` (default ``horizon``).  With ``refit=False`` the fitted
        model forecasts every window in one batched pass (each window scaled exactly as ``predict``
        would scale that history); with ``refit=True`` a clone is trained on each window's history.

        Returns
        -------
        BacktestResult
            Per-window metrics (MAE, MSE, MASE; quantile loss with quantiles), every forecast, and the
            overall metrics.
        """
        args = {"n_windows": n_windows, "step": step, "refit": refit, "season_length": season_length}
        validate(BACKTEST_CONSTRAINTS, args, f"{type(self).__name__}.backtest")
        if refit:
            params = self._check_params()
            freq = params["freq"]
        else:
            check_is_fitted(self, "params_")
            params, freq = self.params_, self.freq_
        H = params["horizon"]
        panel = parse_panel(
            X, columns=self._column_spec(params), freq=freq, fill_method=params["fill_method"]
        )
        cuts = backtest_cutoffs(panel.lengths(), H, n_windows, H if step is None else step)
        season = season_length or season_for(panel.freq)
        if refit:
            values, quantiles = self._refit_forecasts(X, panel, cuts, params)
        else:
            check_min_length(panel, self.lookback_, f"lookback ({self.lookback_})")
            values = self._window_forecasts(self._windows(panel, cuts), panel.n_series)
            quantiles = self.output_spec_.quantiles
        return score_windows(panel, cuts, values, quantiles, season)

    def _refit_forecasts(self, X, panel: PanelData, cuts, params) -> tuple[np.ndarray, tuple[float, ...]]:
        H, columns = params["horizon"], self._column_spec(params)
        per_window, quantiles = [], ()
        for w in range(len(cuts[0])):
            cut = [int(c[w]) for c in cuts]
            history, future_rows = split_at(X, panel, columns, cut, [c + H for c in cut])
            model = clone(self).fit(history)
            out = model.predict(history, X_future=future_rows if columns.future_covariates else None)
            per_window.append(forecast_arrays(model.output_spec_, out, list(panel.ids)))
            quantiles = model.output_spec_.quantiles
        return np.stack(per_window, axis=1), quantiles

    def score(self, X, y=None) -> float:
        """Negative MAE of forecasting the last ``horizon`` steps of each series of ``X`` from the rest
        (higher is better, as scikit-learn's model selection expects)."""
        return -float(self.backtest(X, n_windows=1, refit=False).overall["mae"])

    # ----------------------------------------------------------------------------------------- plot
    def plot(self, X=None, forecast=None, ax=None, series=None):
        """Plot the recent history, the forecast and (with quantiles) the outer quantile band.

        ``X`` defaults to the stored context; ``forecast`` to ``self.predict(X)``; ``series`` picks one
        series id (default: the first).  Returns the matplotlib Figure.
        """
        from .plotting import plot_forecast

        check_is_fitted(self, "params_")
        panel = self._history(X)  # parsed once, for the history and the forecast
        ids = list(panel.ids)
        sid = ids[0] if series is None else series
        if sid not in ids:
            raise ValueError(f"series {sid!r} is not among the forecast's series (e.g. {ids[:3]}).")
        i = ids.index(sid)
        spec = self.output_spec_
        arrays = self._panel_forecasts(panel) if forecast is None else forecast_arrays(spec, forecast, ids)
        values = arrays[i]  # [H, Q]
        n_hist = min(len(panel.target[i]), 4 * spec.horizon)
        future = future_index(panel.last_time(i), self.freq_, spec.horizon)
        return plot_forecast(
            panel.index[i][-n_hist:],
            panel.target[i][-n_hist:],
            future,
            values,
            spec.quantiles,
            title=f"{type(self).__name__}: {sid}",
            ax=ax,
        )
