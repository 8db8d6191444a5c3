"""VideoDecoderWrapper: per-frame latent features back to pixels.

features (N, tokens, dim) -> frames (N, C, H, W), float, in [0, 1] once clamped.
``conv`` (default, trainable): patch tokens that form a square grid are laid out as that grid
(one cell per token), other features (a pooled vector) go through a Linear to a 4x4 grid; then
stride-2 transposed convolutions up to the frame size. ``vae``: a pretrained diffusers
AutoencoderKL (optional extra ``wm-world-models[vae]``) whose frozen decoder renders a latent grid that a
trainable conv adapter predicts from the features. ``module``: a registered plug-in class built as
``Class(tokens=, dim=, channels=, height=, width=, **module_kwargs)`` with the same contract.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from wm.core.config.schema import VideoDecoderConfig
from wm.core.errors import WMError
from wm.core.models.backbones.registry import build_plugin
from wm.core.models.backbones.sources import describe, set_trainable


class ConvFrameDecoder(nn.Module):
    """Latent tokens -> a grid -> transposed-conv stages (GroupNorm, SiLU) -> frame."""

    def __init__(
        self, tokens: int, dim: int, channels: int, height: int, width: int, depth: int = 32, offset: float = 0.5
    ) -> None:
        super().__init__()
        self.offset = offset  # added to the output: 0.5 centres pixels in [0, 1]
        side = math.isqrt(tokens)
        self.spatial = tokens > 1 and side * side == tokens
        self.side = side if self.spatial else 4
        self.size = (height, width)
        stages = max(0, math.ceil(math.log2(max(height, width) / self.side)))
        chans = [depth * 2 ** min(stages - i, 3) for i in range(stages + 1)]
        self.inp = nn.Linear(dim, chans[0]) if self.spatial else nn.Linear(tokens * dim, chans[0] * 16)
        layers: list[nn.Module] = [nn.GroupNorm(1, chans[0]), nn.SiLU()]
        for inp, out in zip(chans, chans[1:]):
            layers += [nn.ConvTranspose2d(inp, out, 4, 2, 1), nn.GroupNorm(1, out), nn.SiLU()]
        layers.append(nn.Conv2d(chans[-1], channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        n = features.shape[0]
        if self.spatial:  # (N, side*side, dim) -> (N, C0, side, side)
            grid = self.inp(features).transpose(1, 2).reshape(n, -1, self.side, self.side)
        else:
            grid = self.inp(features.reshape(n, -1)).reshape(n, -1, 4, 4)
        frames = self.net(grid) + self.offset
        if frames.shape[-2:] != self.size:
            frames = F.interpolate(frames, size=self.size, mode="bilinear", align_corners=False)
        return frames


class VaeFrameDecoder(nn.Module):
    """Features -> (trainable adapter) VAE latents (B, c, H/f, W/f) -> frozen VAE decoder -> frames.

    The VAE's encoder half is dropped; its [-1, 1] output is mapped to [0, 1] and resized to the
    frame size when its own (a multiple of its downsampling factor f) differs.
    """

    def __init__(self, vae: nn.Module, tokens: int, dim: int, channels: int, height: int, width: int, depth: int) -> None:
        super().__init__()
        config = vae.config
        if config.out_channels != channels:
            raise WMError(f"config key 'model.decoder': the VAE renders {config.out_channels} channels, frames have {channels}")
        vae.encoder, vae.quant_conv = None, None
        set_trainable(vae, False)
        self.vae = vae
        self.size = (height, width)
        factor = 2 ** (len(config.block_out_channels) - 1)
        grid = (math.ceil(height / factor), math.ceil(width / factor))
        self.adapter = ConvFrameDecoder(tokens, dim, config.latent_channels, *grid, depth, offset=0.0)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        latents = self.adapter(features) / self.vae.config.scaling_factor
        frames = (self.vae.decode(latents).sample + 1.0) / 2.0
        if frames.shape[-2:] != self.size:
            frames = F.interpolate(frames, size=self.size, mode="bilinear", align_corners=False)
        return frames


def load_vae(cfg: VideoDecoderConfig) -> nn.Module:
    """The AutoencoderKL that ``model.decoder`` names; a pretrained source rewrites ``cfg`` to its config."""
    try:
        from diffusers import AutoencoderKL
    except ImportError as err:
        raise WMError("config key 'model.decoder.kind': 'vae' needs diffusers; pip install 'wm-world-models[vae]'") from err
    if cfg.name_or_path:
        try:
            vae = AutoencoderKL.from_pretrained(cfg.name_or_path, subfolder=cfg.subfolder or None)
        except (OSError, ValueError) as err:
            raise WMError(f"config key 'model.decoder.name_or_path': cannot load '{cfg.name_or_path}' ({str(err).splitlines()[0]})") from err
        cfg.name_or_path, cfg.subfolder, cfg.config = "", "", describe(vae)
        return vae
    if not cfg.config:
        raise WMError("config key 'model.decoder': kind 'vae' needs name_or_path (Hub id or folder) or config")
    return AutoencoderKL.from_config(cfg.config)


class VideoDecoderWrapper(nn.Module):
    """A frame decoder checked at build time: (N, tokens, dim) -> (N, C, H, W)."""

    def __init__(self, decoder: nn.Module, tokens: int, dim: int, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.decoder = decoder
        with torch.no_grad():
            out = decoder(torch.zeros(1, tokens, dim))
        if tuple(out.shape[1:]) != shape:
            raise WMError(
                f"video decoder {type(decoder).__name__}: features (1, {tokens}, {dim}) gave {tuple(out.shape)}, "
                f"expected (1, {', '.join(map(str, shape))})"
            )

    @classmethod
    def from_config(
        cls, cfg: VideoDecoderConfig, tokens: int, dim: int, shape: tuple[int, int, int], *, trust_remote_code: bool = False
    ) -> VideoDecoderWrapper:
        """Build from ``model.decoder``; ``trust_remote_code`` lets ``cfg.module`` be an import path."""
        channels, height, width = shape
        if cfg.kind == "module":
            sizes = {"tokens": tokens, "dim": dim, "channels": channels, "height": height, "width": width}
            kwargs = {**sizes, **cfg.module_kwargs}
            decoder = build_plugin(cfg.module, kwargs, nn.Module, "model.decoder.module", trust_remote_code=trust_remote_code)
        elif cfg.kind == "vae":
            decoder = VaeFrameDecoder(load_vae(cfg), tokens, dim, channels, height, width, cfg.depth)
        else:
            decoder = ConvFrameDecoder(tokens, dim, channels, height, width, cfg.depth)
        return cls(decoder, tokens, dim, shape)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features (N, tokens, dim) -> frames (N, C, H, W), unclamped (clamp to [0, 1] for display)."""
        return self.decoder(features)
