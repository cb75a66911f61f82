"""Pruning: a Lightning callback that reports each epoch's validation loss to an Optuna trial.

A trial trains one model per cross-validation fold.  Intermediate values are reported on one step axis
for the whole trial: epoch ``e`` of fold ``k`` is step ``k * FOLD_STEPS + e``, and the fold's test score
is step ``k * FOLD_STEPS + FOLD_STEPS - 1``.  Pruners compare trials at equal steps, so a trial's first
fold is compared with other trials' first folds, epoch by epoch, and its later folds likewise; every
fold can stop a bad trial, and the comparisons stay like for like (same data, same epoch).

When the trial should be pruned the callback raises :class:`optuna.TrialPruned`.  Lightning passes an
exception raised in a callback hook on to the caller of ``Trainer.fit`` (after calling the callbacks'
``on_exception``), so it leaves the forecaster's ``fit`` and ends the trial as PRUNED.
"""

from __future__ import annotations

from typing import Any

#: Steps reserved for one fold on the trial's step axis (epochs beyond ``FOLD_STEPS - 2`` are not reported).
FOLD_STEPS = 1000


def fold_step(fold: int, epoch: int) -> int:
    """The step of epoch ``epoch`` of fold ``fold``.

    >>> fold_step(0, 3), fold_step(2, 0)
    (3, 2000)
    """
    return fold * FOLD_STEPS + epoch


def fold_score_step(fold: int) -> int:
    """The step at which fold ``fold``'s test score is reported.

    >>> fold_score_step(0), fold_score_step(1)
    (999, 1999)
    """
    return fold * FOLD_STEPS + FOLD_STEPS - 1


def report(trial, value: float, step: int, prune: bool = True) -> None:
    """Report ``value`` at ``step``; with ``prune``, raise :class:`optuna.TrialPruned` when the pruner says
    so."""
    from ._optuna import import_optuna

    trial.report(float(value), step)
    if prune and trial.should_prune():
        raise import_optuna().TrialPruned(f"pruned at step {step} (value {float(value):.6g})")


def pruning_callback(trial, fold: int, monitor: str = "val_loss", sign: float = 1.0) -> Any:
    """A Lightning callback reporting ``sign * monitor`` at the end of every validation of fold ``fold``
    (``sign=-1`` for a study that maximises: a lower loss is then a higher value)."""
    import lightning as L

    class OptunaPruning(L.Callback):
        """Reports the validation loss of each epoch to the trial; prunes when the pruner says so."""

        def on_validation_end(self, trainer, pl_module) -> None:
            if trainer.sanity_checking:
                return
            value = trainer.callback_metrics.get(monitor)
            epoch = int(trainer.current_epoch)
            if value is None or epoch >= FOLD_STEPS - 1:
                return
            report(trial, sign * float(value), fold_step(fold, epoch))

    return OptunaPruning()
