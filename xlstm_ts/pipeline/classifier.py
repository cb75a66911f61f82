"""``xLSTMClassifier``: sequences -> class, with an xLSTM backbone."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._base import SequenceEstimator
from ._sequences import as_sequences


def _cross_entropy(network: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(network(x), y)


class xLSTMClassifier(ClassifierMixin, SequenceEstimator):
    """Time-series classification with an xLSTM backbone: ``[n, L]`` or ``[n, L, C]`` -> class.

    Each channel is standardised with statistics of the training data, projected to ``embedding_dim``,
    read by an ``xLSTMBlockStack``, pooled over time and mapped to class logits by a linear head trained
    with cross-entropy.  Labels may be of any type ``numpy.unique`` sorts (ints, strings).

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
    classes_ : ndarray
        The class labels, sorted.
    network_ : torch.nn.Module
        The trained network (on the CPU).
    n_features_in_ : int
        Sequence length ``L`` seen in ``fit`` (input of another length is rejected).
    n_channels_in_ : int
        Channels ``C`` per time step.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame.
    loss_curve_ : list of float
        Mean training cross-entropy of each epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from xlstm_ts.pipeline import xLSTMClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 10))
    >>> y = np.where(X[:, -1] > 0, "up", "down")
    >>> clf = xLSTMClassifier(max_epochs=3).fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X[:2]).shape
    (['down', 'up'], (2, 2))
    """

    def fit(self, X: Any, y: Any) -> xLSTMClassifier:
        """Train on sequences ``X`` and labels ``y`` (shape ``(n,)``); returns ``self``."""
        params = self._check_params()
        seqs, labels = as_sequences(self, X, y, reset=True)
        check_classification_targets(labels)
        classes, codes = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got 1 class ({classes.tolist()[0]!r})."
            )
        target = torch.as_tensor(codes.reshape(-1), dtype=torch.long)
        self.network_ = self._fit_sequences(params, seqs, target, n_outputs=len(classes), loss=_cross_entropy)
        self.classes_ = classes
        self.params_ = params
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``, columns in the order of ``classes_``."""
        check_is_fitted(self, "network_")
        seqs, _ = as_sequences(self, X, reset=False)
        logits = self._run(seqs, "forward")
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sequence."""
        check_is_fitted(self, "network_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
