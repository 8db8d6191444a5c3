"""Tiny pretrained-style models saved with ``save_pretrained`` once per session, loaded back by path.

Loading by folder goes through the same ``from_pretrained`` path a Hub id takes. The CLIP folder
holds a full CLIPModel (text tower too) and an image processor, like the real Hub repos.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import transformers
from transformers import (
    CLIPConfig,
    CLIPModel,
    Dinov2Config,
    Dinov2Model,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    SiglipVisionConfig,
    SiglipVisionModel,
)

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

SPEC = DataSpec(channels=3, height=16, width=16, num_actions=4, action_names=("NOOP", "UP", "LEFT", "RIGHT"))
VISION = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=3, num_attention_heads=2, image_size=16, patch_size=8)
TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=16)


def _save(model: torch.nn.Module, folder: Path) -> str:
    torch.manual_seed(0)
    model.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def hf_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """name -> folder of a tiny saved model: clip, dinov2, siglip (vision); llama, mistral (backbones)."""
    root = tmp_path_factory.mktemp("hf")
    torch.manual_seed(0)
    clip = CLIPConfig(vision_config=VISION, text_config={**VISION, "vocab_size": 16, "max_position_embeddings": 8})
    folders = {
        "clip": _save(CLIPModel(clip), root / "clip"),
        "dinov2": _save(Dinov2Model(Dinov2Config(**VISION)), root / "dinov2"),
        "siglip": _save(SiglipVisionModel(SiglipVisionConfig(**VISION)), root / "siglip"),
        "llama": _save(LlamaForCausalLM(LlamaConfig(**TEXT)), root / "llama"),
        "mistral": _save(MistralForCausalLM(MistralConfig(**TEXT, sliding_window=64)), root / "mistral"),
    }
    processor = {  # what CLIPImageProcessor.save_pretrained writes, as Hub CLIP repos ship it
        "image_processor_type": "CLIPImageProcessor",
        "size": {"shortest_edge": 16},
        "crop_size": {"height": 16, "width": 16},
        "do_center_crop": True,
        "image_mean": [0.5, 0.4, 0.3],
        "image_std": [0.2, 0.25, 0.3],
    }
    (root / "clip" / "preprocessor_config.json").write_text(json.dumps(processor))
    return folders


def _flexible_config(vision: str, backbone: str, **extra: object) -> ModelConfig:
    """A flexible ModelConfig over two saved folders (patch tokens, hooks on both parts)."""
    config = ModelConfig(kind="flexible")
    config.vision.name_or_path, config.vision.features, config.vision.hook_layers = vision, "patches", [1]
    config.backbone.name_or_path, config.backbone.hook_layers, config.backbone.window = backbone, [-1], 6
    config.decoder.depth = 4
    for key, value in extra.items():
        setattr(config, key, value)
    return config


def _moving_square(b: int = 2, t: int = 5, seed: int = 0) -> dict[str, torch.Tensor]:
    """Real-looking frames: a bright square that moves right one pixel per step on a dark field."""
    gen = torch.Generator().manual_seed(seed)
    frames = torch.full((b, t, 3, 16, 16), 20, dtype=torch.uint8)
    start = torch.randint(0, 8, (b,), generator=gen)
    for i in range(b):
        for step in range(t):
            left = int(start[i]) + step
            frames[i, step, :, 4:10, left : left + 4] = 230
    return {"frames": frames, "actions": torch.full((b, t), 3, dtype=torch.long)}


@pytest.fixture
def flexible_config():
    """Factory: ``flexible_config(vision_folder, backbone_folder, **model_fields)`` -> ModelConfig."""
    return _flexible_config


@pytest.fixture
def moving_square():
    """Factory: ``moving_square(b, t, seed)`` -> batch of frames uint8 (b, t, 3, 16, 16) and actions."""
    return _moving_square


@pytest.fixture
def spec() -> DataSpec:
    """16x16 RGB frames, 4 discrete actions."""
    return SPEC
