"""Configuration dataclasses of the xLSTM backbone, with the reference package's names and defaults.

The fields, defaults and propagation rules follow the reference ``xlstm`` 2.0.6 configs (see
``docs/backbone.md``), so a YAML/dict written for the reference builds the same model here:

>>> from xlstm_ts.nn import xLSTMBlockStackConfig
>>> cfg = xLSTMBlockStackConfig.from_dict({
...     "mlstm_block": {"mlstm": {"num_heads": 4}},
...     "slstm_block": {"slstm": {"backend": "vanilla"}, "feedforward": {"proj_factor": 1.3}},
...     "num_blocks": 3, "embedding_dim": 64, "slstm_at": [1],
... })
>>> cfg.block_map
[0, 1, 0]
>>> xLSTMBlockStackConfig.from_dict(cfg.to_dict()) == cfg
True

Fields whose names start with ``_`` are derived (block index, inner sizes) and are filled in by
``__post_init__``; ``to_dict`` leaves them out and ``from_dict`` ignores them.

Configs never mutate the objects passed to them: a stack or block config fills its derived fields
on its own deep copies of the block and layer configs it receives, so one block config can serve as
the template of several stacks.

Differences from the reference, all additive: ``backend`` accepts ``"auto"`` (our default), and the
reference values ``"cuda"`` (read as ``"auto"``) and ``"vanilla"`` (read as ``"native"``);
``mLSTMLayerConfig`` gains ``chunk_size`` and ``eps``; ``context_length`` is accepted but never
limits the sequence length. An unknown ``backend`` raises ``ValueError`` at construction, listing
the valid names (those of the kernel registry, see :func:`valid_backends`).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from xlstm_ts.kernels import available_kernels

T = TypeVar("T", bound="ConfigMixin")

_BACKEND_ALIASES = {"cuda": "auto", "vanilla": "native"}
#: Kernel forms each layer calls through the registry (``"<form>--<backend>"``): a backend is valid for
#: a layer only if every one of these forms is registered with it.
LAYER_KERNEL_FORMS = {"mlstm": ("chunkwise", "step"), "slstm": ("sequence", "step")}


def resolve_backend(backend: str) -> str:
    """Map a config ``backend`` value (ours or the reference's) to a kernel backend name."""
    return _BACKEND_ALIASES.get(backend, backend)


def valid_backends(cell: str) -> list[str]:
    """Sorted ``backend`` values a layer config of ``cell`` (``"mlstm"`` or ``"slstm"``) accepts.

    Read from the kernel registry (:func:`xlstm_ts.kernels.available_kernels`): every backend that
    has all the kernel forms the layer calls, plus ``"auto"`` and the reference's aliases.

    >>> valid_backends("mlstm")
    ['auto', 'cuda', 'native', 'triton', 'vanilla']
    """
    forms = LAYER_KERNEL_FORMS[cell]
    backends_by_form: dict[str, set[str]] = {form: set() for form in forms}
    for name in available_kernels(cell):
        form, _, backend = name.partition("--")
        if form in backends_by_form:
            backends_by_form[form].add(backend)
    common = set.intersection(*backends_by_form.values())
    return sorted(common | {"auto"} | set(_BACKEND_ALIASES))


def check_backend(cell: str, backend: str, owner: str) -> None:
    """Raise ``ValueError`` naming the valid values if ``backend`` is not one of :func:`valid_backends`."""
    valid = valid_backends(cell)
    if backend not in valid:
        aliases = ", ".join(f"{k!r} reads as {v!r}" for k, v in _BACKEND_ALIASES.items())
        raise ValueError(f"Unknown {owner} backend {backend!r}; expected one of {valid} ({aliases}).")


def _derived_copy(config: T, **changes: Any) -> T:
    """A deep copy of ``config`` with ``changes`` applied and its derived fields recomputed.

    ``config`` itself is left as it is (configs never mutate the objects passed to them).
    """
    return dataclasses.replace(deepcopy(config), **changes)


class ConfigMixin:
    """``to_dict`` / ``from_dict`` for nested config dataclasses, without dacite or omegaconf."""

    # Set by @dataclass on every subclass; declared so that type checkers see the mixin as a dataclass.
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def to_dict(self) -> dict[str, Any]:
        """Public fields as plain Python values (nested configs become dicts)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name.startswith("_"):
                continue
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, ConfigMixin) else deepcopy(value)
        return out

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Build the config from a (possibly nested) dict, e.g. parsed YAML.

        Keys starting with ``_`` (derived fields, as written by ``dataclasses.asdict``) are ignored.

        Raises
        ------
        TypeError
            If ``data`` is not a mapping or has keys that are not fields of the config.
        """
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}.from_dict expects a dict, got {type(data).__name__}.")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
        unknown = sorted(k for k in data if not str(k).startswith("_") and k not in names)
        if unknown:
            raise TypeError(f"Unknown field(s) {unknown} for {cls.__name__}; valid fields: {sorted(names)}.")
        kwargs = {}
        for key, value in data.items():
            if str(key).startswith("_"):
                continue
            nested = _config_class(hints[key])
            kwargs[key] = nested.from_dict(value) if nested is not None and isinstance(value, dict) else value
        return cls(**kwargs)


