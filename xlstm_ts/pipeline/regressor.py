"""``xLSTMRegressor``: sequences -> one or several real values, with an xLSTM backbone."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ._base import SequenceEstimator
from ._sequences import as_sequences


def _mse(network: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.mse_loss(network(x), y)


class xLSTMRegressor(RegressorMixin, SequenceEstimator):
    """Regression from sequences with an xLSTM backbone: ``[n, L]`` or ``[n, L, C]`` -> ``y``.

    For problems whose target is not the series' own future (e.g. the remaining useful life of a machine
    from a window of its sensors).  Each channel is standardised with statistics of the training data,
    projected to ``embedding_dim``, read by an ``xLSTMBlockStack``, pooled over time and mapped to the
    targets by a linear head.  The targets are standardised for training (mean squared error) and
    predictions are returned on their scale.  ``y`` of shape ``(n, k)`` trains ``k`` outputs at once.

    Parameters
    ----------
    backbone : {"mlstm", "slstm", "mixed"} or xLSTMBlockStackConfig
        Block types of the backbone (``"mixed"``: an sLSTM block in the middle of mLSTM blocks), or a
        full backbone config (then ``embedding_dim``, ``num_blocks`` and ``num_heads`` are ignored).
    embedding_dim : int
        Width of the backbone.
    num_blocks : int
        Number of xLSTM blocks.
    num_heads : int
        Heads of every mLSTM/sLSTM layer.
    pooling : {"both", "last", "mean"}
        How the hidden states over time become one vector: the last state, the mean, or both side by side.
    dropout : float
        Dropout in the backbone and before the head.
    learning_rate : float
        Learning rate of AdamW.
    weight_decay : float
        Weight decay of AdamW.
    batch_size : int
        Sequences per training step.
    max_epochs : int
        Passes over the training data.
    random_state : int or None
        Seed of the initialisation and of the batch order; None draws one from numpy's global generator.
    device : {"auto", "cpu", "cuda", "gpu", "mps"}
        Where to train and predict; ``"auto"`` takes a CUDA GPU when there is one.

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network (on the CPU).
    n_features_in_ : int
        Sequence length ``L`` seen in ``fit`` (input of another length is rejected).
    n_channels_in_ : int
        Channels ``C`` per time step.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame.
    n_outputs_ : int
        Number of targets.
    loss_curve_ : list of float
        Mean training loss (standardised units) of each epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from xlstm_ts.pipeline import xLSTMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 12))
    >>> y = X[:, -3:].sum(axis=1)
    >>> model = xLSTMRegressor(max_epochs=3).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    def fit(self, X: Any, y: Any) -> xLSTMRegressor:
        """Train on sequences ``X`` and targets ``y`` (shape ``(n,)`` or ``(n, k)``); returns ``self``."""
        params = self._check_params()
        seqs, target = as_sequences(self, X, y, reset=True, multi_output=True, y_numeric=True)
        target = np.asarray(target, dtype=np.float64)
        Y = target.reshape(target.shape[0], -1)
        loc, spread = Y.mean(axis=0), Y.std(axis=0)
        scale = np.where(spread > 0, spread, 1.0)
        scaled = torch.as_tensor((Y - loc) / scale, dtype=torch.float32)
        self.network_ = self._fit_sequences(params, seqs, scaled, n_outputs=Y.shape[1], loss=_mse)
        self.y_loc_, self.y_scale_ = loc, scale
        self.n_outputs_ = int(Y.shape[1])
        self.y_ndim_ = int(target.ndim)
        self.params_ = params
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``(n,)``, or ``(n, k)`` when ``y`` had ``k`` columns in ``fit``."""
        check_is_fitted(self, "network_")
        seqs, _ = as_sequences(self, X, reset=False)
        out = self._run(seqs, "forward") * self.y_scale_ + self.y_loc_
        return out[:, 0] if self.y_ndim_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
