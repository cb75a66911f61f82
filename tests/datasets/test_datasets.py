"""xlstm_ts.datasets: bundled airline data, the synthetic panel, the LTSF split protocol, loading and downloads.

Everything runs offline: downloads are exercised with ``file://`` URLs, and the real ETT files are read from
``../shared/data/ETT-small`` next to the repository when present (those tests skip otherwise).
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlstm_ts.datasets import (
    AIRLINE_PASSENGERS,
    ENV_VAR,
    REGISTRY,
    ChecksumError,
    DownloadError,
    UnverifiedDownloadError,
    available_datasets,
    count_windows,
    get_data_home,
    get_dataset_info,
    load_airline,
    load_airline_long,
    load_dataset,
    load_etth1,
    make_synthetic,
    sha256_file,
    split_borders,
    standard_split,
)

REPO = Path(__file__).resolve().parents[2]
ETT_DIR = REPO.parent / "shared" / "data" / "ETT-small"
needs_ett = pytest.mark.skipif(
    not (ETT_DIR / "ETTh1.csv").is_file(),
    reason=f"ETT data not found at {ETT_DIR} (shared data folder absent)",
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Point $XLSTM_TS_DATA and $HOME (so ~/.cache/xlstm_ts) into tmp_path; return the data_home to use."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "userhome"))
    return tmp_path / "home"


# --------------------------------------------------------------------------------------------- airline
def test_airline_values_index_and_total():
    y = load_airline()
    assert len(y) == len(AIRLINE_PASSENGERS) == 144
    assert y.name == "passengers" and y.dtype == np.float64
    assert y.index.freqstr == "MS" and y.index.name == "date"
    assert y.index[0] == pd.Timestamp("1949-01-01") and y.index[-1] == pd.Timestamp("1960-12-01")
    assert y.sum() == 40363
    assert y.iloc[:12].tolist() == [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]
    assert y["1960"].tolist() == [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432]
    assert y.idxmax() == pd.Timestamp("1960-07-01") and y.max() == 622
    assert all(isinstance(v, int) for v in AIRLINE_PASSENGERS)


def test_airline_long_format():
    df = load_airline_long()
    assert list(df.columns) == ["unique_id", "ds", "y"] and len(df) == 144
    assert (df["unique_id"] == "airline").all()
    np.testing.assert_array_equal(df["y"].to_numpy(), load_airline().to_numpy())
    assert (df["ds"].to_numpy() == load_airline().index.to_numpy()).all()


# ------------------------------------------------------------------------------------------- synthetic
def test_synthetic_shape_columns_and_determinism():
    df = make_synthetic(n_series=4, length=50, seed=3)
    assert df.shape == (200, 7)
    assert list(df.columns) == ["unique_id", "ds", "y", "promo", "season_sin", "sensor", "store_size"]
    assert df["unique_id"].unique().tolist() == ["series_0", "series_1", "series_2", "series_3"]
    assert df.groupby("unique_id")["ds"].apply(lambda s: s.is_monotonic_increasing).all()
    assert np.isfinite(df[["y", "season_sin", "sensor", "store_size"]].to_numpy()).all()
    pd.testing.assert_frame_equal(df, make_synthetic(n_series=4, length=50, seed=3))
    assert not np.allclose(df["y"], make_synthetic(n_series=4, length=50, seed=4)["y"])
    bare = make_synthetic(n_series=2, length=10, covariates=False)
    assert list(bare.columns) == ["unique_id", "ds", "y"] and len(bare) == 20


def test_synthetic_promo_is_a_future_known_lift():
    kw = dict(n_series=3, length=500, seed=1)
    with_cov, without = make_synthetic(**kw), make_synthetic(**kw, covariates=False)
    assert set(with_cov["promo"].unique()) == {0, 1} and 0 < with_cov["promo"].mean() < 0.15
    # Same draws: the only difference is the promotion lift, 0.2 * level = 2 * store_size, on promo steps.
    lift = (with_cov["y"] - without["y"]).to_numpy()
    np.testing.assert_allclose(lift, 2.0 * with_cov["store_size"] * with_cov["promo"], atol=1e-12)


def test_synthetic_calendar_and_static_covariates():
    df = make_synthetic(n_series=3, length=24 * 5, trend=0.0, noise=0.0, start="2024-03-01", seed=2)
    hours = df["ds"].dt.hour.to_numpy()
    np.testing.assert_allclose(df["season_sin"], np.sin(2 * np.pi * hours / 24), atol=1e-12)
    # The calendar covariate depends on the timestamp only, not on where the series starts.
    late = make_synthetic(n_series=1, length=3, start="2024-03-01 05:00")
    np.testing.assert_allclose(late["season_sin"], np.sin(2 * np.pi * np.array([5, 6, 7]) / 24))
    monthly = make_synthetic(n_series=1, length=14, freq="MS", season_length=12, start="2023-11-01")
    np.testing.assert_allclose(monthly["season_sin"].iloc[[0, 2]], np.sin(2 * np.pi * np.array([10, 0]) / 12))
    # store_size is static and sets the level: without noise/trend, over whole seasons, mean(y - lift) = 10 * size.
    for _, g in df.groupby("unique_id"):
        assert g["store_size"].nunique() == 1
        size = g["store_size"].iloc[0]
        assert 0.5 <= size <= 2.0
        base = g["y"] - 2.0 * size * g["promo"]
        assert base.mean() == pytest.approx(10 * size, abs=1e-9)


def test_synthetic_sensor_is_past_only():
    exact = make_synthetic(n_series=2, length=100, noise=0.0, seed=5)
    for _, g in exact.groupby("unique_id"):
        y, sensor = g["y"].to_numpy(), g["sensor"].to_numpy()
        np.testing.assert_allclose(sensor[1:], y[:-1])  # sensor_t = y_{t-1}: nothing about y_t
        assert sensor[0] == pytest.approx(10 * g["store_size"].iloc[0])
    noisy = make_synthetic(n_series=1, length=2000, noise=0.5, seed=5)
    resid = noisy["sensor"].to_numpy()[1:] - noisy["y"].to_numpy()[:-1]
    assert resid.std() == pytest.approx(0.5, rel=0.1)
    # Its noise is independent of y's noise at the same step: no leak of the current target.
    eps_y = noisy["y"].diff().to_numpy()[1:]
    assert abs(np.corrcoef(resid, eps_y)[0, 1]) < 0.1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_series=0), r"'n_series' parameter of make_synthetic must be an int in the range \[1, inf\)"),
        (dict(length=2.5), r"'length' parameter .* Got 2.5 instead"),
        (dict(noise=-1.0), r"'noise' parameter .* range \[0.0, inf\)"),
        (dict(season_length=True), r"'season_length' parameter"),
        (dict(freq="bogus"), r"could not build timestamps"),
    ],
)
def test_synthetic_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic(**kwargs)


# --------------------------------------------------------------------------------------------- splits
def test_split_borders_etth1():
    assert split_borders("ETTh1", 17420, 336) == {
        "train": (0, 8640),
        "val": (8640 - 336, 11520),
        "test": (11520 - 336, 14400),
    }
    start, stop = split_borders("ETTh1", 17420, 336)["test"]
    assert count_windows(stop - start, 336, 96) == 2785


@pytest.mark.parametrize("lookback", [96, 336, 512])
def test_window_counts_match_the_protocol_for_any_lookback(lookback):
    # docs/ltsf_protocol.md, section 1, item 6: test (and val) windows do not depend on L. H = 96/192/336/720.
    expected = {
        ("ETTh2", 17420): ([2785, 2689, 2545, 2161], [2785, 2689, 2545, 2161]),
        ("ETTm1", 69680): ([11425, 11329, 11185, 10801], None),
        ("Weather", 52696): ([10444, 10348, 10204, 9820], [5175, 5079, 4935, 4551]),
        ("ECL", 26304): ([5165, 5069, 4925, 4541], [2537, 2441, 2297, 1913]),
        ("Traffic", 17544): ([3413, 3317, 3173, 2789], [1661, 1565, 1421, 1037]),
    }
    for (name, n), (test_counts, val_counts) in expected.items():
        b = split_borders(name, n, lookback)
        got_test = [count_windows(b["test"][1] - b["test"][0], lookback, h) for h in (96, 192, 336, 720)]
        assert got_test == test_counts, name
        if val_counts is not None:
            got_val = [count_windows(b["val"][1] - b["val"][0], lookback, h) for h in (96, 192, 336, 720)]
            assert got_val == val_counts, name


def test_split_borders_ettm1_and_custom():
    assert split_borders("ETTm1", 69680, 96) == {
        "train": (0, 34560),
        "val": (34464, 46080),
        "test": (45984, 57600),
    }
    # docs/ltsf_protocol.md, section 1, item 4: Weather n = 52 696 -> 36 887 / 5 270 / 10 539 target rows (L only moves the segment starts).
    for lookback in (0, 96, 336):
        b = split_borders("Weather", 52696, lookback)
        assert b["train"] == (0, 36887)
        assert b["val"][1] - b["val"][0] - lookback == 5270
        assert b["test"][1] - b["test"][0] - lookback == 10539 and b["test"][1] == 52696
    assert count_windows(10539 + 96, 96, 96) == 10444
    for name, n, rows in [("ECL", 26304, (18412, 2632, 5260)), ("Traffic", 17544, (12280, 1756, 3508))]:
        b = split_borders(name, n, 0)
        assert tuple(stop - start for start, stop in b.values()) == rows
    assert split_borders("custom", 26304, 0) == split_borders("Electricity", 26304, 0)
    assert split_borders("ett_hour", 17420, 5) == split_borders("etth2", 17420, 5)


def test_split_errors_and_count_windows_edges():
    with pytest.raises(ValueError, match="needs at least 14400 rows"):
        split_borders("ETTh1", 14399, 96)
    with pytest.raises(ValueError, match="lookback of split_borders must be at most the 8640 train rows"):
        split_borders("ETTh1", 17420, 8641)
    with pytest.raises(ValueError, match="leaves an empty segment"):
        split_borders("custom", 4, 0)
    with pytest.raises(ValueError, match="Unknown dataset 'M4'"):
        split_borders("M4", 1000, 10)
    with pytest.raises(ValueError, match="'lookback' parameter of split_borders"):
        split_borders("ETTh1", 17420, -1)
    assert count_windows(10, 5, 6) == 0 and count_windows(11, 5, 6) == 1 and count_windows(0, 0, 1) == 0
    with pytest.raises(ValueError, match="'horizon' parameter of count_windows"):
        count_windows(100, 10, 0)


def test_standard_split_slices_rows():
    df = pd.DataFrame({"x": np.arange(1000.0)}, index=pd.date_range("2020-01-01", periods=1000, freq="h"))
    train, val, test = standard_split(df, "custom", lookback=24)
    assert (len(train), len(val), len(test)) == (700, 124, 224)
    assert train["x"].iloc[-1] == 699 and val["x"].iloc[24] == 700 and test["x"].iloc[24] == 800
    assert test.index[-1] == df.index[-1]


# ------------------------------------------------------------------------------------------- registry
def test_registry_entries():
    assert available_datasets() == ["ETTh1", "ETTh2", "ETTm1", "ETTm2", "Weather", "Electricity", "Traffic"]
    freqs = {"ETTh1": "h", "ETTh2": "h", "ETTm1": "15min", "ETTm2": "15min", "Weather": "10min"}
    freqs |= {"Electricity": "h", "Traffic": "h"}
    for name, info in REGISTRY.items():
        assert info.name == name and info.freq == freqs[name] and info.target == "OT"
        assert info.urls and all(u.startswith("https://") for u in info.urls)
        assert info.sha256 is None or len(info.sha256) == 64
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.n_rows = 0  # type: ignore[misc]
    assert (
        REGISTRY["ETTh1"].urls[0]
        == "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv"
    )
    assert all(i.sha256 for i in REGISTRY.values())  # every registered file is pinned
    assert get_dataset_info("ecl") is REGISTRY["Electricity"] and get_dataset_info(" etTm2 ").name == "ETTm2"
    with pytest.raises(ValueError, match=r"Unknown dataset 'ETTh3'. Valid names: ETTh1, ETTh2"):
        get_dataset_info("ETTh3")


def test_package_imports_only_numpy_pandas_and_stdlib():
    allowed = set(sys.stdlib_module_names) | {"numpy", "pandas", "__future__"}
    for path in (REPO / "datasets").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [node.module.split(".")[0]]
            else:
                continue
            assert set(tops) <= allowed, f"{path.name}:{node.lineno} imports {tops}"


# --------------------------------------------------------------------------------------------- loading
@needs_ett
def test_load_etth1_from_shared_data_with_checksum(isolated):
    for home in (ETT_DIR.parent, ETT_DIR):  # <home>/ETT-small/<file> and <home>/<file>
        df = load_dataset("ETTh1", data_home=home, download=False)
        assert df.shape == (17420, 7)
        assert list(df.columns) == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
        assert df.index.name == "date" and df.index.freqstr == "h"
        assert (df.dtypes == np.float64).all()
        assert df.index[0] == pd.Timestamp("2016-07-01 00:00") and df["OT"].iloc[0] == pytest.approx(30.531)
    assert sha256_file(ETT_DIR / "ETTh1.csv") == REGISTRY["ETTh1"].sha256
    _, val, test = standard_split(df, "ETTh1", lookback=336)
    assert val.index[336] == pd.Timestamp("2017-06-26 00:00")
    assert (test.index[336], test.index[-1]) == (
        pd.Timestamp("2017-10-24 00:00"),
        pd.Timestamp("2018-02-20 23:00"),
    )


@needs_ett
def test_local_copy_with_wrong_checksum_is_refused(isolated):
    isolated.mkdir(parents=True)
    data = (ETT_DIR / "ETTh1.csv").read_bytes()
    (isolated / "ETTh1.csv").write_bytes(data.replace(b"30.5310001373291", b"30.5310001373292", 1))
    with pytest.raises(ChecksumError, match=f"expected sha256 {REGISTRY['ETTh1'].sha256}, received") as err:
        load_etth1(data_home=isolated, download=False)
    assert err.value.expected == REGISTRY["ETTh1"].sha256 and err.value.received != err.value.expected
    assert load_etth1(data_home=isolated, download=False, verify=False)["OT"].iloc[0] == pytest.approx(30.531)


def _tiny_csv(path: Path, n: int = 30, header: bytes = b"date,a,b,OT") -> str:
    rows = [header]
    for i in range(n):
        ts = pd.Timestamp("2020-01-01") + pd.Timedelta(hours=i)
        rows.append(f"{ts},{i},{2 * i},{i / 10}".encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(rows) + b"\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _patch_entry(monkeypatch, name: str, **changes) -> None:
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(REGISTRY[name], **changes))


def test_download_via_file_url_verifies_and_renames(isolated, tmp_path, monkeypatch, capsys):
    source = tmp_path / "src" / "ETTh1.csv"
    digest = _tiny_csv(source)
    _patch_entry(monkeypatch, "ETTh1", urls=(source.as_uri(),), sha256=digest, n_rows=30, n_channels=3)
    df = load_dataset("ETTh1", data_home=isolated)
    assert df.shape == (30, 3) and list(df.columns) == ["a", "b", "OT"] and df.index.freqstr == "h"
    assert "ETTh1.csv: 100%" in capsys.readouterr().err
    assert sorted(p.name for p in isolated.iterdir()) == ["ETTh1.csv"]  # no temporary file left
    source.unlink()  # the second call reads the downloaded copy
    pd.testing.assert_frame_equal(load_dataset("ETTh1", data_home=isolated), df)
    # Without data_home, downloads go to $XLSTM_TS_DATA.
    _patch_entry(
        monkeypatch,
        "ETTh2",
        urls=(isolated.joinpath("ETTh1.csv").as_uri(),),
        sha256=digest,
        n_rows=30,
        n_channels=3,
    )
    load_dataset("ETTh2", download=True)
    assert (get_data_home() / "ETTh2.csv").is_file() and get_data_home() == tmp_path / "env"


def test_download_checksum_mismatch_raises_and_leaves_nothing(isolated, tmp_path, monkeypatch):
    source = tmp_path / "src" / "ETTh1.csv"
    digest = _tiny_csv(source)
    _patch_entry(monkeypatch, "ETTh1", urls=(source.as_uri(),), sha256="0" * 64, n_rows=30, n_channels=3)
    with pytest.raises(ChecksumError, match=f"expected sha256 {'0' * 64}, received {digest}") as err:
        load_dataset("ETTh1", data_home=isolated)
    assert isinstance(err.value, OSError) and (err.value.expected, err.value.received) == ("0" * 64, digest)
    assert list(isolated.iterdir()) == []


def test_unpinned_download_needs_verify_false(isolated, tmp_path, monkeypatch):
    source = tmp_path / "src" / "ETTh1.csv"
    _tiny_csv(source)
    _patch_entry(monkeypatch, "ETTh1", urls=(source.as_uri(),), sha256=None, n_rows=30, n_channels=3)
    with pytest.raises(
        UnverifiedDownloadError, match=r"No sha256 checksum is pinned for ETTh1.*verify=False"
    ):
        load_dataset("ETTh1", data_home=isolated)
    assert not isolated.exists() or list(isolated.iterdir()) == []
    assert load_dataset("ETTh1", data_home=isolated, verify=False).shape == (30, 3)


def test_download_tries_the_next_url_and_reports_all_failures(isolated, tmp_path, monkeypatch):
    source = tmp_path / "src" / "ETTh1.csv"
    digest = _tiny_csv(source)
    missing = (tmp_path / "nowhere.csv").as_uri()
    _patch_entry(
        monkeypatch, "ETTh1", urls=(missing, source.as_uri()), sha256=digest, n_rows=30, n_channels=3
    )
    assert load_dataset("ETTh1", data_home=isolated).shape == (30, 3)
    _patch_entry(monkeypatch, "ETTh2", urls=(missing,), sha256=digest)
    with pytest.raises(DownloadError, match=r"Could not download ETTh2\.csv from any URL"):
        load_dataset("ETTh2", data_home=isolated)


@needs_ett
def test_download_of_the_real_file_matches_the_pinned_checksum(isolated, monkeypatch):
    _patch_entry(monkeypatch, "ETTh2", urls=((ETT_DIR / "ETTh2.csv").as_uri(),))
    df = load_dataset("ETTh2", data_home=isolated)
    assert df.shape == (17420, 7) and sha256_file(isolated / "ETTh2.csv") == REGISTRY["ETTh2"].sha256


def test_missing_file_without_download_names_paths_and_env_var(isolated):
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("Weather", data_home=isolated, download=False)
    message = str(err.value)
    assert "weather.csv (Weather) was not found and download=False" in message
    for path in (
        isolated / "weather.csv",
        isolated / "weather" / "weather.csv",
        isolated.parent / "env" / "weather.csv",
    ):
        assert str(path) in message
    assert ENV_VAR in message and "userhome/.cache/xlstm_ts/weather.csv" in message


def test_weather_header_in_latin1_decodes_units_and_keeps_irregular_index(isolated, monkeypatch):
    # The TSLib weather.csv header is Latin-1/cp1252 (invalid UTF-8): "SWDR (W/m\xb2)", "PAR (\xb5mol/m\xb2/s)".
    path = isolated / "weather" / "weather.csv"
    path.parent.mkdir(parents=True)
    header = "date,p (mbar),T (°C),PAR (µmol/m²/s),OT"
    lines = [header.encode("cp1252")]
    assert b"\xb5mol/m\xb2/s" in lines[0] and b"\xb0C" in lines[0]
    for ts in ["2020-01-01 00:10:00", "2020-01-01 00:20:00", "2020-01-01 00:20:00", "2020-01-01 02:00:00"]:
        lines.append(ts.encode() + b",1008.9,-8.1,-9999,428.1")
    path.write_bytes(b"\n".join(lines) + b"\n")
    _patch_entry(monkeypatch, "Weather", n_rows=4, n_channels=4, sha256=sha256_file(path))
    df = load_dataset("Weather", data_home=isolated, download=False)
    assert list(df.columns) == ["p (mbar)", "T (°C)", "PAR (µmol/m²/s)", "OT"]
    assert not any("\ufffd" in c for c in df.columns)
    assert df.index.freq is None and df["PAR (µmol/m²/s)"].eq(-9999).all()  # kept, as the protocol does
    _patch_entry(monkeypatch, "Weather", n_rows=5, n_channels=4, sha256=sha256_file(path))
    with pytest.raises(ValueError, match=r"should have 5 rows and 4 channels\. Got 4 rows"):
        load_dataset("Weather", data_home=isolated, download=False)


def test_csv_reader_tries_utf8_first_then_the_legacy_encoding(tmp_path):
    from xlstm_ts.datasets._loaders import _read_csv

    names = ["date", "SWDR (W/m²)", "PAR (µmol/m²/s)", "T (°C)"]
    text = ",".join(names) + "\n2020-01-01 00:10:00,1,2,3\n"
    for encoding in ("utf-8", "cp1252"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        assert list(_read_csv(path, ("utf-8", "cp1252")).columns) == names
    assert REGISTRY["Weather"].encodings == ("utf-8", "cp1252")
    assert all(info.encodings == ("utf-8",) for name, info in REGISTRY.items() if name != "Weather")
    # Strict decoding: a file that no listed encoding decodes is an error, never replacement characters.
    with pytest.raises(ValueError, match=r"could not be decoded as utf-8 \(invalid start byte\)\.$"):
        _read_csv(tmp_path / "cp1252.csv", ("utf-8",))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"date,\x81x\n2020-01-01,1\n")  # 0x81: undefined in cp1252, invalid in UTF-8
    with pytest.raises(ValueError, match=r"utf-8 .* or cp1252 "):
        _read_csv(bad, ("utf-8", "cp1252"))
