"""``tune``: hyperparameter search for a forecaster with Optuna, on rolling-origin folds.

Each trial samples parameters from the search space, trains ``clone(estimator).set_params(**params)`` on
the training rows of every fold of the splitter (:class:`~xlstm_ts.tuning.PanelTimeSeriesSplit` by
default) and scores its forecasts of the fold's held-out window; the trial's value is the mean over the
folds.  The validation loss of every epoch (and each fold's score) is reported to the trial, so Optuna's
pruners stop bad trials early (:mod:`xlstm_ts.tuning._pruning`).  The study lives in a storage that
several processes or machines can share (:mod:`xlstm_ts.tuning.storage`, :mod:`xlstm_ts.tuning._workers`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from . import _workers
from ._optuna import import_optuna
from ._pruning import fold_score_step, pruning_callback, report
from .spaces import SearchSpace, resolve_space
from .splitters import PanelTimeSeriesSplit
from .storage import default_study_name, resolve_storage

#: Metrics ``tune`` can score by name (all lower-is-better): columns of ``BacktestResult.overall``.
METRICS = ("mae", "mse", "mase", "quantile_loss")


@dataclass
class TuneResult:
    """What :func:`tune` returns.

    Attributes
    ----------
    best_params_ : dict or None
        Estimator parameters of the best trial (None when no trial completed).
    best_score_ : float or None
        Its mean score over the folds.
    best_estimator_ : estimator or None
        ``clone(estimator).set_params(**best_params_)`` refitted on all of ``X`` (with ``refit=True``).
    study_ : optuna.Study
        The study, with every trial of every worker (also those of earlier, interrupted runs).
    study_name_, storage_ : str
        Where the study lives (what ``optuna-dashboard`` and a resumed ``tune`` need).
    """

    best_params_: dict[str, Any] | None
    best_score_: float | None
    best_estimator_: Any
    study_: Any
    study_name_: str
    storage_: str
    n_trials_run_: int = 0
    fold_scores_: list[float] = field(default_factory=list)

    @property
    def trials_(self):
        """One row per trial (``study_.trials_dataframe()``): number, state, value, ``params_*``,
        ``user_attrs_*`` (fold scores, errors, worker), start and end times."""
        return self.study_.trials_dataframe()


def _rows(X, idx: np.ndarray):
    return X.iloc[idx]


def _scorer(metric) -> Callable[[Any, Any], float]:
    """``score(fitted_model, X_test) -> float`` for ``metric`` (a name of :data:`METRICS` or a callable
    ``metric(y_true, y_pred)``), from the forecasts of the last ``horizon`` rows of each test series."""
    if callable(metric):

        def score(model, X_test) -> float:
            frame = model.backtest(X_test, n_windows=1).forecasts
            return float(metric(frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()))

        return score
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS} or a callable (y_true, y_pred); got {metric!r}.")

    def score_named(model, X_test) -> float:
        overall = model.backtest(X_test, n_windows=1).overall
        if metric not in overall:
            raise ValueError(f"metric {metric!r} needs loss='quantile'; the backtest has {sorted(overall)}.")
        return float(overall[metric])

    return score_named


def _max_lookback(estimator, X, train_idx: np.ndarray) -> int | None:
    """The longest lookback the first fold's shortest training series allows (None: unknown)."""
    params = estimator.get_params(deep=False)
    train = _rows(X, train_idx)
    id_col = params.get("id_col", "unique_id")
    if hasattr(train, "columns") and id_col in train.columns:
        n = int(train[id_col].value_counts().min())
    else:
        n = len(train)
    H, val = int(params.get("horizon", 1)), float(params.get("validation_size", 0.0) or 0.0)
    n_val = max(round(val * n), H) if val > 0 else 0
    return max(n - n_val - H, 1)


def _space_key(search_space) -> list[str]:
    """What identifies a search space in the default study name (stable across runs)."""
    if isinstance(search_space, SearchSpace):
        return [search_space.describe()]
    if isinstance(search_space, dict):
        return sorted(f"{k}={v!r}" for k, v in search_space.items())
    return [
        f"{getattr(search_space, '__module__', '')}.{getattr(search_space, '__qualname__', repr(search_space))}"
    ]


