"""Datasets for forecasting (installed as ``xlstm_ts.datasets``): the LTSF benchmarks and small offline data.

* Registry and loaders of the standard long-horizon benchmarks (ETTh1, ETTh2, ETTm1, ETTm2, Weather,
  Electricity/ECL, Traffic): :func:`load_dataset`, :func:`available_datasets`, :class:`DatasetInfo`; files
  are looked up in ``data_home``, ``$XLSTM_TS_DATA`` and ``~/.cache/xlstm_ts`` and downloaded with sha256
  verification.
* The standard split protocol: :func:`split_borders`, :func:`standard_split`, :func:`count_windows`.
* Offline data: :func:`load_airline` (bundled, no file) and :func:`make_synthetic` (a seeded panel with
  future-known, past-only and static covariates).

This package is a leaf of the data layer: it imports only numpy, pandas and the standard library.

Examples
--------
>>> from xlstm_ts import datasets
>>> datasets.load_airline().shape
(144,)
>>> datasets.split_borders("ETTm1", 69680, lookback=96)["test"]
(45984, 57600)
"""

from ._bundled import AIRLINE_PASSENGERS, load_airline, load_airline_long
from ._download import ChecksumError, DownloadError, UnverifiedDownloadError, download_file, sha256_file
from ._loaders import (
    ENV_VAR,
    default_cache_dir,
    fetch_dataset,
    get_data_home,
    load_dataset,
    load_electricity,
    load_etth1,
    load_etth2,
    load_ettm1,
    load_ettm2,
    load_traffic,
    load_weather,
)
from ._registry import REGISTRY, SPLIT_KINDS, DatasetInfo, available_datasets, get_dataset_info
from ._splits import count_windows, split_borders, standard_split
from ._synthetic import (
    SYNTHETIC_FUTURE_COVARIATES,
    SYNTHETIC_PAST_COVARIATES,
    SYNTHETIC_STATIC_COVARIATES,
    make_synthetic,
)

__all__ = [
    # registry and benchmark loaders
    "DatasetInfo",
    "REGISTRY",
    "available_datasets",
    "get_dataset_info",
    "load_dataset",
    "fetch_dataset",
    "load_etth1",
    "load_etth2",
    "load_ettm1",
    "load_ettm2",
    "load_weather",
    "load_electricity",
    "load_traffic",
    "ENV_VAR",
    "get_data_home",
    "default_cache_dir",
    # split protocol
    "SPLIT_KINDS",
    "split_borders",
    "standard_split",
    "count_windows",
    # downloads and errors
    "download_file",
    "sha256_file",
    "ChecksumError",
    "UnverifiedDownloadError",
    "DownloadError",
    # offline data
    "AIRLINE_PASSENGERS",
    "load_airline",
    "load_airline_long",
    "make_synthetic",
    "SYNTHETIC_FUTURE_COVARIATES",
    "SYNTHETIC_PAST_COVARIATES",
    "SYNTHETIC_STATIC_COVARIATES",
]
