"""xLSTM Large: parity with the official ``xlstm.xlstm_large`` model and with ``transformers``' ``xLSTMForCausalLM``.

The oracles write the checkpoints: the official model's weights are saved with ``safetensors`` under the official
keys and its dataclass as ``config.yaml`` (fused checkpoints through the official
``convert_single_weights_to_fused_weights``); Hugging Face checkpoints come from ``xLSTMForCausalLM.save_pretrained``
(sharded with ``max_shard_size``).  Our loader reads them and the logits and final states are compared on the CPU
with the official native PyTorch kernels (``chunkwise--native_autograd``, ``native_sequence__native``,
``native``) in inference mode.  Tolerance: float32 rounding, ``atol=5e-5`` on soft-capped logits of order 1-10 (fused projections round differently from single ones)
and on states (max differences observed are in docs/lm_large.md).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from xlstm_ts.nn import (
    CheckpointError,
    detect_layout,
    load_large_checkpoint,
    recommended_chunk_size,
    xLSTMLargeConfig,
    xLSTMLargeForCausalLM,
)

ATOL = 5e-5
LENGTHS = [1, 7, 65]


def official():
    return pytest.importorskip(
        "xlstm.xlstm_large.model", reason="official xlstm==2.0.6 (test oracle) not installed"
    )


def tiny(**kw) -> xLSTMLargeConfig:
    # qk_dim 32 is not a multiple of 64: Hugging Face's cache would be sized for 64.
    base = dict(
        vocab_size=100, hidden_size=64, num_hidden_layers=2, num_heads=2, qk_dim_factor=0.5, chunk_size=16
    )
    return xLSTMLargeConfig(**{**base, **kw})


def perturb(module: torch.nn.Module, seed: int) -> None:
    """Move every parameter off its init (ones/zeros hide bugs); gate biases get a wide spread."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            scale = 2.0 if "gate_preact.bias" in name else 0.1
            p.add_(scale * torch.randn(p.shape, generator=g))


def official_model(cfg: xLSTMLargeConfig, seed: int = 0, weight_mode: str = "single"):
    mod = official()
    ocfg = mod.xLSTMLargeConfig(**{**cfg.to_official_dict(), "weight_mode": weight_mode})
    torch.manual_seed(seed)
    model = mod.xLSTMLarge(ocfg).eval()
    perturb(model, seed)
    return model


