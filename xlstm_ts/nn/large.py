"""xLSTM Large: the mLSTM-only language model of xLSTM 7B, with state in and out of every forward.

Each block is ``x = x + mLSTM(RMSNorm(x)); x = x + SwiGLU(RMSNorm(x))``.  The mLSTM layer has no conv, no
up-projection and no headwise projections: dense ``q, k`` (width ``qk_dim``) and ``v`` (``v_dim``) from the
normed input, input and forget gates soft-capped at ``gate_soft_cap``, a sigmoid output gate, the mLSTM
recurrence through :mod:`xlstm_ts.kernels` (chunkwise for sequences, step for one token), a per-head LayerNorm
and ``out_proj``.  Logits are ``soft_cap(lm_head(out_norm(x)), output_logit_soft_cap)``, in float32.

Module and parameter names are those of Hugging Face's ``xLSTMForCausalLM`` (``backbone.embeddings``,
``backbone.blocks.{i}.mlstm_layer.q``, ...), so its state dicts load unchanged; the official package's layout
differs only in ``embedding.weight`` (see :mod:`xlstm_ts.nn.large_checkpoints`).

The state of a model is a list with one :class:`~xlstm_ts.kernels.mLSTMState` ``(c [B, NH, DK, DV],
n [B, NH, DK], m [B, NH, 1])`` per block, float32.  A state passed in is never modified: every call returns
new tensors (the official model overwrites the caller's state in place).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from xlstm_ts.kernels import mLSTMState, mlstm_sequence, mlstm_step

from .components import HeadwiseLayerNorm, RMSNorm, soft_cap
from .configs import resolve_backend
from .generation import generate as generate_tokens
from .large_config import xLSTMLargeConfig

#: One state per block.
LargeState = list[mLSTMState]


def _rms(config: xLSTMLargeConfig, width: int) -> RMSNorm:
    return RMSNorm(width, config.norm_eps, True, config.use_bias, config.norm_reduction_force_float32)


class mLSTMLargeLayer(nn.Module):
    """The mLSTM layer of an xLSTM Large block; ``[B, S, E]`` -> ``[B, S, E]`` and the new state."""

    def __init__(self, config: xLSTMLargeConfig) -> None:
        super().__init__()
        self.config = config
        E, NH, QK, V, bias = (
            config.hidden_size,
            config.num_heads,
            config.qk_dim,
            config.v_dim,
            config.use_bias,
        )
        self.backend = resolve_backend(config.backend)
        if config.weight_mode == "single":
            self.q = nn.Linear(E, QK, bias=bias)
            self.k = nn.Linear(E, QK, bias=bias)
            self.v = nn.Linear(E, V, bias=bias)
            self.ogate_preact = nn.Linear(E, V, bias=bias)
            self.igate_preact = nn.Linear(E, NH, bias=True)
            self.fgate_preact = nn.Linear(E, NH, bias=True)
        else:  # fused: [q | k | v | o] and [i | f]
            self.qkv_opreact = nn.Linear(E, 2 * QK + 2 * V, bias=bias)
            self.ifgate_preact = nn.Linear(E, 2 * NH, bias=True)
        self.multihead_norm = HeadwiseLayerNorm(
            NH, config.v_head_dim, config.norm_eps, True, bias, config.norm_reduction_force_float32
        )
        self.out_proj = nn.Linear(V, E, bias=bias)

    def _projections(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        cfg = self.config
        if cfg.weight_mode == "single":
            q, k, v, o = self.q(x), self.k(x), self.v(x), self.ogate_preact(x)
            i, f = self.igate_preact(x), self.fgate_preact(x)
        else:
            QK, V = cfg.qk_dim, cfg.v_dim
            q, k, v, o = torch.tensor_split(self.qkv_opreact(x), (QK, 2 * QK, 2 * QK + V), dim=-1)
            i, f = torch.tensor_split(self.ifgate_preact(x), (cfg.num_heads,), dim=-1)
        return q, k, v, o, soft_cap(i, cfg.gate_soft_cap), soft_cap(f, cfg.gate_soft_cap)

    def forward(
        self, x: torch.Tensor, state: mLSTMState | None = None, return_state: bool = False
    ) -> tuple[torch.Tensor, mLSTMState | None]:
        B, S, _ = x.shape
        NH = self.config.num_heads
        q, k, v, o, i, f = self._projections(x)
        # [B, S, NH * D] -> [B, NH, S, D]; gates [B, S, NH] -> [B, NH, S]
        qh, kh, vh = (t.reshape(B, S, NH, -1).transpose(1, 2) for t in (q, k, v))
        ih, fh = i.transpose(1, 2), f.transpose(1, 2)
        new_state: mLSTMState | None
        if S == 1:
            h1, new_state = mlstm_step(
                qh[:, :, 0],
                kh[:, :, 0],
                vh[:, :, 0],
                ih[:, :, 0],
                fh[:, :, 0],
                state,
                eps=self.config.eps,
                kernel=f"step--{self.backend}",
            )
            h = h1[:, :, None]
        else:
            h, new_state = mlstm_sequence(
                qh,
                kh,
                vh,
                ih,
                fh,
                initial_state=state,
                return_last_state=return_state,
                chunk_size=self.config.chunk_size,
                eps=self.config.eps,
                kernel=f"chunkwise--{self.backend}",
            )
        h_norm = self.multihead_norm(h.transpose(1, 2))  # [B, NH, S, DV] -> [B, S, NH, DV] -> [B, S, V]
        y = self.out_proj(torch.sigmoid(o) * h_norm)
        return y, new_state if return_state else None


class SwiGLUFeedForward(nn.Module):
    """``proj_down(silu(proj_up_gate(x)) * proj_up(x))``; the fused mode holds ``[gate | up]`` in one matrix."""

    def __init__(self, config: xLSTMLargeConfig) -> None:
        super().__init__()
        self.config = config
        E, U, bias = config.hidden_size, config.ffn_dim, config.use_bias
        if config.weight_mode == "single":
            self.proj_up_gate = nn.Linear(E, U, bias=bias)
            self.proj_up = nn.Linear(E, U, bias=bias)
        else:
            self.proj_up_gate_z = nn.Linear(E, 2 * U, bias=bias)
        self.proj_down = nn.Linear(U, E, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.weight_mode == "single":
            gate, up = self.proj_up_gate(x), self.proj_up(x)
        else:
            gate, up = torch.tensor_split(self.proj_up_gate_z(x), (self.config.ffn_dim,), dim=-1)
        return self.proj_down(F.silu(gate) * up)


class mLSTMLargeBlock(nn.Module):
    """``x + mLSTM(RMSNorm(x))`` then ``+ SwiGLU(RMSNorm(.))``."""

    def __init__(self, config: xLSTMLargeConfig) -> None:
        super().__init__()
        self.norm_mlstm = _rms(config, config.hidden_size)
        self.mlstm_layer = mLSTMLargeLayer(config)
        self.norm_ffn = _rms(config, config.hidden_size)
        self.ffn = SwiGLUFeedForward(config)

    def forward(
        self, x: torch.Tensor, state: mLSTMState | None = None, return_state: bool = False
    ) -> tuple[torch.Tensor, mLSTMState | None]:
        y, new_state = self.mlstm_layer(self.norm_mlstm(x), state, return_state)
        x = x + y
        return x + self.ffn(self.norm_ffn(x)), new_state


class xLSTMLargeModel(nn.Module):
    """Embedding, the blocks and the output norm: token ids ``[B, S]`` -> hidden states ``[B, S, E]``."""

    def __init__(self, config: xLSTMLargeConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.blocks = nn.ModuleList([mLSTMLargeBlock(config) for _ in range(config.num_hidden_layers)])
        self.out_norm: nn.Module = _rms(config, config.hidden_size) if config.add_out_norm else nn.Identity()

    def forward(
        self, input_ids: torch.Tensor, state: LargeState | None = None, return_state: bool = False
    ) -> tuple[torch.Tensor, LargeState | None]:
        if input_ids.ndim != 2:
            raise ValueError(f"input_ids must be [B, S] token ids; got shape {tuple(input_ids.shape)}.")
        if state is not None and len(state) != len(self.blocks):
            raise ValueError(
                f"state must hold one mLSTMState per block ({len(self.blocks)}); got {len(state)}."
            )
        x = self.embeddings(input_ids)
        new_states: LargeState = []
        for idx, block in enumerate(self.blocks):
            x, s = block(x, None if state is None else state[idx], return_state)
            if s is not None:
                new_states.append(s)
        return self.out_norm(x), new_states if return_state else None


class xLSTMLargeForCausalLM(nn.Module):
    """The xLSTM Large language model: ``backbone`` (:class:`xLSTMLargeModel`) and ``lm_head``.

    ``forward(input_ids, state=None, return_state=False)`` returns float32 logits ``[B, S, V]`` (and the new
    state); :meth:`prefill` and :meth:`step` are the generation protocol.

    Examples
    --------
    >>> import torch
    >>> model = xLSTMLargeForCausalLM(xLSTMLargeConfig.preset("tiny")).eval()
    >>> ids = torch.randint(0, 128, (2, 9))
    >>> logits, state = model(ids, return_state=True)
    >>> logits.shape, len(state), tuple(state[0].c.shape)
    (torch.Size([2, 9, 128]), 2, (2, 2, 16, 32))
    >>> last, state = model.prefill(ids[:, :8])
    >>> nxt, state = model.step(ids[:, 8], state)
    >>> torch.allclose(nxt, logits[:, 8], atol=1e-5)
    True
    """

    def __init__(self, config: xLSTMLargeConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = xLSTMLargeModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.backbone.embeddings.weight

    def forward(
        self, input_ids: torch.Tensor, state: LargeState | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, LargeState]:
        """Logits ``[B, S, V]`` (float32, soft-capped) of ``input_ids`` ``[B, S]`` continuing ``state``.

        With ``return_state`` the result is ``(logits, state)``, ``state`` a list of one
        :class:`~xlstm_ts.kernels.mLSTMState` per block.
        """
        hidden, new_state = self.backbone(input_ids, state, return_state)
        logits = soft_cap(self.lm_head(hidden).float(), self.config.output_logit_soft_cap)
        if return_state:
            assert new_state is not None
            return logits, new_state
        return logits

    def _logits_and_state(self, input_ids: torch.Tensor, state: LargeState | None, last_only: bool):
        hidden, new_state = self.backbone(input_ids, state, True)
        if last_only:
            hidden = hidden[:, -1]
        logits = soft_cap(self.lm_head(hidden).float(), self.config.output_logit_soft_cap)
        assert new_state is not None
        return logits, new_state

    def prefill(
        self, input_ids: torch.Tensor, state: LargeState | None = None
    ) -> tuple[torch.Tensor, LargeState]:
        """Run a prompt ``[B, S]``; returns the logits of its last position ``[B, V]`` and the state."""
        return self._logits_and_state(input_ids, state, last_only=True)

    def step(self, token_ids: torch.Tensor, state: LargeState) -> tuple[torch.Tensor, LargeState]:
        """One decoding step: ``token_ids`` ``[B]`` (or ``[B, 1]``) -> logits ``[B, V]`` and the new state."""
        if token_ids.ndim == 1:
            token_ids = token_ids[:, None]
        if token_ids.ndim != 2 or token_ids.shape[1] != 1:
            raise ValueError(f"step takes token ids of shape [B] or [B, 1]; got {tuple(token_ids.shape)}.")
        return self._logits_and_state(token_ids, state, last_only=True)

    def generate(self, input_ids: torch.Tensor, max_new_tokens: int, **kwargs: Any):
        """Continue ``input_ids`` ``[B, S]`` by up to ``max_new_tokens`` tokens: prefill on the chunkwise
        path, then one recurrent step per token.  The keyword arguments (``do_sample``, ``temperature``,
        ``top_k``, ``top_p``, ``eos_token_id``, ``pad_token_id``, ``attention_mask``, ``generator``,
        ``state``, ``return_state``, ``cuda_graph``) are those of :func:`xlstm_ts.nn.generation.generate`, which this
        calls; ``eos_token_id`` and ``pad_token_id`` default to the config's.

        >>> import torch
        >>> model = xLSTMLargeForCausalLM(xLSTMLargeConfig.preset("tiny")).eval()
        >>> model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=4, eos_token_id=None).shape
        torch.Size([1, 7])
        """
        kwargs.setdefault("eos_token_id", self.config.eos_token_id)
        kwargs.setdefault("pad_token_id", self.config.pad_token_id)
        return generate_tokens(self, input_ids, max_new_tokens=max_new_tokens, **kwargs)

    def init_state(
        self, batch_size: int, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
    ) -> LargeState:
        """Zero state (``m = 0``) of ``batch_size`` sequences, the same as passing ``state=None``."""
        cfg = self.config
        B, NH, DK, DV = batch_size, cfg.num_heads, cfg.qk_head_dim, cfg.v_head_dim
        kw: dict[str, Any] = dict(device=device, dtype=dtype)
        return [
            mLSTMState(
                torch.zeros(B, NH, DK, DV, **kw), torch.zeros(B, NH, DK, **kw), torch.zeros(B, NH, 1, **kw)
            )
            for _ in range(cfg.num_hidden_layers)
        ]

    @classmethod
    def from_pretrained(
        cls,
        path_or_hub_id: str | Path,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        **config_overrides: Any,
    ) -> xLSTMLargeForCausalLM:
        """Load a checkpoint directory in the Hugging Face or the official layout (detected), or a hub id.

        See :func:`xlstm_ts.nn.large_checkpoints.load_large_checkpoint`.
        """
        from .large_checkpoints import load_large_checkpoint

        return load_large_checkpoint(path_or_hub_id, dtype=dtype, device=device, **config_overrides)

    def save_pretrained(
        self, directory: str | Path, layout: str = "huggingface", max_shard_size: int | str = "5GB"
    ) -> Path:
        """Write the model as safetensors + ``config.json`` (``"huggingface"``) or ``config.yaml`` (``"official"``).

        See :func:`xlstm_ts.nn.large_checkpoints.save_large_checkpoint`.
        """
        from .large_checkpoints import save_large_checkpoint

        return save_large_checkpoint(self, directory, layout=layout, max_shard_size=max_shard_size)
