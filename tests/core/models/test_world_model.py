"""The RSSM world model end to end on tiny sizes: loss, actions, heads, observe/imagine/decode, weights."""

from __future__ import annotations

import pytest
import torch

from wm.core.errors import WMError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_loss_falls_on_a_square_that_follows_the_actions(tiny_model, square) -> None:
    torch.manual_seed(0)
    model = tiny_model()
    batch = square(batch=8, steps=12)
    recon = _train(model, batch, 30, "recon")
    assert sum(recon[-5:]) / 5 < 0.5 * sum(recon[:5]) / 5, recon


def _train(model, batch: dict, steps: int, part: str) -> list[float]:
    """Adam at 3e-3 for ``steps`` steps on one batch; the loss part ``part`` at each step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    values = []
    for _ in range(steps):
        loss, parts = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(parts[part].item())
    return values


def test_parts_are_detached_and_kl_is_balanced(tiny_model, square) -> None:
    model = tiny_model(free_nats=0.0)
    loss, parts = model.loss(square(batch=2, steps=4))
    assert set(parts) == {"recon", "blend", "kl_dyn", "kl_rep", "kl"}
    assert all(not p.requires_grad and p.dim() == 0 for p in parts.values())
    expected = parts["recon"] + parts["blend"] + 0.5 * parts["kl_dyn"] + 0.1 * parts["kl_rep"]
    assert torch.allclose(loss.detach(), expected)
    assert torch.allclose(parts["kl_dyn"], parts["kl"]) and parts["kl"] > 0


def test_free_bits_clip_the_kl(tiny_model, square) -> None:
    _, parts = tiny_model(free_nats=1000.0).loss(square(batch=2, steps=4))
    assert parts["kl_dyn"] == 1000.0 and parts["kl_rep"] == 1000.0


def test_continuous_actions(tiny_model, square) -> None:
    model = tiny_model({"action_kind": "continuous", "num_actions": 3})
    batch = square(batch=2, steps=5)
    batch["actions"] = torch.randn(2, 5, 3)
    loss, _ = model.loss(batch)
    loss.backward()
    state = model.observe(batch["frames"], batch["actions"][:, :-1])
    assert model.imagine(state, torch.randn(2, 4, 3)).frames.shape == (2, 4, 1, 16, 16)
    with pytest.raises(WMError, match=r"expected \(2, T, 3\) continuous"):
        model.imagine(state, torch.randn(2, 4, 2))


def test_bad_inputs_are_named(tiny_model, square) -> None:
    model = tiny_model()
    batch = square(batch=2, steps=4)
    with pytest.raises(WMError, match=r"ids must lie in \[0, 5\)"):
        model.loss({**batch, "actions": batch["actions"] + 5})
    with pytest.raises(WMError, match=r"frames have shape \(2, 4, 3, 16, 16\)"):
        model.loss({**batch, "frames": batch["frames"].expand(-1, -1, 3, -1, -1)})
    with pytest.raises(WMError, match=r"expected \(2, 3\) discrete"):
        model.observe(batch["frames"], batch["actions"])


@pytest.mark.parametrize(("has", "config", "heads"), [
    ({}, {}, []),
    ({"has_rewards": True, "has_terminals": True}, {}, ["reward_head", "continue_head"]),
    ({"has_rewards": True, "has_terminals": True}, {"reward_head": False}, ["continue_head"]),
    ({}, {"reward_head": True}, ["reward_head"]),
])
def test_heads_follow_the_data_unless_configured(tiny_model, square, has, config, heads) -> None:
    model = tiny_model(has, **config)
    assert model.module_names() == ["encoder", "dynamics", "decoder", "blend", *heads]
    batch = square(batch=2, steps=4)
    batch["rewards"] = torch.tensor([[0.0, 1.0, -3.0, 0.0]] * 2)
    batch["terminals"] = torch.tensor([[False, False, True, False]] * 2)
    _, parts = model.loss(batch)
    assert ("reward" in parts) == ("reward_head" in heads) and ("continue" in parts) == ("continue_head" in heads)
    imagined = model.imagine(model.observe(batch["frames"], batch["actions"][:, :-1]), batch["actions"][:, :3])
    assert (imagined.rewards is not None) == ("reward_head" in heads)
    if imagined.continues is not None:
        assert imagined.continues.shape == (2, 3) and ((imagined.continues >= 0) & (imagined.continues <= 1)).all()
    if imagined.rewards is not None:
        assert imagined.rewards.shape == (2, 3) and imagined.rewards.abs().max() < 1e-5  # zero-init head


def test_reward_head_learns_two_hot_targets(tiny_model, square) -> None:
    torch.manual_seed(0)
    model = tiny_model({"has_rewards": True})
    batch = square(batch=4, steps=6)
    batch["rewards"] = torch.full((4, 6), 7.5)
    head = model.reward_head
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    feat = torch.randn(4, 6, model.feat_dim)
    for _ in range(100):
        loss = head.loss(feat, batch["rewards"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert torch.allclose(head.predict(feat), torch.full((4, 6), 7.5), atol=0.3)


def test_observe_imagine_decode_shapes_and_determinism(tiny_model, square) -> None:
    model = tiny_model().eval()
    batch = square(batch=3, steps=5)

    def run() -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(7)
        with torch.inference_mode():
            state = model.observe(batch["frames"], batch["actions"][:, :-1])
            imagined = model.imagine(state, batch["actions"][:, :4])
            return model.decode(state), imagined.frames

    first, frames = run()
    assert first.shape == (3, 1, 16, 16) and frames.shape == (3, 4, 1, 16, 16)
    assert frames.dtype == torch.float32 and frames.min() >= 0 and frames.max() <= 1
    again, frames_again = run()
    assert torch.equal(first, again) and torch.equal(frames, frames_again)
    with torch.no_grad():
        state = model.observe(batch["frames"], batch["actions"][:, :-1])
        imagined = model.imagine(state, batch["actions"][:, :2], decode=False)
    assert imagined.frames is None and imagined.state.deter.shape == (3, 32) and imagined.state.stoch.shape == (3, 4, 4)


def test_state_dict_round_trip_is_bitwise(tiny_model, square, tmp_path) -> None:
    source = tiny_model({"has_rewards": True, "has_terminals": True})
    torch.save(source.state_dict(), tmp_path / "weights.pt")
    target = tiny_model({"has_rewards": True, "has_terminals": True})
    target.load_state_dict(torch.load(tmp_path / "weights.pt", weights_only=True), strict=True)
    for name, tensor in source.state_dict().items():
        assert torch.equal(tensor, target.state_dict()[name]), name
    batch = square(batch=2, steps=4)
    outputs = []
    for model in (source, target):
        torch.manual_seed(3)
        outputs.append(model.loss({**batch, "rewards": torch.zeros(2, 4), "terminals": torch.zeros(2, 4)})[0])
    assert torch.equal(outputs[0], outputs[1])


def test_motion_weight_counts_only_the_pixels_that_changed(tiny_model, square) -> None:
    from wm.core.models.world_model import motion_mask

    batch = square(batch=2, steps=4)
    mask = motion_mask(batch["frames"].float())
    assert mask.shape == (2, 4, 1, 16, 16) and not mask[:, 0].any()
    changed = (batch["frames"][:, 1:] != batch["frames"][:, :-1]).any(2, keepdim=True)
    assert torch.equal(mask[:, 1:].bool(), changed)

    torch.manual_seed(0)
    plain = tiny_model(loss_weights={"motion": 0.0})
    weighted = tiny_model(loss_weights={"motion": 9.0})
    weighted.load_state_dict(plain.state_dict())
    torch.manual_seed(1)
    _, base = plain.loss(batch)
    torch.manual_seed(1)
    _, more = weighted.loss(batch)
    assert more["recon"] > base["recon"] and more["kl"] == base["kl"]
    still = {"frames": batch["frames"][:, :1].repeat(1, 4, 1, 1, 1), "actions": batch["actions"]}
    torch.manual_seed(1)
    _, base = plain.loss(still)
    torch.manual_seed(1)
    _, more = weighted.loss(still)
    assert torch.allclose(more["recon"], base["recon"])  # nothing moves: the weight changes nothing


def test_blend_composites_the_last_observed_frame_into_every_imagined_one(tiny_model, square) -> None:
    model = tiny_model(change_map=False)
    batch = square(batch=2, steps=6)
    with torch.no_grad():
        model.blend.net[-1].bias.fill_(50.0)  # weight ~1: the reference everywhere
        state = model.observe(batch["frames"][:, :3], batch["actions"][:, :2])
        last = batch["frames"][:, 2].float() / 255
        assert torch.allclose(state.reference + 0.5, last)
        imagined = model.imagine(state, batch["actions"][:, 2:5])
        assert torch.allclose(imagined.frames, last[:, None].expand_as(imagined.frames), atol=1e-6)
        assert imagined.state.reference is state.reference  # it stays the last observed frame
        model.blend.net[-1].bias.fill_(-50.0)  # weight ~0: the decoder's own frame
        plain = tiny_model(blend_reference=False, change_map=False)
        plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("blend.")})
        assert torch.allclose(model.decode(state), plain.decode(state), atol=1e-6)
    assert "blend" not in plain.module_names() and plain.observe(batch["frames"][:, :3], batch["actions"][:, :2]).reference is None


def test_blend_loss_trains_the_blend_alone(tiny_model, square) -> None:
    model = tiny_model(free_nats=1000.0, loss_weights={"recon": 0.0, "change": 0.0, "blend": 1.0})  # KL clipped: no gradient
    loss, _ = model.loss(square(batch=2, steps=4))
    loss.backward()
    for name, param in model.named_parameters():
        moved = param.grad is not None and bool(param.grad.abs().sum() > 0)
        assert moved == name.startswith("blend."), name


def test_set_module_probes_a_replacement_blend(tiny_model) -> None:
    model = tiny_model()

    class KeepGenerated(torch.nn.Module):
        def forward(self, generated: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
            return generated

    model.set_module("blend", KeepGenerated())
    with pytest.raises(WMError, match="set_module\\('blend'\\)"):
        model.set_module("blend", torch.nn.Conv2d(1, 2, 1))


def test_the_change_map_learns_where_frames_change_and_the_blend_reads_it(tiny_model, square) -> None:
    model = tiny_model(change_map=True, loss_weights={"blend_motion": 0.0})
    assert model.decoder(torch.zeros(1, model.feat_dim)).shape[1] == model.frame_shape[0] + 1
    batch = square(batch=4, steps=6)
    change = _train(model, batch, 40, "change")
    assert sum(change[-5:]) < 0.7 * sum(change[:5]), change
    with torch.no_grad():  # the blend's weights on the change channel decide the frame
        state = model.observe(batch["frames"][:, :3], batch["actions"][:, :2])
        before = model.decode(state)
        model.blend.net[0].weight[:, -1].add_(5.0)
        assert not torch.allclose(model.decode(state), before)
    plain = tiny_model()
    assert "change" not in plain.loss(batch)[1] and plain.decoder(torch.zeros(1, plain.feat_dim)).shape[1] == 1
