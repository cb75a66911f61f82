"""Saving and loading a fitted ``xLSTMForecaster``: safetensors for arrays, JSON for the rest.

Layout of the directory written by :func:`save_forecaster`::

    config.json         format version, library version, hyperparameters, fitted metadata
    model.safetensors   network weights and the stored prediction context (float tensors only)

Loading never unpickles anything: JSON is parsed, tensors are read by safetensors, and the
network is rebuilt from its config.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from .._version import __version__
from ..data.scaling import SeriesScaler
from ..nn import xLSTMBlockStackConfig
from ._network import ForecastNetwork

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
_JSON_SCALARS = (str, int, float, bool, type(None))


def _encode_ids(ids: list) -> list:
    for sid in ids:
        if not isinstance(sid, _JSON_SCALARS) or isinstance(sid, bool):
            raise TypeError(f"Series id {sid!r} of type {type(sid).__name__} cannot be saved; use str or int ids.")
    return [int(s) if isinstance(s, np.integer) else s for s in ids]


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
    return list(data["values"])


def _params_to_json(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if isinstance(out.get("backbone"), xLSTMBlockStackConfig):
        out["backbone"] = {"xLSTMBlockStackConfig": out["backbone"].to_dict()}
    for key in ("quantiles", "future_covariates", "past_covariates", "static_covariates", "slstm_at"):
        if out.get(key) is not None:
            out[key] = list(out[key])
    return out


def _params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if isinstance(out.get("backbone"), dict):
        out["backbone"] = xLSTMBlockStackConfig.from_dict(out["backbone"]["xLSTMBlockStackConfig"])
    for key in ("quantiles", "future_covariates", "past_covariates", "static_covariates"):
        if out.get(key) is not None:
            out[key] = tuple(out[key])
    return out


def save_forecaster(est, path) -> None:
    """Write ``est`` (fitted) to the directory ``path`` (created if needed; files are overwritten)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "network_")
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    fitted = {
        "lookback_": est.lookback_,
        "freq_": est.freq_,
        "layout_": est.layout_,
        "ids_": _encode_ids(est.ids_),
        "target_name_": est.target_name_,
        "last_time_": _encode_times(est.last_time_),
        "scaler_": est.scaler_.to_dict(),
        "backbone_config_": est.backbone_config_.to_dict(),
        "n_series_": est.n_series_,
        "best_epoch_": est.best_epoch_,
        "n_epochs_": est.n_epochs_,
    }
    config = {
        "format_version": FORMAT_VERSION,
        "xlstm_ts_version": __version__,
        "params": _params_to_json(est.get_params()),
        "fitted": fitted,
        "network": {
            "horizon": est.network_.horizon,
            "n_outputs": est.network_.n_outputs,
            "n_past": est.network_.n_past,
            "n_future": est.network_.n_future,
            "n_static": est.network_.n_static,
            "instance_norm": est.network_.instance_norm,
            "patch_size": est.network_.patch_size,
        },
    }
    tensors = {f"network.{k}": v.detach().cpu().contiguous() for k, v in est.network_.state_dict().items()}
    for key, value in est.context_.items():
        tensors[f"context.{key}"] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float64))
    for name in ("future_loc_", "future_scale_", "past_loc_", "past_scale_", "static_loc_", "static_scale_"):
        tensors[f"moments.{name}"] = torch.from_numpy(np.ascontiguousarray(getattr(est, name), dtype=np.float64))
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    save_file(tensors, str(directory / WEIGHTS_FILE), metadata={"format": "xlstm_ts", "version": __version__})


def load_forecaster(cls, path):
    """Rebuild an estimator written by :func:`save_forecaster`."""
    directory = Path(path)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise FileNotFoundError(f"{directory} does not hold a saved xLSTMForecaster ({CONFIG_FILE} and {WEIGHTS_FILE}).")
    config = json.loads(config_path.read_text())
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"Unsupported model format version {config.get('format_version')!r} "
                         f"(this xlstm_ts reads version {FORMAT_VERSION}).")
    est = cls(**_params_from_json(config["params"]))
    fitted = config["fitted"]
    est.lookback_ = fitted["lookback_"]
    est.freq_ = fitted["freq_"]
    est.layout_ = fitted["layout_"]
    est.ids_ = list(fitted["ids_"])
    est.target_name_ = fitted["target_name_"]
    est.last_time_ = _decode_times(fitted["last_time_"])
    est.scaler_ = SeriesScaler.from_dict(fitted["scaler_"])
    est.backbone_config_ = xLSTMBlockStackConfig.from_dict(fitted["backbone_config_"])
    est.n_series_ = fitted["n_series_"]
    est.best_epoch_ = fitted["best_epoch_"]
    est.n_epochs_ = fitted["n_epochs_"]
    tensors = load_file(str(weights_path))
    est.context_ = {k.split(".", 1)[1]: v.numpy() for k, v in tensors.items() if k.startswith("context.")}
    for key, value in tensors.items():
        if key.startswith("moments."):
            setattr(est, key.split(".", 1)[1], value.numpy())
    network = ForecastNetwork(est.backbone_config_, dropout=est.dropout, **config["network"])
    network.load_state_dict({k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("network.")})
    est.network_ = network.eval()
    return est
