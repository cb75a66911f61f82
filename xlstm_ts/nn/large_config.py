"""Configuration of the xLSTM Large (7B) language model, with Hugging Face's ``xLSTMConfig`` field names.

:class:`xLSTMLargeConfig` uses the field names of ``transformers``' ``xLSTMConfig`` (``hidden_size``,
``num_hidden_layers``, ...) and converts to and from both published formats: the ``config.json`` of a Hugging
Face checkpoint (:meth:`~xLSTMLargeConfig.from_hf_dict`, :meth:`~xLSTMLargeConfig.to_hf_dict`) and the
``config.yaml`` of the official ``xlstm`` package's ``xLSTMLargeConfig`` (``embedding_dim``, ``num_blocks``;
:meth:`~xLSTMLargeConfig.from_official_dict`, :meth:`~xLSTMLargeConfig.to_official_dict`).

The q/k and v widths are ``int(hidden_size * factor)``, as in the layers of both references.  (Hugging Face's
``qk_dim``/``v_dim`` properties round up to a multiple of 64 and size its cache with them, while its layers do
not round, so its cache does not fit a small model whose widths are not multiples of 64; we do not round.)

>>> cfg = xLSTMLargeConfig.preset("7b")
>>> cfg.qk_head_dim, cfg.v_head_dim, cfg.ffn_dim
(256, 512, 10944)
>>> f"{cfg.num_parameters():,}"
'6,865,424,896'
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from .configs import check_backend

#: Fields of ours that the official ``xLSTMLargeConfig`` also has under the same name.
_SHARED_OFFICIAL = (
    "vocab_size",
    "num_heads",
    "use_bias",
    "norm_eps",
    "norm_reduction_force_float32",
    "add_out_norm",
    "qk_dim_factor",
    "v_dim_factor",
    "chunk_size",
    "eps",
    "ffn_proj_factor",
    "ffn_round_up_to_multiple_of",
    "gate_soft_cap",
    "output_logit_soft_cap",
    "weight_mode",
)
#: Fields of ours that exist under another name in the official config (ours -> theirs).
_RENAMED_OFFICIAL = {"hidden_size": "embedding_dim", "num_hidden_layers": "num_blocks"}
#: Official fields that select its kernels and backend mode; they have no meaning here and are dropped on load.
_OFFICIAL_KERNEL_FIELDS = (
    "chunkwise_kernel",
    "sequence_kernel",
    "step_kernel",
    "mode",
    "return_last_states",
    "autocast_kernel_dtype",
    "inference_state_dtype",
)
#: What :meth:`xLSTMLargeConfig.to_official_dict` writes for them: the official package's CPU (PyTorch) kernels
#: in inference mode, which accept any length and always return states.  Users on a GPU change the names.
_OFFICIAL_KERNEL_DEFAULTS = {
    "chunkwise_kernel": "chunkwise--native_autograd",
    "sequence_kernel": "native_sequence__native",
    "step_kernel": "native",
    "mode": "inference",
    "return_last_states": True,
    "autocast_kernel_dtype": "bfloat16",
    "inference_state_dtype": "float32",
}

_PRESETS: dict[str, dict[str, Any]] = {
    # HF Hub NX-AI/xLSTM-7b config.json (docs/lm_large.md lists the sources).
    "7b": dict(
        vocab_size=50304,
        hidden_size=4096,
        num_hidden_layers=32,
        num_heads=8,
        qk_dim_factor=0.5,
        v_dim_factor=1.0,
        ffn_proj_factor=2.667,
    ),
    # Small shapes of the same architecture, for tests and CPU experiments (not published models).
    "tiny": dict(vocab_size=128, hidden_size=64, num_hidden_layers=2, num_heads=2),
    "small": dict(vocab_size=50304, hidden_size=768, num_hidden_layers=12, num_heads=4),
}


def _round_up(x: float, multiple: int) -> int:
    return int(math.ceil(x / multiple) * multiple)


@dataclass
class xLSTMLargeConfig:
    """Shape and numerics of an xLSTM Large model (the architecture of xLSTM 7B).

    Defaults are those of ``transformers.xLSTMConfig`` (the 7B shape).  Every block is
    ``x = x + mLSTM(RMSNorm(x)); x = x + SwiGLU(RMSNorm(x))``.

    Parameters
    ----------
    vocab_size, hidden_size, num_hidden_layers, num_heads : int
        Vocabulary, embedding width ``E``, number of blocks and mLSTM heads ``NH``.
    qk_dim_factor, v_dim_factor : float
        q/k width ``int(E * qk_dim_factor)`` and v width ``int(E * v_dim_factor)``; both divisible by ``NH``.
    gate_soft_cap, output_logit_soft_cap : float or None
        Soft caps ``c * tanh(x / c)`` of the input/forget gate pre-activations and of the logits.
    ffn_proj_factor, ffn_round_up_to_multiple_of : float, int
        SwiGLU width ``round_up(E * ffn_proj_factor, ffn_round_up_to_multiple_of)``.
    norm_eps, norm_reduction_force_float32 : float, bool
        RMSNorm / head-norm epsilon, and whether their reductions run in float32.
    use_bias : bool
        Biases in the dense projections and norms (the gate projections always have one).
    weight_mode : {"single", "fused"}
        Separate q/k/v/o, i/f and gate/up projections, or one fused projection each (same maths).
    tie_word_embeddings, add_out_norm : bool
        Share the embedding with the LM head; RMSNorm after the last block.
    eps : float
        Added to the mLSTM normaliser.
    chunk_size : int
        Chunk length of the chunkwise mLSTM kernel (results do not depend on it, up to rounding).
    backend : str
        Kernel backend of :mod:`xlstm_ts.kernels` (``"auto"``, ``"native"``, ``"triton"``); not stored in
        checkpoints.
    pad_token_id, bos_token_id, eos_token_id : int or None
        Token ids (those of the 7B tokenizer by default), carried through the Hugging Face config.

    Examples
    --------
    >>> cfg = xLSTMLargeConfig(vocab_size=100, hidden_size=64, num_hidden_layers=2, num_heads=2)
    >>> cfg.qk_dim, cfg.v_dim, cfg.ffn_dim
    (32, 64, 192)
    >>> xLSTMLargeConfig.from_official_dict(cfg.to_official_dict()) == cfg
    True
    """

    vocab_size: int = 50304
    hidden_size: int = 4096
    num_hidden_layers: int = 32
    num_heads: int = 8
    qk_dim_factor: float = 0.5
    v_dim_factor: float = 1.0
    gate_soft_cap: float | None = 15.0
    output_logit_soft_cap: float | None = 30.0
    ffn_proj_factor: float = 2.667
    ffn_round_up_to_multiple_of: int = 64
    norm_eps: float = 1e-6
    norm_reduction_force_float32: bool = True
    use_bias: bool = False
    weight_mode: str = "single"
    tie_word_embeddings: bool = False
    add_out_norm: bool = True
    eps: float = 1e-6
    chunk_size: int = 64
    backend: str = "auto"
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_heads", "chunk_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"xLSTMLargeConfig.{name} must be a positive int; got {value!r}.")
        if self.weight_mode not in ("single", "fused"):
            raise ValueError(
                f"xLSTMLargeConfig.weight_mode must be 'single' or 'fused'; got {self.weight_mode!r}."
            )
        for name, width in (("qk_dim", self.qk_dim), ("v_dim", self.v_dim)):
            if width < self.num_heads or width % self.num_heads:
                raise ValueError(
                    f"xLSTMLargeConfig.{name} = int(hidden_size * {name[:-4]}_dim_factor) = {width} must be a "
                    f"positive multiple of num_heads={self.num_heads}."
                )
        check_backend("mlstm", self.backend, type(self).__name__)

    # ---- derived sizes ------------------------------------------------------------------------------------
    @property
    def qk_dim(self) -> int:
        """Width of q and k, ``int(hidden_size * qk_dim_factor)`` (no rounding)."""
        return int(self.hidden_size * self.qk_dim_factor)

    @property
    def v_dim(self) -> int:
        """Width of v, the output gate and the head norm, ``int(hidden_size * v_dim_factor)``."""
        return int(self.hidden_size * self.v_dim_factor)

    @property
    def qk_head_dim(self) -> int:
        """``DK = qk_dim // num_heads``."""
        return self.qk_dim // self.num_heads

    @property
    def v_head_dim(self) -> int:
        """``DV = v_dim // num_heads``."""
        return self.v_dim // self.num_heads

    @property
    def ffn_dim(self) -> int:
        """SwiGLU inner width, ``hidden_size * ffn_proj_factor`` rounded up to ``ffn_round_up_to_multiple_of``."""
        return _round_up(self.hidden_size * self.ffn_proj_factor, self.ffn_round_up_to_multiple_of)

    # ---- conveniences --------------------------------------------------------------------------------------
    def num_parameters(self) -> int:
        """Parameter count of :class:`~xlstm_ts.nn.xLSTMLargeForCausalLM` with this config, without building it.

        A tied LM head is counted once.

        >>> xLSTMLargeConfig.preset("tiny").num_parameters()
        123848
        """
        E, NH, QK, V, U = self.hidden_size, self.num_heads, self.qk_dim, self.v_dim, self.ffn_dim
        b = int(self.use_bias)
        norm = E * (1 + b)
        layer = 2 * (E * QK + b * QK) + 2 * (E * V + b * V) + 2 * (E * NH + NH) + V * (1 + b) + V * E + b * E
        ffn = 2 * (E * U + b * U) + U * E + b * E
        block = 2 * norm + layer + ffn
        head = 0 if self.tie_word_embeddings else self.vocab_size * E
        return (
            self.num_hidden_layers * block + self.vocab_size * E + head + (norm if self.add_out_norm else 0)
        )

    def state_size_bytes(self, batch_size: int = 1, dtype: torch.dtype = torch.float32) -> int:
        """Bytes of the recurrent state of ``batch_size`` sequences; it does not grow with the sequence length.

        Per block and head: ``C`` ``[DK, DV]``, ``n`` ``[DK]`` and ``m`` ``[1]``.  Our kernels keep states in
        float32 (float64 for float64 models).

        >>> xLSTMLargeConfig.preset("7b").state_size_bytes(1) / 1e6
        134.480896
        """
        per_head = self.qk_head_dim * self.v_head_dim + self.qk_head_dim + 1
        elements = self.num_hidden_layers * self.num_heads * per_head * batch_size
        return elements * torch.empty((), dtype=dtype).element_size()

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> xLSTMLargeConfig:
        """A named shape: ``"7b"`` (xLSTM 7B, from its published config), ``"small"`` or ``"tiny"``.

        ``overrides`` replace fields of the preset (e.g. ``vocab_size``).

        >>> xLSTMLargeConfig.preset("tiny", vocab_size=50).vocab_size
        50
        """
        if name not in _PRESETS:
            raise ValueError(f"Unknown xLSTMLargeConfig preset {name!r}; expected one of {sorted(_PRESETS)}.")
        return cls(**{**_PRESETS[name], **overrides})

    # ---- conversions ---------------------------------------------------------------------------------------
    def to_hf_dict(self) -> dict[str, Any]:
        """The ``config.json`` of a Hugging Face checkpoint (``model_type`` ``"xlstm"``).

        It also carries the official aliases ``embedding_dim`` and ``num_blocks`` (as Hugging Face writes them)
        and the PyTorch kernel names of ``transformers``' own defaults.
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "backend"}
        out.update(
            model_type="xlstm",
            architectures=["xLSTMForCausalLM"],
            embedding_dim=self.hidden_size,
            num_blocks=self.num_hidden_layers,
            **_OFFICIAL_KERNEL_DEFAULTS,
        )
        return out

    @classmethod
    def from_hf_dict(cls, data: dict[str, Any], **overrides: Any) -> xLSTMLargeConfig:
        """Read a Hugging Face ``config.json`` dict; keys that do not shape the model (kernel names,
        ``torch_dtype``, ``transformers_version``, ...) are ignored.

        ``embedding_dim``/``num_blocks`` are read when ``hidden_size``/``num_hidden_layers`` are missing.
        """
        if not isinstance(data, dict):
            raise TypeError(f"xLSTMLargeConfig.from_hf_dict expects a dict; got {type(data).__name__}.")
        if data.get("model_type", "xlstm") != "xlstm":
            raise ValueError(f"expected a config of model_type 'xlstm'; got {data.get('model_type')!r}.")
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names and k != "backend"}
        for ours, theirs in _RENAMED_OFFICIAL.items():
            if kwargs.get(ours) is None and data.get(theirs) is not None:
                kwargs[ours] = data[theirs]
        if isinstance(kwargs.get("eos_token_id"), list):
            kwargs["eos_token_id"] = kwargs["eos_token_id"][0]
        return cls(**{**kwargs, **overrides})

    def to_official_dict(self) -> dict[str, Any]:
        """The fields of the official ``xlstm.xlstm_large.model.xLSTMLargeConfig`` (its ``config.yaml``).

        Kernel fields get the official package's PyTorch kernels in inference mode (what runs on a CPU).
        ``tie_word_embeddings`` and the token ids have no official field and are left out.
        """
        out = {name: getattr(self, name) for name in _SHARED_OFFICIAL}
        out.update({theirs: getattr(self, ours) for ours, theirs in _RENAMED_OFFICIAL.items()})
        out.update(_OFFICIAL_KERNEL_DEFAULTS)
        return out

    @classmethod
    def from_official_dict(cls, data: dict[str, Any], **overrides: Any) -> xLSTMLargeConfig:
        """Read the official package's config (a dict, e.g. its ``config.yaml``, or its dataclass).

        Its kernel fields are dropped; unknown fields raise ``TypeError``.
        """
        if dataclasses.is_dataclass(data) and not isinstance(data, type):
            data = dataclasses.asdict(data)
        if not isinstance(data, dict):
            raise TypeError(f"xLSTMLargeConfig.from_official_dict expects a dict; got {type(data).__name__}.")
        known = set(_SHARED_OFFICIAL) | set(_RENAMED_OFFICIAL.values()) | set(_OFFICIAL_KERNEL_FIELDS)
        unknown = sorted(set(data) - known)
        if unknown:
            raise TypeError(
                f"Unknown field(s) {unknown} in an official xLSTMLargeConfig; valid: {sorted(known)}."
            )
        back = {theirs: ours for ours, theirs in _RENAMED_OFFICIAL.items()}
        kwargs = {back.get(k, k): v for k, v in data.items() if k not in _OFFICIAL_KERNEL_FIELDS}
        return cls(**{**kwargs, **overrides})


def recommended_chunk_size(seq_len: int) -> int:
    """The ``chunk_size`` we suggest for prefilling ``seq_len`` tokens: 64, or the next power of two of a
    shorter sequence (at least 16).

    Outputs do not depend on the chunk size (up to rounding); it only trades the ``L x L`` intra-chunk work
    against the number of chunk-boundary steps.  64 is the official packages' default and what our kernels
    are tested and benchmarked with; a chunk longer than the sequence is padding.  The Triton kernel treats
    the value as an upper bound and picks its own tiles (exact float32 products use 16; see ``docs/benchmarks.md``,
    'mLSTM launch heuristics').  This rule is a default, not a measured optimum for every length.

    >>> recommended_chunk_size(7), recommended_chunk_size(40), recommended_chunk_size(16384)
    (16, 64, 64)
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be a positive int; got {seq_len!r}.")
    return max(16, min(64, 1 << (seq_len - 1).bit_length()))
