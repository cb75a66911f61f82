"""The Lightning callbacks of the training engine: the progress line, batch placement, the score of the
starting weights and the time budget.  Lightning is imported by the caller (``_training.train``) only."""

from __future__ import annotations

import re
import sys
import time
from datetime import timedelta
from typing import Any

import lightning as L
import torch

from ._batches import WindowBatches


# --------------------------------------------------------------------------------------------- duration
def budget_seconds(value: Any) -> float:
    """Seconds in a Lightning ``max_time`` value: ``"DD:HH:MM:SS"``, a ``timedelta`` or a dict of
    ``timedelta`` arguments (e.g. ``{"minutes": 4}``)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        match = re.fullmatch(r"(\d+):(\d\d):(\d\d):(\d\d)", value.strip())
        if not match:
            raise ValueError(
                f'trainer_kwargs["max_time"] must look like "DD:HH:MM:SS" (e.g. "00:00:04:00" for four minutes); '
                f"got {value!r}."
            )
        d, h, m, s = (int(g) for g in match.groups())
        seconds = timedelta(days=d, hours=h, minutes=m, seconds=s).total_seconds()
    elif isinstance(value, dict):
        try:
            seconds = timedelta(**value).total_seconds()
        except TypeError as err:
            raise ValueError(
                f'trainer_kwargs["max_time"] as a dict takes timedelta arguments; {err}.'
            ) from err
    else:
        raise ValueError(
            'trainer_kwargs["max_time"] must be a "DD:HH:MM:SS" string, a datetime.timedelta or a dict such as '
            f'{{"minutes": 4}}; got {type(value).__name__}.'
        )
    if seconds <= 0:
        raise ValueError(f'trainer_kwargs["max_time"] must be a positive duration; got {value!r}.')
    return seconds


# --------------------------------------------------------------------------------------------- progress
class ProgressLine(L.Callback):
    """One line per training: rewritten in place on a terminal, a single summary line elsewhere."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.stream = sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()

    @staticmethod
    def _metrics(trainer) -> str:
        parts = []
        for key in ("train_loss", "val_loss"):
            value = trainer.callback_metrics.get(key)
            if value is not None:
                parts.append(f"{key} {float(value):.4g}")
        return ", ".join(parts)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.tty and trainer.is_global_zero:
            total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?"
            line = f"{self.label}: epoch {trainer.current_epoch + 1}/{total}  {self._metrics(trainer)}"
            self.stream.write("\r" + line.ljust(78))
            self.stream.flush()

    def on_train_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        seconds = time.perf_counter() - self.start
        line = f"{self.label}: {trainer.current_epoch} epoch(s) in {seconds:.1f} s  {self._metrics(trainer)}"
        self.stream.write(("\r" + line.ljust(78) if self.tty else line) + "\n")
        self.stream.flush()


# -------------------------------------------------------------------------------------------- placement
class PlaceBatches(L.Callback):
    """Tell the :class:`WindowBatches` loaders the training device once the module is on it."""

    def __init__(self, *loaders: WindowBatches | None) -> None:
        self.loaders = [lo for lo in loaders if lo is not None]

    def on_fit_start(self, trainer, pl_module) -> None:
        for loader in self.loaders:
            loader.place(pl_module.device)


# ------------------------------------------------------------------------------------------ start score
class StartScore(L.Callback):
    """The validation losses of the weights training starts from (e.g. a closed-form warm start), per
    window and on average, computed once before the first step over every validation window, in the
    precision the validation epochs use; ``seconds`` is how long that pass took.

    Every process scores the whole validation set, so the numbers are the same on every rank."""

    def __init__(self, batches: WindowBatches) -> None:
        self.batches = batches
        self.score: float | None = None
        self.losses: torch.Tensor | None = None  # float64 [n_windows], on the CPU
        self.state: dict[str, torch.Tensor] | None = None
        self.seconds: float | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        begin = time.perf_counter()
        self.batches.place(pl_module.device)
        self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        self.losses = score_windows(pl_module, self.batches, trainer)
        self.score = float(self.losses.mean()) if len(self.losses) else None
        self.seconds = time.perf_counter() - begin


@torch.no_grad()
def score_windows(pl_module, batches, trainer) -> torch.Tensor:
    """``pl_module.window_losses`` over ``batches`` in eval mode and the validation precision of
    ``trainer``, as float64 on the CPU."""
    was_training = pl_module.training
    pl_module.eval()
    with trainer.precision_plugin.val_step_context():
        parts = [pl_module.window_losses(batch).double() for batch in batches]
    pl_module.train(was_training)
    return torch.cat(parts).cpu() if parts else torch.zeros(0, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------- budget
class Budget(L.Callback):
    """Stop training early enough that the whole fit ends by ``deadline`` (a ``time.perf_counter()``
    value): before each step it reserves the time of the validation passes that follow when training is
    stopped (Lightning's last one, plus ``val_passes - 1`` for the comparison with the starting weights),
    a pass measured once one has run and estimated from the training steps before that."""

    def __init__(
        self,
        deadline: float,
        val_windows: int,
        reserve: float = 0.5,
        val_passes: int = 1,
        start: StartScore | None = None,
    ) -> None:
        self.deadline, self.val_windows, self.reserve = deadline, val_windows, reserve
        self.val_passes = val_passes  # passes over the validation windows after training stops
        self.start = start  # its pass over the validation windows is a measured one
        self.stopped = False
        self._step_start = 0.0
        self._per_window: float | None = None  # seconds per training window, after the first step
        self._steps = 0
        self._val_start = 0.0
        self._val_seconds: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        seconds = (now - self._step_start) / max(int(batch["x"].shape[0]), 1)
        self._steps += 1
        if self._steps > 1:  # the first step pays for compilation and warm-up
            rate = self._per_window
            self._per_window = seconds if rate is None else 0.9 * rate + 0.1 * seconds
        if self._val_seconds is not None:
            val = self._val_seconds
        elif self.start is not None and self.start.seconds is not None:
            val = self.start.seconds
        else:  # a forward pass costs about a third of a training step
            val = self.val_windows * (self._per_window or seconds) / 3
        if now + self.val_passes * val + self.reserve >= self.deadline:
            trainer.should_stop = True
            self.stopped = True

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._val_start = time.perf_counter()

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        self._val_seconds = time.perf_counter() - self._val_start