class _Search:
    """The state one ``tune`` call shares between its worker threads."""

    def __init__(
        self, estimator, X, space, folds, score, direction, n_trials, deadline, verbose, stale_after
    ):
        self.estimator, self.X, self.space, self.folds, self.score = estimator, X, space, folds, score
        self.sign = 1.0 if direction == "minimize" else -1.0
        self.n_trials, self.deadline, self.verbose, self.stale_after = (
            n_trials,
            deadline,
            verbose,
            stale_after,
        )
        self.lock = threading.Lock()
        self.n_run = 0

    def line(self, text: str) -> None:
        if self.verbose:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def objective(self, trial) -> float:
        params = self.space(trial)
        trial.set_user_attr(
            "xlstm_ts:params", {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
        )
        model = clone(self.estimator).set_params(**params)
        scores = []
        for k, (train_idx, test_idx) in enumerate(self.folds):
            fold_model = clone(model)
            extra = dict(fold_model.get_params(deep=False).get("trainer_kwargs") or {})
            extra["callbacks"] = [*(extra.get("callbacks") or []), pruning_callback(trial, k, sign=self.sign)]
            fold_model.set_params(trainer_kwargs=extra, verbose=False)
            fold_model.fit(_rows(self.X, train_idx))
            value = self.score(fold_model, _rows(self.X, test_idx))
            if not math.isfinite(value):
                raise FloatingPointError(f"fold {k} scored {value}")
            scores.append(value)
            trial.set_user_attr("xlstm_ts:fold_scores", scores)
            # in the study's direction already; after the last fold the trial is done: nothing left to prune
            report(trial, value, fold_score_step(k), prune=k < len(self.folds) - 1)
        return float(np.mean(scores))

    def run_one(self, study) -> bool:
        """Run one trial; False when the budget or the time is used up."""
        optuna = import_optuna()
        states = optuna.trial.TrialState
        _workers.fail_stale_trials(study, self.stale_after)
        if not _workers.budget_left(study, self.n_trials) or time.monotonic() >= self.deadline:
            return False
        trial = study.ask()
        if _workers.is_surplus(study, trial, self.n_trials):
            trial.set_user_attr(_workers.SURPLUS, True)
            study.tell(trial, state=states.FAIL)
            return False
        start = time.perf_counter()
        state, value, note = states.FAIL, None, ""
        with _workers.Heartbeat(trial, self.stale_after / 4):
            try:
                value = self.objective(trial)
                state = states.COMPLETE
            except optuna.TrialPruned as err:
                state, note = states.PRUNED, str(err)
            except Exception as err:
                note = f"{type(err).__name__}: {err}"
                trial.set_user_attr(_workers.ERROR, note[:2000])
            except BaseException:
                study.tell(trial, state=states.FAIL)
                raise
        try:
            study.tell(trial, value if state == states.COMPLETE else None, state=state)
        except (ValueError, RuntimeError) as err:  # failed meanwhile by another worker (stale heartbeat)
            note = f"not recorded: {err}"
        with self.lock:
            self.n_run += 1
        self.line(self._summary(study, trial, state, value, note, time.perf_counter() - start))
        return True

    def _summary(self, study, trial, state, value, note, seconds) -> str:
        try:
            best = study.best_trial
            best_text = f"best {best.value:.4g} (trial {best.number})"
        except ValueError:
            best_text = "no complete trial yet"
        shown = f"value {value:.4g}" if value is not None else note[:80]
        params = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items()
        )
        return f"trial {trial.number} {state.name.lower()}: {shown}  [{best_text}]  {seconds:.1f} s  {params}"

    def work(self, study) -> None:
        while self.run_one(study):
            pass


@contextlib.contextmanager
def _quiet_optuna(verbose: bool):
    """Optuna's own INFO lines off during the search (``tune`` prints its one line per trial)."""
    optuna = import_optuna()
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING if verbose else logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(before)


