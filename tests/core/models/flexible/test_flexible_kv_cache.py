"""Cached imagination of the FlexibleWorldModel against the uncached path and a sliding-window reference.

Window W = 6 timesteps of K = 5 tokens (4 patches + the action). Frames are in [0, 1]; cached and
reference frames agree to TOLERANCE (float32 rounding of two orders of the same sums).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from wm.core.models import build_model
from wm.core.models.backbones import block_causal_mask
from wm.core.models.flexible import FlexibleState, FlexibleWorldModel

TOLERANCE = 1e-5
WINDOW = 6


def imagine(model: FlexibleWorldModel, batch: dict[str, torch.Tensor], actions: torch.Tensor, cached: bool):
    model.kv_cache = cached
    state = model.observe(batch["frames"], batch["actions"][:, :-1])
    assert (state.cache is not None) == cached
    return state, model.imagine(state, actions)


def sliding_window_frames(model: FlexibleWorldModel, state: FlexibleState, actions: torch.Tensor) -> torch.Tensor:
    """What the cache computes, without one: each step re-runs the backbone over the whole history from
    position 0, every timestep seeing itself and the W-1 before it (a banded block mask)."""
    latents, past, frames = state.latents, state.actions, []
    k = latents.shape[2] + 1
    for h in range(actions.shape[1]):
        past = torch.cat([past, actions[:, h : h + 1]], dim=1)
        steps = past.shape[1]
        mask = block_causal_mask(steps, k, torch.float32)
        step = torch.arange(steps * k) // k
        mask = mask.masked_fill(step[None, :] <= step[:, None] - WINDOW, torch.finfo(torch.float32).min)
        out = model.backbone.model(inputs_embeds=model._tokens(latents, past), attention_mask=mask, use_cache=False)
        nxt = model.projection.predict(out.last_hidden_state[:, None, -k:-1])
        frames.append(model.decoder(nxt[:, 0]).clamp(0.0, 1.0))
        latents = torch.cat([latents, F.layer_norm(nxt, nxt.shape[-1:])], dim=1)
    return torch.stack(frames, 1)


@pytest.mark.parametrize("parts", [("dinov2", "llama"), ("clip", "mistral")])
def test_cached_frames_are_the_uncached_ones_until_the_window_slides_then_a_sliding_window(
    hf_models, flexible_config, moving_square, spec, parts
):
    torch.manual_seed(0)
    model = build_model(flexible_config(*(hf_models[name] for name in parts)), spec).eval()
    batch = moving_square(3, 3)  # 3 context frames: the first 4 steps see W or fewer timesteps
    actions = torch.randint(0, 4, (3, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        state, cached = imagine(model, batch, actions, cached=True)
        _, uncached = imagine(model, batch, actions, cached=False)
        reference = sliding_window_frames(model, state, actions)
        again = model.imagine(state, actions[:, :2]).frames  # imagining left the observed state as it was
    unslid = WINDOW - 3 + 1
    assert torch.allclose(cached.frames[:, :unslid], uncached.frames[:, :unslid], atol=TOLERANCE, rtol=0)
    assert torch.allclose(cached.frames, reference, atol=TOLERANCE, rtol=0)
    assert (cached.frames[:, unslid:] - uncached.frames[:, unslid:]).abs().max() > 10 * TOLERANCE
    assert torch.allclose(again, cached.frames[:, :2], atol=TOLERANCE, rtol=0)
    cache = cached.state.cache
    assert cache.steps == WINDOW - 1 and cache.position == (3 - 1 + 12) * 5
    assert all(keys.shape[2] == values.shape[2] == (WINDOW - 1) * 5 for keys, values in cache.layers)


def test_the_cache_restarts_at_position_zero_before_passing_the_backbones_limit(
    hf_models, flexible_config, moving_square, spec, tmp_path
):
    torch.manual_seed(0)
    text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
    short = LlamaConfig(**text, vocab_size=16, max_position_embeddings=40)  # room for 8 timesteps of 5 tokens
    LlamaForCausalLM(short).save_pretrained(tmp_path / "llama40")
    model = build_model(flexible_config(hf_models["dinov2"], str(tmp_path / "llama40")), spec).eval()
    batch = moving_square(2, WINDOW)  # the window is full from the start: 5 cached timesteps, positions 0..24
    actions = torch.randint(0, 4, (2, 4), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        state, first = imagine(model, batch, actions[:, :3], cached=True)  # positions 25..39
        assert first.state.cache.position == 40
        restarted = model.imagine(first.state, actions[:, 3:])  # 40..44 would pass 40: re-primed from 0
        uncached = model.imagine(FlexibleState(first.state.latents, first.state.actions), actions[:, 3:])
    assert restarted.state.cache.position == WINDOW * 5 and restarted.state.cache.steps == WINDOW - 1
    assert torch.allclose(restarted.frames, uncached.frames, atol=TOLERANCE, rtol=0)


class PlainBackbone(nn.Module):
    """A user backbone whose forward takes no cache: one linear layer per token."""

    hidden_size = 32

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(32, 32)])

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.layers[0](inputs_embeds)


def test_a_backbone_without_a_cache_imagines_uncached(hf_models, flexible_config, moving_square, spec):
    model = build_model(flexible_config(hf_models["dinov2"], hf_models["llama"]), spec).eval()
    model.set_module("backbone", PlainBackbone())
    batch = moving_square(2, 3)
    with torch.no_grad():
        state = model.observe(batch["frames"], batch["actions"][:, :-1])
        imagined = model.imagine(state, torch.zeros(2, 2, dtype=torch.long))
    assert state.cache is None and imagined.state.cache is None and imagined.frames.shape == (2, 2, 3, 16, 16)
