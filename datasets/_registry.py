"""Registry of the standard long-horizon forecasting benchmarks (ETT, Weather, Electricity, Traffic).

Every entry records where the file comes from, how to check it and how the LTSF literature splits it
(see :func:`xlstm_ts.datasets.split_borders`).

Sources
-------
* ETT (ETTh1, ETTh2, ETTm1, ETTm2): the authors' repository ``zhouhaoyi/ETDataset`` (CC BY-ND 4.0; the files are
  downloaded unmodified, never redistributed).
* Weather, Electricity (ECL), Traffic: the preprocessed CSVs of the Autoformer/Time-Series-Library (TSLib)
  release, the files every LTSF paper uses. TSLib's README points to a Google Drive folder, a Baidu share and
  the Hugging Face dataset ``thuml/Time-Series-Library``; only the last one serves plain per-file URLs, so it
  is the one listed.

Checksums
---------
The sha256 of ETTh1, ETTh2 and ETTm1 were computed here from unmodified copies of the files. The other four
could not be hashed here (no network), so their digests come from public projects that pin the same files
(found with a code search, 2026-11-22): several independent projects list the same digest for each file, and
the projects that also list ETTh1/ETTh2/ETTm1 give exactly the digests computed here, which is good evidence
that they hashed the same unmodified bytes. A mismatch raises :class:`~xlstm_ts.datasets.ChecksumError` rather
than loading a different file; ``verify=False`` skips the check.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SPLIT_KINDS",
    "DatasetInfo",
    "REGISTRY",
    "available_datasets",
    "get_dataset_info",
]

#: The three split rules of the LTSF protocol (Time-Series-Library data loaders): ETT hourly (12/4/4 months of 30
#: days), ETT 15-minute (the same, ×4 rows) and "custom" (int(0.7·n) / rest / int(0.2·n)).
SPLIT_KINDS = ("ett_hour", "ett_minute", "custom")

_ETT_BASE = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/"
_TSLIB_HF_BASE = "https://huggingface.co/datasets/thuml/Time-Series-Library/resolve/main/"


@dataclass(frozen=True)
class DatasetInfo:
    """Facts about one benchmark file.

    Attributes
    ----------
    name : str
        Canonical name (``"ETTh1"``, ``"Weather"``, ...).
    file_name : str
        Name of the CSV file, as distributed.
    urls : tuple of str
        Download locations, tried in order.
    sha256 : str or None
        Hex digest of the unmodified file; ``None`` when no checksum is pinned yet (such files are only
        downloaded with ``verify=False``).
    freq : str
        pandas frequency of the ``date`` column.
    n_rows : int
        Number of data rows (timestamps).
    n_channels : int
        Number of numeric columns (every column except ``date``).
    target : str
        Target column of the univariate ("S"/"MS") settings; the last column of the file.
    split : str
        Split rule of the LTSF protocol, one of :data:`SPLIT_KINDS`.
    subdir : str
        Folder that holds the file in the upstream archives (``ETT-small``, ``weather``, ...); the loader
        also looks for ``<data_home>/<subdir>/<file_name>``.
    encodings : tuple of str
        Text encodings to read the file with, tried in order, each strictly: a file that is not valid in
        the first is read with the next. UTF-8 for every file except Weather, whose header is Latin-1/cp1252
        (``SWDR (W/m²)``, ``PAR (µmol/m²/s)``: bytes 0xB2 and 0xB5, invalid in UTF-8); UTF-8 is still
        tried first there, so a re-saved UTF-8 copy reads the same.
    description : str
        One line on content and provenance.

    Examples
    --------
    >>> from xlstm_ts.datasets import get_dataset_info
    >>> info = get_dataset_info("etth1")
    >>> info.name, info.freq, info.n_rows, info.n_channels, info.target
    ('ETTh1', 'h', 17420, 7, 'OT')
    """

    name: str
    file_name: str
    urls: tuple[str, ...]
    sha256: str | None
    freq: str
    n_rows: int
    n_channels: int
    target: str = "OT"
    split: str = "custom"
    subdir: str = ""
    encodings: tuple[str, ...] = ("utf-8",)
    description: str = ""


def _ett(name: str, sha256: str | None, freq: str, n_rows: int, split: str, what: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        file_name=f"{name}.csv",
        urls=(_ETT_BASE + f"{name}.csv",),
        sha256=sha256,
        freq=freq,
        n_rows=n_rows,
        n_channels=7,
        split=split,
        subdir="ETT-small",
        description=f"Electricity Transformer Temperature, {what}, 2016-07-01 .. 2018-06-26: 6 load "
        "features and the oil temperature OT (Zhou et al., Informer, AAAI 2021; CC BY-ND 4.0).",
    )


#: Canonical name -> :class:`DatasetInfo`. Looked up at call time, so a test (or a user with a private
#: mirror) may replace an entry, e.g. with ``dataclasses.replace(REGISTRY["ETTh1"], urls=(...,))``.
REGISTRY: dict[str, DatasetInfo] = {
    "ETTh1": _ett(
        "ETTh1",
        "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
        "h",
        17420,
        "ett_hour",
        "transformer 1, hourly",
    ),
    "ETTh2": _ett(
        "ETTh2",
        "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
        "h",
        17420,
        "ett_hour",
        "transformer 2, hourly",
    ),
    "ETTm1": _ett(
        "ETTm1",
        "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e",
        "15min",
        69680,
        "ett_minute",
        "transformer 1, 15-minute",
    ),
    # Digests below: cross-checked public pins (see "Checksums" in the module docstring).
    "ETTm2": _ett(
        "ETTm2",
        "db973ca252c6410a30d0469b13d696cf919648d0f3fd588c60f03fdbdbadd1fd",
        "15min",
        69680,
        "ett_minute",
        "transformer 2, 15-minute",
    ),
    "Weather": DatasetInfo(
        name="Weather",
        file_name="weather.csv",
        urls=(_TSLIB_HF_BASE + "weather/weather.csv",),
        sha256="34ee981d07313e51da2a50bb600072c8ae4a69cb4b0651f4cb93a069d7a2ba63",
        freq="10min",
        n_rows=52696,
        n_channels=21,
        split="custom",
        subdir="weather",
        encodings=("utf-8", "cp1252"),
        description="21 meteorological indicators every 10 minutes in 2020 (weather station of the Max "
        "Planck Institute for Biogeochemistry, Jena), as preprocessed by Autoformer/TSLib; contains -9999 "
        "sentinels, one duplicated timestamp and one gap (kept, as the standard protocol does).",
    ),
    "Electricity": DatasetInfo(
        name="Electricity",
        file_name="electricity.csv",
        urls=(_TSLIB_HF_BASE + "electricity/electricity.csv",),
        sha256="7e45845d54c5219bad0ae6bc1b5316cf8ff9cead5d33fa998a5a51c2e4a497ad",
        freq="h",
        n_rows=26304,
        n_channels=321,
        split="custom",
        subdir="electricity",
        description="Hourly electricity consumption (kWh) of 321 clients (UCI ElectricityLoadDiagrams20112014, "
        "preprocessed by LSTNet/Autoformer/TSLib); a.k.a. ECL.",
    ),
    "Traffic": DatasetInfo(
        name="Traffic",
        file_name="traffic.csv",
        urls=(_TSLIB_HF_BASE + "traffic/traffic.csv",),
        sha256="cb06463d56fa17d87f47027cd9389ceae82a69eddee51cdb61480e120dab0b16",
        freq="h",
        n_rows=17544,
        n_channels=862,
        split="custom",
        subdir="traffic",
        description="Hourly road occupancy rates (0..1) of 862 San Francisco Bay Area freeway sensors "
        "(Caltrans PeMS), preprocessed by LSTNet/Autoformer/TSLib.",
    ),
}

_ALIASES = {"ecl": "Electricity"}


def available_datasets() -> list[str]:
    """Canonical names of the registered benchmarks.

    Returns
    -------
    list of str
        In registry order (ETT first).

    Examples
    --------
    >>> from xlstm_ts.datasets import available_datasets
    >>> available_datasets()
    ['ETTh1', 'ETTh2', 'ETTm1', 'ETTm2', 'Weather', 'Electricity', 'Traffic']
    """
    return list(REGISTRY)


def get_dataset_info(name: str) -> DatasetInfo:
    """Registry entry of a benchmark, by name (case-insensitive; ``"ECL"`` means ``"Electricity"``).

    Parameters
    ----------
    name : str
        A name from :func:`available_datasets` or an alias.

    Returns
    -------
    DatasetInfo

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> from xlstm_ts.datasets import get_dataset_info
    >>> get_dataset_info("ECL").n_channels
    321
    >>> get_dataset_info("nope")
    Traceback (most recent call last):
    ...
    ValueError: Unknown dataset 'nope'. Valid names: ETTh1, ETTh2, ETTm1, ETTm2, Weather, Electricity, Traffic (alias: ECL).
    """
    if not isinstance(name, str):
        raise TypeError(f"The dataset name must be a str. Got {name!r} ({type(name).__name__}) instead.")
    key = name.strip().lower()
    for canonical in REGISTRY:
        if canonical.lower() == key:
            return REGISTRY[canonical]
    if key in _ALIASES and _ALIASES[key] in REGISTRY:
        return REGISTRY[_ALIASES[key]]
    aliases = ", ".join(a.upper() for a in _ALIASES)
    raise ValueError(f"Unknown dataset {name!r}. Valid names: {', '.join(REGISTRY)} (alias: {aliases}).")
