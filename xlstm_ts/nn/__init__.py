"""The xLSTM backbone: configs, layers, blocks, ``xLSTMBlockStack`` and ``xLSTMLMModel``, text generation
(:mod:`xlstm_ts.nn.generation`) and ``save_pretrained``/``from_pretrained`` (:mod:`xlstm_ts.nn.pretrained`)."""

from .block_stack import xLSTMBlockStack
from .blocks import mLSTMBlock, sLSTMBlock, xLSTMBlock
from .checkpoints import convert_reference_state_dict, load_reference_state_dict, to_reference_state_dict
from .components import CausalConv1d, GatedFeedForward, LayerNorm, LinearHeadwiseExpand, MultiHeadLayerNorm
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
from .lm_model import xLSTMLMModel
from .mlstm import mLSTMCell, mLSTMLayer
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
]