def _config_class(hint: Any) -> type[ConfigMixin] | None:
    """The config class inside a type hint such as ``Optional[mLSTMBlockConfig]``, if any."""
    candidates = typing.get_args(hint) or (hint,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, ConfigMixin):
            return candidate
    return None


def round_up_dim(embedding_dim: int, proj_factor: float, multiple_of: int, round_up: bool) -> int:
    """Inner dimension ``proj_factor * embedding_dim`` rounded (up by default) to ``multiple_of``."""
    ratio = proj_factor * embedding_dim / multiple_of
    return int((math.ceil(ratio) if round_up else math.floor(ratio)) * multiple_of)


@dataclass
class FeedForwardConfig(ConfigMixin):
    """Gated feed-forward network of the sLSTM block (``ffn_gated``)."""

    proj_factor: float = 1.3
    round_proj_up_dim_up: bool = True
    round_proj_up_to_multiple_of: int = 64
    act_fn: str = "gelu"
    embedding_dim: int = -1
    dropout: float = 0.0
    bias: bool = False
    ff_type: Literal["ffn_gated"] = "ffn_gated"
    _num_blocks: int = 1
    _proj_up_dim: int | None = None

    def __post_init__(self) -> None:
        from .components import ACTIVATIONS  # local: components imports this module

        if self.act_fn not in ACTIVATIONS:
            raise ValueError(f"Unknown act_fn {self.act_fn!r}; expected one of {sorted(ACTIVATIONS)}.")
        if self.ff_type != "ffn_gated":
            raise ValueError(f"Unknown ff_type {self.ff_type!r}; only 'ffn_gated' exists.")
        if self.embedding_dim is not None and self.embedding_dim > 0:
            self._proj_up_dim = round_up_dim(
                self.embedding_dim,
                self.proj_factor,
                self.round_proj_up_to_multiple_of,
                self.round_proj_up_dim_up,
            )


@dataclass
class mLSTMLayerConfig(ConfigMixin):
    """mLSTM layer: up-projection, causal conv, headwise q/k/v, mLSTM cell, down-projection."""

    proj_factor: float = 2.0
    round_proj_up_dim_up: bool = True
    round_proj_up_to_multiple_of: int = 64
    conv1d_kernel_size: int = 4
    qkv_proj_blocksize: int = 4
    num_heads: int = 4
    embedding_dim: int = -1
    bias: bool = False
    dropout: float = 0.0
    context_length: int = -1
    backend: str = "auto"
    chunk_size: int = 64
    eps: float = 1e-6
    _num_blocks: int = 1
    _inner_embedding_dim: int | None = None

    def __post_init__(self) -> None:
        check_backend("mlstm", self.backend, type(self).__name__)
        if self.embedding_dim is not None and self.embedding_dim > 0:
            self._inner_embedding_dim = round_up_dim(
                self.embedding_dim,
                self.proj_factor,
                self.round_proj_up_to_multiple_of,
                self.round_proj_up_dim_up,
            )
            inner = self._inner_embedding_dim
            if inner % self.num_heads or inner % self.qkv_proj_blocksize:
                raise ValueError(
                    f"mLSTM inner dim {inner} (= round_up({self.proj_factor} * {self.embedding_dim}, "
                    f"{self.round_proj_up_to_multiple_of})) must be divisible by num_heads={self.num_heads} "
                    f"and qkv_proj_blocksize={self.qkv_proj_blocksize}."
                )


