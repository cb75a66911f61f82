"""What every forecaster shares, and the small protocol a concrete forecaster implements.

:class:`BaseForecaster` does the work common to all forecasters: it validates and snapshots the
parameters (from the class's constraint table), parses the input through :mod:`xlstm_ts.data`, scales it
(:class:`~xlstm_ts.data.scaling.PanelScaler`), builds training, prediction and backtest windows with the
one window path (:class:`~xlstm_ts.data.windowing.WindowDataset`), and implements ``predict``,
``backtest``, ``score``, ``save``, ``load`` and ``plot``.

A concrete forecaster lists its parameters in ``__init__`` (sklearn's rule: stored unchanged), extends
``_parameter_constraints``, and implements four methods, all working on **scaled** windows:

``_fit_model(train, val)``
    Learn from :class:`WindowDataset` batches (``val`` may be None).
``_forecast_batch(batch)``
    ``[B, H, Q]`` numpy forecasts (scaled) of a batch of windows.
``_model_state()``
    ``(config, tensors)``: the fitted model as JSON-serialisable data and tensors, for ``save``.
``_restore_model(config, tensors)``
    The inverse, for ``load``; raise :class:`~xlstm_ts.forecasting.persistence.ModelFileError` when the
    two disagree.

Everything after ``fit`` reads the snapshot ``params_`` taken by ``fit``, never the live constructor
values: a ``set_params`` after ``fit`` takes effect at the next ``fit``, as in scikit-learn.
"""

from __future__ import annotations

import json
import numbers
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from ..data.errors import ColumnError
from ..data.scaling import SCALING_METHODS, PanelScaler
from ..data.validation import (
    ColumnSpec,
    PanelData,
    check_min_length,
    future_index,
    parse_future_covariates,
    parse_panel,
)
from ..data.windowing import WindowDataset
from ._constraints import Param, normalise, validate
from ._training import auto_threads, seeded, torch_threads
from .backtest import (
    BACKTEST_CONSTRAINTS,
    BacktestResult,
    backtest_cutoffs,
    score_windows,
    season_for,
    split_at,
)
from .output import OutputSpec, forecast_arrays, format_forecast, history_index
from .persistence import ModelFileError, read_model, write_model

FILL_METHODS = (None, "ffill", "interpolate", "zero")
LAYOUTS = ("long", "wide", "series")

