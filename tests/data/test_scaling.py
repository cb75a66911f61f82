"""SeriesScaler: statistics, round trips (numpy and torch), constant series, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xlstm_ts.data import SeriesScaler

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def test_standard_and_robust_statistics():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 0.0, 0.0, 10.0])
    std = SeriesScaler("standard").fit([a, b])
    np.testing.assert_allclose(std.loc_, [2.5, 2.5])
    np.testing.assert_allclose(std.scale_, [a.std(), b.std()])
    rob = SeriesScaler("robust").fit([a, b])
    np.testing.assert_allclose(rob.loc_, [2.5, 0.0])
    # b's IQR is 2.5 (quartiles 0 and 2.5); a's is 1.5
    np.testing.assert_allclose(rob.scale_, [1.5, 2.5])
    intermittent = SeriesScaler("robust").fit([np.array([0.0] * 9 + [5.0])])
    assert intermittent.scale_[0] == pytest.approx(1.5)  # IQR 0: falls back to the standard deviation
    none = SeriesScaler("none").fit([a])
    assert none.loc_.tolist() == [0.0] and none.scale_.tolist() == [1.0]


def test_channels_batches_and_torch():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(20, 3)) * (i + 1) + i for i in range(4)]
    scaler = SeriesScaler().fit(arrays)
    assert scaler.loc_.shape == (4, 3)
    z = scaler.transform(arrays[2], 2)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0)
    batch = np.stack([arrays[3][:5], arrays[1][:5]])  # [N=2, T=5, C=3]
    series = np.array([3, 1])
    out = scaler.transform(batch, series)
    np.testing.assert_allclose(out[0], scaler.transform(arrays[3][:5], 3))
    t = torch.tensor(batch, dtype=torch.float32)
    back = scaler.inverse_transform(scaler.transform(t, torch.tensor(series)), series)
    assert isinstance(back, torch.Tensor) and back.dtype == torch.float32
    torch.testing.assert_close(back, t)
    assert scaler.transform(batch.astype(np.float32), series).dtype == np.float32


def test_errors_and_persistence():
    with pytest.raises(ValueError, match=r"'standard', 'robust', 'none'; got 'minmax'"):
        SeriesScaler("minmax")
    with pytest.raises(RuntimeError, match="not fitted"):
        SeriesScaler().transform(np.zeros(3), 0)
    with pytest.raises(ValueError, match="series 1 contains NaN or inf"):
        SeriesScaler().fit([np.zeros(3), np.array([1.0, np.nan])])
    scaler = SeriesScaler("robust").fit([np.arange(5.0), np.arange(3.0)])
    with pytest.raises(ValueError, match=r"Expected x of shape \[N, T\]"):
        scaler.transform(np.zeros((2, 3, 1)), np.array([0, 1]))
    restored = SeriesScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert restored.method == "robust"
    np.testing.assert_array_equal(restored.loc_, scaler.loc_)
    np.testing.assert_array_equal(restored.scale_, scaler.scale_)
    assert SeriesScaler.from_dict(SeriesScaler("none").to_dict()).method == "none"


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(["standard", "robust", "none"]),
    arrays=st.lists(
        hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.just(2)), elements=finite),
        min_size=1,
        max_size=4,
    ),
)
def test_property_round_trip(method, arrays):
    scaler = SeriesScaler(method).fit(arrays)
    assert np.isfinite(scaler.scale_).all() and (scaler.scale_ > 0).all()
    for i, a in enumerate(arrays):
        z = scaler.transform(a, i)
        assert np.isfinite(z).all()
        np.testing.assert_allclose(scaler.inverse_transform(z, i), a, rtol=1e-9, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(value=finite, length=st.integers(1, 50), method=st.sampled_from(["standard", "robust"]))
def test_property_constant_series_is_finite(value, length, method):
    x = np.full(length, value)
    scaler = SeriesScaler(method).fit([x])
    assert scaler.scale_[0] == pytest.approx(abs(value) if value != 0 else 1.0, rel=1e-12)
    z = scaler.transform(x, 0)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z, 0.0, atol=1e-9)
