"""Pretrained parts of the FlexibleWorldModel, each usable on its own.

VisionEncoderWrapper (frames -> features), LLMBackboneWrapper (embeddings -> hidden states,
block-causal over timesteps), VideoDecoderWrapper (features -> frames), LayerOutputCollector
(forward hooks on chosen layers) and LayerManipulator (the extension point fed by the hooks).
"""

from wm.core.models.backbones.collector import LayerOutputCollector
from wm.core.models.backbones.llm import LLMBackboneWrapper, block_causal_mask
from wm.core.models.backbones.manipulator import LayerManipulator, LinearProbeAlignment
from wm.core.models.backbones.video_decoder import ConvFrameDecoder, VideoDecoderWrapper
from wm.core.models.backbones.vision import VisionEncoderWrapper

__all__ = [
    "ConvFrameDecoder",
    "LLMBackboneWrapper",
    "LayerManipulator",
    "LayerOutputCollector",
    "LinearProbeAlignment",
    "VideoDecoderWrapper",
    "VisionEncoderWrapper",
    "block_causal_mask",
]
