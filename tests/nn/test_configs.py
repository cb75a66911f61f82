"""Config dataclasses: reference defaults, propagation, dict/YAML round trips, errors."""

from __future__ import annotations

import pytest

from xlstm_ts.nn import (
    FeedForwardConfig,
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMBlockStackConfig,
    xLSTMLMModelConfig,
)


def test_reference_defaults():
    m = mLSTMLayerConfig()
    assert (m.conv1d_kernel_size, m.qkv_proj_blocksize, m.num_heads, m.proj_factor) == (4, 4, 4, 2.0)
    assert (m.round_proj_up_dim_up, m.round_proj_up_to_multiple_of, m.bias, m.dropout) == (
        True,
        64,
        False,
        0.0,
    )
    s = sLSTMLayerConfig()
    assert (s.num_heads, s.conv1d_kernel_size, s.group_norm_weight, s.bias_init, s.recurrent_weight_init) == (
        4,
        4,
        True,
        "powerlaw_blockdependent",
        "zeros",
    )
    f = FeedForwardConfig()
    assert (f.proj_factor, f.act_fn, f.bias, f.ff_type) == (1.3, "gelu", False, "ffn_gated")
    st = xLSTMBlockStackConfig(mlstm_block=mLSTMBlockConfig())
    assert (st.context_length, st.num_blocks, st.embedding_dim, st.add_post_blocks_norm) == (-1, 1, 128, True)
    assert st.slstm_at == [] and st.dropout == 0.0 and st.bias is False


def test_propagation_and_rounding():
    cfg = xLSTMBlockStackConfig(
        mlstm_block=mLSTMBlockConfig(),
        slstm_block=sLSTMBlockConfig(),
        num_blocks=4,
        embedding_dim=100,
        slstm_at=[0, 3],
        dropout=0.1,
    )
    assert cfg.block_map == [1, 0, 0, 1]
    assert cfg.mlstm_block.mlstm._inner_embedding_dim == 256  # ceil(2 * 100 / 64) * 64
    assert cfg.slstm_block.feedforward._proj_up_dim == 192  # ceil(1.3 * 100 / 64) * 64
    assert cfg.slstm_block.slstm.dropout == 0.1 and cfg.mlstm_block.mlstm.dropout == 0.1
    assert cfg.block_config(3).slstm._block_idx == 3
    only_slstm = xLSTMBlockStackConfig(slstm_block=sLSTMBlockConfig(), num_blocks=2)
    assert only_slstm.slstm_at == [0, 1]


@pytest.mark.parametrize(
    "cls,kw",
    [
        (
            xLSTMBlockStackConfig,
            dict(
                mlstm_block=mLSTMBlockConfig(),
                slstm_block=sLSTMBlockConfig(),
                num_blocks=3,
                slstm_at=[1],
                embedding_dim=64,
            ),
        ),
        (
            xLSTMLMModelConfig,
            dict(mlstm_block=mLSTMBlockConfig(), num_blocks=2, vocab_size=100, tie_weights=True),
        ),
        (xLSTMBlockStackConfig, dict(slstm_block=sLSTMBlockConfig(feedforward=None), num_blocks=2)),
    ],
)
def test_dict_round_trip(cls, kw):
    cfg = cls(**kw)
    assert cls.from_dict(cfg.to_dict()) == cfg
    assert all(not k.startswith("_") for k in cfg.to_dict())


def test_yaml_like_the_reference_readme():
    yaml = pytest.importorskip("yaml")
    text = """
    mlstm_block:
      mlstm:
        conv1d_kernel_size: 4
        qkv_proj_blocksize: 4
        num_heads: 4
    slstm_block:
      slstm:
        backend: cuda
        num_heads: 4
        conv1d_kernel_size: 4
        bias_init: powerlaw_blockdependent
      feedforward:
        proj_factor: 1.3
        act_fn: gelu
    context_length: 256
    num_blocks: 7
    embedding_dim: 128
    slstm_at: [1]
    """
    cfg = xLSTMBlockStackConfig.from_dict(yaml.safe_load(text))
    assert cfg.block_map == [0, 1, 0, 0, 0, 0, 0]
    assert cfg.slstm_block.feedforward.act_fn == "gelu"


def test_errors_are_clear():
    with pytest.raises(TypeError, match=r"Unknown field\(s\) \['num_layers'\]"):
        xLSTMBlockStackConfig.from_dict({"mlstm_block": {}, "num_layers": 3})
    with pytest.raises(ValueError, match=r"slstm_at positions \[5\] are outside"):
        xLSTMBlockStackConfig(
            mlstm_block=mLSTMBlockConfig(), slstm_block=sLSTMBlockConfig(), num_blocks=2, slstm_at=[5]
        )
    with pytest.raises(ValueError, match="slstm_block is None"):
        xLSTMBlockStackConfig(mlstm_block=mLSTMBlockConfig(), slstm_at=[0])
    with pytest.raises(ValueError, match="neither"):
        xLSTMBlockStackConfig()
    with pytest.raises(ValueError, match="Unknown act_fn"):
        FeedForwardConfig(act_fn="tanhh")
    with pytest.raises(NotImplementedError, match="forward_clipval"):
        sLSTMLayerConfig(forward_clipval=1.0)


