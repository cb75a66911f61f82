"""Loading the registered benchmarks as wide DataFrames (one row per timestamp, one column per channel).

Where files are looked for, in order (the first folder also receives downloads):

1. the ``data_home`` argument, if given;
2. the folder named by the environment variable ``XLSTM_TS_DATA``, if set;
3. ``~/.cache/xlstm_ts``.

In each folder both ``<folder>/<file>`` and ``<folder>/<subdir>/<file>`` are tried, where ``subdir`` is the
folder of the upstream archive (``ETT-small``, ``weather``, ``electricity``, ``traffic``), so an unpacked
ETDataset or TSLib ``dataset/`` folder works as a data home as it is.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pandas as pd

from ._download import ChecksumError, UnverifiedDownloadError, download_file, sha256_file
from ._registry import DatasetInfo, get_dataset_info

__all__ = [
    "ENV_VAR",
    "default_cache_dir",
    "get_data_home",
    "fetch_dataset",
    "load_dataset",
    "load_etth1",
    "load_etth2",
    "load_ettm1",
    "load_ettm2",
    "load_weather",
    "load_electricity",
    "load_traffic",
]

#: Environment variable naming a data folder (searched after ``data_home``, before the default cache).
ENV_VAR = "XLSTM_TS_DATA"

PathLike = str | os.PathLike[str]


def default_cache_dir() -> Path:
    """``~/.cache/xlstm_ts``: the last folder searched, and the download folder when nothing else is set.

    Examples
    --------
    >>> from xlstm_ts.datasets import default_cache_dir
    >>> default_cache_dir().parts[-2:]
    ('.cache', 'xlstm_ts')
    """
    return Path("~/.cache/xlstm_ts").expanduser()


def _search_dirs(data_home: PathLike | None) -> list[Path]:
    dirs = []
    if data_home is not None:
        dirs.append(Path(data_home).expanduser())
    env = os.environ.get(ENV_VAR)
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(default_cache_dir())
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def get_data_home(data_home: PathLike | None = None) -> Path:
    """The folder that downloads go to: ``data_home``, else ``$XLSTM_TS_DATA``, else :func:`default_cache_dir`.

    Examples
    --------
    >>> from xlstm_ts.datasets import get_data_home
    >>> get_data_home("/tmp/my_data").as_posix()
    '/tmp/my_data'
    """
    return _search_dirs(data_home)[0]


def _candidates(info: DatasetInfo, data_home: PathLike | None) -> list[Path]:
    paths = []
    for d in _search_dirs(data_home):
        paths.append(d / info.file_name)
        if info.subdir:
            paths.append(d / info.subdir / info.file_name)
    return paths


def _verify_local(path: Path, info: DatasetInfo) -> None:
    received = sha256_file(path)
    if received != info.sha256:
        raise ChecksumError(
            f"Checksum mismatch for {info.name} at {path}: expected sha256 {info.sha256}, received "
            f"{received}. The file is not the unmodified {info.file_name}; delete it to download it again, "
            "or pass verify=False to load it anyway.",
            source=str(path),
            expected=info.sha256,
            received=received,
        )


def fetch_dataset(
    name: str, *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> Path:
    """Path of a benchmark's CSV file, downloading it when it is not found locally.

    Parameters
    ----------
    name : str
        A name from :func:`available_datasets` (case-insensitive; ``"ECL"`` = ``"Electricity"``).
    data_home : path-like, optional
        Folder searched first, and where a download goes (default: ``$XLSTM_TS_DATA``, else
        ``~/.cache/xlstm_ts``).
    download : bool
        Download the file when no local copy is found.
    verify : bool
        Check the pinned sha256 of a local or downloaded file, and refuse to download a file that has no
        pinned checksum. ``verify=False`` skips both.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        No local copy and ``download=False``; the message lists the paths tried.
    ChecksumError
        A local or downloaded file does not match the pinned sha256.
    UnverifiedDownloadError
        A download is needed, ``verify=True``, and no checksum is pinned for the dataset.
    DownloadError
        No download URL could be fetched.

    Examples
    --------
    >>> from xlstm_ts.datasets import fetch_dataset
    >>> fetch_dataset("ETTh1", download=False)  # doctest: +SKIP
    PosixPath('/home/me/.cache/xlstm_ts/ETTh1.csv')
    """
    info = get_dataset_info(name)
    candidates = _candidates(info, data_home)
    for path in candidates:
        if path.is_file():
            if verify and info.sha256 is not None:
                _verify_local(path, info)
            return path
    if not download:
        tried = "\n".join(f"  {p}" for p in candidates)
        raise FileNotFoundError(
            f"{info.file_name} ({info.name}) was not found and download=False. Tried:\n{tried}\n"
            f"Put the file in one of these places, pass data_home=..., set the environment variable "
            f"{ENV_VAR} to its folder, or call with download=True (source: {', '.join(info.urls)})."
        )
    if verify and info.sha256 is None:
        raise UnverifiedDownloadError(
            f"No sha256 checksum is pinned for {info.name} ({info.file_name}), so its download from "
            f"{', '.join(info.urls)} cannot be verified. Pass verify=False to download it unverified, or "
            f"place a trusted copy in {get_data_home(data_home)}.",
            source=info.urls[0] if info.urls else "",
        )
    target = get_data_home(data_home) / info.file_name
    return download_file(info.urls, target, sha256=info.sha256 if verify else None, label=info.file_name)


def _read_csv(path: Path, encodings: tuple[str, ...] = ("utf-8",)) -> pd.DataFrame:
    """``pandas.read_csv`` with the first of ``encodings`` that decodes the whole file strictly.

    Strict decoding never turns a byte into U+FFFD: a Latin-1 header read as UTF-8 fails here and is read
    again with the next encoding, instead of coming back as ``PAR (\ufffdmol/m\ufffd/s)``.
    """
    failures = []
    for encoding in encodings:
        try:
            return pd.read_csv(path, encoding=encoding, encoding_errors="strict")
        except UnicodeDecodeError as err:
            failures.append(f"{encoding} ({err.reason})")  # err.start counts from a pandas buffer
    raise ValueError(f"{path} could not be decoded as {' or '.join(failures)}.")


def _read(path: Path, info: DatasetInfo, verify: bool) -> pd.DataFrame:
    df = _read_csv(path, info.encodings)
    if "date" not in df.columns:
        raise ValueError(f"{path} has no 'date' column; its columns are {list(df.columns)[:10]}.")
    index = pd.DatetimeIndex(pd.to_datetime(df.pop("date")), name="date")
    # A regular index gets its freq (the ETT files); Weather, with a duplicate and a gap, does not.
    with contextlib.suppress(ValueError):
        index = pd.DatetimeIndex(index, freq=info.freq, name="date")
    df.index = index
    df = df.astype("float64")
    df.columns.name = None
    if verify and df.shape != (info.n_rows, info.n_channels):
        raise ValueError(
            f"{info.name} from {path} should have {info.n_rows} rows and {info.n_channels} channels. Got "
            f"{df.shape[0]} rows and {df.shape[1]} channels instead; pass verify=False to load it anyway."
        )
    return df


def load_dataset(
    name: str, *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> pd.DataFrame:
    """Load a registered LTSF benchmark as a wide DataFrame.

    Parameters
    ----------
    name : str
        A name from :func:`available_datasets` (case-insensitive; ``"ECL"`` = ``"Electricity"``).
    data_home : path-like, optional
        Folder searched first (also ``<data_home>/ETT-small/`` etc.), and where a download goes. Default:
        ``$XLSTM_TS_DATA``, else ``~/.cache/xlstm_ts``.
    download : bool
        Download the file (with urllib, progress on stderr) when no local copy is found.
    verify : bool
        Check the pinned sha256 and the registered shape; refuse to download a file without a pinned
        checksum. ``verify=False`` skips these checks.

    Returns
    -------
    pandas.DataFrame
        Index: a ``DatetimeIndex`` named ``"date"`` (with ``freq`` set when the timestamps are regular).
        Columns: one float64 column per channel, in file order (the target ``OT`` last). Values are as in
        the file: not scaled, sentinels such as Weather's -9999 kept (as the standard protocol does).

    Raises
    ------
    FileNotFoundError, ChecksumError, UnverifiedDownloadError, DownloadError
        See :func:`fetch_dataset`.
    ValueError
        The file lacks a ``date`` column, or (with ``verify=True``) its shape differs from the registry.

    See Also
    --------
    standard_split : the train/val/test segments of the LTSF protocol.

    Examples
    --------
    >>> from xlstm_ts.datasets import get_dataset_info, load_dataset, standard_split
    >>> get_dataset_info("ETTh1").urls[0]
    'https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv'
    >>> df = load_dataset("ETTh1")  # doctest: +SKIP
    >>> df.shape, df.index.freqstr, list(df.columns)  # doctest: +SKIP
    ((17420, 7), 'h', ['HUFL', 'HULL', 'MUFL', 'MULL', 'LUFL', 'LULL', 'OT'])
    >>> train, val, test = standard_split(df, "ETTh1", lookback=336)  # doctest: +SKIP
    """
    info = get_dataset_info(name)
    path = fetch_dataset(info.name, data_home=data_home, download=download, verify=verify)
    return _read(path, info, verify)


def load_etth1(
    *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> pd.DataFrame:
    """ETTh1 (hourly, 17 420 × 7); see :func:`load_dataset`."""
    return load_dataset("ETTh1", data_home=data_home, download=download, verify=verify)


def load_etth2(
    *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> pd.DataFrame:
    """ETTh2 (hourly, 17 420 × 7); see :func:`load_dataset`."""
    return load_dataset("ETTh2", data_home=data_home, download=download, verify=verify)


def load_ettm1(
    *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> pd.DataFrame:
    """ETTm1 (15-minute, 69 680 × 7); see :func:`load_dataset`."""
    return load_dataset("ETTm1", data_home=data_home, download=download, verify=verify)


def load_ettm2(
    *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> pd.DataFrame:
    """ETTm2 (15-minute, 69 680 × 7)."""
    return load_dataset("ETTm2", data_home=data_home, download=download, verify=verify)


def load_weather(
    *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> pd.DataFrame:
    """Weather (10-minute, 52 696 × 21)."""
    return load_dataset("Weather", data_home=data_home, download=download, verify=verify)


def load_electricity(
    *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> pd.DataFrame:
    """Electricity/ECL (hourly, 26 304 × 321)."""
    return load_dataset("Electricity", data_home=data_home, download=download, verify=verify)


def load_traffic(
    *, data_home: PathLike | None = None, download: bool = True, verify: bool = True
) -> pd.DataFrame:
    """Traffic (hourly, 17 544 × 862)."""
    return load_dataset("Traffic", data_home=data_home, download=download, verify=verify)