#: The parameters every forecaster has.
BASE_CONSTRAINTS: dict[str, Param] = {
    "horizon": Param("int", low=1),
    "lookback": Param("int", low=1, none=True),
    "scaler": Param("choice", choices=SCALING_METHODS),
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


def _json_ready(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


class BaseForecaster(BaseEstimator):
    """Base class of the forecasters (not used directly).  See the module docstring for the protocol."""

    _parameter_constraints: ClassVar[dict[str, Param]] = BASE_CONSTRAINTS

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

    def _param_to_json(self, name: str, value: Any) -> Any:
        """A parameter as JSON data, for ``save`` (override for parameters of other types)."""
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, dict):  # e.g. trainer_kwargs: keep what JSON can hold
            dropped = [k for k, v in value.items() if not _json_ready(v)]
            if dropped:
                warnings.warn(
                    f"{type(self).__name__}.save: {name} entries {dropped} are objects that cannot be stored "
                    "as JSON and are not saved (they only matter for training; pass them again with "
                    "set_params before refitting a loaded model).",
                    UserWarning,
                    stacklevel=4,
                )
            return {k: v for k, v in value.items() if k not in dropped}
        return value

    def _param_from_json(self, name: str, value: Any) -> Any:
        """The inverse of :meth:`_param_to_json`."""
        return value

    # ------------------------------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Train on ``X`` (long DataFrame, wide DataFrame or Series); returns ``self``.

        ``y`` is ignored (the target is a column or the values of ``X``); it exists for the
        scikit-learn signature.
        """
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
        lookback = params["lookback"] if params["lookback"] is not None else self._default_lookback(params)
        lengths = panel.lengths()
        n_val = [round(params["validation_size"] * T) for T in lengths]
        if params["validation_size"] > 0:
            n_val = [max(v, H) for v in n_val]
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
        threads = self._threads(params.get("batch_size", max(1, len(train))))
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

    def _default_lookback(self, params: dict[str, Any]) -> int:
        """Lookback when the ``lookback`` parameter is None."""
        return 3 * params["horizon"]

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

    def _window_forecasts(self, windows: WindowDataset, n_series: int, batch_size: int = 1024) -> np.ndarray:
        """Forecasts ``[N, W, H, Q]`` in the original scale, quantiles sorted (never crossing)."""
        outs = []
        with torch_threads(self._threads(min(len(windows), batch_size))), torch.no_grad():
            for a in range(0, len(windows), batch_size):
                outs.append(
                    np.asarray(
                        self._forecast_batch(windows[np.arange(a, min(a + batch_size, len(windows)))]),
                        dtype=np.float64,
                    )
                )
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
        values = self._window_forecasts(self._windows(panel, cuts, future_next), panel.n_series)
        return format_forecast(
            spec, values[:, 0], list(panel.ids), [panel.last_time(i) for i in range(panel.n_series)]
        )

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

    # ----------------------------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """Write the fitted model to the directory ``path`` (safetensors + JSON, atomically).

        A process that loads ``path`` while this one saves gets the old model or the new one, never a mix;
        other files in the directory are left alone.
        """
        check_is_fitted(self, "params_")
        model_config, model_tensors = self._model_state()
        scaler_json, scaler_arrays = self.scaler_.to_state()
        for sid in self.ids_:
            if not isinstance(sid, _JSON_IDS):  # pragma: no cover - refused at fit
                raise TypeError(f"Series id {sid!r} cannot be saved; use str or int ids.")
        if not _json_ready(self.target_name_):
            raise TypeError(
                f"The series name {self.target_name_!r} cannot be saved as JSON; rename the series."
            )
        config = {
            "class": type(self).__name__,
            "params": {k: self._param_to_json(k, v) for k, v in self.params_.items()},
            "fitted": {
                "lookback_": self.lookback_,
                "freq_": self.freq_,
                "layout_": self.layout_,
                "ids_": list(self.ids_),
                "target_name_": self.target_name_,
                "last_time_": _encode_times(self.last_time_),
                "scaler_": scaler_json,
                "quantiles": list(self.output_spec_.quantiles),
                "work_per_window_": self.work_per_window_,
            },
            "model": model_config,
        }
        tensors = {f"model.{k}": v for k, v in model_tensors.items()}
        tensors.update(
            {f"scaler.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in scaler_arrays.items()}
        )
        tensors.update(
            {
                f"context.{k}": torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
                for k, v in self.context_.items()
            }
        )
        write_model(path, config, tensors)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save` (no pickle involved), checking it is whole and consistent.

        Raises
        ------
        FileNotFoundError
            ``path`` holds no saved model.
        ModelFileError
            Another format version, another class, a damaged file, or a config that disagrees with the
            weights or the parameter constraints.
        """
        return cls()._load_into(path)

    def _load_into(self, path):
        """Fill this (fresh) estimator from the model saved at ``path``; returns ``self``."""
        config, tensors = read_model(path)
        name = type(self).__name__
        if config.get("class") != name:
            raise ModelFileError(f"{path} holds a {config.get('class')}, not a {name}.")
        try:
            params = {k: self._param_from_json(k, v) for k, v in config["params"].items()}
            self.set_params(**params)
            checked = self._check_params()
            self.set_params(**checked)  # tuples where fit's snapshot has tuples (JSON stored lists)
            self._restore_fitted(checked, config["fitted"], tensors)
            self._restore_model(
                config["model"], {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
            )
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, InvalidParameterError):
                raise
            raise ModelFileError(f"{path} holds an inconsistent model: {err}") from err
        return self

    def _restore_fitted(
        self, params: dict[str, Any], fitted: dict[str, Any], tensors: dict[str, torch.Tensor]
    ) -> None:
        lookback, freq, layout, ids = fitted["lookback_"], fitted["freq_"], fitted["layout_"], fitted["ids_"]
        if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
            raise ModelFileError(f"lookback_ must be an int >= 1; the file has {lookback!r}.")
        if params["lookback"] is not None and params["lookback"] != lookback:
            raise ModelFileError(
                f"lookback_ ({lookback}) disagrees with the lookback parameter ({params['lookback']})."
            )
        if layout not in LAYOUTS:
            raise ModelFileError(f"layout_ must be one of {LAYOUTS}; the file has {layout!r}.")
        if freq is not None:
            try:
                pd.tseries.frequencies.to_offset(freq)
            except ValueError as err:
                raise ModelFileError(f"freq_ {freq!r} is not a pandas frequency.") from err
        if (
            not isinstance(ids, list)
            or not all(isinstance(s, _JSON_IDS) for s in ids)
            or len(set(ids)) != len(ids)
        ):
            raise ModelFileError("ids_ must be a list of distinct str or int series ids.")
        context = {k[8:]: v.numpy() for k, v in tensors.items() if k.startswith("context.")}
        n, cols = len(ids), self._column_spec(params)
        widths = {"future": len(cols.future_covariates), "past": len(cols.past_covariates)}
        expected = {
            "target": (n, lookback),
            "future": (n, lookback, widths["future"]),
            "past": (n, lookback, widths["past"]),
            "static": (n, len(cols.static_covariates)),
        }
        for key, shape in expected.items():
            if key not in context or context[key].shape != shape:
                got = context[key].shape if key in context else "nothing"
                raise ModelFileError(
                    f"The stored context {key!r} should have shape {shape}; the file has {got}."
                )
        last_time = _decode_times(fitted["last_time_"])
        if len(last_time) != n or (freq is None) != all(isinstance(t, numbers.Integral) for t in last_time):
            raise ModelFileError("last_time_ does not match the series ids or the frequency.")
        scaler_arrays = {k[7:]: v.numpy() for k, v in tensors.items() if k.startswith("scaler.")}
        scaler = PanelScaler.from_state(ids, fitted["scaler_"], scaler_arrays)
        if scaler.method != params["scaler"] or scaler.target_.loc_.shape[0] != n:
            raise ModelFileError("The stored scaler does not match the scaler parameter or the series.")
        quantiles = tuple(fitted["quantiles"])
        if quantiles != self._output_quantiles(params):
            raise ModelFileError(f"The stored quantiles {quantiles} disagree with the parameters.")
        layout_name = fitted["target_name_"]
        self.params_ = params
        self.lookback_, self.freq_, self.layout_, self.ids_ = lookback, freq, layout, list(ids)
        self.n_series_, self.target_name_, self.scaler_ = n, layout_name, scaler
        self.output_spec_ = OutputSpec(layout, freq, cols, quantiles, params["horizon"], layout_name)
        self.work_per_window_ = float(fitted["work_per_window_"])
        self.context_ = context
        self.last_time_ = last_time

    # ----------------------------------------------------------------------------------------- plot
    def plot(self, X=None, forecast=None, ax=None, series=None):
        """Plot the recent history, the forecast and (with quantiles) the outer quantile band.

        ``X`` defaults to the stored context; ``forecast`` to ``self.predict(X)``; ``series`` picks one
        series id (default: the first).  Returns the matplotlib Figure.
        """
        from .plotting import plot_forecast

        check_is_fitted(self, "params_")
        panel = self._history(X)
        if forecast is None:
            forecast = self.predict(X)
        ids = list(panel.ids)
        sid = ids[0] if series is None else series
        if sid not in ids:
            raise ValueError(f"series {sid!r} is not among the forecast's series (e.g. {ids[:3]}).")
        i = ids.index(sid)
        spec = self.output_spec_
        values = forecast_arrays(spec, forecast, ids)[i]  # [H, Q]
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

    # ----------------------------------------------------------------------------------------- tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.requires_fit = True
        tags.target_tags.required = False
        return tags


def _encode_times(times: list) -> dict:
    if all(isinstance(t, pd.Timestamp) for t in times):
        # a named time zone (e.g. Europe/Berlin) is kept by name, not as a fixed offset
        tz = None if times[0].tz is None else str(times[0].tz)
        return {"kind": "datetime", "tz": tz, "values": [t.isoformat() for t in times]}
    return {"kind": "int", "values": [int(t) for t in times]}


def _decode_times(data: dict) -> list:
    if data["kind"] == "datetime":
        stamps = [pd.Timestamp(v) for v in data["values"]]
        tz = data.get("tz")
        return [t.tz_convert(tz) for t in stamps] if tz is not None else stamps
    if data["kind"] != "int":
        raise ModelFileError(f"Unknown time kind {data['kind']!r} in the saved model.")
    return [int(v) for v in data["values"]]