def write_official(model, directory, shards: int = 1) -> None:
    """An official-layout checkpoint written with safetensors and PyYAML only (not with our writer)."""
    yaml = pytest.importorskip("yaml")
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(model.config)))
    items = [(k, v.contiguous()) for k, v in model.state_dict().items()]
    if shards == 1:
        save_file(dict(items), str(directory / "model.safetensors"))
        return
    per = -(-len(items) // shards)
    for k in range(shards):
        save_file(dict(items[k * per : (k + 1) * per]), str(directory / f"model_{k}.safetensors"))


def official_run(model, ids, state=None):
    """Logits and a cloned state (the official stack overwrites a state passed in, in place)."""
    with torch.no_grad():
        logits, new_state = model(ids, state)
    return logits, {i: tuple(t.clone() for t in s) for i, s in new_state.items()}


def assert_states_close(ours, theirs, atol=ATOL):
    assert len(ours) == len(theirs)
    for i, s in enumerate(ours):
        ref = theirs[i]
        for name, a, b in zip("cnm", s, ref):
            assert a.shape == b.shape, (i, name, a.shape, b.shape)
            torch.testing.assert_close(a, b.to(a.dtype), rtol=0, atol=atol)


# ---- official package ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("weight_mode", ["single", "fused"])
@pytest.mark.parametrize("shards", [1, 3])
def test_official_layout_matches_official_model(tmp_path, weight_mode, shards):
    cfg = tiny()
    ref = official_model(cfg, seed=1)
    write_official(ref, tmp_path / "ckpt", shards=shards)
    assert detect_layout(tmp_path / "ckpt") == "official"
    ours = xLSTMLargeForCausalLM.from_pretrained(tmp_path / "ckpt", weight_mode=weight_mode)
    assert ours.config.weight_mode == weight_mode
    g = torch.Generator().manual_seed(0)
    for S in LENGTHS:
        ids = torch.randint(0, cfg.vocab_size, (2, S), generator=g)
        ref_logits, ref_state = official_run(ref, ids)
        with torch.no_grad():
            logits, state = ours(ids, return_state=True)
        torch.testing.assert_close(logits, ref_logits, rtol=0, atol=ATOL)
        assert_states_close(state, ref_state)


def test_official_fused_checkpoint_matches_official_fused_model(tmp_path):
    mod = official()
    from xlstm.xlstm_large.utils import convert_single_weights_to_fused_weights

    cfg = tiny()
    single = official_model(cfg, seed=2)
    fused = official_model(cfg, seed=2, weight_mode="fused")
    fused.load_state_dict(convert_single_weights_to_fused_weights(dict(single.state_dict())))
    assert isinstance(fused, mod.xLSTMLarge)
    write_official(fused, tmp_path / "ckpt")
    for mode in ("fused", "single"):
        ours = load_large_checkpoint(tmp_path / "ckpt", weight_mode=mode)
        ids = torch.randint(0, cfg.vocab_size, (1, 65), generator=torch.Generator().manual_seed(3))
        ref_logits, ref_state = official_run(fused, ids)
        with torch.no_grad():
            logits, state = ours(ids, return_state=True)
        torch.testing.assert_close(logits, ref_logits, rtol=0, atol=ATOL)
        assert_states_close(state, ref_state)


@pytest.mark.parametrize(
    "kw",
    [
        {"use_bias": True},
        {"add_out_norm": False},
        {"qk_dim_factor": 0.75, "v_dim_factor": 0.5, "num_heads": 4},
    ],
    ids=["bias", "no-out-norm", "dims-48-32"],
)
def test_official_variants(tmp_path, kw):
    cfg = tiny(**kw)
    ref = official_model(cfg, seed=11)
    write_official(ref, tmp_path / "ckpt")
    ours = xLSTMLargeForCausalLM.from_pretrained(tmp_path / "ckpt")
    assert ours.config == cfg
    ids = torch.randint(0, cfg.vocab_size, (2, 33), generator=torch.Generator().manual_seed(12))
    ref_logits, ref_state = official_run(ref, ids)
    with torch.no_grad():
        logits, state = ours(ids, return_state=True)
    torch.testing.assert_close(logits, ref_logits, rtol=0, atol=ATOL)
    assert_states_close(state, ref_state)


def test_gradients_match_official_train_mode(tmp_path):
    """Training: the official model in "train" mode (chunkwise--native_autograd, S a multiple of the chunk)
    and ours give the same parameter gradients."""
    mod = official()
    cfg = tiny()
    ref = official_model(cfg, seed=13)
    write_official(ref, tmp_path / "ckpt")
    ours = xLSTMLargeForCausalLM.from_pretrained(tmp_path / "ckpt").train()
    train_cfg = mod.xLSTMLargeConfig(
        **{**cfg.to_official_dict(), "mode": "train", "return_last_states": True}
    )
    ref_train = mod.xLSTMLarge(train_cfg)
    ref_train.load_state_dict(ref.state_dict())
    ids = torch.randint(0, cfg.vocab_size, (2, 32), generator=torch.Generator().manual_seed(14))
    weights = torch.randn(2, 32, cfg.vocab_size, generator=torch.Generator().manual_seed(15))
    (ref_train(ids)[0] * weights).sum().backward()
    (ours(ids) * weights).sum().backward()
    ref_grads = dict(ref_train.named_parameters())
    for name, p in ours.named_parameters():
        ref_name = "embedding.weight" if name == "backbone.embeddings.weight" else name
        ref_grad = ref_grads[ref_name].grad
        assert p.grad is not None and ref_grad is not None, name
        scale = ref_grad.abs().max().item()
        torch.testing.assert_close(p.grad, ref_grad, rtol=0, atol=1e-4 * max(1.0, scale), msg=name)


@pytest.mark.parametrize("weight_mode", ["single", "fused"])
def test_prefill_and_steps_match_official(tmp_path, weight_mode):
    cfg = tiny(weight_mode=weight_mode)
    ref = official_model(cfg, seed=4)
    write_official(ref, tmp_path / "ckpt")
    ours = xLSTMLargeForCausalLM.from_pretrained(tmp_path / "ckpt", weight_mode=weight_mode)
    ids = torch.randint(0, cfg.vocab_size, (2, 24), generator=torch.Generator().manual_seed(5))
    ref_logits, ref_state = official_run(ref, ids[:, :20])
    with torch.no_grad():
        last, state = ours.prefill(ids[:, :20])
    torch.testing.assert_close(last, ref_logits[:, -1], rtol=0, atol=ATOL)
    for t in range(20, 24):
        ref_logits, ref_state = official_run(ref, ids[:, t : t + 1], ref_state)
        with torch.no_grad():
            step_logits, state = ours.step(ids[:, t], state)
        torch.testing.assert_close(step_logits, ref_logits[:, 0], rtol=0, atol=ATOL)
        assert_states_close(state, ref_state)
    # and the whole sequence in one forward agrees with prefill + steps
    with torch.no_grad():
        full, full_state = ours(ids, return_state=True)
    torch.testing.assert_close(step_logits, full[:, -1], rtol=0, atol=ATOL)
    assert_states_close(state, full_state)


def test_state_passed_in_is_not_modified():
    torch.manual_seed(0)
    model = xLSTMLargeForCausalLM(tiny()).eval()
    perturb(model, 0)
    ids = torch.randint(0, 100, (1, 9))
    with torch.no_grad():
        _, state = model(ids, return_state=True)
        before = [tuple(t.clone() for t in s) for s in state]
        model(ids, state=state, return_state=True)
        model.step(ids[:, 0], state)
    for s, b in zip(state, before):
        for x, y in zip(s, b):
            assert torch.equal(x, y)


# ---- Hugging Face transformers ------------------------------------------------------------------------------
def hf_model(cfg: xLSTMLargeConfig, seed: int):
    transformers = pytest.importorskip("transformers", reason="transformers (test oracle) is not installed")
    if not hasattr(transformers, "xLSTMForCausalLM"):
        pytest.skip(f"transformers {transformers.__version__} has no xLSTMForCausalLM")
    hf_cfg = transformers.xLSTMConfig(**{k: v for k, v in cfg.to_hf_dict().items() if k != "architectures"})
    torch.manual_seed(seed)
    model = transformers.xLSTMForCausalLM(hf_cfg).eval()
    perturb(model, seed)
    return model


@pytest.mark.parametrize("sharded", [False, True])
def test_huggingface_layout_matches_transformers(tmp_path, sharded):
    # widths that are multiples of 64 so that transformers' cache (rounded to 64) fits its layers
    cfg = tiny(hidden_size=128, num_heads=2)
    ref = hf_model(cfg, seed=6)
    ref.save_pretrained(tmp_path / "ckpt", max_shard_size="100KB" if sharded else "1GB")
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert ("model.safetensors.index.json" in files) == sharded, files
    assert detect_layout(tmp_path / "ckpt") == "huggingface"
    ours = xLSTMLargeForCausalLM.from_pretrained(tmp_path / "ckpt")
    g = torch.Generator().manual_seed(7)
    for S in LENGTHS:
        ids = torch.randint(0, cfg.vocab_size, (2, S), generator=g)
        with torch.no_grad():
            out = ref(ids, use_cache=True)
            logits, state = ours(ids, return_state=True)
        torch.testing.assert_close(logits, out.logits, rtol=0, atol=ATOL)
        assert_states_close(state, out.cache.rnn_state)
    # prefill + steps with transformers' cache
    ids = torch.randint(0, cfg.vocab_size, (1, 12), generator=g)
    with torch.no_grad():
        out = ref(ids[:, :9], use_cache=True)
        last, state = ours.prefill(ids[:, :9])
        torch.testing.assert_close(last, out.logits[:, -1], rtol=0, atol=ATOL)
        for t in range(9, 12):
            out = ref(ids[:, t : t + 1], cache=out.cache, use_cache=True)
            step_logits, state = ours.step(ids[:, t], state)
            torch.testing.assert_close(step_logits, out.logits[:, -1], rtol=0, atol=ATOL)
    assert_states_close(state, out.cache.rnn_state)


def test_greedy_tokens_match_transformers_generate(tmp_path):
    """transformers' own greedy generate (it works when the widths are multiples of 64) against a greedy loop
    over our prefill/step protocol."""
    cfg = tiny(hidden_size=128)
    ref = hf_model(cfg, seed=9)
    ref.save_pretrained(tmp_path / "ckpt")
    ours = xLSTMLargeForCausalLM.from_pretrained(tmp_path / "ckpt")
    ids = torch.randint(0, cfg.vocab_size, (2, 5), generator=torch.Generator().manual_seed(10))
    with torch.no_grad():
        expected = ref.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=cfg.pad_token_id)[:, 5:]
        logits, state = ours.prefill(ids)
        tokens = []
        for _ in range(6):
            tokens.append(logits.argmax(-1))
            logits, state = ours.step(tokens[-1], state)
    assert torch.equal(torch.stack(tokens, 1), expected)


