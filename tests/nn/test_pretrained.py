"""``save_pretrained`` / ``from_pretrained`` (``xlstm_ts.nn.pretrained``): round trips, the files written,
atomic writes, and typed errors for missing, foreign or mismatched files."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from xlstm_ts import xLSTMLMModel, xLSTMLMModelConfig
from xlstm_ts._version import __version__
from xlstm_ts.nn import xLSTMBlockStack
from xlstm_ts.nn.pretrained import PretrainedFileError

from .conftest import stack_config


def make_lm(tie_weights: bool = False, embedding_dim: int = 32) -> xLSTMLMModel:
    torch.manual_seed(0)
    cfg = stack_config("mixed", embedding_dim=embedding_dim).to_dict()
    model = xLSTMLMModel(xLSTMLMModelConfig.from_dict({**cfg, "vocab_size": 23, "tie_weights": tie_weights}))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("tie_weights", [False, True])
def test_round_trip_gives_the_same_model(tmp_path, tie_weights):
    model = make_lm(tie_weights)
    model.save_pretrained(tmp_path / "lm")
    loaded = xLSTMLMModel.from_pretrained(tmp_path / "lm")
    assert not loaded.training
    assert loaded.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    if tie_weights:
        assert loaded.lm_head.weight is loaded.token_embedding.weight
    ids = torch.randint(0, 23, (2, 7))
    assert torch.equal(loaded.generate(ids, 5), model.generate(ids, 5))


def test_the_files_are_json_and_safetensors(tmp_path):
    model = make_lm()
    directory = model.save_pretrained(tmp_path / "lm")
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((directory / "config.json").read_text())
    assert config["architectures"] == ["xLSTMLMModel"]
    assert config["xlstm_ts_version"] == __version__ and config["xlstm_ts_format"] == 1
    assert config["vocab_size"] == 23 and config["slstm_at"] == [1]
    with safe_open(str(directory / "model.safetensors"), framework="pt") as f:
        assert set(f.keys()) == set(model.state_dict())


def test_saving_over_an_existing_directory_replaces_the_files_and_keeps_the_others(tmp_path):
    directory = tmp_path / "lm"
    make_lm().save_pretrained(directory)
    (directory / "README.md").write_text("notes")
    bigger = make_lm(embedding_dim=64)
    bigger.save_pretrained(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert list(tmp_path.iterdir()) == [directory]  # no temporary siblings left behind
    assert xLSTMLMModel.from_pretrained(directory).config.embedding_dim == 64


def test_the_block_stack_round_trips_too(tmp_path):
    torch.manual_seed(0)
    stack = xLSTMBlockStack(stack_config("mixed")).eval()
    stack.save_pretrained(tmp_path / "stack")
    loaded = xLSTMBlockStack.from_pretrained(tmp_path / "stack")
    x = torch.randn(2, 9, 32)
    assert torch.equal(loaded(x), stack(x))


def test_dtype_and_device(tmp_path):
    make_lm().save_pretrained(tmp_path / "lm")
    loaded = xLSTMLMModel.from_pretrained(tmp_path / "lm", device="cpu", dtype=torch.float64)
    assert {p.dtype for p in loaded.parameters()} == {torch.float64}
    assert {p.device.type for p in loaded.parameters()} == {"cpu"}


def test_missing_files_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"config.json does not exist; expected a directory"):
        xLSTMLMModel.from_pretrained(tmp_path / "nothing")
    make_lm().save_pretrained(tmp_path / "lm")
    (tmp_path / "lm" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors does not exist"):
        xLSTMLMModel.from_pretrained(tmp_path / "lm")


def test_a_config_that_does_not_match_the_weights_is_an_error(tmp_path):
    directory = tmp_path / "lm"
    make_lm().save_pretrained(directory)
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "embedding_dim": 64}))
    with pytest.raises(PretrainedFileError, match=r"(?s)does not match the model of .*size mismatch"):
        xLSTMLMModel.from_pretrained(directory)
    (directory / "config.json").write_text(json.dumps({**config, "num_blocks": 4, "slstm_at": [1]}))
    with pytest.raises(PretrainedFileError, match="Missing key"):
        xLSTMLMModel.from_pretrained(directory)


def test_foreign_or_damaged_files_are_errors(tmp_path):
    directory = tmp_path / "lm"
    make_lm().save_pretrained(directory)
    with pytest.raises(
        PretrainedFileError,
        match=r"config\.json: it holds a \['xLSTMLMModel'\] model; expected xLSTMBlockStack",
    ):
        xLSTMBlockStack.from_pretrained(directory)
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "no_such_field": 1}))
    with pytest.raises(PretrainedFileError, match="not a valid xLSTMLMModelConfig: Unknown field"):
        xLSTMLMModel.from_pretrained(directory)
    (directory / "config.json").write_text(json.dumps({**config, "xlstm_ts_format": 99}))
    with pytest.raises(
        PretrainedFileError, match=r"config\.json: xlstm_ts_format 99; this version reads format 1"
    ):
        xLSTMLMModel.from_pretrained(directory)
    (directory / "config.json").write_text("{not json")
    with pytest.raises(PretrainedFileError, match="not valid JSON"):
        xLSTMLMModel.from_pretrained(directory)
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(PretrainedFileError, match="not a readable safetensors file"):
        xLSTMLMModel.from_pretrained(directory)
