"""PanelTimeSeriesSplit: every series cut at the same time points, usable by scikit-learn's model selection."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_validate

from xlstm_ts.tuning import PanelTimeSeriesSplit

from ._panel import make_panel, tiny_model


def _fold_facts(df: pd.DataFrame, train: np.ndarray, test: np.ndarray, horizon: int):
    """(series in train, series in test, latest train time, earliest scored time): the scored rows of a
    test part are the last ``horizon`` rows of each of its series (what ``score`` forecasts)."""
    tr, te = df.iloc[train], df.iloc[test]
    scored = te.sort_values("ds").groupby("unique_id").tail(horizon)
    return set(tr.unique_id), set(te.unique_id), tr.ds.max(), scored.ds.min()


def test_sklearn_timeseriessplit_splits_rows_not_time():
    # the pitfall: on a long DataFrame TimeSeriesSplit trains on some series and scores others, and
    # trains on rows that lie after the rows it scores
    df = make_panel(n_series=3, length=30)
    seen_other_series = seen_future = False
    for train, test in TimeSeriesSplit(n_splits=3).split(df):
        train_ids, test_ids, last_train, first_scored = _fold_facts(df, train, test, 3)
        seen_other_series |= not test_ids <= train_ids
        seen_future |= last_train >= first_scored
    assert seen_other_series and seen_future


def test_panel_split_cuts_every_series_at_the_same_times():
    df = make_panel(n_series=3, length=30).sample(frac=1.0, random_state=0)  # row order must not matter
    cv = PanelTimeSeriesSplit(n_splits=3, horizon=4)
    folds = list(cv.split(df))
    assert len(folds) == cv.get_n_splits(df) == 3
    ends = []
    for train, test in folds:
        train_ids, test_ids, last_train, first_scored = _fold_facts(df, train, test, 4)
        assert train_ids == test_ids == {"s0", "s1", "s2"}
        assert last_train < first_scored
        tr = df.iloc[train]
        assert tr.groupby("unique_id").ds.max().nunique() == 1  # one cut for every series
        te = df.iloc[test]
        assert te.ds.max() == first_scored + pd.Timedelta(days=3)  # nothing after the test window
        assert (te.groupby("unique_id").size() == tr.groupby("unique_id").size() + 4).all()
        ends.append(last_train)
    assert ends == sorted(ends) and ends[-1] == df.ds.max() - pd.Timedelta(days=4)
    assert [e - ends[0] for e in ends] == [pd.Timedelta(days=4 * k) for k in range(3)]  # step = horizon


def test_gap_history_sliding_window_and_ragged_series():
    df = make_panel(n_series=2, length=20)
    short = df[(df.unique_id == "s1") & (df.ds < df.ds.max() - pd.Timedelta(days=2))]  # s1 ends early
    df = pd.concat([df[df.unique_id == "s0"], short], ignore_index=True)
    cv = PanelTimeSeriesSplit(n_splits=2, horizon=2, step=3, gap=1, max_train_size=5, history=4)
    (_, te0), (tr1, te1) = cv.split(df)
    grid = np.sort(df.ds.unique())
    assert cv.cutoffs(len(grid)) == [15, 18]
    assert sorted(set(df.ds.iloc[tr1])) == list(grid[12:17])  # 5 time points, ending 1 before the cut
    assert set(df.unique_id.iloc[te1]) == {"s0"}  # s1 lacks the last fold's test window
    assert set(df.unique_id.iloc[te0]) == {"s0", "s1"}
    assert len(te0) == 2 * (4 + 2) and len(te1) == 4 + 2


def test_wide_data_and_series_are_split_by_rows():
    wide = make_panel(n_series=2, length=20).pivot(index="ds", columns="unique_id", values="y")
    for X in (wide, wide["s0"]):
        ((train, test),) = PanelTimeSeriesSplit(n_splits=1, horizon=5).split(X)
        assert list(train) == list(range(15)) and list(test) == list(range(20))


@pytest.mark.parametrize(
    ("kwargs", "data", "error", "match"),
    [
        ({"n_splits": 0, "horizon": 2}, None, ValueError, "'n_splits' parameter .* an int >= 1. Got 0"),
        ({"horizon": 2, "step": 1.5}, None, ValueError, "'step' parameter .* an int >= 1 or None. Got 1.5"),
        ({"n_splits": 5, "horizon": 5}, None, ValueError, "need more than 25 time points; the data has 20"),
        ({"horizon": 2}, np.zeros(5), TypeError, "expects a long DataFrame .* got ndarray"),
        ({"horizon": 2, "time_col": "when"}, None, ValueError, "time column 'when'"),
    ],
)
def test_errors_say_what_was_expected(kwargs, data, error, match):
    df = make_panel(n_series=1, length=20) if data is None else data
    with pytest.raises(error, match=match):
        list(PanelTimeSeriesSplit(**kwargs).split(df))


def test_cross_validate_scores_forecasts_from_the_training_history():
    df = make_panel(n_series=2, length=40)
    cv = PanelTimeSeriesSplit(n_splits=2, horizon=3)
    out = cross_validate(tiny_model(), df, cv=cv, return_estimator=True)
    for (train, _), model, score in zip(cv.split(df), out["estimator"], out["test_score"]):
        # the fold's model forecasts from the end of its training rows; the score is minus that MAE
        forecast = model.predict().merge(df, on=["unique_id", "ds"], suffixes=("_pred", ""))
        assert len(forecast) == 2 * 3
        assert forecast.ds.min() > df.iloc[train].ds.max()
        mae = (forecast["y_pred"] - forecast["y"]).abs().mean()
        assert score == pytest.approx(-mae, rel=1e-6)


def test_gridsearchcv_runs_on_the_panel_split():
    df = make_panel(n_series=2, length=40)
    search = GridSearchCV(
        tiny_model(max_epochs=1), {"learning_rate": [1e-3, 1e-2]}, cv=PanelTimeSeriesSplit(2, horizon=3)
    ).fit(df)
    assert search.best_params_["learning_rate"] in (1e-3, 1e-2)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict().shape[0] == 2 * 3


def test_splitter_needs_no_optuna_and_tune_names_the_extra():
    code = (
        "import sys; sys.modules['optuna'] = None\n"
        "from xlstm_ts.tuning import PanelTimeSeriesSplit, tune\n"
        "import pandas as pd\n"
        "df = pd.DataFrame({'unique_id': ['a'] * 8, 'ds': range(8), 'y': range(8)})\n"
        "print(len(list(PanelTimeSeriesSplit(2, horizon=2).split(df))))\n"
        "try:\n    tune(None, df)\nexcept ImportError as err:\n    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "2",
        'xlstm_ts.tuning.tune needs Optuna (>= 5): pip install "xlstm-ts[tune]"',
    ]


def test_importing_the_package_does_not_import_optuna():
    code = (
        "import sys, xlstm_ts, xlstm_ts.tuning\n"
        "assert xlstm_ts.PanelTimeSeriesSplit is xlstm_ts.tuning.PanelTimeSeriesSplit\n"
        "assert xlstm_ts.tune is xlstm_ts.tuning.tune\n"
        "print('optuna' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
