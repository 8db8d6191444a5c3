"""Module API: list, get, set (with a fit check), freeze and unfreeze the named parts."""

from __future__ import annotations

import textwrap

import pytest
import torch
from torch import nn

from wm.core.errors import WMError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_get_and_freeze(tiny_model, square) -> None:
    model = tiny_model()
    assert model.get_module("encoder") is model.encoder
    model.freeze_module("encoder")
    assert not any(p.requires_grad for p in model.encoder.parameters())
    model.loss(square(batch=2, steps=3))[0].backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.decoder.parameters())
    model.unfreeze_module("encoder")
    assert all(p.requires_grad for p in model.encoder.parameters())
    with pytest.raises(WMError, match="no module 'reward_head'; its modules are: encoder, dynamics, decoder"):
        model.get_module("reward_head")


def test_swap_in_a_custom_encoder_from_the_docstring() -> None:
    import wm.core.models.world_model as world_model

    code = textwrap.dedent(world_model.__doc__.split("::", 1)[1])
    namespace: dict = {}
    exec(code, namespace)  # the README example, as written
    model = namespace["model"]
    assert isinstance(model.encoder, nn.Sequential) and not any(p.requires_grad for p in model.decoder.parameters())
    frames = torch.randint(0, 256, (2, 3, 3, 64, 64), dtype=torch.uint8)
    loss, _ = model.loss({"frames": frames, "actions": torch.randint(0, 6, (2, 3))})
    loss.backward()
    assert model.encoder[0].weight.grad is not None


def test_set_module_refuses_what_does_not_fit(tiny_model) -> None:
    model = tiny_model()
    embed = model.embed_dim
    narrow = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, embed // 2))
    with pytest.raises(WMError, match=rf"set_module\('encoder'\).*gives .*\(2, {embed // 2}\).* frames \(2, 1, 16, 16\), expected .*\(2, {embed}\)"):
        model.set_module("encoder", narrow)
    broken = nn.Linear(7, embed)
    with pytest.raises(WMError, match=r"set_module\('encoder'\): the replacement fails on frames \(2, 1, 16, 16\)"):
        model.set_module("encoder", broken)
    with pytest.raises(WMError, match=r"set_module\('decoder'\).*expected \{'output': \(2, 1, 16, 16\)\}"):
        model.set_module("decoder", nn.Sequential(nn.Linear(model.feat_dim, 8 * 8), nn.Unflatten(1, (1, 8, 8))))
    assert model.encoder is not narrow


def test_set_module_accepts_a_fitting_dynamics(tiny_model, square) -> None:
    model = tiny_model()
    other = tiny_model().dynamics
    model.set_module("dynamics", other)
    assert model.get_module("dynamics") is other
    with pytest.raises(WMError, match=r"set_module\('dynamics'\)"):
        model.set_module("dynamics", tiny_model(deter=16).dynamics)
    model.loss(square(batch=2, steps=3))[0].backward()
