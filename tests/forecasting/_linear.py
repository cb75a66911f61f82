"""A second forecaster, for tests only: closed-form ridge regression on the scaled window (NLinear style).

It implements the four methods of the ``BaseForecaster`` protocol and nothing else, to show that a new
forecaster reuses all the shared plumbing (validation, snapshot, windows, scaling, predict, backtest,
save/load, plot) and passes the same contract tests as ``xLSTMForecaster``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xlstm_ts.forecasting._base import BASE_CONSTRAINTS, BaseForecaster
from xlstm_ts.forecasting._constraints import Param
from xlstm_ts.forecasting.persistence import ModelFileError


class LinearForecaster(BaseForecaster):
    """``y[t+h] - x[-1] = w_h . (x - x[-1]) + b_h`` per horizon step, fitted by ridge regression."""

    _parameter_constraints: ClassVar[dict[str, Param]] = {
        **BASE_CONSTRAINTS,
        "alpha": Param("float", low=0.0),
    }

    def __init__(
        self,
        *,
        horizon=12,
        lookback=None,
        alpha=1e-3,
        scaler="standard",
        validation_size=0.0,
        id_col="unique_id",
        time_col="ds",
        target_col="y",
        future_covariates=(),
        past_covariates=(),
        static_covariates=(),
        freq=None,
        fill_method=None,
        random_state=0,
        num_threads="auto",
        verbose=False,
    ):
        self.horizon = horizon
        self.lookback = lookback
        self.alpha = alpha
        self.scaler = scaler
        self.validation_size = validation_size
        self.id_col = id_col
        self.time_col = time_col
        self.target_col = target_col
        self.future_covariates = future_covariates
        self.past_covariates = past_covariates
        self.static_covariates = static_covariates
        self.freq = freq
        self.fill_method = fill_method
        self.random_state = random_state
        self.num_threads = num_threads
        self.verbose = verbose

    @staticmethod
    def _design(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        last = x[:, -1:]
        return np.concatenate([x - last, np.ones((len(x), 1))], axis=1), last

    def _fit_model(self, train, val) -> None:
        batch = train[np.arange(len(train))]
        design, last = self._design(batch["x"].double().numpy())
        target = batch["y"].double().numpy() - last
        gram = design.T @ design + self.params_["alpha"] * np.eye(design.shape[1])
        self.coef_ = np.linalg.solve(gram, design.T @ target)  # [L + 1, H]

    def _forecast_batch(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        design, last = self._design(batch["x"].double().numpy())
        return (design @ self.coef_ + last)[..., None]

    def _model_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return {"kind": "ridge"}, {"coef": torch.from_numpy(np.ascontiguousarray(self.coef_))}

    def _restore_model(self, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        coef = tensors["coef"].numpy()
        if coef.shape != (self.lookback_ + 1, self.params_["horizon"]):
            raise ModelFileError(
                f"coef has shape {coef.shape}; lookback and horizon need "
                f"{(self.lookback_ + 1, self.params_['horizon'])}."
            )
        self.coef_ = coef
