"""xLSTM Large checkpoints: the Hugging Face and the official layouts, "single" and "fused" weights.

Two published layouts are read and written:

* **Hugging Face** (``transformers``' ``xLSTMForCausalLM``): ``config.json`` and ``model.safetensors``, or shards
  ``model-0000k-of-0000n.safetensors`` listed in ``model.safetensors.index.json``.  Keys are ours:
  ``backbone.embeddings.weight``, ``backbone.blocks.{i}...``, ``backbone.out_norm.weight``, ``lm_head.weight``.
* **Official** (``xlstm.xlstm_large``): ``config.yaml`` and ``model.safetensors`` or ``model_0.safetensors``,
  ``model_1.safetensors``, ...; the same keys except ``embedding.weight`` for the embedding.

Either can hold "single" weights (``mlstm_layer.{q,k,v,ogate_preact}``, ``{igate,fgate}_preact``,
``ffn.{proj_up_gate,proj_up}``) or "fused" ones (``mlstm_layer.qkv_opreact`` = rows of q, k, v, o;
``ifgate_preact`` = i, f; ``ffn.proj_up_gate_z`` = gate, up).  The mode is read off the keys, and the tensors are
fused or split on the fly to the mode of the model being built, so any checkpoint loads into either mode.

Loading is lazy: the model is built on the ``meta`` device and each tensor is read from its shard
(``safetensors.safe_open``), cast to the requested dtype, moved to the device and put in place one at a time, so
a 7B checkpoint (~14 GB in bf16) never exists twice in memory.  Fused pieces of one block wait for each other;
that is at most one block's projections.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .large import xLSTMLargeForCausalLM
from .large_config import xLSTMLargeConfig

LAYOUTS = ("huggingface", "official")
_HF_INDEX = "model.safetensors.index.json"
_SINGLE = "model.safetensors"
_OFFICIAL_EMBEDDING = "embedding.weight"
_EMBEDDING = "backbone.embeddings.weight"
_BLOCK = re.compile(r"^(backbone\.blocks\.\d+\.)(mlstm_layer|ffn)\.(\w+)\.(weight|bias)$")
#: fused module -> the single modules whose output rows it stacks, in order.
_FUSED = {
    "qkv_opreact": ("q", "k", "v", "ogate_preact"),
    "ifgate_preact": ("igate_preact", "fgate_preact"),
    "proj_up_gate_z": ("proj_up_gate", "proj_up"),
}
_PART_OF = {part: fused for fused, parts in _FUSED.items() for part in parts}


class CheckpointError(ValueError):
    """A checkpoint does not match the model: missing or unexpected keys, wrong shapes, unknown layout."""


# ---- reading --------------------------------------------------------------------------------------------------
def detect_layout(directory: str | Path) -> str:
    """``"huggingface"`` (a ``config.json``) or ``"official"`` (a ``config.yaml``) for a checkpoint directory.

    A directory with both files reads as Hugging Face.
    """
    d = Path(directory)
    if (d / "config.json").is_file():
        return "huggingface"
    if (d / "config.yaml").is_file():
        return "official"
    raise CheckpointError(
        f"{d} is not an xLSTM Large checkpoint: expected config.json (Hugging Face layout) or config.yaml "
        f"(official layout); found {sorted(p.name for p in d.iterdir()) if d.is_dir() else 'no directory'}."
    )


def _weight_files(directory: Path, layout: str) -> list[Path]:
    if (directory / _SINGLE).is_file():
        return [directory / _SINGLE]
    if layout == "huggingface" and (directory / _HF_INDEX).is_file():
        weight_map = json.loads((directory / _HF_INDEX).read_text())["weight_map"]
        return [directory / name for name in sorted(set(weight_map.values()))]
    shards: list[Path] = []
    while (directory / f"model_{len(shards)}.safetensors").is_file():
        shards.append(directory / f"model_{len(shards)}.safetensors")
    if layout == "official" and shards:
        return shards
    expected = (
        f"{_SINGLE} or {_HF_INDEX}" if layout == "huggingface" else f"{_SINGLE} or model_0.safetensors, ..."
    )
    raise CheckpointError(f"no weights in {directory}: expected {expected} ({layout} layout).")


def read_config(directory: str | Path, layout: str | None = None) -> xLSTMLargeConfig:
    """The :class:`~xlstm_ts.nn.xLSTMLargeConfig` of a checkpoint directory."""
    d = Path(directory)
    layout = layout or detect_layout(d)
    if layout == "huggingface":
        return xLSTMLargeConfig.from_hf_dict(json.loads((d / "config.json").read_text()))
    if layout == "official":
        return xLSTMLargeConfig.from_official_dict(_yaml().safe_load((d / "config.yaml").read_text()))
    raise CheckpointError(f"unknown layout {layout!r}; expected one of {LAYOUTS}.")


def _yaml():
    try:
        import yaml
    except ImportError as err:  # pragma: no cover - pyyaml comes with the dev and large extras
        raise ImportError(
            "The official xLSTM Large layout (config.yaml) needs PyYAML: pip install 'xlstm-ts[large]'."
        ) from err
    return yaml


def _iter_tensors(files: list[Path]) -> Iterator[tuple[str, torch.Tensor]]:
    from safetensors import safe_open

    for path in files:
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 (safe_open has no __iter__)
                yield key, handle.get_tensor(key)


def _resolve(path_or_hub_id: str | Path) -> Path:
    path = Path(path_or_hub_id)
    if path.exists():
        return path
    name = str(path_or_hub_id)
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        raise FileNotFoundError(
            f"{name!r} is neither a checkpoint directory nor a Hugging Face hub id (owner/name)."
        )
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:
        raise ImportError(
            f"{name!r} is not a local directory; downloading it from the Hugging Face Hub needs huggingface_hub: "
            "pip install 'xlstm-ts[large]'."
        ) from err
    try:
        return Path(snapshot_download(name, allow_patterns=["*.json", "*.yaml", "*.safetensors"]))
    except Exception as err:  # the hub raises many types (offline, 404, auth); all mean the same here
        raise OSError(
            f"could not fetch {name!r} from the Hugging Face Hub ({type(err).__name__}: {err}). If this machine is "
            "offline, download the checkpoint elsewhere and pass its local directory instead."
        ) from err


def _set_tensor(model: nn.Module, key: str, value: torch.Tensor) -> None:
    module_name, _, attr = key.rpartition(".")
    try:
        module = model.get_submodule(module_name)
    except AttributeError:
        module = None
    current = getattr(module, attr, None) if module is not None else None
    if module is None or not isinstance(current, torch.Tensor) or attr not in module._parameters:
        raise CheckpointError(f"unexpected checkpoint key {key!r}: the model has no such parameter.")
    if tuple(current.shape) != tuple(value.shape):
        raise CheckpointError(
            f"shape mismatch for {key!r}: the model expects {tuple(current.shape)}, the checkpoint has "
            f"{tuple(value.shape)}."
        )
    module._parameters[attr] = nn.Parameter(value, requires_grad=current.requires_grad)


def load_large_checkpoint(
    path_or_hub_id: str | Path,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    **config_overrides: Any,
) -> xLSTMLargeForCausalLM:
    """Build an :class:`~xlstm_ts.nn.xLSTMLargeForCausalLM` from a checkpoint, one tensor at a time.

    Parameters
    ----------
    path_or_hub_id : str or Path
        A checkpoint directory (layout detected), or a Hugging Face hub id such as ``"NX-AI/xLSTM-7b"``
        (needs ``huggingface_hub`` and a network).
    dtype : torch.dtype, optional
        Dtype of every parameter; the checkpoint's when omitted.
    device : torch.device or str, optional
        Where the parameters go (CPU when omitted).
    **config_overrides
        Fields of :class:`~xlstm_ts.nn.xLSTMLargeConfig` to change, e.g. ``weight_mode="fused"`` or
        ``backend="native"``; shape fields must still match the checkpoint.

    Raises
    ------
    CheckpointError
        On an unknown layout, missing weights, missing or unexpected keys, or a shape mismatch.
    OSError
        When a hub id cannot be downloaded (e.g. offline).

    Examples
    --------
    >>> import tempfile, torch
    >>> from xlstm_ts.nn import xLSTMLargeConfig, xLSTMLargeForCausalLM
    >>> model = xLSTMLargeForCausalLM(xLSTMLargeConfig.preset("tiny"))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = model.save_pretrained(tmp, layout="official")
    ...     loaded = xLSTMLargeForCausalLM.from_pretrained(tmp, weight_mode="fused")
    >>> ids = torch.tensor([[1, 2, 3]])
    >>> torch.allclose(loaded(ids), model(ids), atol=1e-5)
    True
    """
    directory = _resolve(path_or_hub_id)
    layout = detect_layout(directory)
    config = read_config(directory, layout)
    if config_overrides:
        fields = {**config.__dict__, **config_overrides}
        config = xLSTMLargeConfig(**fields)
    files = _weight_files(directory, layout)
    with torch.device("meta"):
        model = xLSTMLargeForCausalLM(config)
    target = torch.device(device) if device is not None else torch.device("cpu")
    fused_model = config.weight_mode == "fused"
    pending: dict[str, dict[str, torch.Tensor]] = {}
    seen: set[str] = set()

    def put(key: str, value: torch.Tensor) -> None:
        if key in seen:
            raise CheckpointError(f"checkpoint key {key!r} appears twice.")
        seen.add(key)
        _set_tensor(model, key, value.to(device=target, dtype=dtype or value.dtype))

    for key, tensor in _iter_tensors(files):
        if key == _OFFICIAL_EMBEDDING:
            key = _EMBEDDING
        match = _BLOCK.match(key)
        if match is None:
            put(key, tensor)
            continue
        prefix, sub, name, kind = match.groups()
        if name in _FUSED and not fused_model:  # split [a | b | ...] rows into the single projections
            widths = _part_widths(config, name)
            if tensor.shape[0] != sum(widths):
                raise CheckpointError(
                    f"shape mismatch for {key!r}: expected {sum(widths)} rows ({'+'.join(map(str, widths))}), "
                    f"got {tuple(tensor.shape)}."
                )
            for part, piece in zip(_FUSED[name], torch.split(tensor, widths, dim=0)):
                put(f"{prefix}{sub}.{part}.{kind}", piece.clone())
        elif name in _PART_OF and fused_model:  # gather the single projections, then stack them
            fused = _PART_OF[name]
            group = pending.setdefault(f"{prefix}{sub}.{fused}.{kind}", {})
            group[name] = tensor
            if len(group) == len(_FUSED[fused]):
                put(f"{prefix}{sub}.{fused}.{kind}", torch.cat([group[p] for p in _FUSED[fused]], dim=0))
                del pending[f"{prefix}{sub}.{fused}.{kind}"]
        else:
            put(key, tensor)
    if pending:
        raise CheckpointError(
            "incomplete fused groups in the checkpoint: "
            + "; ".join(
                f"{k} lacks {sorted(set(_FUSED[k.split('.')[-2]]) - set(v))}" for k, v in pending.items()
            )
        )
    if config.tie_word_embeddings:
        model.lm_head.weight = model.backbone.embeddings.weight
    missing = sorted(name for name, p in model.named_parameters(remove_duplicate=False) if p.is_meta)
    if missing:
        raise CheckpointError(f"checkpoint lacks {len(missing)} key(s) the model needs: {missing[:8]}.")
    return model.eval()


def _part_widths(config: xLSTMLargeConfig, fused: str) -> list[int]:
    QK, V, NH, U = config.qk_dim, config.v_dim, config.num_heads, config.ffn_dim
    return {"qkv_opreact": [QK, QK, V, V], "ifgate_preact": [NH, NH], "proj_up_gate_z": [U, U]}[fused]


# ---- writing --------------------------------------------------------------------------------------------------
def _parse_size(size: int | str) -> int:
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", str(size), re.I)
    if match is None or isinstance(size, bool):
        raise ValueError(
            f"max_shard_size must be a positive int of bytes or a string like '5GB'; got {size!r}."
        )
    unit = (match.group(2) or "B").upper()
    scale = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}[unit]
    return max(1, int(float(match.group(1)) * scale))


def save_large_checkpoint(
    model: xLSTMLargeForCausalLM,
    directory: str | Path,
    layout: str = "huggingface",
    max_shard_size: int | str = "5GB",
) -> Path:
    """Write ``model`` as a checkpoint directory, atomically (a temporary sibling, then a rename).

    ``layout="huggingface"`` writes ``config.json`` and ``model.safetensors`` (or shards with an index);
    ``"official"`` writes ``config.yaml`` and ``model.safetensors`` (or ``model_0.safetensors``, ...).  Weights
    keep the model's weight mode.  A tied LM head is left out of the Hugging Face layout (as ``transformers``
    does) and written out in the official one, which cannot tie.  Returns the directory.
    """
    from safetensors.torch import save_file

    if layout not in LAYOUTS:
        raise CheckpointError(f"unknown layout {layout!r}; expected one of {LAYOUTS}.")
    limit = _parse_size(max_shard_size)
    config = model.config
    tensors: dict[str, torch.Tensor] = {}
    for key, p in model.state_dict().items():
        if key == "lm_head.weight" and config.tie_word_embeddings and layout == "huggingface":
            continue
        if key == _EMBEDDING and layout == "official":
            key = _OFFICIAL_EMBEDDING
        tensors[key] = p.detach().to("cpu").contiguous()
    if config.tie_word_embeddings and layout == "official":
        tensors["lm_head.weight"] = tensors["lm_head.weight"].clone()
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][key] = t
        size += nbytes

    final = Path(directory)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        meta = {"format": "pt"}
        if layout == "huggingface":
            (tmp / "config.json").write_text(json.dumps(config.to_hf_dict(), indent=2) + "\n")
            names = (
                [_SINGLE]
                if len(shards) == 1
                else [f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors" for k in range(len(shards))]
            )
        else:
            (tmp / "config.yaml").write_text(_yaml().safe_dump(config.to_official_dict(), sort_keys=False))
            names = [_SINGLE] if len(shards) == 1 else [f"model_{k}.safetensors" for k in range(len(shards))]
        for name, shard in zip(names, shards):
            save_file(shard, str(tmp / name), metadata=meta)
        if layout == "huggingface" and len(shards) > 1:
            index = {
                "metadata": {"total_size": sum(t.numel() * t.element_size() for t in tensors.values())},
                "weight_map": {key: name for name, shard in zip(names, shards) for key in shard},
            }
            (tmp / _HF_INDEX).write_text(json.dumps(index, indent=2) + "\n")
        if final.exists():
            old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
