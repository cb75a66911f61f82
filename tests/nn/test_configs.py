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
