"""VisionEncoderWrapper: any Hugging Face vision model (or a user module) as a per-frame feature extractor.

frames (N, C, H, W) uint8 in [0, 255] -> features (N, tokens, dim), float32:
``pooled`` gives one token per frame (the model's pooler output, else the token mean);
``patches`` gives the patch tokens (class / register tokens dropped).
The model's own preprocessing is applied: grey frames become 3 channels, bilinear resize to
``image_size``, then ``(x - mean) / std`` with the model's image-processor statistics.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wm.core.config.schema import VisionConfig
from wm.core.errors import WMError
from wm.core.models.backbones.collector import hook_targets
from wm.core.models.backbones.registry import build_plugin
from wm.core.models.backbones.sources import DTYPES, describe, load_transformers, set_trainable

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class VisionEncoderWrapper(nn.Module):
    """A vision model with its preprocessing; ``dim`` and ``tokens`` describe one frame's features."""

    def __init__(
        self,
        model: nn.Module,
        image_size: int,
        mean: list[float],
        std: list[float],
        features: str = "pooled",
        channels: int = 3,
    ) -> None:
        super().__init__()
        if len(mean) != len(std):
            raise WMError(f"config key 'model.vision.mean'/'std': lengths differ ({len(mean)} vs {len(std)})")
        self.model = model
        self.image_size = image_size
        self.features = features
        self.channels = channels  # what the model takes; grey frames are repeated up to it
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        with torch.no_grad():
            probe = self(torch.zeros(1, channels, image_size, image_size, dtype=torch.uint8))
        self.tokens, self.dim = probe.shape[1:]

    @classmethod
    def from_config(
        cls, cfg: VisionConfig, channels: int, frame_size: int, *, trust_remote_code: bool = False
    ) -> VisionEncoderWrapper:
        """Build from ``model.vision``; a pretrained source rewrites ``cfg`` to its offline form.

        ``trust_remote_code`` lets ``cfg.module`` be an import path (see ``registry``).
        """
        if cfg.name_or_path or not cfg.module:
            model = load_transformers(cfg.name_or_path, cfg.config, "model.vision", _vision_tower)
            processor = _processor_dict(cfg.name_or_path) if cfg.name_or_path else {}
            size = cfg.image_size or _processor_size(processor) or model.config.image_size
            mean = cfg.mean or list(processor.get("image_mean", IMAGENET_MEAN))
            std = cfg.std or list(processor.get("image_std", IMAGENET_STD))
            model_channels = getattr(model.config, "num_channels", 3)
            if cfg.name_or_path:
                cfg.name_or_path, cfg.config = "", describe(model)
                cfg.image_size, cfg.mean, cfg.std = size, mean, std
        else:
            model = build_plugin(
                cfg.module, cfg.module_kwargs, nn.Module, "model.vision.module", trust_remote_code=trust_remote_code
            )
            size, model_channels = cfg.image_size or frame_size, channels
            grey = [0.5] * channels
            mean = cfg.mean or (IMAGENET_MEAN if channels == 3 else grey)
            std = cfg.std or (IMAGENET_STD if channels == 3 else grey)
        wrapper = cls(model.to(DTYPES[cfg.dtype]), size, mean, std, cfg.features, model_channels)
        set_trainable(wrapper, not cfg.freeze)
        return wrapper.train()

    @property
    def frozen(self) -> bool:
        return not any(p.requires_grad for p in self.parameters())

    def train(self, mode: bool = True) -> VisionEncoderWrapper:
        """A frozen encoder stays in eval mode (no dropout, fixed norms) while the rest trains."""
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def hook_targets(self, specs: list[Any]) -> dict[str, nn.Module]:
        return hook_targets(self.model, specs, "vision")

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 / [0, 255] frames (N, C, H, W) -> normalised pixel values (N, channels, S, S)."""
        x = frames.float() / 255.0
        if x.shape[1] != self.channels:
            if x.shape[1] != 1:
                raise WMError(f"vision encoder takes {self.channels}-channel frames, found {x.shape[1]} channels")
            x = x.expand(-1, self.channels, -1, -1)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", antialias=True)
        return (x - self.mean) / self.std

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (N, C, H, W) -> features (N, tokens, dim) float32 (no graph when frozen)."""
        pixels = self.preprocess(frames).to(next(self.model.parameters()).dtype)
        with torch.no_grad() if self.frozen else contextlib.nullcontext():
            out = self.model(pixels)
        return self._select(out).float()

    def _select(self, out: Any) -> torch.Tensor:
        pooled, tokens = _split_output(out)
        if self.features == "pooled":
            return (pooled if pooled is not None else tokens.mean(1)).unsqueeze(1)
        if tokens is None:
            raise WMError("config key 'model.vision.features': 'patches' needs an encoder that returns tokens, it returns one vector")
        patch = getattr(getattr(self.model, "config", None), "patch_size", None)
        count = (self.image_size // patch) ** 2 if patch else tokens.shape[1]
        return tokens[:, -count:]


def _split_output(out: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(pooled (N, D) or None, tokens (N, S, D) or None) from a model output, tensor or conv map."""
    if not isinstance(out, torch.Tensor):
        return getattr(out, "pooler_output", None), out.last_hidden_state
    if out.ndim == 2:
        return out, None
    if out.ndim == 4:  # a conv feature map (N, D, h, w): its cells are the tokens
        return None, out.flatten(2).transpose(1, 2)
    return None, out


def _vision_tower(config: Any) -> Any:
    """The vision sub-config of a composite model (CLIP, SigLIP), or the config itself."""
    return getattr(config, "vision_config", None) or config


def _processor_dict(name_or_path: str) -> dict[str, Any]:
    """The image processor's settings (``preprocessor_config.json``) or {} when the model ships none."""
    from transformers.image_processing_base import ImageProcessingMixin

    try:
        return ImageProcessingMixin.get_image_processor_dict(name_or_path)[0]
    except OSError:
        return {}


def _processor_size(processor: dict[str, Any]) -> int | None:
    """The square side the processor feeds the model: its crop size, else its resize target."""
    for key in ("crop_size", "size"):
        size = processor.get(key)
        if isinstance(size, int):
            return size
        if isinstance(size, dict):
            side = size.get("height") or size.get("shortest_edge")
            if side:
                return int(side)
    return None
