"""The xLSTM backbone: configs, layers, blocks, ``xLSTMBlockStack`` and ``xLSTMLMModel``, text generation
(:mod:`xlstm_ts.nn.generation`) and ``save_pretrained``/``from_pretrained`` (:mod:`xlstm_ts.nn.pretrained`)."""

from .block_stack import xLSTMBlockStack
from .blocks import mLSTMBlock, sLSTMBlock, xLSTMBlock
from .checkpoints import convert_reference_state_dict, load_reference_state_dict, to_reference_state_dict
from .components import (
    CausalConv1d,
    GatedFeedForward,
    HeadwiseLayerNorm,
    LayerNorm,
    LinearHeadwiseExpand,
    MultiHeadLayerNorm,
    RMSNorm,
    soft_cap,
)
from .configs import (
    FeedForwardConfig,
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMBlockStackConfig,
    xLSTMLMModelConfig,
)
from .generation import GenerationModel, generate
from .large import SwiGLUFeedForward, mLSTMLargeBlock, mLSTMLargeLayer, xLSTMLargeForCausalLM, xLSTMLargeModel
from .large_checkpoints import CheckpointError, detect_layout, load_large_checkpoint, save_large_checkpoint
from .large_config import recommended_chunk_size, xLSTMLargeConfig
from .lm_model import xLSTMLMModel
from .mlstm import mLSTMCell, mLSTMLayer
from .presets import count_parameters, lm_preset
from .pretrained import PretrainedFileError, PretrainedMixin
from .slstm import sLSTMCell, sLSTMLayer

__all__ = [
    "CausalConv1d",
    "FeedForwardConfig",
    "GatedFeedForward",
    "GenerationModel",
    "LayerNorm",
    "LinearHeadwiseExpand",
    "MultiHeadLayerNorm",
    "PretrainedFileError",
    "PretrainedMixin",
    "convert_reference_state_dict",
    "generate",
    "load_reference_state_dict",
    "mLSTMBlock",
    "mLSTMBlockConfig",
    "mLSTMCell",
    "mLSTMLayer",
    "mLSTMLayerConfig",
    "sLSTMBlock",
    "sLSTMBlockConfig",
    "sLSTMCell",
    "sLSTMLayer",
    "sLSTMLayerConfig",
    "to_reference_state_dict",
    "xLSTMBlock",
    "xLSTMBlockStack",
    "xLSTMBlockStackConfig",
    "xLSTMLMModel",
    "xLSTMLMModelConfig",
    # xLSTM Large (the 7B architecture)
    "CheckpointError",
    "count_parameters",
    "lm_preset",
    "HeadwiseLayerNorm",
    "RMSNorm",
    "SwiGLUFeedForward",
    "detect_layout",
    "load_large_checkpoint",
    "mLSTMLargeBlock",
    "mLSTMLargeLayer",
    "recommended_chunk_size",
    "save_large_checkpoint",
    "soft_cap",
    "xLSTMLargeConfig",
    "xLSTMLargeForCausalLM",
    "xLSTMLargeModel",
]
