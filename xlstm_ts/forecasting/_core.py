"""The core of every forecaster: parameters and their snapshot, the protocol, ``fit`` and ``predict``.

See :mod:`xlstm_ts.forecasting._base` for the protocol a concrete forecaster implements.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..data.errors import ColumnError
from ..data.scaling import SCALING_METHODS, PanelScaler
from ..data.validation import (
    ColumnSpec,
    PanelData,
    check_min_length,
    parse_future_covariates,
    parse_panel,
)
from ..data.windowing import WindowDataset
from ._constraints import Param, normalise, validate
from ._training import auto_threads, seeded, torch_threads
from .output import OutputSpec, format_forecast, history_index

FILL_METHODS = (None, "ffill", "interpolate", "zero")

#: The parameters every forecaster has.
BASE_CONSTRAINTS: dict[str, Param] = {
    "horizon": Param("int", low=1),
    # tuning: 2 to 8 horizons of history
    "lookback": Param("int", low=1, none=True, search=(2, 8), per="horizon"),
    "scaler": Param("choice", choices=SCALING_METHODS, search=("standard", "robust")),
    "validation_size": Param("float", low=0.0, high=1.0, closed="left"),
    "id_col": Param("str"),
    "time_col": Param("str"),
    "target_col": Param("str"),
    "future_covariates": Param("names", none=True),
    "past_covariates": Param("names", none=True),
    "static_covariates": Param("names", none=True),
    "freq": Param("str", none=True),
    "fill_method": Param("choice", choices=FILL_METHODS),
    "random_state": Param("int", low=0, none=True),
    "num_threads": Param("threads"),
    "verbose": Param("bool"),
}
_JSON_IDS = (str, int)
#: The default lookback of long series (two weeks of hourly rows; PatchTST's and DLinear's L = 336) and how
#: many windows' worth of training rows make a series long (docs/forecasting.md, "Defaults that adapt").
LONG_LOOKBACK = 336
LONG_SERIES = 8


class ForecasterCore(BaseEstimator):
    """Parameters, the protocol, ``fit`` and ``predict`` (see :mod:`xlstm_ts.forecasting._base`)."""

    _parameter_constraints: ClassVar[dict[str, Param]] = BASE_CONSTRAINTS

    @classmethod
    def parameter_constraints(cls) -> dict[str, Param]:
        """The class's constraint table, ``name -> Param`` (a copy): what each hyperparameter may be, and the
        search hints :func:`xlstm_ts.tuning.default_search_space` reads.

        >>> from xlstm_ts import xLSTMForecaster
        >>> xLSTMForecaster.parameter_constraints()["horizon"].describe()
        'an int in the range [1, inf)'
        """
        return dict(cls._parameter_constraints)

    # ------------------------------------------------------------------------------------ the protocol
    def _fit_model(self, train: WindowDataset, val: WindowDataset | None) -> None:
        """Learn the model from scaled windows; read parameters from ``self.params_``."""
        raise NotImplementedError

    def _forecast_batch(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        """Scaled forecasts ``[B, H, Q]`` (float) of a batch of windows (keys of :class:`WindowDataset`)."""
        raise NotImplementedError

    def _model_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """The fitted model as ``(JSON-serialisable config, tensors)``."""
        raise NotImplementedError

    def _restore_model(self, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        """Rebuild the fitted model from :meth:`_model_state`'s output (``params_`` is already set)."""
        raise NotImplementedError

    def _output_quantiles(self, params: dict[str, Any]) -> tuple[float, ...]:
        """Quantile levels the model outputs for ``params`` (empty: point forecasts)."""
        return tuple(params["quantiles"]) if params.get("loss") == "quantile" else ()

    def _check_params(self) -> dict[str, Any]:
        """Validate the constructor values against the table; return the normalised snapshot."""
        caller = type(self).__name__
        params = self.get_params(deep=False)
        validate(self._parameter_constraints, params, caller)
        return normalise(self._parameter_constraints, params)

    # ------------------------------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Train on ``X`` (long DataFrame, wide DataFrame or Series); returns ``self``.

        ``y`` is ignored (the target is a column or the values of ``X``); it exists for the
        scikit-learn signature.
        """
        self._fit_started = time.perf_counter()  # a max_time budget covers the preparation too
        params = self._check_params()
        columns = self._column_spec(params)
        panel = parse_panel(X, columns=columns, freq=params["freq"], fill_method=params["fill_method"])
        bad = [sid for sid in panel.ids if not isinstance(sid, _JSON_IDS) or isinstance(sid, bool)]
        if bad:
            raise ColumnError(
                f"Series ids must be strings or integers; got {bad[0]!r} of type {type(bad[0]).__name__}. "
                "For a wide DataFrame with MultiIndex columns, join the levels first, e.g. "
                "df.columns = ['/'.join(map(str, c)) for c in df.columns]."
            )
        H = params["horizon"]
        lengths = panel.lengths()
        n_val = [round(params["validation_size"] * T) for T in lengths]
        if params["validation_size"] > 0:
            n_val = [max(v, H) for v in n_val]
        lookback = params["lookback"]
        if lookback is None:
            lookback = self._default_lookback(params, min(T - v for T, v in zip(lengths, n_val)))
        check_min_length(
            panel,
            lookback + H + (max(n_val) if params["validation_size"] > 0 else 0),
            f"lookback ({lookback}) + horizon ({H})"
            + (" + the validation part" if params["validation_size"] > 0 else ""),
        )
        train_end = [T - v for T, v in zip(lengths, n_val)]
        scaler = PanelScaler(params["scaler"]).fit(
            panel.ids, panel.target, panel.future, panel.past, panel.static, train_end=train_end
        )
        future, past, static = scaler.scale_covariates(panel.future, panel.past, panel.static)
        loc, scale = scaler.target_.loc_, scaler.target_.scale_
        stride = params.get("stride", 1)
        train = WindowDataset(
            panel.target,
            future,
            past,
            static,
            lookback,
            H,
            stride,
            end_range=[(0, e) for e in train_end],
            loc=loc,
            scale=scale,
        )
        val = None
        if params["validation_size"] > 0:
            val = WindowDataset(
                panel.target,
                future,
                past,
                static,
                lookback,
                H,
                1,
                end_range=[(e, T) for e, T in zip(train_end, lengths)],
                loc=loc,
                scale=scale,
            )
        self.params_ = params
        self.lookback_ = lookback
        self.freq_ = panel.freq
        self.layout_ = panel.layout
        self.ids_ = list(panel.ids)
        self.n_series_ = len(self.ids_)
        self.target_name_ = panel.target_name
        self.scaler_ = scaler
        self.output_spec_ = OutputSpec(
            panel.layout, panel.freq, columns, self._output_quantiles(params), H, panel.target_name
        )
        self.work_per_window_ = float(self._work_per_window(params, lookback))
        threads = self._threads(self._windows_per_step(params, lookback, len(train)))
        with seeded(params["random_state"]), torch_threads(threads):
            self._fit_model(train, val)
        self.context_ = {
            "target": np.stack([t[-lookback:] for t in panel.target]),
            "future": np.stack([f[-lookback:] for f in panel.future]),
            "past": np.stack([p[-lookback:] for p in panel.past]),
            "static": panel.static.copy(),
        }
        self.last_time_ = [panel.last_time(i) for i in range(panel.n_series)]
        return self

    def _default_lookback(self, params: dict[str, Any], n_train: int) -> int:
        """Lookback when the ``lookback`` parameter is None, from the horizon and the rows of the shortest
        training part: :data:`LONG_LOOKBACK` rows when there are at least :data:`LONG_SERIES` windows' worth
        of them (the long-horizon benchmarks' setting), else three horizons."""
        H = params["horizon"]
        if n_train >= LONG_SERIES * (LONG_LOOKBACK + H):
            return LONG_LOOKBACK
        return 3 * H

    def _windows_per_step(self, params: dict[str, Any], lookback: int, n_windows: int) -> int:
        """Training windows per optimisation step (for ``num_threads="auto"``); all of them by default."""
        return max(1, n_windows)

    def _work_per_window(self, params: dict[str, Any], lookback: int) -> float:
        """Multiply-adds to forecast one window (for ``num_threads="auto"``); override for heavier models."""
        return float(lookback * params["horizon"])

    def _threads(self, windows_per_step: int) -> int | None:
        """CPU threads for steps of ``windows_per_step`` windows: ``num_threads``, or with ``"auto"`` one
        thread for small work and torch's own setting (None) for large work (:func:`auto_threads`)."""
        n = self.params_["num_threads"]
        return auto_threads(self.work_per_window_ * windows_per_step) if n == "auto" else int(n)

    @staticmethod
    def _column_spec(params: dict[str, Any]) -> ColumnSpec:
        return ColumnSpec(
            id_col=params["id_col"],
            time_col=params["time_col"],
            target_col=params["target_col"],
            future_covariates=params["future_covariates"],
            past_covariates=params["past_covariates"],
            static_covariates=params["static_covariates"],
        )

    # --------------------------------------------------------------------------------------- predict
    def _history(self, X) -> PanelData:
        """``X`` parsed like the training data (checked against it), or the stored context when None."""
        spec = self.output_spec_
        if X is None:
            ctx = self.context_
            index = [history_index(last, self.freq_, self.lookback_) for last in self.last_time_]
            return PanelData(
                ids=list(self.ids_),
                index=index,
                target=list(ctx["target"]),
                future=list(ctx["future"]),
                past=list(ctx["past"]),
                static=ctx["static"],
                freq=self.freq_,
                layout=self.layout_,
                columns=spec.columns,
                target_name=self.target_name_,
            )
        panel = parse_panel(X, columns=spec.columns, freq=self.freq_, fill_method=self.params_["fill_method"])
        if panel.layout != self.layout_:
            raise ColumnError(
                f"Got {panel.layout}-layout data but the model was fitted on {self.layout_}-layout data; pass the "
                "same layout (long DataFrame, wide DataFrame or Series) as in fit()."
            )
        if panel.freq != self.freq_:
            raise ColumnError(
                f"The data has frequency {panel.freq!r}; the model was fitted at {self.freq_!r}."
            )
        check_min_length(panel, self.lookback_, f"lookback ({self.lookback_})")
        return panel

    def _windows(self, panel: PanelData, cuts: list[np.ndarray], future_next=None) -> WindowDataset:
        """Scaled windows of ``panel`` whose histories end at ``cuts`` (the one inference-window path)."""
        scaler = self.scaler_
        loc, scale = scaler.target_stats(panel.ids, panel.target, cuts)
        future, past, static = scaler.scale_covariates(panel.future, panel.past, panel.static)
        if future_next is not None:
            future_next = [scaler.future_.transform(f) for f in future_next]
        return WindowDataset.at_cutoffs(
            panel.target,
            future,
            past,
            static,
            self.lookback_,
            self.output_spec_.horizon,
            cuts,
            loc=loc,
            scale=scale,
            future_next=future_next,
            ids=panel.ids,
        )

    def _inference_device(self) -> torch.device:
        """Where :meth:`_forecast_batch` runs (the CPU unless a forecaster says otherwise)."""
        return torch.device("cpu")

    def _window_forecasts(self, windows: WindowDataset, n_series: int, batch_size: int = 1024) -> np.ndarray:
        """Forecasts ``[N, W, H, Q]`` in the original scale, quantiles sorted (never crossing)."""
        outs = []
        device = self._inference_device()
        if device.type != "cpu":  # batches sliced where the model runs, larger ones
            windows, batch_size = windows.to(device), 8 * batch_size
        with torch_threads(self._threads(min(len(windows), batch_size))), torch.no_grad():
            for a in range(0, len(windows), batch_size):
                ks = torch.arange(a, min(a + batch_size, len(windows)), device=device)
                outs.append(np.asarray(self._forecast_batch(windows.batch(ks)), dtype=np.float64))
        out = np.concatenate(outs)
        values = out * windows.scale[:, None, None] + windows.loc[:, None, None]
        if self.output_spec_.quantiles:
            values = np.sort(values, axis=-1)
        if not np.isfinite(values).all():
            raise RuntimeError(
                "The model produced non-finite forecasts; refusing to return them. Check the input's scale or "
                "retrain with a lower learning_rate."
            )
        return values.reshape(n_series, -1, *values.shape[1:])

    def predict(self, X=None, X_future=None):
        """Forecast ``horizon`` steps after the end of the training data, or of the history ``X``.

        Parameters
        ----------
        X : DataFrame or Series, optional
            New history (same layout and columns as in ``fit``) to forecast from, without refitting;
            series not seen in ``fit`` are scaled by their own history.
        X_future : DataFrame, optional
            Long DataFrame with the future covariates for the ``horizon`` steps after each series'
            end; required when the model uses ``future_covariates``.

        Returns
        -------
        DataFrame or Series
            Forecasts in the layout of the training data, in the original scale; with quantiles, also one
            column per quantile level (sorted, so they never cross).
        """
        check_is_fitted(self, "params_")
        panel = self._history(X)
        values = self._panel_forecasts(panel, X_future)
        return format_forecast(
            self.output_spec_, values, list(panel.ids), [panel.last_time(i) for i in range(panel.n_series)]
        )

    def _panel_forecasts(self, panel: PanelData, X_future=None) -> np.ndarray:
        """Forecasts ``[N, H, Q]`` (original scale) of the horizon after the end of each series of ``panel``."""
        spec = self.output_spec_
        H = spec.horizon
        if spec.columns.future_covariates:
            if X_future is None:
                raise ColumnError(
                    f"The model uses future covariates {list(spec.columns.future_covariates)}: pass X_future with "
                    f"their values for the {H} steps after the end of each series."
                )
            future_next = parse_future_covariates(X_future, panel, H)
        else:
            future_next = [np.zeros((H, 0)) for _ in panel.ids]
        cuts = [np.array([T]) for T in panel.lengths()]
        return self._window_forecasts(self._windows(panel, cuts, future_next), panel.n_series)[:, 0]
