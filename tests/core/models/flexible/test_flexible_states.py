"""The state vector in the FlexibleWorldModel: its own token per block, a head on that token's output, saved."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from wm.core.checkpoint import Checkpoint, save_checkpoint
from wm.core.config import config_to_dict
from wm.core.config.schema import Config
from wm.core.errors import WMError
from wm.core.loading import load_model
from wm.core.models import build_model

TOLERANCE = 1e-5


def with_states(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The square's left column (it moves one pixel right per step) on two scales: (1000 x left, left / 100 + 3)."""
    left = (batch["frames"][:, :, 0, 6] > 100).float().argmax(-1)  # (B, T)
    return {**batch, "states": torch.stack([1000 * left, left / 100 + 3], -1)}


@pytest.fixture
def model_and_batch(hf_models, flexible_config, moving_square, spec):
    torch.manual_seed(0)
    config = Config(model=flexible_config(hf_models["dinov2"], hf_models["llama"]))
    model = build_model(config.model, dataclasses.replace(spec, state_size=2))
    batch = with_states(moving_square(4, 6))
    model.get_module("state_norm").fit(batch["states"].flatten(0, 1))
    return config, model, batch


def test_the_state_token_trains_and_its_loss_falls(model_and_batch) -> None:
    _, model, batch = model_and_batch
    assert model.module_names()[-3:] == ["state_norm", "state_embed", "state_head"]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(25):
        loss, parts = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(parts["state"].item())
    assert set(parts) == {"latent", "pixel", "state"}
    assert losses[0] < 10  # standardised, though one value is in the thousands
    assert losses[-1] < 0.5 * losses[0], losses
    with pytest.raises(WMError, match="state_size=2"):
        model.loss({"frames": batch["frames"], "actions": batch["actions"]})


def test_imagined_states_are_the_same_with_and_without_the_cache_until_the_window_slides(model_and_batch) -> None:
    _, model, batch = model_and_batch
    model.eval()
    actions = torch.full((4, 8), 3, dtype=torch.long)
    results = []
    with torch.no_grad():
        for cached in (True, False):
            model.kv_cache = cached
            torch.manual_seed(0)
            state = model.observe(batch["frames"][:, :3], batch["actions"][:, :2], batch["states"][:, :3])
            results.append(model.imagine(state, actions))
    cached, uncached = results
    assert cached.states.shape == (4, 8, 2)
    unslid = model.config.backbone.window - 3 + 1
    assert torch.allclose(cached.states[:, :unslid], uncached.states[:, :unslid], atol=TOLERANCE * 1000, rtol=0)


def test_a_checkpoint_rebuilds_the_state_parts(model_and_batch, tmp_path) -> None:
    config, model, batch = model_and_batch
    context = {key: batch[key][:2, :4] for key in ("frames", "actions", "states")}
    path = save_checkpoint(tmp_path / "ck.pt", Checkpoint(config_to_dict(config), model.spec, model.state_dict(), context))
    loaded, _ = load_model(str(path))
    model.eval()
    assert loaded.spec.state_size == 2 and loaded.module_names() == model.module_names()
    assert torch.equal(loaded.get_module("state_norm").std, model.get_module("state_norm").std)
    with torch.no_grad():
        torch.manual_seed(0)
        expected = model.imagine(model.observe(context["frames"], context["actions"][:, :-1], context["states"]), context["actions"])
        torch.manual_seed(0)
        found = loaded.imagine(loaded.observe(context["frames"], context["actions"][:, :-1], context["states"]), context["actions"])
    assert torch.equal(found.states, expected.states)


def test_a_state_loss_weight_needs_a_state_vector(hf_models, flexible_config, spec) -> None:
    config = flexible_config(hf_models["dinov2"], hf_models["llama"], loss_weights={"state": 2.0})
    with pytest.raises(WMError, match="model.loss_weights.state"):
        build_model(config, spec)
    assert build_model(config, dataclasses.replace(spec, state_size=2)).spec.state_size == 2
