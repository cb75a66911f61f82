"""tune(): pruning, failed trials, resuming a stored study, progress lines, the result."""

from __future__ import annotations

import optuna
import pytest

from xlstm_ts.tuning import tune

from ._panel import make_panel, tiny_model

LR = {"learning_rate": optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True)}


class PruneAfterEpoch(optuna.pruners.BasePruner):
    """Prunes every trial once it has reported step ``after`` (epoch ``after`` of the first fold)."""

    def __init__(self, after: int) -> None:
        self.after = after

    def prune(self, study, trial) -> bool:
        step = trial.last_step
        return step is not None and step >= self.after


@pytest.fixture
def panel():
    return make_panel(n_series=2, length=45)


def test_a_pruner_prunes_during_training(panel, tmp_path):
    model = tiny_model(max_epochs=5, validation_size=0.2, early_stopping_patience=None)
    with pytest.warns(UserWarning, match="No trial of study .* completed"):
        result = tune(
            model,
            panel,
            search_space=LR,
            n_trials=3,
            cv=2,
            storage=str(tmp_path / "prune.journal"),
            pruner=PruneAfterEpoch(1),
            verbose=False,
        )
    trials = result.study_.trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 3
    for t in trials:
        # epochs 0 and 1 of the first fold were reported, then training stopped: no epoch 2..4, no fold 2
        assert sorted(t.intermediate_values) == [0, 1]
    assert result.best_params_ is None and result.best_estimator_ is None


def test_without_pruning_every_epoch_and_fold_score_is_reported(panel):
    model = tiny_model(max_epochs=3, validation_size=0.2, early_stopping_patience=None)
    result = tune(
        model,
        panel,
        search_space=LR,
        n_trials=1,
        cv=2,
        storage=optuna.storages.InMemoryStorage(),
        pruner=optuna.pruners.NopPruner(),
        verbose=False,
    )
    (trial,) = result.study_.trials
    assert sorted(trial.intermediate_values) == [0, 1, 2, 999, 1000, 1001, 1002, 1999]
    folds = [trial.intermediate_values[999], trial.intermediate_values[1999]]
    assert trial.value == pytest.approx(sum(folds) / 2) and result.fold_scores_ == pytest.approx(folds)


def test_failed_trials_are_recorded_and_the_search_goes_on(panel, capsys):
    def space(trial):  # 3 heads cannot split a width of 8: that trial's fit raises
        return {"num_heads": trial.suggest_categorical("num_heads", [3, 2])}

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="heads")
    study.enqueue_trial({"num_heads": 3})  # the failing one first
    study.enqueue_trial({"num_heads": 2})
    result = tune(
        tiny_model(embedding_dim=8),
        panel,
        search_space=space,
        n_trials=2,
        cv=2,
        storage=storage,
        study_name="heads",
    )
    states = {t.params["num_heads"]: t for t in result.study_.trials}
    assert states[3].state == optuna.trial.TrialState.FAIL
    assert "InvalidParameterError" in states[3].user_attrs["xlstm_ts:error"]
    assert states[2].state == optuna.trial.TrialState.COMPLETE
    assert result.best_params_ == {"num_heads": 2}
    assert (
        result.best_estimator_.get_params()["num_heads"] == 2 and result.best_estimator_.predict() is not None
    )
    lines = capsys.readouterr().err.splitlines()
    assert sum(line.startswith("trial ") for line in lines) == 2  # one line per trial
    assert any(" fail: InvalidParameterError" in line for line in lines)
    assert set(result.trials_["state"]) == {"FAIL", "COMPLETE"}


def test_a_stored_study_resumes_where_it_stopped(panel, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default storage is a journal file in the working directory
    first = tune(tiny_model(), panel, search_space=LR, n_trials=2, cv=2, refit=False, verbose=False)
    assert (tmp_path / f"{first.study_name_}.journal").exists()
    again = tune(tiny_model(), panel, search_space=LR, n_trials=3, cv=2, refit=False, verbose=False)
    assert again.study_name_ == first.study_name_  # the same call finds the same study
    assert again.n_trials_run_ == 1 and len(again.study_.trials) == 3
    done = tune(tiny_model(), panel, search_space=LR, n_trials=3, cv=2, refit=False, verbose=False)
    assert done.n_trials_run_ == 0
    assert capsys.readouterr().err == ""  # verbose=False: quiet, Optuna's own lines included
    other = tune(
        tiny_model(max_epochs=1), panel, search_space=LR, n_trials=1, cv=2, refit=False, verbose=False
    )
    assert other.study_name_ != first.study_name_  # another estimator: another study


def test_sqlite_url_and_the_default_space(panel, tmp_path):
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    result = tune(
        tiny_model(max_epochs=1), panel, n_trials=2, cv=1, storage=url, random_state=0, verbose=False
    )
    loaded = optuna.load_study(study_name=result.study_name_, storage=url)
    assert len(loaded.trials) == 2
    best = result.best_params_
    assert best is not None and "lookback" in best and best["lookback"] % 3 == 0
    assert result.best_estimator_.lookback_ == best["lookback"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_trials": None}, ValueError, "needs n_trials or timeout"),
        ({"n_trials": 0}, ValueError, "n_trials must be an int >= 1 or None; got 0"),
        ({"metric": "rmse"}, ValueError, r"metric must be one of \('mae'"),
        ({"direction": "up"}, ValueError, "direction must be 'minimize' or 'maximize'; got 'up'"),
        ({"cv": "folds"}, TypeError, "cv must be an int or a splitter"),
        ({"storage": 3}, TypeError, "storage must be None .* got int"),
    ],
)
def test_argument_errors(panel, kwargs, error, match):
    with pytest.raises(error, match=match):
        tune(
            tiny_model(),
            panel,
            **{"search_space": LR, "storage": optuna.storages.InMemoryStorage(), **kwargs},
        )
