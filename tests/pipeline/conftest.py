"""Small data and fast settings for the pipeline tests."""

from __future__ import annotations

import numpy as np
import pytest

#: Tiny network, few epochs: every fit takes well under a second on one CPU thread.
FAST = {"embedding_dim": 8, "num_heads": 2, "max_epochs": 2, "device": "cpu"}


@pytest.fixture(scope="session")
def waves():
    """60 sequences of 20 steps and 2 channels: a sine whose frequency depends on the class, plus noise;
    the regression target is the frequency."""
    rng = np.random.default_rng(0)
    freq = rng.uniform(0.1, 0.5, size=60)
    t = np.arange(20)
    base = np.sin(freq[:, None] * t[None, :] + rng.uniform(0, 6, size=(60, 1)))
    X = np.stack([base, base**2], axis=-1) + 0.05 * rng.normal(size=(60, 20, 2))
    labels = np.where(freq > 0.3, "fast", "slow")
    return X, freq, labels