def tune(
    estimator,
    X,
    *,
    search_space=None,
    n_trials: int | None = 20,
    timeout: float | None = None,
    cv=3,
    metric="mae",
    direction: str | None = None,
    storage=None,
    study_name: str | None = None,
    pruner=None,
    sampler=None,
    n_jobs: int = 1,
    random_state: int | None = None,
    refit: bool = True,
    stale_after: float = 120.0,
    verbose: bool = True,
) -> TuneResult:
    """Search the hyperparameters of a forecaster with Optuna, on rolling-origin folds of ``X``.

    Every trial fits ``clone(estimator).set_params(**params)`` on the training rows of each fold and
    scores its forecasts of the fold's held-out window; the trial's value is the mean score.  The study
    is kept in ``storage`` (by default a journal file in the working directory): running the same call
    again resumes it, and several processes or machines given the same ``storage`` and ``study_name``
    share it, running ``n_trials`` trials between them.

    Parameters
    ----------
    estimator : forecaster
        An unfitted (or fitted; it is cloned) xlstm-ts forecaster, e.g. :class:`~xlstm_ts.xLSTMForecaster`.
    X : DataFrame or Series
        The data, in any layout the estimator's ``fit`` takes.
    search_space : None, callable or dict
        None: :func:`~xlstm_ts.tuning.default_search_space` (from the estimator's constraint table, with
        lookbacks that fit the shortest training part).  A callable ``trial -> dict`` of estimator
        parameters (call ``trial.suggest_*`` inside), or a dict ``name -> Optuna distribution`` (or a list of
        choices, or a fixed value).
    n_trials : int or None
        Trials of the whole study, over all workers and earlier runs (COMPLETE, PRUNED and FAIL count;
        see :mod:`xlstm_ts.tuning._workers` for trials of killed workers).  None: until ``timeout``.
    timeout : float or None
        Seconds after which this call starts no new trial.
    cv : int or splitter
        An int ``n`` means ``PanelTimeSeriesSplit(n_splits=n, horizon=estimator.horizon)`` with the
        estimator's id and time columns; or any splitter with ``split(X)`` (e.g. a configured
        :class:`~xlstm_ts.tuning.PanelTimeSeriesSplit`).  Test parts must hold each series' history too.
    metric : {"mae", "mse", "mase", "quantile_loss"} or callable
        Score of a fold, from the forecasts of the last ``horizon`` rows of each test series; a callable
        is ``metric(y_true, y_pred) -> float``.
    direction : {"minimize", "maximize"} or None
        None: ``"minimize"`` (every named metric is an error).
    storage : None, str, path or Optuna storage
        None: the journal file ``<study_name>.journal`` in the working directory.  A path: a journal file
        there.  A URL (``sqlite:///tune.db``, ``postgresql://user:pw@host/db``, ``mysql+pymysql://...``):
        a database, shared by many machines.  Or any Optuna storage object.
    study_name : str or None
        None: derived from the estimator's parameters, the search space, the metric, the folds and the
        data's shape, so that the same call resumes the same study.
    pruner : optuna pruner or None
        None: ``MedianPruner(n_startup_trials=5, n_warmup_steps=2)``.  ``optuna.pruners.NopPruner()``
        turns pruning off.  Pruning reads the validation loss, so the estimator needs
        ``validation_size > 0`` to prune within a fold; fold scores are reported either way.
    sampler : optuna sampler or None
        None: ``TPESampler(seed=random_state)``.
    n_jobs : int
        Worker threads in this process.  Processes scale better (start ``tune`` in several processes on
        one storage); threads share torch's global thread setting and random generator.
    random_state : int or None
        Seed of the default sampler.  Give every worker process a different one (the same seed in two
        workers proposes the same first parameters twice).
    refit : bool
        Refit the best parameters on all of ``X`` (``best_estimator_``).
    stale_after : float
        Seconds without a heartbeat after which a RUNNING trial of another machine counts as dead (a dead
        process on this machine is noticed at once).  Its parameters are tried again.
    verbose : bool
        One line per trial on stderr.

    Returns
    -------
    TuneResult

    Examples
    --------
    >>> import optuna
    >>> from xlstm_ts import xLSTMForecaster
    >>> from xlstm_ts.datasets import load_airline
    >>> from xlstm_ts.tuning import tune
    >>> model = xLSTMForecaster(horizon=6, lookback=12, embedding_dim=8, num_blocks=1, max_epochs=1, verbose=False)
    >>> result = tune(
    ...     model, load_airline(), search_space={"learning_rate": optuna.distributions.FloatDistribution(1e-3, 1e-2)},
    ...     n_trials=2, cv=2, storage=optuna.storages.InMemoryStorage(), random_state=0, verbose=False,
    ... )
    >>> sorted(result.best_params_), len(result.trials_), result.best_estimator_.lookback_
    (['learning_rate'], 2, 12)
    """
    optuna = import_optuna()
    if n_trials is None and timeout is None:
        raise ValueError("tune needs n_trials or timeout (or both); got neither.")
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1):
        raise ValueError(f"n_trials must be an int >= 1 or None; got {n_trials!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be an int >= 1; got {n_jobs!r}.")
    direction = "minimize" if direction is None else direction
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize'; got {direction!r}.")
    params = estimator.get_params(deep=False)
    if isinstance(cv, int) and not isinstance(cv, bool):
        cv = PanelTimeSeriesSplit(
            n_splits=cv,
            horizon=int(params["horizon"]),
            id_col=params.get("id_col", "unique_id"),
            time_col=params.get("time_col", "ds"),
        )
    if isinstance(cv, str) or not callable(getattr(cv, "split", None)):
        raise TypeError(f"cv must be an int or a splitter with split(X); got {type(cv).__name__}.")
    folds = [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(X)]
    if not folds:
        raise ValueError(f"cv={cv!r} yielded no folds for X.")
    space = resolve_space(search_space, estimator, max_lookback=_max_lookback(estimator, X, folds[0][0]))
    score = _scorer(metric)
    study_name = study_name or default_study_name(estimator, _space_key(space), metric, cv, X)
    storage_obj, where = resolve_storage(storage, study_name)
    if pruner is None:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
    if sampler is None:
        sampler = optuna.samplers.TPESampler(seed=random_state)
    with _quiet_optuna(verbose):
        study = optuna.create_study(
            storage=storage_obj,
            study_name=study_name,
            direction=direction,
            pruner=pruner,
            sampler=sampler,
            load_if_exists=True,
        )
        deadline = time.monotonic() + (math.inf if timeout is None else float(timeout))
        search = _Search(
            estimator, X, space, folds, score, direction, n_trials, deadline, verbose, stale_after
        )
        done = len(_workers.counted(study.get_trials(deepcopy=False)))
        search.line(
            f"tune: study {study_name!r} in {where}; {done} trial(s) already counted, "
            f"{'no limit' if n_trials is None else n_trials} requested, {len(folds)} fold(s)"
        )
        if n_jobs == 1:
            search.work(study)
        else:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                for future in [pool.submit(search.work, study) for _ in range(n_jobs)]:
                    future.result()
    return _result(study, estimator, X, space, refit, study_name, where, search.n_run)


def _result(study, estimator, X, space, refit, study_name, where, n_run) -> TuneResult:
    optuna = import_optuna()
    try:
        best = study.best_trial
    except ValueError:
        failures = [
            t.user_attrs.get(_workers.ERROR) for t in study.trials if t.user_attrs.get(_workers.ERROR)
        ]
        warnings.warn(
            f"No trial of study {study_name!r} completed, so there are no best parameters. "
            + (f"First failure: {failures[0]}" if failures else "See result.trials_."),
            stacklevel=3,
        )
        return TuneResult(None, None, None, study, study_name, where, n_run)
    # the estimator parameters of the best trial: the space run again on the trial's Optuna values
    best_params = space(optuna.trial.FixedTrial(best.params))
    best_estimator = clone(estimator).set_params(**best_params).fit(X) if refit else None
    return TuneResult(
        best_params,
        float(best.value),
        best_estimator,
        study,
        study_name,
        where,
        n_run,
        list(best.user_attrs.get("xlstm_ts:fold_scores", [])),
    )


__all__ = ["METRICS", "TuneResult", "tune"]
