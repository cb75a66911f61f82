"""Saving and loading of forecasters: the part of :class:`~xlstm_ts.forecasting._base.BaseForecaster` that
turns a fitted forecaster into a config and tensors and back, validating what it reads.

The files themselves are written and read by :mod:`xlstm_ts.forecasting.persistence` (atomic, one
digest-checked safetensors file); the concrete model's part goes through the protocol methods
``_model_state`` / ``_restore_model``.
"""

from __future__ import annotations

import json
import numbers
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from ..data.scaling import PanelScaler
from ._evaluation import EvaluatingForecaster
from .output import OutputSpec
from .persistence import ModelFileError, read_model, write_model

LAYOUTS = ("long", "wide", "series")
_JSON_IDS = (str, int)


def _json_ready(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


class SavingForecaster(EvaluatingForecaster):
    """``save``, ``load`` and the JSON form of parameters, for :class:`BaseForecaster`."""

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
        target_name = fitted["target_name_"]
        self.params_ = params
        self.lookback_, self.freq_, self.layout_, self.ids_ = lookback, freq, layout, list(ids)
        self.n_series_, self.target_name_, self.scaler_ = n, target_name, scaler
        self.output_spec_ = OutputSpec(layout, freq, cols, quantiles, params["horizon"], target_name)
        self.work_per_window_ = float(fitted["work_per_window_"])
        self.context_ = context
        self.last_time_ = last_time


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
