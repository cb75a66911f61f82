"""Writing and reading fitted forecasters: one safetensors file that holds the weights and the config.

Layout of the directory written by :func:`write_model`::

    model.safetensors   every array of the model, and in its metadata the JSON config and a SHA-256
                        digest of config and arrays together
    config.json         a readable copy of the same config (and the digest) for people and tools

:func:`read_model` reads **only** ``model.safetensors``, so config and weights always come from the same
save.  Each file is written to a temporary sibling and moved into place with ``os.replace``, which is
atomic: a process that loads while another saves to the same path gets the old model or the new one,
never a mix and never a half-written file.  Other files in the directory are left alone.  Loading never
unpickles anything: JSON is parsed and tensors are read by safetensors.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .._version import __version__

#: Version of the file layout; ``read_model`` refuses others with a message naming both versions.
FORMAT_VERSION = 2
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class ModelFileError(ValueError):
    """A saved model that cannot be loaded: another format version, a damaged file, or a config that
    disagrees with its weights."""


def digest(config_json: str, tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the config text and every tensor's name, dtype, shape and bytes (sorted by name)."""
    h = hashlib.sha256(config_json.encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _replace_atomically(target: Path, write) -> None:
    """``write(tmp_path)`` into a temporary sibling of ``target``, flush it to disk, move it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_model(path, config: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Write ``config`` (JSON-serialisable) and ``tensors`` to the directory ``path`` atomically.

    Everything is serialised before the disk is touched, so a config that cannot be written as JSON
    raises ``TypeError`` and leaves nothing behind.
    """
    config = {"format_version": FORMAT_VERSION, "xlstm_ts_version": __version__, **config}
    text = json.dumps(config, sort_keys=True, allow_nan=False)  # raises before anything is written
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    sha = digest(text, tensors)
    readable = json.dumps({**config, "sha256": sha}, indent=2, sort_keys=True)
    directory = Path(path)
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        metadata = {
            "format": "xlstm_ts",
            "format_version": str(FORMAT_VERSION),
            "config": text,
            "sha256": sha,
        }
        _replace_atomically(directory / WEIGHTS_FILE, lambda p: save_file(tensors, str(p), metadata=metadata))
        _replace_atomically(directory / CONFIG_FILE, lambda p: p.write_text(readable))
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                directory.rmdir()  # only when still empty
        raise


def read_model(path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(config, tensors)`` of a model written by :func:`write_model`, digest checked."""
    directory = Path(path)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{directory} does not hold a saved model (no {WEIGHTS_FILE}).")
    try:
        with safe_open(str(weights), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 - not a dict
    except Exception as err:
        raise ModelFileError(f"{weights} is not a readable safetensors file: {err}") from err
    if "config" not in metadata:
        old = _old_version(directory)
        raise ModelFileError(
            f"{directory} was saved by an older version of xlstm_ts ({old}); this version "
            f"({__version__}) reads format version {FORMAT_VERSION}. Refit the model and save it again."
        )
    text = metadata["config"]
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ModelFileError(f"The config stored in {weights} is not valid JSON: {err}") from err
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{directory} holds model format version {config.get('format_version')!r} (saved by xlstm_ts "
            f"{config.get('xlstm_ts_version')}); this xlstm_ts ({__version__}) reads version {FORMAT_VERSION}."
        )
    if metadata.get("sha256") != digest(text, tensors):
        raise ModelFileError(
            f"{weights} is damaged or was edited: its arrays and config do not match the digest recorded at save."
        )
    return config, tensors


def _old_version(directory: Path) -> str:
    try:
        old = json.loads((directory / CONFIG_FILE).read_text())
        return f"xlstm_ts {old.get('xlstm_ts_version')}, format version {old.get('format_version')}"
    except (OSError, ValueError, AttributeError):
        return "an unknown version"