@dataclass
class sLSTMLayerConfig(ConfigMixin):
    """sLSTM layer (cell fields first, as in the reference ``sLSTMCellConfig``).

    The reference's CUDA-kernel tuning fields (``batch_size``, ``dtype*``, ``constants``, shapes,
    ``enable_automatic_mixed_precision``) are accepted so that reference configs load, and are
    otherwise unused: our kernels keep float32 states and follow autocast.
    """

    hidden_size: int = -1
    num_heads: int = 4
    num_states: int = 4
    backend: str = "auto"
    function: str = "slstm"
    bias_init: Literal["powerlaw_blockdependent", "small_init", "standard", "zeros"] = (
        "powerlaw_blockdependent"
    )
    recurrent_weight_init: Literal["zeros", "standard"] = "zeros"
    num_gates: int = 4
    gradient_recurrent_cut: bool = False
    gradient_recurrent_clipval: float | None = None
    forward_clipval: float | None = None
    batch_size: int = 8
    input_shape: str = "BSGNH"
    internal_input_shape: str = "SBNGH"
    output_shape: str = "BNSH"
    constants: dict = field(default_factory=dict)
    dtype: str = "bfloat16"
    dtype_b: str | None = "float32"
    dtype_r: str | None = None
    dtype_w: str | None = None
    dtype_g: str | None = None
    dtype_s: str | None = None
    dtype_a: str | None = None
    enable_automatic_mixed_precision: bool = True
    initial_val: float = 0.0
    embedding_dim: int = -1
    conv1d_kernel_size: int = 4
    group_norm_weight: bool = True
    dropout: float = 0.0
    _block_idx: int = 0
    _num_blocks: int = 1

    def __post_init__(self) -> None:
        check_backend("slstm", self.backend, type(self).__name__)
        if self.function != "slstm":
            raise NotImplementedError(f"sLSTM function {self.function!r} is not supported; only 'slstm'.")
        unsupported = {
            "gradient_recurrent_cut": self.gradient_recurrent_cut is not False,
            "gradient_recurrent_clipval": self.gradient_recurrent_clipval is not None,
            "forward_clipval": self.forward_clipval is not None,
        }
        if any(unsupported.values()):
            names = [k for k, v in unsupported.items() if v]
            raise NotImplementedError(f"sLSTM options {names} are CUDA-kernel specific and not supported.")
        self.hidden_size = self.embedding_dim
        if self.embedding_dim is not None and self.embedding_dim > 0 and self.embedding_dim % self.num_heads:
            raise ValueError(
                f"sLSTM embedding_dim={self.embedding_dim} must be divisible by num_heads={self.num_heads}."
            )

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


@dataclass
class mLSTMBlockConfig(ConfigMixin):
    """An mLSTM block: pre-LayerNorm residual around an mLSTM layer (no feed-forward)."""

    mlstm: mLSTMLayerConfig = field(default_factory=mLSTMLayerConfig)
    _num_blocks: int | None = None
    _block_idx: int | None = None

    def __post_init__(self) -> None:
        changes = {} if self._num_blocks is None else {"_num_blocks": self._num_blocks}
        self.mlstm = _derived_copy(self.mlstm, **changes)


@dataclass
class sLSTMBlockConfig(ConfigMixin):
    """An sLSTM block: residual sLSTM layer, then a residual gated feed-forward (if given)."""

    slstm: sLSTMLayerConfig = field(default_factory=sLSTMLayerConfig)
    feedforward: FeedForwardConfig | None = field(default_factory=FeedForwardConfig)
    _num_blocks: int | None = None
    _block_idx: int | None = None

    def __post_init__(self) -> None:
        changes: dict[str, Any] = {} if self._num_blocks is None else {"_num_blocks": self._num_blocks}
        slstm_changes = dict(changes)
        if self._block_idx is not None:
            slstm_changes["_block_idx"] = self._block_idx
        self.slstm = _derived_copy(self.slstm, **slstm_changes)
        if self.feedforward is not None:
            self.feedforward = _derived_copy(
                self.feedforward, embedding_dim=self.slstm.embedding_dim, **changes
            )


