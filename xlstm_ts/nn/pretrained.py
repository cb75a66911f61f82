"""``save_pretrained`` / ``from_pretrained`` for the library's models: a JSON config and safetensors weights.

A saved model is a directory with two files:

``config.json``
    The model's config, ``config.to_dict()``, with three extra keys: ``"architectures"`` (the model class
    name, as in Hugging Face configs), ``"xlstm_ts_version"`` and ``"xlstm_ts_format"``.
``model.safetensors``
    The ``state_dict``, written by ``safetensors.torch.save_model`` (tensors shared by tied weights are
    stored once).

Any ``nn.Module`` gains both methods from :class:`PretrainedMixin` if it has a ``config`` attribute whose
class has ``to_dict()`` and ``from_dict(dict)``, names that class in ``config_class`` and is built by
``cls(config)``. A model whose ``config.json`` must follow another layout (e.g. a Hugging Face one)
overrides the two hooks ``_config_to_json_dict`` and ``_config_from_json_dict``.

Writing is atomic per file: each file goes to a temporary sibling and is moved into place with
``os.replace``; a new directory is filled under a temporary name and renamed as a whole. Loading parses
JSON and reads tensors with safetensors, never pickle, and checks the weights against the model the
config builds: a missing, unexpected or misshapen tensor raises :class:`PretrainedFileError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
#: Version of the directory layout written by :meth:`PretrainedMixin.save_pretrained`.
FORMAT_VERSION = 1
_META_KEYS = ("architectures", "xlstm_ts_version", "xlstm_ts_format")

M = TypeVar("M", bound="PretrainedMixin")


class PretrainedFileError(ValueError):
    """A saved model directory that cannot be loaded: a missing or damaged file, another model class or
    format, or weights that do not fit the model built from the config."""


def _version() -> str:
    from .._version import __version__

    return __version__


def _move_into_place(tmp: Path, target: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)


class PretrainedMixin:
    """Adds :meth:`save_pretrained` and :meth:`from_pretrained` to a model built from a config.

    Examples
    --------
    >>> import tempfile, torch
    >>> from xlstm_ts import xLSTMLMModel, xLSTMLMModelConfig, mLSTMBlockConfig
    >>> model = xLSTMLMModel(xLSTMLMModelConfig(mlstm_block=mLSTMBlockConfig(), num_blocks=1,
    ...                                         embedding_dim=16, vocab_size=20)).eval()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     directory = model.save_pretrained(f"{tmp}/lm")
    ...     loaded = xLSTMLMModel.from_pretrained(f"{tmp}/lm")
    >>> ids = torch.tensor([[1, 2, 3]])
    >>> torch.equal(loaded(ids), model(ids))
    True
    """

    config_class: ClassVar[type]
    config: Any

    def _config_to_json_dict(self) -> dict[str, Any]:
        """What ``config.json`` holds: the config's ``to_dict()`` and the three metadata keys."""
        return {
            "architectures": [type(self).__name__],
            "xlstm_ts_version": _version(),
            "xlstm_ts_format": FORMAT_VERSION,
            **self.config.to_dict(),
        }

    @classmethod
    def _config_from_json_dict(cls, data: dict[str, Any]) -> Any:
        """The config from parsed ``config.json``; raises ``PretrainedFileError`` for another class/format."""
        architectures = data.get("architectures")
        if architectures is not None and cls.__name__ not in architectures:
            raise PretrainedFileError(
                f"it holds a {architectures} model; expected {cls.__name__}. Load it with that class."
            )
        fmt = data.get("xlstm_ts_format", FORMAT_VERSION)
        if fmt != FORMAT_VERSION:
            raise PretrainedFileError(f"xlstm_ts_format {fmt!r}; this version reads format {FORMAT_VERSION}.")
        return cls.config_class.from_dict({k: v for k, v in data.items() if k not in _META_KEYS})  # type: ignore[attr-defined]

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` (created if missing).

        Other files in an existing directory are left alone. Returns the directory as a ``Path``.

        Raises
        ------
        TypeError
            If the config cannot be written as JSON (nothing is written then).
        """
        from safetensors.torch import save_model

        if not isinstance(self, nn.Module):
            raise TypeError(f"save_pretrained needs an nn.Module; got {type(self).__name__}.")
        text = (
            json.dumps(self._config_to_json_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"
        )  # raises before writing
        target = Path(directory)
        token = f"{os.getpid()}.{uuid.uuid4().hex}"
        fresh = not target.exists()
        # A new directory is filled under a temporary sibling name and renamed as a whole.
        workdir = target.with_name(f".{target.name}.{token}.tmp") if fresh else target
        workdir.mkdir(parents=True, exist_ok=not fresh)
        try:
            tmp_weights = workdir / f".{WEIGHTS_FILE}.{token}.tmp"
            tmp_config = workdir / f".{CONFIG_FILE}.{token}.tmp"
            save_model(self, str(tmp_weights), metadata={"format": "pt"})
            tmp_config.write_text(text)
            _move_into_place(tmp_weights, workdir / WEIGHTS_FILE)
            _move_into_place(tmp_config, workdir / CONFIG_FILE)
            if fresh:
                os.rename(workdir, target)
        finally:
            for leftover in (
                workdir / f".{WEIGHTS_FILE}.{token}.tmp",
                workdir / f".{CONFIG_FILE}.{token}.tmp",
            ):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            if fresh and workdir.exists():
                shutil.rmtree(workdir, ignore_errors=True)
        return target

    @classmethod
    def from_pretrained(
        cls: type[M],
        directory: str | os.PathLike[str],
        *,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> M:
        """Build the model from ``directory/config.json`` and load ``directory/model.safetensors``.

        Parameters
        ----------
        directory : str or path
            A directory written by :meth:`save_pretrained`.
        device : str or torch.device, optional
            Where to put the model (default: the CPU).
        dtype : torch.dtype, optional
            Parameter dtype (default: what the constructor makes, float32).

        Returns
        -------
        The model, in eval mode.

        Raises
        ------
        FileNotFoundError
            If the directory or one of its two files does not exist.
        PretrainedFileError
            If ``config.json`` is not valid JSON for this class, names another model class or format
            version, or the weights do not match the model the config builds.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_model

        root = Path(directory)
        config_path, weights_path = root / CONFIG_FILE, root / WEIGHTS_FILE
        for path in (config_path, weights_path):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} does not exist; expected a directory written by save_pretrained with "
                    f"{CONFIG_FILE} and {WEIGHTS_FILE}."
                )
        try:
            data = json.loads(config_path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise PretrainedFileError(f"{config_path} is not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise PretrainedFileError(f"{config_path} must hold a JSON object; got {type(data).__name__}.")
        try:
            config = cls._config_from_json_dict(data)
        except PretrainedFileError as err:
            raise PretrainedFileError(f"{config_path}: {err}") from err
        except (TypeError, ValueError) as err:
            raise PretrainedFileError(
                f"{config_path} is not a valid {cls.config_class.__name__}: {err}"
            ) from err
        model = cls(config)  # type: ignore[call-arg]
        if not isinstance(model, nn.Module):
            raise TypeError(f"from_pretrained needs an nn.Module class; got {cls.__name__}.")
        try:
            load_model(model, str(weights_path), strict=True)
        except RuntimeError as err:  # missing/unexpected keys or shapes (torch's load_state_dict message)
            raise PretrainedFileError(
                f"{weights_path} does not match the model of {config_path}: {err}"
            ) from err
        except SafetensorError as err:  # a damaged or truncated file
            raise PretrainedFileError(f"{weights_path} is not a readable safetensors file: {err}") from err
        model.to(device=device, dtype=dtype)
        return model.eval()