# --------------------------------------------------------------------------------- configs never mutate inputs
def test_one_block_config_serves_two_stacks():
    """Reusing one block config for two stacks must leave the caller's object and the first stack intact."""
    import torch

    from xlstm_ts.nn import xLSTMBlockStack

    mlstm = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=2))
    slstm = sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=2), feedforward=FeedForwardConfig())
    mlstm_before, slstm_before = (
        mLSTMBlockConfig.from_dict(mlstm.to_dict()),
        sLSTMBlockConfig.from_dict(slstm.to_dict()),
    )
    assert mlstm == mlstm_before and slstm == slstm_before

    first = xLSTMBlockStackConfig(
        mlstm_block=mlstm, slstm_block=slstm, num_blocks=2, slstm_at=[1], embedding_dim=32, context_length=16
    )
    first_dict = first.to_dict()
    first_inner = first.mlstm_block.mlstm._inner_embedding_dim
    second = xLSTMBlockStackConfig(
        mlstm_block=mlstm,
        slstm_block=slstm,
        num_blocks=3,
        slstm_at=[0],
        embedding_dim=64,
        context_length=48,
        dropout=0.1,
    )

    # The caller's objects are unchanged (no embedding_dim, dropout or block count written into them) ...
    assert mlstm == mlstm_before and slstm == slstm_before
    assert mlstm.mlstm.embedding_dim == -1 and slstm.slstm.embedding_dim == -1
    assert slstm.feedforward.embedding_dim == -1 and slstm.feedforward._proj_up_dim is None
    # ... the first stack still has its own sizes ...
    assert first.to_dict() == first_dict
    assert first.mlstm_block is not second.mlstm_block and first.slstm_block is not second.slstm_block
    assert (first.mlstm_block.mlstm.embedding_dim, first.mlstm_block.mlstm.context_length) == (32, 16)
    assert first.mlstm_block.mlstm._inner_embedding_dim == first_inner == 64
    assert first.slstm_block.slstm.embedding_dim == 32 and first.slstm_block.feedforward.embedding_dim == 32
    assert first.mlstm_block._num_blocks == 2 and first.slstm_block.slstm.dropout == 0.0
    # ... and the second has its own.
    assert (second.mlstm_block.mlstm.embedding_dim, second.mlstm_block.mlstm.context_length) == (64, 48)
    assert second.mlstm_block.mlstm._inner_embedding_dim == 128
    assert second.slstm_block.feedforward._proj_up_dim == 128  # ceil(1.3 * 64 / 64) * 64
    assert second.mlstm_block._num_blocks == 3 and second.slstm_block.slstm.dropout == 0.1

    # Both stacks build and run at their own widths.
    for cfg, width, blocks in ((first, 32, 2), (second, 64, 3)):
        stack = xLSTMBlockStack(cfg)
        assert len(stack.blocks) == blocks
        assert stack(torch.randn(2, 5, width)).shape == (2, 5, width)


def test_block_configs_do_not_mutate_their_layer_configs():
    layer = mLSTMLayerConfig(num_heads=2)
    block = mLSTMBlockConfig(mlstm=layer, _num_blocks=5)
    assert block.mlstm._num_blocks == 5 and layer._num_blocks == 1 and block.mlstm is not layer

    slstm_layer = sLSTMLayerConfig(num_heads=2, embedding_dim=32)
    ff = FeedForwardConfig()
    sblock = sLSTMBlockConfig(slstm=slstm_layer, feedforward=ff, _num_blocks=3, _block_idx=2)
    assert (sblock.slstm._block_idx, sblock.slstm._num_blocks) == (2, 3)
    assert (slstm_layer._block_idx, slstm_layer._num_blocks) == (0, 1)
    assert sblock.feedforward.embedding_dim == 32 and sblock.feedforward._num_blocks == 3
    assert (ff.embedding_dim, ff._num_blocks, ff._proj_up_dim) == (-1, 1, None)

    stack = xLSTMBlockStackConfig(mlstm_block=block, slstm_block=sblock, num_blocks=4, slstm_at=[3])
    copy3 = stack.block_config(3)
    assert copy3.slstm._block_idx == 3 and stack.slstm_block.slstm._block_idx == 2


# ---------------------------------------------------------------------------------------- backend validation
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda b: mLSTMLayerConfig(backend=b), id="mLSTMLayerConfig"),
        pytest.param(lambda b: sLSTMLayerConfig(backend=b), id="sLSTMLayerConfig"),
        pytest.param(lambda b: mLSTMBlockConfig(mlstm=mLSTMLayerConfig(backend=b)), id="mLSTMBlockConfig"),
        pytest.param(
            lambda b: xLSTMBlockStackConfig.from_dict({"slstm_block": {"slstm": {"backend": b}}}),
            id="from_dict",
        ),
    ],
)
def test_unknown_backend_fails_at_construction(make):
    with pytest.raises(ValueError, match=r"Unknown \w+ backend 'trtion'; expected one of \[.*'native'.*\]"):
        make("trtion")


@pytest.mark.parametrize("cell", ["mlstm", "slstm"])
def test_valid_backends_come_from_the_registry(cell):
    from xlstm_ts.kernels import available_kernels
    from xlstm_ts.nn.configs import LAYER_KERNEL_FORMS, valid_backends

    valid = valid_backends(cell)
    assert {"auto", "native", "cuda", "vanilla"} <= set(valid)
    for backend in set(valid) - {"auto", "cuda", "vanilla"}:  # every listed kernel backend has all forms
        for form in LAYER_KERNEL_FORMS[cell]:
            assert f"{form}--{backend}" in available_kernels(cell)
    assert "naive" not in valid  # only the recurrent/parallel oracles exist as naive kernels
    make = mLSTMLayerConfig if cell == "mlstm" else sLSTMLayerConfig
    for backend in valid:
        assert make(backend=backend).backend == backend
    with pytest.raises(ValueError, match=r"expected one of " + r"\[" + ", ".join(repr(b) for b in valid)):
        make(backend="naive")
