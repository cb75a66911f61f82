"""``xLSTMForecaster``: a scikit-learn-style global forecaster on pandas data, trained with Lightning."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..data.errors import ColumnError, SeriesTooShortError
from ..data.scaling import SeriesScaler
from ..data.validation import ColumnSpec, PanelData, check_min_length, parse_future_covariates, parse_panel
from ..data.windowing import WindowDataset
from ._network import ForecastNetwork
from ._params import check_quantiles, stack_config, validate_params
from .output import format_forecast, history_index


def _tail(panel: PanelData, length: int) -> dict[str, np.ndarray]:
    """The last ``length`` rows of every series (the network's context), stacked ``[N, length(, C)]``."""
    return {
        "target": np.stack([t[-length:] for t in panel.target]),
        "future": np.stack([f[-length:] for f in panel.future]),
        "past": np.stack([p[-length:] for p in panel.past]),
        "static": panel.static.copy(),
    }


@contextlib.contextmanager
def _seeded(seed: int | None):
    """Seed torch, numpy and ``random`` for the duration of ``fit`` and restore the caller's states after."""
    if seed is None:
        yield
        return
    import random

    np_state, py_state = np.random.get_state(), random.getstate()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


@contextlib.contextmanager
def _quiet_lightning(quiet: bool):
    """Silence Lightning's informational logging (device summary, tips) while ``quiet``."""
    names = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    if quiet:
        for lg in loggers:
            lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class xLSTMForecaster(BaseEstimator):
    """Global xLSTM forecaster for one or many series, with a scikit-learn interface.

    ``fit`` takes a long DataFrame (``unique_id``, ``ds``, ``y`` plus covariate columns), a wide
    DataFrame with a DatetimeIndex (one column per series) or a Series; ``predict`` returns the
    ``horizon`` steps after the end of each series, with real future timestamps, in the input's
    layout and scale.

    Parameters
    ----------
    horizon : int
        Number of steps to forecast (direct multi-horizon output).
    lookback : int or None
        Length of the history window the network reads; ``None`` means ``3 * horizon``.
    backbone : {"mlstm", "slstm", "mixed"} or xLSTMBlockStackConfig
        Block types of the backbone, or a full backbone config (then ``embedding_dim``,
        ``num_blocks``, ``num_heads`` and ``slstm_at`` are ignored).
    embedding_dim : int
        Width of the backbone (tokens and hidden states).
    num_blocks : int
        Number of xLSTM blocks.
    num_heads : int
        Heads of every mLSTM/sLSTM layer.
    slstm_at : list of int or None
        sLSTM positions for ``backbone="mixed"`` (default: the middle block).
    dropout : float
        Dropout in the backbone and before the head.
    loss : {"mae", "mse", "huber", "quantile"}
        Training loss; ``"quantile"`` trains one output per entry of ``quantiles``.
    quantiles : sequence of float
        Quantile levels (must contain 0.5, the point forecast) when ``loss="quantile"``.
    scaler : {"standard", "robust", "none"}
        Per-series scaling of the target, fitted on the training part.
    instance_norm : bool
        Normalise every input window by its own mean and standard deviation (and undo it on the
        output); helps with trends and level shifts.
    patch_size : int
        Steps per backbone token: ``1`` feeds every time step, ``p > 1`` feeds non-overlapping
        patches of ``p`` steps (much faster for long lookbacks, e.g. 16 for ``lookback=336``).
    learning_rate : float
        Peak learning rate of AdamW with a one-cycle schedule.
    batch_size : int
        Windows per training batch.
    max_epochs : int
        Upper bound on training epochs.
    weight_averaging : float or None
        Average the weights (SWA, equal weights) over the training steps after this fraction of
        all steps, and use the average; ``None`` keeps the last weights. Averaging makes results
        much less dependent on the seed for small data. Used only when ``validation_size == 0``;
        with a validation split the best epoch's weights are used instead.
    early_stopping_patience : int or None
        Epochs without validation improvement before stopping (needs ``validation_size > 0``).
    validation_size : float
        Fraction of each series, at its end, whose windows are used for validation (early
        stopping and best-epoch checkpointing). ``0`` trains on everything for ``max_epochs``.
    stride : int
        Step between training windows.
    id_col : str
        Series-id column of the long layout.
    time_col : str
        Timestamp column (datetime or integer) of the long layout.
    target_col : str
        Target column of the long layout.
    future_covariates : sequence of str
        Columns known in the future; their values for the horizon are required at predict time.
    past_covariates : sequence of str
        Columns known only up to the present.
    static_covariates : sequence of str
        Numeric columns that are constant within each series.
    freq : str or None
        pandas frequency alias; inferred (and checked consistent) when ``None``.
    fill_method : {None, "ffill", "interpolate", "zero"}
        How to fill missing values; ``None`` raises an error on any NaN.
    random_state : int or None
        Seed for initialisation and shuffling.
    device : {"auto", "cpu", "cuda", "gpu", "mps"}
        Where to train; ``"auto"`` takes a GPU when there is one.
    trainer_kwargs : dict or None
        Extra arguments for ``lightning.Trainer`` (e.g. ``devices=2, strategy="ddp"``).
    verbose : bool
        Show Lightning's progress bar.

    Examples
    --------
    >>> from xlstm_ts import xLSTMForecaster
    >>> from xlstm_ts.datasets import load_airline
    >>> y = load_airline()
    >>> model = xLSTMForecaster(horizon=12, max_epochs=2, verbose=False).fit(y)
    >>> forecast = model.predict()
    >>> len(forecast), str(forecast.index[0].date())
    (12, '1961-01-01')
    """

    def __init__(
        self,
        *,
        horizon: int = 12,
        lookback: int | None = None,
        backbone: Any = "mlstm",
        embedding_dim: int = 32,
        num_blocks: int = 2,
        num_heads: int = 4,
        slstm_at: Sequence[int] | None = None,
        dropout: float = 0.0,
        loss: str = "mae",
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
        scaler: str = "standard",
        instance_norm: bool = True,
        patch_size: int = 1,
        learning_rate: float = 3e-3,
        batch_size: int = 32,
        max_epochs: int = 60,
        weight_averaging: float | None = 0.5,
        early_stopping_patience: int | None = 5,
        validation_size: float = 0.0,
        stride: int = 1,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        future_covariates: Sequence[str] = (),
        past_covariates: Sequence[str] = (),
        static_covariates: Sequence[str] = (),
        freq: str | None = None,
        fill_method: str | None = None,
        random_state: int | None = 0,
        device: str = "auto",
        trainer_kwargs: dict | None = None,
        verbose: bool = True,
    ) -> None:
        self.horizon = horizon
        self.lookback = lookback
        self.backbone = backbone
        self.embedding_dim = embedding_dim
        self.num_blocks = num_blocks
        self.num_heads = num_heads
        self.slstm_at = slstm_at
        self.dropout = dropout
        self.loss = loss
        self.quantiles = quantiles
        self.scaler = scaler
        self.instance_norm = instance_norm
        self.patch_size = patch_size
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.weight_averaging = weight_averaging
        self.early_stopping_patience = early_stopping_patience
        self.validation_size = validation_size
        self.stride = stride
        self.id_col = id_col
        self.time_col = time_col
        self.target_col = target_col
        self.future_covariates = future_covariates
        self.past_covariates = past_covariates
        self.static_covariates = static_covariates
        self.freq = freq
        self.fill_method = fill_method
        self.random_state = random_state
        self.device = device
        self.trainer_kwargs = trainer_kwargs
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def _columns(self) -> ColumnSpec:
        return ColumnSpec(
            id_col=self.id_col,
            time_col=self.time_col,
            target_col=self.target_col,
            future_covariates=tuple(self.future_covariates),
            past_covariates=tuple(self.past_covariates),
            static_covariates=tuple(self.static_covariates),
        )

    def _output_quantiles(self) -> tuple[float, ...]:
        return check_quantiles(self.quantiles) if self.loss == "quantile" else ()

    def _scale_covariates(self, arrays: list[np.ndarray], loc: np.ndarray, scale: np.ndarray) -> list[np.ndarray]:
        return [((a - loc) / scale).astype(np.float32) for a in arrays]

    @staticmethod
    def _moments(arrays: list[np.ndarray], width: int) -> tuple[np.ndarray, np.ndarray]:
        if width == 0:
            return np.zeros(0), np.ones(0)
        stacked = np.concatenate(arrays, axis=0)
        scale = stacked.std(axis=0)
        return stacked.mean(axis=0), np.where(scale > 1e-12, scale, 1.0)

    def _distributed(self) -> bool:
        """Whether ``trainer_kwargs`` ask for more than one device or a distributed strategy."""
        kw = self.trainer_kwargs or {}
        devices, strategy = kw.get("devices", 1), str(kw.get("strategy", ""))
        many = devices == -1 or (isinstance(devices, int) and devices > 1) or (
            isinstance(devices, (list, tuple)) and len(devices) > 1)
        return many or "ddp" in strategy or "fsdp" in strategy

    def _resolve_accelerator(self) -> str:
        if self.device == "auto":
            return "gpu" if torch.cuda.is_available() else "cpu"
        return {"cuda": "gpu"}.get(self.device, self.device)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None) -> xLSTMForecaster:
        """Train on ``X`` (long DataFrame, wide DataFrame or Series); returns ``self``.

        ``y`` is ignored (the target is a column or the values of ``X``); it exists for the
        scikit-learn signature.
        """
        validate_params(self)
        lookback = self.lookback if self.lookback is not None else 3 * self.horizon
        panel = parse_panel(X, columns=self._columns(), freq=self.freq, fill_method=self.fill_method)
        lengths = panel.lengths()
        n_val = [round(self.validation_size * T) for T in lengths]
        if self.validation_size > 0:
            n_val = [max(v, self.horizon) for v in n_val]
        need = lookback + self.horizon
        check_min_length(
            panel,
            need + (max(n_val) if self.validation_size > 0 else 0),
            f"lookback ({lookback}) + horizon ({self.horizon})"
            + (" + the validation part" if self.validation_size > 0 else ""),
        )
        train_end = [T - v for T, v in zip(lengths, n_val)]
        quantiles = self._output_quantiles()

        self.lookback_ = lookback
        self.freq_ = panel.freq
        self.layout_ = panel.layout
        self.ids_ = list(panel.ids)
        self.target_name_ = panel.target_name
        self.scaler_ = SeriesScaler(self.scaler).fit([t[:e] for t, e in zip(panel.target, train_end)])
        self.future_loc_, self.future_scale_ = self._moments([f[:e] for f, e in zip(panel.future, train_end)],
                                                             len(self.future_covariates))
        self.past_loc_, self.past_scale_ = self._moments([p[:e] for p, e in zip(panel.past, train_end)],
                                                         len(self.past_covariates))
        self.static_loc_, self.static_scale_ = self._moments([panel.static], panel.static.shape[1])
        targets = [self.scaler_.transform(t, i).astype(np.float32) for i, t in enumerate(panel.target)]
        future = self._scale_covariates(panel.future, self.future_loc_, self.future_scale_)
        past = self._scale_covariates(panel.past, self.past_loc_, self.past_scale_)
        static = ((panel.static - self.static_loc_) / self.static_scale_).astype(np.float32)

        train_set = WindowDataset(targets, future, past, static, lookback, self.horizon, self.stride,
                                  end_range=[(0, e) for e in train_end])
        val_set = None
        if self.validation_size > 0:
            val_set = WindowDataset(targets, future, past, static, lookback, self.horizon, 1,
                                    end_range=[(e, T) for e, T in zip(train_end, lengths)])

        with _seeded(self.random_state):
            self._fit_network(panel, targets, future, past, static, train_set, val_set, quantiles)
        self._store_context(panel)
        self.n_series_ = len(self.ids_)
        return self

    def _fit_network(self, panel, targets, future, past, static, train_set, val_set, quantiles) -> None:
        self.backbone_config_ = stack_config(self.backbone, self.embedding_dim, self.num_blocks, self.num_heads,
                                             self.slstm_at, self.dropout)
        network = ForecastNetwork(
            self.backbone_config_, self.horizon, max(1, len(quantiles)), n_past=len(self.past_covariates),
            n_future=len(self.future_covariates), n_static=static.shape[1], instance_norm=self.instance_norm,
            dropout=self.dropout, patch_size=self.patch_size,
        )
        self.network_ = self._train(network, train_set, val_set, quantiles)

    def _train(self, network, train_set, val_set, quantiles):
        import lightning as L
        from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

        from ._module import _ForecastModule, _LateWeightAveraging

        module = _ForecastModule(network, self.loss, quantiles, self.learning_rate)
        from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

        generator = torch.Generator().manual_seed(self.random_state if self.random_state is not None else 0)
        val_batch = max(self.batch_size, 256)
        if self._distributed():
            # plain batched loaders, so that Lightning can insert its DistributedSampler
            train_loader = DataLoader(train_set, batch_size=self.batch_size, shuffle=True, generator=generator)
            val_loader = DataLoader(val_set, batch_size=val_batch) if val_set is not None else None
        else:
            # whole batches are sliced at once from the window index (no per-window Python calls)
            train_loader = DataLoader(train_set, batch_size=None, sampler=BatchSampler(
                RandomSampler(train_set, generator=generator), self.batch_size, drop_last=False))
            val_loader = None
            if val_set is not None:  # every validation window is used (drop_last=False)
                val_loader = DataLoader(val_set, batch_size=None, sampler=BatchSampler(
                    SequentialSampler(val_set), val_batch, drop_last=False))
        accelerator = self._resolve_accelerator()
        with tempfile.TemporaryDirectory(prefix="xlstm_ts_") as workdir:
            callbacks = []
            # with a validation split the best-epoch checkpoint plays the part of the weight average
            if self.weight_averaging is not None and val_loader is None:
                callbacks.append(_LateWeightAveraging(self.weight_averaging))
            checkpoint = None
            if val_loader is not None:
                checkpoint = ModelCheckpoint(dirpath=workdir, monitor="val_loss", mode="min", save_top_k=1)
                callbacks.append(checkpoint)
                if self.early_stopping_patience is not None:
                    callbacks.append(EarlyStopping(monitor="val_loss", patience=self.early_stopping_patience))
            options = dict(
                max_epochs=self.max_epochs, accelerator=accelerator, devices=1, logger=False,
                enable_checkpointing=checkpoint is not None, enable_progress_bar=self.verbose,
                enable_model_summary=False, callbacks=callbacks, default_root_dir=workdir,
                precision="bf16-mixed" if accelerator == "gpu" else "32-true",
                num_sanity_val_steps=0,
            )
            extra = dict(self.trainer_kwargs or {})
            # user callbacks are added to ours (early stopping, checkpoint, averaging), never replace them
            options["callbacks"] = callbacks + list(extra.pop("callbacks", None) or [])
            options.update(extra)
            with warnings.catch_warnings(), _quiet_lightning(not self.verbose):
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                warnings.filterwarnings("ignore", message=".*number of training batches.*")
                warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")
                warnings.filterwarnings("ignore", message=".*validation_step.*but have no .val_dataloader.*")
                trainer = L.Trainer(**options)
                trainer.fit(module, train_loader, val_loader)
            self.best_epoch_ = trainer.current_epoch - 1
            if checkpoint is not None and checkpoint.best_model_path:
                state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
                module.load_state_dict(state["state_dict"])
                self.best_epoch_ = int(state["epoch"])
            self.n_epochs_ = trainer.current_epoch
        return module.network.to("cpu").float().eval()

    def _store_context(self, panel: PanelData) -> None:
        """Keep the last ``lookback`` rows of each series for ``predict()`` without new data."""
        self.context_ = _tail(panel, self.lookback_)
        self.last_time_ = [panel.last_time(i) for i in range(len(panel.ids))]

    # ------------------------------------------------------------------ predict
    def _context_from(self, X) -> tuple[dict, list, list, PanelData | None]:
        if X is None:
            return self.context_, self.ids_, self.last_time_, None
        panel = parse_panel(X, columns=self._columns(), freq=self.freq_ if self.freq is None else self.freq,
                            fill_method=self.fill_method)
        if panel.layout != self.layout_:
            raise ColumnError(
                f"predict() got {panel.layout}-layout data but the model was fitted on {self.layout_}-layout data; "
                "pass the same layout (long DataFrame, wide DataFrame or Series) as in fit()."
            )
        if panel.freq != self.freq_:
            raise ColumnError(f"predict() data has frequency {panel.freq!r}, the model was fitted at {self.freq_!r}.")
        check_min_length(panel, self.lookback_, f"lookback ({self.lookback_})")
        return _tail(panel, self.lookback_), list(panel.ids), [panel.last_time(i) for i in range(len(panel.ids))], panel

    def _scaler_rows(self, ids: list, target) -> tuple[np.ndarray, np.ndarray]:
        """Per-series location/scale: the fitted ones for known ids; for series not seen in ``fit``,
        fitted on ``target`` (all of the history given to ``predict``)."""
        known = {sid: i for i, sid in enumerate(self.ids_)}
        fresh = SeriesScaler(self.scaler).fit(list(target))
        loc = np.array([self.scaler_.loc_[known[s]] if s in known else fresh.loc_[j] for j, s in enumerate(ids)])
        scale = np.array([self.scaler_.scale_[known[s]] if s in known else fresh.scale_[j] for j, s in enumerate(ids)])
        return loc.reshape(-1, 1), scale.reshape(-1, 1)

    def _network_inputs(self, context: dict, ids: list, horizon_future: list[np.ndarray], history=None):
        loc, scale = self._scaler_rows(ids, context["target"] if history is None else history)
        x = ((context["target"] - loc) / scale).astype(np.float32)
        fut_hist = (context["future"] - self.future_loc_) / self.future_scale_
        fut_next = (np.stack(horizon_future) - self.future_loc_) / self.future_scale_
        future = np.concatenate([fut_hist, fut_next], axis=1).astype(np.float32)
        past = ((context["past"] - self.past_loc_) / self.past_scale_).astype(np.float32)
        static = ((context["static"] - self.static_loc_) / self.static_scale_).astype(np.float32)
        tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in (x, past, future, static)]
        return tensors, loc, scale

    def predict(self, X=None, X_future=None):
        """Forecast ``horizon`` steps after the end of the training data, or of the history ``X``.

        Parameters
        ----------
        X : DataFrame or Series, optional
            New history (same layout and columns as in ``fit``) to forecast from, without refitting.
        X_future : DataFrame, optional
            Long DataFrame with the future covariates for the ``horizon`` steps after each series'
            end; required when the model uses ``future_covariates``.

        Returns
        -------
        DataFrame or Series
            Forecasts in the layout of the training data, in the original scale; with
            ``loss="quantile"`` also one column per quantile.
        """
        check_is_fitted(self, "network_")
        context, ids, last_times, panel = self._context_from(X)
        if len(self.future_covariates):
            if X_future is None:
                raise ColumnError(
                    f"The model uses future covariates {list(self.future_covariates)}: pass X_future with their "
                    f"values for the {self.horizon} steps after the end of each series."
                )
            ref = panel if panel is not None else self._context_panel(ids, last_times)
            horizon_future = parse_future_covariates(X_future, ref, self.horizon)
        else:
            horizon_future = [np.zeros((self.horizon, 0)) for _ in ids]
        history = None if panel is None else panel.target  # unseen series are scaled by all of their history
        tensors, loc, scale = self._network_inputs(context, ids, horizon_future, history)
        with torch.no_grad():
            out = self.network_(*tensors).double().numpy()  # [N, H, Q]
        values = out * scale[..., None] + loc[..., None]
        if not np.isfinite(values).all():
            raise RuntimeError("The network produced non-finite forecasts; refusing to return them. "
                               "Check the input scale or retrain with a lower learning_rate.")
        return format_forecast(self, values, ids, last_times)

    def _context_panel(self, ids: list, last_times: list) -> PanelData:
        """A PanelData describing the stored context (what future-covariate parsing needs)."""
        index = [history_index(last, self.freq_, self.lookback_) for last in last_times]
        return PanelData(ids=ids, index=index, target=list(self.context_["target"]), future=list(self.context_["future"]),
                         past=list(self.context_["past"]), static=self.context_["static"], freq=self.freq_,
                         layout=self.layout_, columns=self._columns(), target_name=self.target_name_)

    def _predict_windows(self, panel: PanelData, cuts: list[np.ndarray], batch_size: int = 1024) -> np.ndarray:
        """Forecasts for many windows at once, in the original scale: ``[n_series, n_windows, H, Q]``.

        Window ``j`` of series ``i`` reads rows ``[cuts[i][j] - lookback, cuts[i][j])`` and needs the
        future covariates up to row ``cuts[i][j] + horizon``. Every series has the same number of windows.
        """
        from numpy.lib.stride_tricks import sliding_window_view

        L, H = self.lookback_, self.horizon
        ids = list(panel.ids)
        too_short = [(sid, int(c.min())) for sid, c in zip(ids, cuts) if c.min() < L]
        if too_short:
            raise SeriesTooShortError(
                f"Backtest windows need {L} rows of history (lookback) before each cutoff; series "
                + ", ".join(f"{sid!r} has only {n}" for sid, n in too_short) + " before its first cutoff."
            )
        loc, scale = self._window_scaling(panel, cuts)  # [N, W] each
        n_win = len(cuts[0])
        xs, pasts, futures = [], [], []
        for i, c in enumerate(cuts):
            xs.append((sliding_window_view(panel.target[i], L)[c - L] - loc[i, :, None]) / scale[i, :, None])
            pasts.append(sliding_window_view((panel.past[i] - self.past_loc_) / self.past_scale_, L, axis=0)[c - L])
            fut = (panel.future[i] - self.future_loc_) / self.future_scale_
            futures.append(sliding_window_view(fut, L + H, axis=0)[c - L])
        x = np.concatenate(xs).astype(np.float32)  # [N * W, L]
        past = np.concatenate(pasts).transpose(0, 2, 1).astype(np.float32)  # [N * W, P, L] -> [N * W, L, P]
        future = np.concatenate(futures).transpose(0, 2, 1).astype(np.float32)  # -> [N * W, L + H, F]
        static = np.repeat((panel.static - self.static_loc_) / self.static_scale_, n_win, axis=0).astype(np.float32)
        outs = []
        with torch.no_grad():
            for a in range(0, len(x), batch_size):
                sl = slice(a, a + batch_size)
                batch = [torch.from_numpy(np.ascontiguousarray(t[sl])) for t in (x, past, future, static)]
                outs.append(self.network_(*batch).double().numpy())
        values = np.concatenate(outs).reshape(len(ids), n_win, H, -1)
        return values * scale[:, :, None, None] + loc[:, :, None, None]

    def _window_scaling(self, panel: PanelData, cuts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Target location/scale per series and window ``[N, W]``: the fitted statistics for series seen
        in ``fit``; for unseen ones, statistics of the history before each window's cutoff -- exactly
        what ``predict`` would use given that history."""
        known = {sid: i for i, sid in enumerate(self.ids_)}
        loc = np.empty((len(panel.ids), len(cuts[0])))
        scale = np.empty_like(loc)
        for i, sid in enumerate(panel.ids):
            if sid in known:
                loc[i], scale[i] = self.scaler_.loc_[known[sid]], self.scaler_.scale_[known[sid]]
                continue
            for j, cut in enumerate(cuts[i]):
                fresh = SeriesScaler(self.scaler).fit([panel.target[i][:cut]])
                loc[i, j], scale[i, j] = fresh.loc_[0], fresh.scale_[0]
        return loc, scale

    # ------------------------------------------------------------------ embeddings
    def transform(self, X=None) -> np.ndarray:
        """Backbone embedding (last hidden state) of the most recent window of each series, ``[n_series, E]``."""
        check_is_fitted(self, "network_")
        context, ids, _, _ = self._context_from(X)
        zeros = [np.zeros((self.horizon, len(self.future_covariates))) for _ in ids]
        (x, past, future, static), _, _ = self._network_inputs(context, ids, zeros)
        with torch.no_grad():
            hidden, _, _ = self.network_.embed(x, past, future, static)
        return hidden[:, -1].numpy()

    # ------------------------------------------------------------------ evaluation / persistence
    def backtest(self, X, n_windows: int = 3, step: int | None = None, refit: bool = False, season_length=None):
        """Rolling-origin evaluation; see :func:`xlstm_ts.forecasting.backtest.backtest`."""
        from .backtest import backtest

        return backtest(self, X, n_windows=n_windows, step=step, refit=refit, season_length=season_length)

    def score(self, X, y=None) -> float:
        """Negative MAE of forecasting the last ``horizon`` steps of each series of ``X`` from the rest."""
        result = self.backtest(X, n_windows=1, refit=False)
        return -float(result.overall["mae"])

    def save(self, path) -> None:
        """Write the fitted model to the directory ``path`` (safetensors weights + JSON)."""
        from .persistence import save_forecaster

        save_forecaster(self, path)

    @classmethod
    def load(cls, path) -> xLSTMForecaster:
        """Read a model written by :meth:`save` (no pickle involved)."""
        from .persistence import load_forecaster

        return load_forecaster(cls, path)

    def plot(self, X=None, forecast=None, ax=None, series=None):
        """Plot history, forecast and (if trained with quantiles) the outer quantile band."""
        from .plotting import plot_forecast

        return plot_forecast(self, X, forecast, ax=ax, series=series)


__all__ = ["xLSTMForecaster"]
