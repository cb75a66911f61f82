"""``transform`` (backbone embeddings of the latest window) and ``plot`` (a matplotlib Figure)."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import TINY

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

E = TINY["embedding_dim"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------------------- transform
def test_transform_shape_long(long_model, long_df):
    emb = long_model.transform()
    assert emb.shape == (long_df["unique_id"].nunique(), E)
    assert np.isfinite(emb).all()
    assert emb.dtype == np.float32


def test_transform_shape_series_and_wide(series_model, wide_model, wide_df):
    assert series_model.transform().shape == (1, E)
    assert wide_model.transform().shape == (wide_df.shape[1], E)


def test_transform_new_history(long_model, long_df):
    first = long_df["unique_id"].iloc[0]
    emb = long_model.transform(long_df[long_df["unique_id"] == first])
    assert emb.shape == (1, E) and np.isfinite(emb).all()
    np.testing.assert_allclose(emb[0], long_model.transform()[0], rtol=1e-5, atol=1e-6)
    other = long_model.transform(long_df.iloc[:-5])
    assert not np.allclose(other, long_model.transform())


def test_transform_with_covariates(cov_model, cov_data):
    _, history, _ = cov_data
    emb = cov_model.transform(history)
    assert emb.shape == (history["unique_id"].nunique(), E) and np.isfinite(emb).all()


# ------------------------------------------------------------------------------------------ plot
def test_plot_returns_a_figure(series_model):
    fig = series_model.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 2  # history and forecast
    assert not any(isinstance(c, PolyCollection) for c in ax.collections)


def test_plot_with_quantiles_draws_a_band(series_q_model):
    fig = series_q_model.plot()
    band = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(band) == 1
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "0.1-0.9 quantiles" in labels


def test_plot_long_with_history_series_and_axes(long_q_model, long_df):
    _, ax = plt.subplots()
    sid = long_df["unique_id"].iloc[-1]
    fig = long_q_model.plot(long_df, series=sid, ax=ax)
    assert fig is ax.figure
    assert sid in ax.get_title()
    assert any(isinstance(c, PolyCollection) for c in ax.collections)


def test_plot_given_forecast(wide_model):
    forecast = wide_model.predict()
    fig = wide_model.plot(forecast=forecast)
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), forecast.iloc[:, 0].to_numpy())
