"""WindowDataset: window counts, slices, end_range, batching, per-window scaling, windows at cutoffs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

from xlstm_ts.data import MissingValueError, SeriesTooShortError, WindowDataset, window_starts


def make_series(lengths, f=2, p=1, k=3):
    target = [np.arange(n, dtype=float) + 1000 * i for i, n in enumerate(lengths)]
    future = [np.stack([t, -t], axis=1)[:, :f] for t in target]
    past = [t[:, None] * 10 for t in target][:] if p else None
    static = np.arange(len(lengths) * k, dtype=float).reshape(len(lengths), k)
    return target, future, past, static


def test_item_shapes_dtypes_and_content():
    target, future, past, static = make_series([10, 7])
    ds = WindowDataset(target, future, past, static, lookback=4, horizon=2)
    assert len(ds) == 5 + 2 and ds.n_series == 2
    item = ds[5]  # series 1, start 0
    shapes = {k: tuple(v.shape) for k, v in item.items()}
    assert shapes == {
        "x": (4,),
        "past": (4, 1),
        "future": (6, 2),
        "static": (3,),
        "y": (2,),
        "series": (),
        "start": (),
        "loc": (),
        "scale": (),
    }
    assert item["x"].dtype == torch.float32 and item["series"].dtype == torch.int64
    assert item["x"].tolist() == [1000.0, 1001.0, 1002.0, 1003.0] and item["y"].tolist() == [1004.0, 1005.0]
    assert item["future"][:, 1].tolist() == [-1000.0 - i for i in range(6)]
    assert item["static"].tolist() == [3.0, 4.0, 5.0] and int(item["series"]) == 1 and int(item["start"]) == 0
    assert ds[-1]["start"] == ds[len(ds) - 1]["start"]
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_batches_match_items_and_default_collate():
    target, future, past, static = make_series([12, 9, 3])
    ds = WindowDataset(target, future, past, static, lookback=3, horizon=2, stride=2)
    ks = [0, 3, len(ds) - 1]
    batch = ds[np.array(ks)]
    collated = next(iter(DataLoader(torch.utils.data.Subset(ds, ks), batch_size=3)))
    fast = next(iter(DataLoader(ds, sampler=BatchSampler(SequentialSampler(ds), 4, False), batch_size=None)))
    for key in batch:
        torch.testing.assert_close(batch[key], collated[key])
        torch.testing.assert_close(fast[key], ds[list(range(4))][key])


def test_none_covariates_and_validation_errors():
    ds = WindowDataset([np.arange(5.0)], None, None, None, lookback=2, horizon=1)
    assert ds[0]["future"].shape == (3, 0) and ds[0]["past"].shape == (2, 0) and ds[0]["static"].shape == (0,)
    with pytest.raises(ValueError, match="lookback must be an int >= 1; got 0"):
        WindowDataset([np.arange(5.0)], None, None, None, lookback=0, horizon=1)
    with pytest.raises(ValueError, match=r"future\[0\] must have shape \[5, C\]"):
        WindowDataset([np.arange(5.0)], [np.zeros((4, 1))], None, None, lookback=2, horizon=1)
    with pytest.raises(ValueError, match="end_range needs one"):
        WindowDataset([np.arange(5.0)], None, None, None, lookback=2, horizon=1, end_range=[])
    with pytest.raises(MissingValueError, match=r"target of series 1 has NaN or inf \(row 2\)"):
        WindowDataset([np.arange(5.0), np.array([0, 1, np.nan])], None, None, None, lookback=2, horizon=1)


def test_series_shorter_than_a_window_have_none():
    ds = WindowDataset([np.arange(3.0), np.arange(8.0)], None, None, None, lookback=3, horizon=2)
    assert set(ds.series.tolist()) == {1} and len(ds) == 4


def test_windows_at_cutoffs_for_prediction():
    target, future, past, static = make_series([6, 4])
    future_next = [np.full((3, 2), 7.0), np.full((3, 2), 8.0)]
    cuts = [np.array([6]), np.array([4])]
    ds = WindowDataset.at_cutoffs(
        target,
        future,
        past,
        static,
        4,
        3,
        cuts,
        loc=np.zeros((2, 1)),
        scale=np.ones((2, 1)),
        future_next=future_next,
    )
    out = ds[[0, 1]]
    assert not ds.has_target and "y" not in out
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "x": (2, 4),
        "past": (2, 4, 1),
        "future": (2, 7, 2),
        "static": (2, 3),
        "series": (2,),
        "start": (2,),
        "loc": (2,),
        "scale": (2,),
    }
    assert out["x"][0].tolist() == [2.0, 3.0, 4.0, 5.0] and out["start"].tolist() == [2, 0]
    assert out["future"][1, :4, 0].tolist() == [1000.0, 1001.0, 1002.0, 1003.0]
    assert out["future"][1, 4:].eq(8.0).all()
    # same keys and trailing shapes as a training batch (minus y)
    batch = WindowDataset(*make_series([8, 8]), lookback=4, horizon=3)[[0]]
    assert set(batch) - {"y"} == set(out)
    assert all(batch[k].shape[1:] == out[k].shape[1:] for k in out)
    with pytest.raises(SeriesTooShortError, match=r"lookback=5.*series 'b' has 4"):
        WindowDataset.at_cutoffs(
            target, None, None, None, 5, 1, cuts, loc=np.zeros((2, 1)), scale=np.ones((2, 1)), ids=["a", "b"]
        )


def test_training_windows_equal_windows_at_their_cutoffs():
    """The one window path: a training window and the window at the same cutoff are the same slice."""
    target, future, past, static = make_series([12, 9])
    loc, scale = np.array([3.0, -2.0]), np.array([2.0, 0.5])
    train = WindowDataset(target, future, past, static, lookback=3, horizon=2, loc=loc, scale=scale)
    cuts = [train.starts[train.series == i] + 3 for i in range(2)]
    n_win = min(len(c) for c in cuts)
    cuts = [c[:n_win] for c in cuts]
    at = WindowDataset.at_cutoffs(
        target,
        future,
        past,
        static,
        3,
        2,
        cuts,
        loc=np.repeat(loc[:, None], n_win, 1),
        scale=np.repeat(scale[:, None], n_win, 1),
    )
    keep = np.concatenate([np.flatnonzero(train.series == i)[:n_win] for i in range(2)])
    a, b = train[keep], at[np.arange(len(at))]
    assert at.has_target
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_windows_are_scaled_per_window_in_float64():
    big = [np.array([1e12 + v for v in (0.0, 1.0, 2.0, 3.0, 4.0)])]
    ds = WindowDataset(big, None, None, None, lookback=3, horizon=1, loc=[1e12], scale=[1.0])
    assert ds[0]["x"].tolist() == [0.0, 1.0, 2.0] and ds[1]["y"].tolist() == [4.0]


# ------------------------------------------------------------------------------------------ properties
def n_windows(length, lookback, horizon, stride):
    span = length - lookback - horizon
    return 0 if span < 0 else span // stride + 1


window_params = st.tuples(
    st.lists(st.integers(0, 40), min_size=1, max_size=4),  # lengths
    st.integers(1, 8),  # lookback
    st.integers(1, 5),  # horizon
    st.integers(1, 6),  # stride
)


@settings(max_examples=60, deadline=None)
@given(window_params)
def test_property_counts_and_slices(params):
    lengths, lookback, horizon, stride = params
    target, future, past, static = make_series(lengths)
    ds = WindowDataset(target, future, past, static, lookback, horizon, stride=stride)
    assert len(ds) == sum(n_windows(n, lookback, horizon, stride) for n in lengths)
    if stride == 1:
        assert len(ds) == sum(max(0, n - lookback - horizon + 1) for n in lengths)
    for i, n in enumerate(lengths):
        starts = ds.starts[ds.series == i]
        assert (np.diff(starts) == stride).all()  # chronological, every `stride` rows
        if n >= lookback + horizon:
            assert starts[-1] == n - lookback - horizon  # the most recent window is always included
    for k in range(len(ds)):
        item = ds[k]
        i, s = int(item["series"]), int(item["start"])
        np.testing.assert_array_equal(item["x"].numpy(), target[i][s : s + lookback])
        np.testing.assert_array_equal(item["y"].numpy(), target[i][s + lookback : s + lookback + horizon])
        np.testing.assert_array_equal(item["future"].numpy(), future[i][s : s + lookback + horizon])
        np.testing.assert_array_equal(item["past"].numpy(), past[i][s : s + lookback])


@settings(max_examples=60, deadline=None)
@given(window_params, st.data())
def test_property_end_range(params, data):
    lengths, lookback, horizon, stride = params
    ranges = [
        tuple(sorted(data.draw(st.lists(st.integers(-2, n + 3), min_size=2, max_size=2)))) for n in lengths
    ]
    target = [np.arange(n, dtype=float) for n in lengths]
    ds = WindowDataset(target, None, None, None, lookback, horizon, stride=stride, end_range=ranges)
    width = lookback + horizon
    for i, (n, (lo, hi)) in enumerate(zip(lengths, ranges)):
        ends = ds.starts[ds.series == i] + width
        assert ((ends > lo) & (ends <= hi) & (ends <= n)).all()
        admissible = [e for e in range(width, n + 1) if lo < e <= hi]
        if admissible:  # the latest admissible window is there, and the others every `stride` rows back
            expected = [e for e in admissible if (max(admissible) - e) % stride == 0]
            assert ends.tolist() == expected
        else:
            assert len(ends) == 0
        np.testing.assert_array_equal(
            ds.starts[ds.series == i], window_starts(n, lookback, horizon, stride, (lo, hi))
        )
