"""The forecasting network: per-step tokens -> xLSTM backbone -> direct multi-horizon head.

Inputs of one batch (shapes): ``x`` ``[B, L]`` target history (already scaled per series),
``past`` ``[B, L, P]`` past-only covariates, ``future`` ``[B, L + H, F]`` future-known covariates
over the history and the horizon, ``static`` ``[B, K]``.  Output ``[B, H, Q]`` (``Q`` quantiles,
1 for point losses) on the same scale as ``x``.

With ``patch_size = p > 1`` the history is cut into ``ceil(L / p)`` non-overlapping patches that
become the backbone's tokens (PatchTST/xLSTMTime style), which shortens the recurrence ``p``-fold.

Per-window instance normalisation (``instance_norm=True``) subtracts each window's mean and divides
by its standard deviation (plus a small floor, see ``WINDOW_EPS``) before the backbone and undoes it on the output, which lets
one model serve series of different levels and trends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from ..nn import xLSTMBlockStack, xLSTMBlockStackConfig
from ..nn.configs import BACKBONE_NAMES, flat_stack_config

BACKBONES = BACKBONE_NAMES
#: Floor added to the per-window standard deviation, in the units the network reads.  Behind a per-series
#: scaler those units are the series' own scale, so the floor is relative to the data; without one
#: (``relative_eps=True``) it is taken relative to the window's largest magnitude instead.  Either way,
#: scaling the data by ``c > 0`` scales the forecast by ``c``.
WINDOW_EPS = 1e-5


def stack_config(
    backbone: str | xLSTMBlockStackConfig,
    embedding_dim: int,
    num_blocks: int,
    num_heads: int,
    slstm_at: Sequence[int] | None,
    dropout: float,
    caller: str = "xLSTMForecaster",
) -> xLSTMBlockStackConfig:
    """:func:`xlstm_ts.nn.configs.flat_stack_config`, with sklearn's error naming ``caller`` when the values
    do not fit together (e.g. heads not dividing the width, ``slstm_at`` out of range)."""
    try:
        return flat_stack_config(backbone, embedding_dim, num_blocks, num_heads, dropout, slstm_at)
    except ValueError as err:
        raise InvalidParameterError(f"Invalid backbone hyperparameters for {caller}: {err}") from err


HEADS = ("flatten", "last")


def n_tokens(lookback: int, patch_size: int, patch_stride: int) -> int:
    """Backbone tokens of a window: patches of ``patch_size`` rows every ``patch_stride`` rows, the oldest
    one padded on the left when the rows do not divide evenly.

    >>> n_tokens(336, 16, 16), n_tokens(336, 16, 8), n_tokens(36, 1, 1)
    (21, 41, 36)
    """
    if lookback <= patch_size:
        return 1
    return -(-(lookback - patch_size) // patch_stride) + 1


class ForecastNetwork(nn.Module):
    """``xLSTMBlockStack`` with an input projection, a direct multi-horizon head and an optional linear
    path.

    The head reads every token (``head="flatten"``: one linear map from all hidden states to the horizon,
    as PatchTST does) or the last hidden state only (``head="last"``).  With ``linear_path=True`` a linear
    map from the normalised history straight to the horizon is added to the head's output; it is meant to
    be warm-started by :func:`fit_linear_path` (a closed-form ridge fit) while the head starts at zero, so
    that the untrained network *is* the ridge forecast and training learns the residual.
    """

    def __init__(
        self,
        stack_config: xLSTMBlockStackConfig,
        horizon: int,
        n_outputs: int = 1,
        n_past: int = 0,
        n_future: int = 0,
        n_static: int = 0,
        instance_norm: bool = True,
        dropout: float = 0.0,
        patch_size: int = 1,
        relative_eps: bool = False,
        lookback: int | None = None,
        patch_stride: int | None = None,
        head: str = "last",
        linear_path: bool = False,
    ) -> None:
        super().__init__()
        E = stack_config.embedding_dim
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}; got {head!r}.")
        if (head == "flatten" or linear_path) and lookback is None:
            raise ValueError("head='flatten' and linear_path=True need the lookback.")
        self.horizon, self.n_outputs, self.instance_norm = horizon, n_outputs, instance_norm
        self.n_past, self.n_future, self.n_static = n_past, n_future, n_static
        self.patch_size = patch_size
        self.patch_stride = patch_size if patch_stride is None else patch_stride
        self.relative_eps = relative_eps
        self.lookback, self.head_kind, self.linear_path = lookback, head, linear_path
        self.input_proj = nn.Linear(patch_size * (1 + n_past + n_future + n_static), E)
        self.backbone = xLSTMBlockStack(stack_config)
        self.dropout = nn.Dropout(dropout)
        tokens = 1 if head == "last" else n_tokens(lookback or 1, patch_size, self.patch_stride)
        self.head = nn.Linear(tokens * E + horizon * n_future + n_static, horizon * n_outputs)
        self.linear = nn.Linear(lookback, horizon) if linear_path and lookback is not None else None
        if self.linear is not None:  # the network starts as its linear path (see fit_linear_path)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def config(self) -> dict[str, Any]:
        """The constructor arguments besides the backbone config and dropout (saved with the weights)."""
        return {
            "horizon": self.horizon,
            "n_outputs": self.n_outputs,
            "n_past": self.n_past,
            "n_future": self.n_future,
            "n_static": self.n_static,
            "instance_norm": self.instance_norm,
            "patch_size": self.patch_size,
            "relative_eps": self.relative_eps,
            "lookback": self.lookback,
            "patch_stride": self.patch_stride,
            "head": self.head_kind,
            "linear_path": self.linear_path,
        }

    def normalise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The window normalised by its own location and scale (both ``[B, 1]``) when ``instance_norm``."""
        if self.instance_norm:
            loc = x.mean(dim=1, keepdim=True)
            spread = x.std(dim=1, keepdim=True, unbiased=False)
            if self.relative_eps:
                scale = spread + WINDOW_EPS * x.abs().amax(dim=1, keepdim=True)
                scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero window
            else:
                scale = spread + WINDOW_EPS
        else:
            loc = torch.zeros_like(x[:, :1])
            scale = torch.ones_like(x[:, :1])
        return (x - loc) / scale, loc, scale

    def _tokens(self, xn, past, future, static) -> torch.Tensor:
        L = xn.shape[1]
        parts = [xn[..., None], past, future[:, :L]]
        if self.n_static:
            parts.append(static[:, None, :].expand(-1, L, -1))
        features = torch.cat(parts, dim=-1)  # [B, L, C] with C = 1+P+F+K
        p, s = self.patch_size, self.patch_stride
        if p > 1 or s > 1:  # patches every s rows; the oldest is left-padded by repeating the first row
            n = n_tokens(L, p, s)
            pad = (n - 1) * s + p - L
            if pad > 0:
                features = torch.cat([features[:, :1].expand(-1, pad, -1), features], dim=1)
            patches = features.unfold(1, p, s)  # [B, n, C, p]
            features = patches.transpose(2, 3).reshape(features.shape[0], n, p * features.shape[-1])
        return self.input_proj(features)  # [B, n, E]

    def embed(self, x, past, future, static) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Backbone hidden states ``[B, n_tokens, E]`` plus the window's location and scale ``[B, 1]``."""
        xn, loc, scale = self.normalise(x)
        return self.backbone(self._tokens(xn, past, future, static)), loc, scale

    def forward(self, x, past, future, static) -> torch.Tensor:
        xn, loc, scale = self.normalise(x)
        hidden = self.backbone(self._tokens(xn, past, future, static))
        B, L = x.shape
        summary = hidden[:, -1] if self.head_kind == "last" else hidden.reshape(B, -1)
        head_in = [self.dropout(summary)]
        if self.n_future:
            head_in.append(future[:, L:].reshape(B, -1))
        if self.n_static:
            head_in.append(static)
        out = self.head(torch.cat(head_in, dim=-1)).view(B, self.horizon, self.n_outputs)
        if self.linear is not None:  # NLinear: relative to the last value of the window
            last = xn[:, -1:]
            out = out + (self.linear(xn - last) + last)[..., None]
        return out * scale[..., None] + loc[..., None]