def test_transformers_cache_bug_does_not_apply_to_us(tmp_path):
    """transformers sizes its cache with qk_dim rounded up to 64 while its layers use int(E * factor): with
    qk_dim = 32 its cached forward (and so its generate) fails.  Ours uses the layers' width everywhere."""
    cfg = tiny()  # qk_dim 32
    ref = hf_model(cfg, seed=8)
    ids = torch.randint(0, cfg.vocab_size, (1, 7))
    with pytest.raises(RuntimeError):
        ref(ids, use_cache=True)
    ref.save_pretrained(tmp_path / "ckpt")
    ours = xLSTMLargeForCausalLM.from_pretrained(tmp_path / "ckpt")
    with torch.no_grad():
        logits, state = ours(ids, return_state=True)
        torch.testing.assert_close(logits, ref(ids, use_cache=False).logits, rtol=0, atol=ATOL)
    assert state[0].c.shape == (1, 2, 16, 32)


# ---- our own writer, config conversions, conveniences -------------------------------------------------------
@pytest.mark.parametrize("layout", ["huggingface", "official"])
@pytest.mark.parametrize("weight_mode", ["single", "fused"])
def test_save_load_round_trip(tmp_path, layout, weight_mode):
    cfg = tiny(weight_mode=weight_mode, tie_word_embeddings=(layout == "huggingface"))
    torch.manual_seed(0)
    model = xLSTMLargeForCausalLM(cfg).eval()
    perturb(model, 0)
    out = model.save_pretrained(tmp_path / "m", layout=layout, max_shard_size="50KB")
    assert detect_layout(out) == layout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind
    loaded = xLSTMLargeForCausalLM.from_pretrained(out, dtype=torch.float64)
    assert loaded.config == dataclasses.replace(
        cfg, tie_word_embeddings=cfg.tie_word_embeddings and layout == "huggingface"
    )
    assert all(p.dtype == torch.float64 for p in loaded.parameters())
    ids = torch.randint(0, 100, (2, 7))
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).float(), model(ids), rtol=0, atol=ATOL)
    model.save_pretrained(out, layout=layout)  # overwriting an existing directory
    assert detect_layout(out) == layout


