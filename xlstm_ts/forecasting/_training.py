"""The training engine of the neural forecasters: loaders, callbacks, Trainer options, checkpoint reload,
threads, seeding and the one progress line.  Nothing here knows about pandas or estimators' parameters
beyond the :class:`TrainOptions` it is given.
"""

from __future__ import annotations

import contextlib
import logging
import random
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

#: Below this many multiply-adds per step (about parameters x windows x tokens), one CPU thread is about
#: as fast as several and does not collapse when the machine is shared (docs/forecasting.md, "CPU
#: threads"): small models gain nothing from intra-op parallelism.
SMALL_STEP_WORK = 1e8


@dataclass
class TrainOptions:
    """What :func:`train` needs besides the module and the data."""

    batch_size: int
    max_epochs: int
    seed: int | None
    device: str = "auto"
    weight_averaging: float | None = None
    early_stopping_patience: int | None = None
    trainer_kwargs: dict[str, Any] = field(default_factory=dict)
    verbose: bool = True
    label: str = "training"
    #: With a validation set: score the untrained (warm-started) module on it first, and return it
    #: unchanged (``best_epoch=-1``) unless the best epoch beats it by more than one standard error
    #: (:func:`start_is_as_good`).
    keep_start_if_best: bool = False
    #: ``time.perf_counter()`` at which the caller's work began, so that a ``max_time`` budget in
    #: ``trainer_kwargs`` covers the preparation too (None: the budget starts with training).
    started: float | None = None


@dataclass
class TrainResult:
    network: torch.nn.Module
    best_epoch: int  # -1: the starting weights were kept (see TrainOptions.keep_start_if_best)
    n_epochs: int
    stopped_by_budget: bool = False


# ---------------------------------------------------------------------------------------------- context
@contextlib.contextmanager
def seeded(seed: int | None):
    """Seed torch, numpy and ``random`` inside the block and restore the caller's generator states after."""
    if seed is None:
        yield
        return
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


def auto_threads(step_work: float) -> int | None:
    """Intra-op CPU threads for steps of ``step_work`` multiply-adds: 1 for small work, else None (keep
    torch's setting, by default one thread per physical core).  Small models gain nothing from more
    threads and lose badly when the machine is shared (docs/benchmarks.md, "CPU threads")."""
    return 1 if step_work < SMALL_STEP_WORK else None


@contextlib.contextmanager
def torch_threads(n: int | None):
    """``torch.set_num_threads(n)`` inside the block (None: leave it), the caller's setting restored after."""
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


_LIGHTNING_LOGGERS = (
    "lightning",
    "lightning.pytorch",
    "lightning.fabric",
    "pytorch_lightning",
    "lightning_fabric",
)


