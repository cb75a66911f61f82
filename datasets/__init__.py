"""Benchmark dataset loaders (installed as ``xlstm_ts.datasets``); filled in by the forecasting work."""

__all__: list[str] = []
