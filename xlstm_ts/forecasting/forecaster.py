"""``xLSTMForecaster``: a scikit-learn-style global forecaster on pandas data, trained with Lightning."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ..nn import xLSTMBlockStackConfig
from ._base import BASE_CONSTRAINTS, BaseForecaster
from ._batches import WindowBatches
from ._constraints import Param
from ._network import BACKBONES, HEADS, ForecastNetwork, fit_linear_path, n_tokens, stack_config
from ._training import TrainOptions, resolve_accelerator, train
from .losses import LOSSES
from .persistence import ModelFileError

XLSTM_CONSTRAINTS: dict[str, Param] = {
    **BASE_CONSTRAINTS,
    # the backbone entries are searched only with a named backbone (a config object fixes them); widths are
    # powers of two, so that every searched head count divides every searched width
    "backbone": Param(
        "choice",
        choices=BACKBONES,
        instances=(xLSTMBlockStackConfig,),
        search=BACKBONES,
        search_when=("backbone", BACKBONES),
    ),
    "embedding_dim": Param("int", low=4, search=(16, 32, 64, 128), search_when=("backbone", BACKBONES)),
    "num_blocks": Param("int", low=1, search=(1, 4), search_when=("backbone", BACKBONES)),
    "num_heads": Param("int", low=1, search=(1, 2, 4, 8), search_when=("backbone", BACKBONES)),
    "slstm_at": Param("int_list", low=0, none=True, upto="num_blocks", search_when=("backbone", ("mixed",))),
    "dropout": Param("float", low=0.0, high=1.0, closed="left", search=(0.0, 0.3)),
    "loss": Param("choice", choices=LOSSES),
    "quantiles": Param("quantiles", when=("loss", ("quantile",))),
    "instance_norm": Param("bool"),
    "patch_size": Param("int", low=1, none=True, search=(1, 2, 4, 8, 16)),
    "patch_stride": Param("int", low=1, none=True),
    "head": Param("choice", choices=HEADS, none=True),
    "linear_path": Param("bool", none=True),
    "learning_rate": Param("float", low=0.0, high=10.0, closed="right", search=(1e-4, 1e-2), log=True),
    "batch_size": Param("int", low=1, none=True, search=(16, 256), log=True),
    "max_epochs": Param("int", low=1, none=True),
    "weight_averaging": Param("float", low=0.0, high=1.0, closed="left", none=True),
    "early_stopping_patience": Param("int", low=1, none=True),
    "stride": Param("int", low=1),
    "device": Param("choice", choices=("auto", "cpu", "cuda", "gpu", "mps")),
    "compile_network": Param("bool"),
    "trainer_kwargs": Param("dict", none=True),
}


#: ``torch.compile`` backend of ``compile_network=True``.
COMPILE_BACKEND = "inductor"


#: Rows per patch when ``patch_size=None``: patches of 16 rows every 8 (PatchTST's setting) for lookbacks of
#: at least this many rows, one row per token below.
AUTO_PATCH_FROM = 64


#: Windows per step when ``batch_size=None``: few for short lookbacks (small data, many updates), more for
#: long ones (long series have tens of thousands of windows; a step's cost is mostly fixed overhead).
SHORT_BATCH, LONG_BATCH = 32, 256

#: ``max_epochs=None``: as many epochs as give about this many optimiser steps, within
#: ``[MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS]``.  The learning rate follows one cycle over all planned steps,
#: so the plan should be one that training can finish: a long series gets a few long epochs whose
#: schedule completes (on the long-horizon benchmarks the best validation epoch was the first or second
#: of any longer plan), a short one keeps the old upper bound of 60 and early stopping.
AUTO_STEPS, MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS = 1000, 3, 60


def planned_epochs(max_epochs: int | None, n_windows: int, batch_size: int) -> int:
    """The epoch count a fit plans: ``max_epochs`` itself, or for ``None`` the epochs that give about
    :data:`AUTO_STEPS` optimiser steps of ``batch_size`` windows out of ``n_windows``, clipped to
    ``[MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS]``.

    >>> planned_epochs(None, 57_463, 256), planned_epochs(None, 238_000, 256), planned_epochs(None, 100, 32)
    (5, 3, 60)
    >>> planned_epochs(7, 100, 32)
    7
    """
    if max_epochs is not None:
        return int(max_epochs)
    steps_per_epoch = -(-max(n_windows, 1) // max(batch_size, 1))
    return min(MAX_AUTO_EPOCHS, max(MIN_AUTO_EPOCHS, -(-AUTO_STEPS // steps_per_epoch)))


def patching(patch_size: int | None, patch_stride: int | None, lookback: int) -> tuple[int, int]:
    """The ``(patch_size, patch_stride)`` a network uses: ``patch_size=None`` picks 16 rows every 8 for
    lookbacks of :data:`AUTO_PATCH_FROM` rows or more and one row per token below; ``patch_stride=None``
    is ``patch_size`` for a given size (non-overlapping patches).

    >>> patching(None, None, 336), patching(None, None, 36), patching(8, None, 336), patching(16, 4, 336)
    ((16, 8), (1, 1), (8, 8), (16, 4))
    """
    if patch_size is None:
        if lookback >= AUTO_PATCH_FROM:
            return 16, 8 if patch_stride is None else patch_stride
        return 1, 1
    return patch_size, patch_size if patch_stride is None else patch_stride


def long_lookback_settings(head: str | None, linear_path: bool | None, lookback: int) -> tuple[str, bool]:
    """The ``(head, linear_path)`` a network uses: ``None`` resolves to ``("flatten", True)`` for
    lookbacks of :data:`AUTO_PATCH_FROM` rows or more and to ``("last", False)`` below.

    >>> long_lookback_settings(None, None, 336), long_lookback_settings(None, None, 36)
    (('flatten', True), ('last', False))
    """
    long = lookback >= AUTO_PATCH_FROM
    return (
        ("flatten" if long else "last") if head is None else head,
        long if linear_path is None else bool(linear_path),
    )


#: Network settings of models saved before the head and linear-path options existed.
_BEFORE_HEADS: dict[str, Any] = {"head": "last", "linear_path": False}


class xLSTMForecaster(BaseForecaster):
    """Global xLSTM forecaster for one or many series, with a scikit-learn interface.

    ``fit`` takes a long DataFrame (``unique_id``, ``ds``, ``y`` plus covariate columns), a wide
    DataFrame with a DatetimeIndex (one column per series) or a Series; ``predict`` returns the
    ``horizon`` steps after the end of each series, with real future timestamps, in the input's
    layout and scale.  Parameters changed with ``set_params`` after ``fit`` take effect at the next
    ``fit``; until then ``predict``, ``backtest``, ``save`` and ``plot`` use the fitted ones (``params_``).

    Parameters
    ----------
    horizon : int
        Number of steps to forecast (direct multi-horizon output).
    lookback : int or None
        Length of the history window the network reads.  ``None`` adapts to the data: 336 rows when the
        shortest training part holds at least ``8 * (336 + horizon)`` rows (long series, the setting of
        the long-horizon benchmarks), else ``3 * horizon``.  The value used is ``lookback_``.
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
        Quantile levels (must contain 0.5, the point forecast) when ``loss="quantile"``.  Predicted
        quantiles are sorted per step, so they never cross.
    scaler : {"standard", "robust", "none"}
        Per-series scaling of the target, fitted on the training part.
    instance_norm : bool
        Normalise every input window by its own mean and standard deviation (and undo it on the
        output); helps with trends and level shifts.
    patch_size : int or None
        Rows per backbone token: ``1`` feeds every row, ``p > 1`` feeds patches of ``p`` rows (much
        faster for long lookbacks).  ``None`` picks 16-row patches every 8 rows (PatchTST's setting) for
        lookbacks of 64 rows or more and single rows below; the values used are ``patch_size_`` and
        ``patch_stride_``.
    patch_stride : int or None
        Rows between the starts of consecutive patches; ``None`` means ``patch_size`` (non-overlapping)
        for a given ``patch_size``.
    head : {"flatten", "last"} or None
        ``"flatten"`` maps every token's hidden state to the horizon with one linear layer (as PatchTST
        does); ``"last"`` reads only the last hidden state.  ``None``: ``"flatten"`` for lookbacks of 64
        rows or more, ``"last"`` below (the value used is ``head_``).
    linear_path : bool or None
        Add a linear map from the history straight to the horizon (NLinear: relative to the window's last
        value).  It is fitted in closed form (ridge regression over every training window) before training
        and kept fixed, and the xLSTM part starts at zero and learns the residual.  With a validation
        split, the fitted model is the best validation epoch when it beats the linear forecast by more
        than one standard error of the validation loss difference, else the linear forecast itself
        (``best_epoch_ == -1``); the ridge strength is then chosen on the validation windows
        too (``linear_ridge_``).  ``None``: on for lookbacks of 64 rows or more, off below
        (the value used is ``linear_path_``).
    learning_rate : float
        Peak learning rate of AdamW with a one-cycle schedule.
    batch_size : int or None
        Windows per training batch; ``None``: 32 for lookbacks below 64 rows, 256 from 64 rows on.
    max_epochs : int or None
        Upper bound on training epochs (the one-cycle learning-rate schedule spans all of them).
        ``None``: enough epochs for about 1000 optimiser steps, at least 3 and at most 60 (a long
        series gets 3-5 epochs, a short one 60 with early stopping); the value used is ``max_epochs_``.
    weight_averaging : float or None
        Average the weights (SWA, equal weights) over the training steps after this fraction of
        all steps, and use the average; ``None`` keeps the last weights.  Used only when
        ``validation_size == 0``; with a validation split the best epoch's weights are used instead.
    early_stopping_patience : int or None
        Epochs without validation improvement before stopping (needs ``validation_size > 0``).
    validation_size : float
        Fraction of each series, at its end, whose windows are used for validation (early
        stopping and best-epoch checkpointing).  ``0`` trains on everything for ``max_epochs``.
    stride : int
        Step between training windows.
    id_col, time_col, target_col : str
        Series-id, timestamp (datetime or integer) and target columns of the long layout.
    future_covariates, past_covariates, static_covariates : str or sequence of str
        Columns known in the future (their values for the horizon are required at predict time),
        known only up to the present, and constant within each series.  A string is one column name.
    freq : str or None
        pandas frequency alias; inferred (and checked consistent) when ``None``.
    fill_method : {None, "ffill", "interpolate", "zero"}
        How to fill missing values; ``None`` raises an error on any NaN.
    random_state : int or None
        Seed for initialisation and shuffling.
    device : {"auto", "cpu", "cuda", "gpu", "mps"}
        Where to train; ``"auto"`` takes a GPU when there is one.
    compile_network : bool
        Train with the backbone under ``torch.compile`` (``nn.Module.compile``, which keeps the parameter
        names), with ``fullgraph=True`` on the CPU; on a GPU graph breaks are allowed, because the
        bf16-autocast training step has not been checked for them.  The first steps of each new batch shape
        pay the compile time, so it pays off only for long trainings; prediction, saving and pickling use the uncompiled backbone.
    trainer_kwargs : dict or None
        Extra arguments for ``lightning.Trainer`` (e.g. ``devices=2, strategy="ddp"``, ``max_steps``).
    num_threads : "auto" or int
        CPU threads for training and prediction.  ``"auto"`` uses one thread for small models (they gain
        nothing from more and slow down badly on a busy machine) and the available cores for large ones.
    verbose : bool
        One progress line per training (updated in place on a terminal, one summary line otherwise).

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

    _parameter_constraints: ClassVar[dict[str, Param]] = XLSTM_CONSTRAINTS
    network_: ForecastNetwork  # fitted attributes (set by fit or load)
    backbone_config_: xLSTMBlockStackConfig

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
        patch_size: int | None = None,
        patch_stride: int | None = None,
        head: str | None = None,
        linear_path: bool | None = None,
        learning_rate: float = 3e-3,
        batch_size: int | None = None,
        max_epochs: int | None = None,
        weight_averaging: float | None = 0.5,
        early_stopping_patience: int | None = 5,
        validation_size: float = 0.0,
        stride: int = 1,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        future_covariates: str | Sequence[str] = (),
        past_covariates: str | Sequence[str] = (),
        static_covariates: str | Sequence[str] = (),
        freq: str | None = None,
        fill_method: str | None = None,
        random_state: int | None = 0,
        device: str = "auto",
        compile_network: bool = False,
        trainer_kwargs: dict | None = None,
        num_threads: str | int = "auto",
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
        self.patch_stride = patch_stride
        self.head = head
        self.linear_path = linear_path
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
        self.compile_network = compile_network
        self.trainer_kwargs = trainer_kwargs
        self.num_threads = num_threads
        self.verbose = verbose

    # ------------------------------------------------------------------------------------- params
    def _check_params(self) -> dict[str, Any]:
        out = super()._check_params()
        self._backbone_config(out)  # inconsistent backbone parameters fail here, before any training
        return out

    def _backbone_config(self, params: dict[str, Any]) -> xLSTMBlockStackConfig:
        return stack_config(
            params["backbone"],
            params["embedding_dim"],
            params["num_blocks"],
            params["num_heads"],
            params["slstm_at"],
            params["dropout"],
            type(self).__name__,
        )

    def _param_to_json(self, name: str, value: Any) -> Any:
        if isinstance(value, xLSTMBlockStackConfig):
            return {"xLSTMBlockStackConfig": value.to_dict()}
        return super()._param_to_json(name, value)

    def _param_from_json(self, name: str, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"xLSTMBlockStackConfig"}:
            return xLSTMBlockStackConfig.from_dict(value["xLSTMBlockStackConfig"])
        return value

    # ----------------------------------------------------------------------------------- protocol
    def _network(self, n_past: int, n_future: int, n_static: int) -> ForecastNetwork:
        p = self.params_
        return ForecastNetwork(
            self._backbone_config(p),
            p["horizon"],
            max(1, len(self.output_spec_.quantiles)),
            n_past=n_past,
            n_future=n_future,
            n_static=n_static,
            instance_norm=p["instance_norm"],
            dropout=p["dropout"],
            patch_size=self.patch_size_,
            relative_eps=p["scaler"] == "none",
            lookback=self.lookback_,
            patch_stride=self.patch_stride_,
            head=self.head_,
            linear_path=self.linear_path_,
        )

    def _windows_per_step(self, params: dict[str, Any], lookback: int, n_windows: int) -> int:
        if params["batch_size"] is not None:
            return int(params["batch_size"])
        return LONG_BATCH if lookback >= AUTO_PATCH_FROM else SHORT_BATCH

    def _work_per_window(self, params: dict[str, Any], lookback: int) -> float:
        size, stride = patching(params["patch_size"], params["patch_stride"], lookback)
        head, linear = long_lookback_settings(params["head"], params["linear_path"], lookback)
        # on the meta device: no memory, no initialisation, and no draw from the caller's random generator
        with torch.device("meta"):
            net = ForecastNetwork(
                self._backbone_config(params),
                params["horizon"],
                patch_size=size,
                lookback=lookback,
                patch_stride=stride,
                head=head,
                linear_path=linear,
            )
        tokens = n_tokens(lookback, size, stride)
        return sum(w.numel() for w in net.backbone.parameters()) * tokens + sum(
            w.numel() for w in (*net.head.parameters(), *net.input_proj.parameters())
        )

    def _fit_model(self, train_set, val_set) -> None:
        from ._module import ForecastModule

        p = self.params_
        self.patch_size_, self.patch_stride_ = patching(p["patch_size"], p["patch_stride"], self.lookback_)
        self.head_, self.linear_path_ = long_lookback_settings(p["head"], p["linear_path"], self.lookback_)
        network = self._network(train_set.n_past, train_set.n_future, train_set.n_static)
        self.linear_ridge_: float | None = None
        if network.linear is not None:  # closed-form warm start: training begins at the ridge forecast
            # every window, whatever the training stride: the ridge fit is cheap and half the windows cost accuracy
            where = torch.device("cuda") if resolve_accelerator(p["device"]) == "gpu" else torch.device("cpu")
            batches = WindowBatches(train_set.with_stride(1), 4096, shuffle=False)
            batches.place(where)
            val_batches = None
            if val_set is not None:  # the ridge strength is chosen on the validation windows
                val_batches = WindowBatches(val_set, 4096, shuffle=False)
                val_batches.place(where)
            self.linear_ridge_ = fit_linear_path(network, batches, val_batches=val_batches)
            network.linear.requires_grad_(False)  # the xLSTM learns the residual of the ridge forecast
        if p["compile_network"]:
            # in place: the state_dict keeps its names (no ``_orig_mod.`` prefix), so checkpoints, weight
            # averaging and save/load see the same parameters as without compiling
            # whole-graph capture on the CPU's native kernels; on a GPU a float32 stack on the Triton ops
            # compiles whole too (tests/nn/test_compile.py), but the bf16-autocast step is unchecked, so
            # breaks stay allowed there
            network.backbone.compile(
                fullgraph=resolve_accelerator(p["device"]) != "gpu",
                backend=COMPILE_BACKEND,
            )
        module = ForecastModule(network, p["loss"], self.output_spec_.quantiles, p["learning_rate"])
        batch_size = self._windows_per_step(p, self.lookback_, len(train_set))
        self.max_epochs_ = planned_epochs(p["max_epochs"], len(train_set), batch_size)
        options = TrainOptions(
            batch_size=batch_size,
            max_epochs=self.max_epochs_,
            seed=p["random_state"],
            device=p["device"],
            weight_averaging=p["weight_averaging"],
            early_stopping_patience=p["early_stopping_patience"],
            trainer_kwargs=dict(p["trainer_kwargs"] or {}),
            verbose=p["verbose"],
            label=type(self).__name__,
            keep_start_if_best=self.linear_path_,
            started=self._fit_started,
        )
        result = train(module, train_set, val_set, options)
        self.network_ = cast(ForecastNetwork, result.network)
        # predictions run eagerly: compiling for one forecast takes longer than running it
        self.network_.backbone.uncompile()
        self.best_epoch_, self.n_epochs_ = result.best_epoch, result.n_epochs
        self.stopped_by_budget_ = bool(result.stopped_by_budget)
        self.backbone_config_ = self._backbone_config(p)

    def _inference_device(self) -> torch.device:
        # forecasts run where the model was trained: a GPU when ``device`` picks one
        if resolve_accelerator(self.params_["device"]) == "gpu" and torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")

    def _device_network(self, device: torch.device) -> ForecastNetwork:
        """``network_`` on ``device`` (a copy kept while ``network_`` stays the same object)."""
        if device.type == "cpu":
            return self.network_
        cached = getattr(self, "_network_copy", None)
        if cached is None or cached[0] is not self.network_ or cached[1] != device:
            cached = (self.network_, device, copy.deepcopy(self.network_).to(device).eval())
            self._network_copy = cached
        return cached[2]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_network_copy", None)  # a device copy of network_, rebuilt when needed
        return state

    def _forecast_batch(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        net = self._device_network(batch["x"].device)
        return net(batch["x"], batch["past"], batch["future"], batch["static"]).double().cpu().numpy()

    def _model_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        net = self.network_
        config = {
            "backbone_config": self.backbone_config_.to_dict(),
            "network": net.config(),
            "best_epoch_": self.best_epoch_,
            "linear_ridge_": self.linear_ridge_,
            "n_epochs_": self.n_epochs_,
            "max_epochs_": self.max_epochs_,
            "stopped_by_budget_": self.stopped_by_budget_,
        }
        return config, dict(net.state_dict())

    def _restore_model(self, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        p, spec = self.params_, self.output_spec_
        size, stride = patching(p["patch_size"], p["patch_stride"], self.lookback_)
        head, linear = long_lookback_settings(p["head"], p["linear_path"], self.lookback_)
        backbone = xLSTMBlockStackConfig.from_dict(config["backbone_config"])
        expected = {
            "horizon": p["horizon"],
            "n_outputs": max(1, len(spec.quantiles)),
            "n_past": len(spec.columns.past_covariates),
            "n_future": len(spec.columns.future_covariates),
            "n_static": len(spec.columns.static_covariates),
            "instance_norm": p["instance_norm"],
            "patch_size": size,
            "relative_eps": p["scaler"] == "none",
            "lookback": self.lookback_,
            "patch_stride": stride,
            "head": head,
            "linear_path": linear,
        }
        # settings that did not exist when older models were saved
        before = {**_BEFORE_HEADS, "lookback": expected["lookback"], "patch_stride": expected["patch_stride"]}
        stored = {**before, **config["network"]}
        wrong = {k: (stored.get(k), v) for k, v in expected.items() if stored.get(k) != v}
        if wrong:
            raise ModelFileError(
                "The saved network disagrees with the saved parameters: "
                + ", ".join(
                    f"{k} is {s!r} in the network but {e!r} in the parameters" for k, (s, e) in wrong.items()
                )
            )
        if backbone.to_dict() != self._backbone_config(p).to_dict():
            raise ModelFileError("The saved backbone config disagrees with the saved backbone parameters.")
        network = ForecastNetwork(backbone, dropout=p["dropout"], **stored)
        try:
            network.load_state_dict(tensors)
        except RuntimeError as err:
            raise ModelFileError(f"The saved weights do not fit the saved network config: {err}") from err
        self.network_ = network.eval()
        self.patch_size_, self.patch_stride_ = size, stride
        self.head_, self.linear_path_ = head, linear
        self.backbone_config_ = backbone
        self.best_epoch_, self.n_epochs_ = int(config["best_epoch_"]), int(config["n_epochs_"])
        # models saved before max_epochs could be None have the number in their parameters
        self.stopped_by_budget_ = bool(config.get("stopped_by_budget_", False))
        planned = config.get("max_epochs_", p["max_epochs"])
        self.max_epochs_ = self.n_epochs_ if planned is None else int(planned)
        ridge = config.get("linear_ridge_")
        self.linear_ridge_ = None if ridge is None else float(ridge)

    def __sklearn_tags__(self):
        from sklearn.utils._tags import TransformerTags

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags(preserves_dtype=[])  # transform(): one embedding per series
        return tags

    # ---------------------------------------------------------------------------------- embeddings
    def transform(self, X=None) -> np.ndarray:
        """Backbone embedding (last hidden state) of the most recent window of each series, ``[n_series, E]``."""
        check_is_fitted(self, "params_")
        panel = self._history(X)
        zeros = [
            np.zeros((self.output_spec_.horizon, len(self.output_spec_.columns.future_covariates)))
        ] * panel.n_series
        windows = self._windows(panel, [np.array([T]) for T in panel.lengths()], zeros)
        batch = windows[np.arange(len(windows))]
        with torch.no_grad():
            hidden, _, _ = self.network_.embed(batch["x"], batch["past"], batch["future"], batch["static"])
        return hidden[:, -1].numpy()


__all__ = ["xLSTMForecaster"]