@contextlib.contextmanager
def quiet_lightning():
    """No Lightning start-up banners (devices, tips) and no warnings we know to be noise."""
    loggers = [logging.getLogger(n) for n in _LIGHTNING_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for message in (
                ".*does not have many workers.*",
                ".*number of training batches.*",
                ".*LeafSpec.*is deprecated.*",
                ".*validation_step.*but have no .val_dataloader.*",
                ".*litlogger.*",
                ".*litmodels.*",
            ):
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def resolve_accelerator(device: str) -> str:
    if device == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    return {"cuda": "gpu"}.get(device, device)


def is_distributed(trainer_kwargs: dict[str, Any]) -> bool:
    """Whether ``trainer_kwargs`` ask for more than one device or a distributed strategy."""
    devices, strategy = trainer_kwargs.get("devices", 1), str(trainer_kwargs.get("strategy", ""))
    many = (
        devices == -1
        or (isinstance(devices, int) and devices > 1)
        or (isinstance(devices, (list, tuple)) and len(devices) > 1)
    )
    return many or "ddp" in strategy or "fsdp" in strategy


# ------------------------------------------------------------------------------------------------ train
def _loaders(train_set, val_set, options: TrainOptions, distributed: bool):
    from torch.utils.data import DataLoader

    from ._batches import WindowBatches

    val_batch = max(options.batch_size, 1024)
    seed = options.seed if options.seed is not None else 0
    if distributed:  # plain batched loaders, so that Lightning can insert its DistributedSampler
        generator = torch.Generator().manual_seed(seed)
        train = DataLoader(train_set, batch_size=options.batch_size, shuffle=True, generator=generator)
        val = DataLoader(val_set, batch_size=val_batch) if val_set is not None else None
        return train, val
    # whole batches sliced on the training device from a resident copy of the series; every validation window
    return (
        WindowBatches(train_set, options.batch_size, shuffle=True, seed=seed),
        WindowBatches(val_set, val_batch, shuffle=False) if val_set is not None else None,
    )


def _trained_losses(module, dataset, trainer, batch_size: int) -> torch.Tensor:
    """The module's loss on every window of ``dataset`` (float64 on the CPU), on the training device and in
    the validation precision, as :class:`StartScore` computed the start's."""
    from ._batches import WindowBatches
    from ._callbacks import score_windows

    where = next(module.parameters()).device
    module.to(trainer.strategy.root_device)
    batches = WindowBatches(dataset, batch_size, shuffle=False)
    batches.place(trainer.strategy.root_device)
    losses = score_windows(module, batches, trainer)
    module.to(where)
    return losses


def start_is_as_good(start: torch.Tensor, trained: torch.Tensor, dataset) -> bool:
    """The one-standard-error rule between the starting model and a trained one, on per-window validation
    losses: keep the start (the simpler model) unless the trained model's mean loss is lower by more than
    one standard error of the mean difference.  Windows that overlap are correlated, so the error is taken
    over blocks of ``horizon`` consecutive windows of a series (block means), not over single windows."""
    gain = (start - trained).numpy()  # > 0 where the trained model is better
    series, starts = np.asarray(dataset.series), np.asarray(dataset.starts)
    blocks = series * (int(starts.max(initial=0)) // dataset.horizon + 1) + starts // dataset.horizon
    _, block = np.unique(blocks, return_inverse=True)
    means = np.bincount(block, weights=gain) / np.bincount(block)
    if len(means) < 2:
        return bool(means.mean() <= 0)
    se = means.std(ddof=1) / np.sqrt(len(means))
    return bool(means.mean() <= se)


def train(module, train_set, val_set, options: TrainOptions) -> TrainResult:
    """Fit the LightningModule ``module`` (whose ``network`` attribute is the plain network, and whose
    ``batch_loss(batch)`` is the loss it trains) and return the network on the CPU in float32, in eval
    mode: the best validation epoch's weights when there is a validation set (or the starting weights,
    with ``keep_start_if_best``, unless the best epoch beats them by more than one standard error), else
    the (averaged) final ones.

    A ``max_time`` in ``trainer_kwargs`` is a budget for the whole fit, measured from
    ``options.started``: training stops early enough for the final validation pass to fit in it too."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from ._batches import WindowBatches
    from ._callbacks import Budget, PlaceBatches, ProgressLine, StartScore, budget_seconds
    from ._module import LateWeightAveraging

    extra = dict(options.trainer_kwargs)
    budget = extra.pop("max_time", None)
    deadline = None
    if budget is not None:
        deadline = (options.started or time.perf_counter()) + budget_seconds(budget)
    train_loader, val_loader = _loaders(train_set, val_set, options, is_distributed(extra))
    accelerator = resolve_accelerator(options.device)
    with tempfile.TemporaryDirectory(prefix="xlstm_ts_") as workdir:
        callbacks: list = [
            PlaceBatches(*(lo for lo in (train_loader, val_loader) if isinstance(lo, WindowBatches)))
        ]
        # with a validation split the best-epoch checkpoint plays the part of the weight average
        if options.weight_averaging is not None and val_loader is None:
            callbacks.append(LateWeightAveraging(options.weight_averaging))
        checkpoint = start = None
        if val_loader is not None:
            checkpoint = ModelCheckpoint(dirpath=workdir, monitor="val_loss", mode="min", save_top_k=1)
            callbacks.append(checkpoint)
            if options.early_stopping_patience is not None:
                # checked after each validation only, so a run shorter than an epoch cannot miss the metric
                callbacks.append(
                    EarlyStopping(
                        monitor="val_loss",
                        patience=options.early_stopping_patience,
                        check_on_train_epoch_end=False,
                    )
                )
            if options.keep_start_if_best:
                start = StartScore(WindowBatches(val_set, max(options.batch_size, 1024), shuffle=False))
                callbacks.append(start)
        timer = None
        if deadline is not None:
            # after the last validation, the start comparison may score the trained weights once more
            passes = 2 if start is not None else 1
            timer = Budget(
                deadline, len(val_set) if val_set is not None else 0, val_passes=passes, start=start
            )
            callbacks.append(timer)
        if options.verbose:
            callbacks.append(ProgressLine(options.label))
        trainer_options: dict[str, Any] = dict(
            max_epochs=options.max_epochs,
            accelerator=accelerator,
            devices=1,
            logger=False,
            enable_checkpointing=checkpoint is not None,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=workdir,
            precision="bf16-mixed" if accelerator == "gpu" else "32-true",
            num_sanity_val_steps=0,
        )
        # user callbacks are added to ours (early stopping, checkpoint, averaging), never replace them
        trainer_options["callbacks"] = callbacks + list(extra.pop("callbacks", None) or [])
        trainer_options.update(extra)
        max_steps = trainer_options.get("max_steps", -1)
        if val_loader is not None and isinstance(max_steps, int) and 0 < max_steps < len(train_loader):
            # the run ends before the first epoch does: validate at its last step
            trainer_options.setdefault("val_check_interval", max_steps)
        with quiet_lightning():
            trainer = L.Trainer(**trainer_options)
            trainer.fit(module, train_loader, val_loader)
        best_epoch, kept_start = max(trainer.current_epoch - 1, 0), False
        if checkpoint is not None and checkpoint.best_model_path:
            state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
            module.load_state_dict(state["state_dict"])
            best_epoch = int(state["epoch"])
            best = checkpoint.best_model_score
            if start is not None and start.state is not None:
                if start.score is not None and best is not None and start.score > float(best):
                    # the trained epoch scored better on average; keep it only if clearly so.  When the
                    # budget leaves no time for the pass that checks the margin, the start (the simpler
                    # model) stays: there is no evidence of a clear gain.
                    pass_s = start.seconds or 0.0
                    on_time = deadline is None or time.perf_counter() + pass_s <= deadline
                    kept_start = True
                    if on_time and start.losses is not None:
                        trained = _trained_losses(module, val_set, trainer, start.batches.batch_size)
                        kept_start = start_is_as_good(start.losses, trained, val_set)
                else:
                    kept_start = True
                if kept_start:
                    module.load_state_dict(start.state)
        elif start is not None and start.state is not None:  # stopped before any validation ran
            module.load_state_dict(start.state)
            kept_start = True
        n_epochs = trainer.current_epoch
    stopped = bool(timer is not None and timer.stopped)
    return TrainResult(
        module.network.to("cpu").float().eval(), -1 if kept_start else best_epoch, n_epochs, stopped
    )