def test_official_model_loads_our_official_checkpoint(tmp_path):
    mod = official()
    from xlstm.xlstm_large.from_pretrained import load_from_pretrained

    torch.manual_seed(0)
    model = xLSTMLargeForCausalLM(tiny()).eval()
    perturb(model, 0)
    model.save_pretrained(tmp_path / "m", layout="official", max_shard_size="40KB")
    ref = load_from_pretrained(tmp_path / "m")
    assert isinstance(ref, mod.xLSTMLarge)
    ids = torch.randint(0, 100, (2, 7))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), ref(ids)[0], rtol=0, atol=ATOL)


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match=r"expected config.json .* or config.yaml"):
        detect_layout(tmp_path)
    torch.manual_seed(0)
    model = xLSTMLargeForCausalLM(tiny())
    d = model.save_pretrained(tmp_path / "m")
    with pytest.raises(
        CheckpointError,
        match=r"shape mismatch .*mlstm_layer\.[qk]\.weight.*expects \(64, 64\), the checkpoint has \(32, 64\)",
    ):
        load_large_checkpoint(d, qk_dim_factor=1.0)
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(d / "model.safetensors"))
    del tensors["lm_head.weight"]
    tensors["backbone.extra.weight"] = torch.zeros(1)
    save_file(tensors, str(d / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"unexpected checkpoint key 'backbone\.extra\.weight'"):
        load_large_checkpoint(d)
    del tensors["backbone.extra.weight"]
    save_file(tensors, str(d / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"lacks 1 key.*lm_head.weight"):
        load_large_checkpoint(d)
    with pytest.raises(CheckpointError, match="unknown layout 'onnx'"):
        model.save_pretrained(tmp_path / "x", layout="onnx")


def test_hub_id_offline_or_missing_dependency(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"xlstm-ts\[large\]"):
            load_large_checkpoint("NX-AI/xLSTM-7b")
        return
    with pytest.raises(OSError, match=r"(?s)could not fetch 'NX-AI/xLSTM-7b'.*offline"):
        load_large_checkpoint("NX-AI/xLSTM-7b")
    with pytest.raises(FileNotFoundError, match="neither a checkpoint directory"):
        load_large_checkpoint("/no/such/dir/at/all")


def test_config_conversions():
    cfg = tiny(tie_word_embeddings=True, use_bias=True)
    assert xLSTMLargeConfig.from_hf_dict(json.loads(json.dumps(cfg.to_hf_dict()))) == cfg
    off = cfg.to_official_dict()
    assert off["embedding_dim"] == 64 and off["num_blocks"] == 2 and "hidden_size" not in off
    assert xLSTMLargeConfig.from_official_dict(off) == dataclasses.replace(cfg, tie_word_embeddings=False)
    mod = pytest.importorskip("xlstm.xlstm_large.model")
    assert xLSTMLargeConfig.from_official_dict(mod.xLSTMLargeConfig(**off)).hidden_size == 64
    assert (
        xLSTMLargeConfig.from_hf_dict(
            {"embedding_dim": 96, "num_blocks": 3, "num_heads": 3}
        ).num_hidden_layers
        == 3
    )
    with pytest.raises(TypeError, match="Unknown field"):
        xLSTMLargeConfig.from_official_dict({**off, "bogus": 1})
    with pytest.raises(ValueError, match=r"qk_dim .* multiple of num_heads=3"):
        xLSTMLargeConfig(hidden_size=64, num_heads=3)
    with pytest.raises(ValueError, match="weight_mode must be"):
        xLSTMLargeConfig(weight_mode="packed")


@pytest.mark.parametrize(
    "kw", [{}, {"use_bias": True}, {"tie_word_embeddings": True}, {"add_out_norm": False}]
)
@pytest.mark.parametrize("weight_mode", ["single", "fused"])
def test_num_parameters_and_state_size(kw, weight_mode):
    cfg = tiny(weight_mode=weight_mode, **kw)
    model = xLSTMLargeForCausalLM(cfg)
    assert cfg.num_parameters() == sum(p.numel() for p in model.parameters())
    ids = torch.randint(0, 100, (3, 5))
    with torch.no_grad():
        _, state = model(ids, return_state=True)
    real = sum(t.numel() * t.element_size() for s in state for t in s)
    assert cfg.state_size_bytes(3) == real
    assert cfg.state_size_bytes(3, torch.bfloat16) == real // 2


def test_presets():
    seven = xLSTMLargeConfig.preset("7b")
    assert (seven.hidden_size, seven.num_hidden_layers, seven.num_heads, seven.vocab_size) == (
        4096,
        32,
        8,
        50304,
    )
    assert seven.num_parameters() == 6_865_424_896  # xlstm_spec.md §5.3, 201,666,576 per block
    assert seven.state_size_bytes(1) == 33_620_224 * 4
    hf = pytest.importorskip("transformers").xLSTMConfig()  # transformers' defaults are the 7B
    assert (hf.hidden_size, hf.num_hidden_layers, hf.num_heads, hf.vocab_size) == (4096, 32, 8, 50304)
    for name in ("tiny", "small"):
        xLSTMLargeConfig.preset(name)
    with pytest.raises(ValueError, match="Unknown xLSTMLargeConfig preset"):
        xLSTMLargeConfig.preset("70b")
    assert [recommended_chunk_size(s) for s in (1, 16, 17, 64, 4096)] == [16, 16, 32, 64, 64]


@pytest.mark.parametrize("name", ["mlstm", "slstm", "alternating"])
def test_small_lm_presets_and_parameter_count(name):
    from xlstm_ts.nn import count_parameters, lm_preset, xLSTMLMModel

    cfg = lm_preset(name, vocab_size=100, num_blocks=4, embedding_dim=64)
    expected_map = {"mlstm": [0, 0, 0, 0], "slstm": [1, 1, 1, 1], "alternating": [0, 1, 0, 1]}[name]
    assert cfg.block_map == expected_map
    assert count_parameters(cfg) == sum(p.numel() for p in xLSTMLMModel(cfg).parameters())
    assert count_parameters(tiny()) == tiny().num_parameters()
    with pytest.raises(ValueError, match="Unknown lm_preset"):
        lm_preset("hybrid", vocab_size=10)


@pytest.mark.gpu
def test_triton_path_matches_native_on_gpu(tmp_path):
    """On CUDA, backend "auto" runs the Triton chunkwise and step kernels; they must agree with the native
    kernels (float32; tolerance: the kernels' GPU float32 bound, relative norm error 5e-5, on logits and states).
    Not run on the CPU-only CI machine of this change."""
    cfg = tiny(hidden_size=128, num_heads=2)
    ref = official_model(cfg, seed=16)
    write_official(ref, tmp_path / "ckpt")
    native = load_large_checkpoint(tmp_path / "ckpt", device="cuda", backend="native")
    auto = load_large_checkpoint(tmp_path / "ckpt", device="cuda", backend="auto")
    ids = torch.randint(0, cfg.vocab_size, (2, 70), generator=torch.Generator().manual_seed(17)).cuda()

    def rel(a, b):
        return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()

    with torch.no_grad():
        la, sa = auto.prefill(ids[:, :65])
        ln, sn = native.prefill(ids[:, :65])
        assert rel(la, ln) < 5e-5
        for t in range(65, 70):
            la, sa = auto.step(ids[:, t], sa)
            ln, sn = native.step(ids[:, t], sn)
            assert rel(la, ln) < 5e-5
    for s, r in zip(sa, sn):
        for x, y in zip(s, r):
            assert rel(x, y) < 5e-5


def test_generate_runs_the_shared_loop_over_prefill_and_step():
    """``xLSTMLargeForCausalLM.generate`` is the shared loop: greedy tokens equal an argmax loop over
    ``prefill``/``step``, and each row of a left-padded batch equals its own unpadded run."""
    from xlstm_ts.nn import xLSTMLargeConfig, xLSTMLargeForCausalLM

    torch.manual_seed(0)
    model = xLSTMLargeForCausalLM(xLSTMLargeConfig.preset("tiny")).eval()
    prompt = torch.randint(3, 100, (1, 6))
    out = model.generate(prompt, max_new_tokens=5, eos_token_id=None)
    with torch.no_grad():
        logits, state = model.prefill(prompt)
        tokens = []
        for _ in range(5):
            nxt = logits.argmax(-1)
            tokens.append(nxt)
            logits, state = model.step(nxt, state)
    assert torch.equal(out[:, 6:], torch.stack(tokens, dim=1))

    short = torch.randint(3, 100, (1, 3))
    batch = torch.cat([torch.cat([torch.full((1, 3), 7), short], dim=1), prompt], dim=0)
    mask = torch.tensor([[0, 0, 0, 1, 1, 1], [1] * 6])
    both = model.generate(batch, max_new_tokens=4, attention_mask=mask, eos_token_id=None, pad_token_id=0)
    alone = model.generate(short, max_new_tokens=4, eos_token_id=None)
    assert torch.equal(both[0, 6:], alone[0, 3:])
    assert torch.equal(both[1, 6:], out[0, 6:10])