@dataclass
class xLSTMBlockStackConfig(ConfigMixin):
    """Stack of mLSTM/sLSTM blocks; ``slstm_at`` lists the (0-based) sLSTM positions or is ``"all"``."""

    mlstm_block: mLSTMBlockConfig | None = None
    slstm_block: sLSTMBlockConfig | None = None
    context_length: int = -1
    num_blocks: int = 1
    embedding_dim: int = 128
    add_post_blocks_norm: bool = True
    bias: bool = False
    dropout: float = 0.0
    slstm_at: list[int] | Literal["all"] = field(default_factory=list)
    _block_map: str | None = None

    def __post_init__(self) -> None:
        if self.mlstm_block is None and self.slstm_block is None:
            raise ValueError("xLSTMBlockStackConfig needs mlstm_block, slstm_block or both; got neither.")
        if self.num_blocks < 1:
            raise ValueError(f"num_blocks must be >= 1, got {self.num_blocks}.")
        if self.mlstm_block is None:
            self.slstm_at = "all"
        if self.slstm_at == "all":
            self.slstm_at = list(range(self.num_blocks))
        self.slstm_at = [int(i) for i in self.slstm_at]
        bad = [i for i in self.slstm_at if not 0 <= i < self.num_blocks]
        if bad:
            raise ValueError(f"slstm_at positions {bad} are outside [0, num_blocks={self.num_blocks}).")
        if self.slstm_at and self.slstm_block is None:
            raise ValueError(f"slstm_at={self.slstm_at} places sLSTM blocks but slstm_block is None.")
        # The stack's own copies of the block templates (the caller's objects stay as they are).
        if self.mlstm_block is not None:
            mlstm = _derived_copy(
                self.mlstm_block.mlstm,
                embedding_dim=self.embedding_dim,
                bias=self.bias,
                dropout=self.dropout,
                context_length=self.context_length,
            )
            self.mlstm_block = _derived_copy(self.mlstm_block, mlstm=mlstm, _num_blocks=self.num_blocks)
        if self.slstm_block is not None:
            slstm = _derived_copy(
                self.slstm_block.slstm, dropout=self.dropout, embedding_dim=self.embedding_dim
            )
            self.slstm_block = _derived_copy(self.slstm_block, slstm=slstm, _num_blocks=self.num_blocks)
        self._block_map = ",".join("1" if i in self.slstm_at else "0" for i in range(self.num_blocks))

    @property
    def block_map(self) -> list[int]:
        """Block type per position: 0 for mLSTM, 1 for sLSTM."""
        assert self._block_map is not None
        return [int(c) for c in self._block_map.split(",")]

    def block_config(self, block_idx: int) -> mLSTMBlockConfig | sLSTMBlockConfig:
        """A deep copy of the block template for position ``block_idx`` with its index set."""
        template = self.slstm_block if self.block_map[block_idx] == 1 else self.mlstm_block
        assert template is not None
        return _derived_copy(template, _block_idx=block_idx)


@dataclass
class xLSTMLMModelConfig(xLSTMBlockStackConfig):
    """Language model: token embedding, block stack, linear head."""

    vocab_size: int = -1
    tie_weights: bool = False
    weight_decay_on_embedding: bool = False
    add_embedding_dropout: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {self.vocab_size}.")


#: The backbone names the estimators take (besides a full :class:`xLSTMBlockStackConfig`).
BACKBONE_NAMES = ("mlstm", "slstm", "mixed")


def flat_stack_config(
    backbone: str | xLSTMBlockStackConfig,
    embedding_dim: int,
    num_blocks: int,
    num_heads: int,
    dropout: float,
    slstm_at: Sequence[int] | None = None,
) -> xLSTMBlockStackConfig:
    """The stack config described by the estimators' flat hyperparameters (a copy of ``backbone`` when it
    is a config).  ``"mixed"`` places sLSTM blocks at ``slstm_at`` (default: the middle block) among mLSTM
    blocks.  Raises ``ValueError`` when the values do not fit together (e.g. heads not dividing the width).

    >>> cfg = flat_stack_config("mixed", 32, 3, 4, 0.0)
    >>> cfg.slstm_at, cfg.embedding_dim
    ([1], 32)
    """
    if isinstance(backbone, xLSTMBlockStackConfig):
        return xLSTMBlockStackConfig.from_dict(backbone.to_dict())
    if backbone not in BACKBONE_NAMES:
        raise ValueError(
            f"backbone must be one of {BACKBONE_NAMES} or an xLSTMBlockStackConfig; got {backbone!r}."
        )
    mlstm = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=num_heads))
    slstm = sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=num_heads), feedforward=FeedForwardConfig())
    common: dict[str, Any] = dict(num_blocks=num_blocks, embedding_dim=embedding_dim, dropout=dropout)
    if backbone == "mlstm":
        return xLSTMBlockStackConfig(mlstm_block=mlstm, **common)
    if backbone == "slstm":
        return xLSTMBlockStackConfig(slstm_block=slstm, **common)
    at = [num_blocks // 2] if slstm_at is None else list(slstm_at)
    return xLSTMBlockStackConfig(mlstm_block=mlstm, slstm_block=slstm, slstm_at=at, **common)
