"""Input of the sequence estimators: 2-D ``[n, L]`` (n univariate sequences), 3-D ``[n, L, C]`` (n
sequences of C channels) or a DataFrame (rows are sequences, columns are time steps), checked with
scikit-learn's own validation so that messages and ``n_features_in_`` / ``feature_names_in_`` follow
sklearn; plus :func:`sliding_windows`, which cuts a long series into such windows.

``n_features_in_`` is the sequence length ``L`` (``X.shape[1]``, as sklearn counts features of a 2-D
array); the number of channels is ``n_channels_in_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

__all__ = ["as_sequences", "sliding_windows"]


def as_sequences(estimator: Any, X: Any, y: Any = "no_validation", *, reset: bool, **y_options: Any):
    """``X`` as a float32 array ``[n, L, C]`` (and ``y`` checked by sklearn when given).

    With ``reset=True`` (in ``fit``) it sets ``n_features_in_`` (the length ``L``), ``feature_names_in_``
    (for a DataFrame) and ``n_channels_in_``; with ``reset=False`` it checks new input against them and
    raises ``ValueError`` naming what was expected and what was received.
    """
    name = type(estimator).__name__
    checked = validate_data(
        estimator,
        X,
        y,
        reset=reset,
        allow_nd=True,
        dtype=[np.float64, np.float32],
        **y_options,
    )
    if isinstance(y, str) and y == "no_validation":
        X, y = checked, None
    else:
        X, y = checked
    if X.ndim not in (2, 3):
        raise ValueError(
            f"{name} expects a 2-D array [n_sequences, length] or a 3-D array [n_sequences, length, "
            f"n_channels]; got an array of shape {X.shape}."
        )
    X = np.array(X[..., None] if X.ndim == 2 else X, dtype=np.float32)  # a copy: input never mutated
    if X.shape[2] < 1:
        raise ValueError(f"{name} needs at least one channel; got input of shape {X.shape}.")
    if reset:
        estimator.n_channels_in_ = int(X.shape[2])
    elif X.shape[2] != estimator.n_channels_in_:
        raise ValueError(
            f"X has {X.shape[2]} channels, but {name} is expecting {estimator.n_channels_in_} channels "
            "as input."
        )
    return X, y


def sliding_windows(data: Any, length: int, stride: int = 1) -> np.ndarray:
    """Cut one series into overlapping windows, the input the sequence estimators take.

    Parameters
    ----------
    data : array-like of shape (T,) or (T, C), pandas Series or DataFrame
        One series in time order; a DataFrame's columns (or a 2-D array's) are its channels.
    length : int
        Time steps per window.
    stride : int
        Steps between the starts of consecutive windows.

    Returns
    -------
    ndarray
        ``[n, length]`` for a 1-D series, ``[n, length, C]`` otherwise, with
        ``n = (T - length) // stride + 1`` (the last window ends at the last step when ``stride`` divides
        ``T - length``).  Float64, a copy.

    Examples
    --------
    >>> import numpy as np
    >>> sliding_windows(np.arange(6.0), 3, stride=2)
    array([[0., 1., 2.],
           [2., 3., 4.]])
    >>> sliding_windows(np.zeros((10, 2)), 4).shape
    (7, 4, 2)
    """
    for label, value in (("length", length), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"sliding_windows: {label} must be an int >= 1; got {value!r}.")
    values = np.asarray(data, dtype=np.float64)
    if values.ndim not in (1, 2):
        raise ValueError(
            f"sliding_windows expects one series of shape (T,) or (T, C); got shape {values.shape}."
        )
    if values.shape[0] < length:
        raise ValueError(
            f"sliding_windows: the series has {values.shape[0]} steps, fewer than length={length}."
        )
    windows = np.lib.stride_tricks.sliding_window_view(values, length, axis=0)[::stride]
    # 1-D: [n, length]; 2-D: sliding_window_view gives [n, C, length] -> [n, length, C]
    return np.array(windows if values.ndim == 1 else windows.transpose(0, 2, 1))