#: Ridge strengths (relative to the mean diagonal of ``XᵀX``) that :func:`fit_linear_path` chooses from when
#: it is given validation windows; without them it uses ``ridge`` (1e-3, the NLinear-OLS floor's choice).
RIDGE_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def _moments(batches) -> tuple[torch.Tensor, torch.Tensor, int] | None:
    """``XᵀX``, ``XᵀY`` (float64) and the window count of ``X = x - x[-1]``, ``Y = y - x[-1]``."""
    gram = cross = None
    count = 0
    for batch in batches:
        x, y = batch["x"].double(), batch["y"].double()
        last = x[:, -1:]
        X = x - last  # [B, L]
        if gram is None:
            gram, cross = X.new_zeros(X.shape[1], X.shape[1]), X.new_zeros(X.shape[1], y.shape[1])
        gram += X.T @ X
        cross += X.T @ (y - last)
        count += X.shape[0]
    if gram is None or cross is None or count == 0:
        return None
    return gram, cross, count


@torch.no_grad()
def fit_linear_path(network: ForecastNetwork, batches, ridge: float = 1e-3, val_batches=None) -> float:
    """Set ``network.linear`` to the ridge regression of the horizon on the history, both relative to the
    window's last value (NLinear), over the windows of ``batches`` (an iterable of batch dicts with ``x``
    and ``y``), accumulated in float64 on the batches' device; the bias is set to zero.  Returns the ridge
    strength used.

    The fit minimises the squared error of the network's linear output in the units of the training loss,
    every window weighing the same: the linear path maps ``xn - xn[-1]`` with ``xn = (x - loc) / scale``,
    and ``scale * W (xn - xn[-1]) = W (x - x[-1])``, so this is ridge regression of ``y - x[-1]`` on
    ``x - x[-1]``.  (Fitting in the normalised units instead would weight each window by ``1 / scale**2``
    and favour flat windows.)  ``ridge`` is relative to the mean diagonal of ``XᵀX``.  With
    ``val_batches`` the strength is instead the one of :data:`RIDGE_GRID` whose fit has the smallest squared
    error on those windows (computed in closed form from their moments; ties go to the stronger ridge).
    """
    if network.linear is None:
        raise ValueError("The network has no linear path (linear_path=False).")
    train = _moments(batches)
    if train is None:
        return ridge
    gram, cross, _ = train
    L = gram.shape[0]
    scale = torch.diagonal(gram).mean()
    if not bool(scale > 0):  # every window constant: the last value is the whole forecast
        network.linear.weight.zero_()
        network.linear.bias.zero_()
        return ridge
    # the same problem divided by the data's scale, so that tiny or huge magnitudes solve alike
    gram, cross = gram / scale, cross / scale
    eye = torch.eye(L, dtype=gram.dtype, device=gram.device)

    def solve(strength: float) -> torch.Tensor:
        return torch.linalg.solve(gram + strength * eye, cross)  # [L, H]

    val = _moments(val_batches) if val_batches is not None else None
    if val is None:
        chosen, solution = ridge, solve(ridge)
    else:  # validation error up to a constant: tr(Wᵀ G W) - 2 tr(Wᵀ C)
        val_gram, val_cross, _ = val
        best = None
        for strength in sorted(RIDGE_GRID, reverse=True):
            W = solve(strength)
            error = float((W * (val_gram @ W)).sum() - 2 * (W * val_cross).sum())
            if best is None or error < best[0]:
                best = (error, strength, W)
        assert best is not None
        _, chosen, solution = best
    network.linear.weight.copy_(solution.T.to(network.linear.weight))
    network.linear.bias.zero_()
    return float(chosen)
