"""The state vector in the RSSM WorldModel: read beside the frame, predicted by a head, standardised, saved.

A tiny model is trained with the real Trainer on the state world (tests/state_world.py), where the
state is the sprite's position on very different scales (row, 1000 x column) and a constant.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.state_world import STATE_SIZE, state_run
from wm.core.checkpoint import load_checkpoint
from wm.core.config.schema import ModelConfig
from wm.core.data import open_dataset
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.loading import load_model
from wm.core.models import WorldModelBase
from wm.core.models.states import StateNorm
from wm.core.models.world_model import WorldModel

TINY = ModelConfig(size="xs", depth=4, deter=32, hidden=32, stoch=4, classes=4)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    return state_run(tmp_path_factory)


def test_the_loss_has_a_state_part_in_standard_units_that_falls(run) -> None:
    folder, _ = run
    steps = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    state = [s["state"] for s in steps if "state" in s]
    assert len(state) == 40
    assert state[0] < 10  # standardised: the raw squared error of 1000 x column would be about 10^7
    assert np.mean(state[-10:]) < 0.8 * np.mean(state[:5]), state


def test_a_loaded_model_keeps_its_state_parts_and_the_training_episodes_statistics(run, tmp_path) -> None:
    folder, data = run
    model, checkpoint = load_model(str(folder))
    assert model.spec.state_size == checkpoint.spec.state_size == STATE_SIZE
    assert {"state_norm", "state_encoder", "state_head"} <= set(model.module_names())
    dataset = open_dataset(data)
    train = dataset.all_steps("states")[: int(sum(dataset.lengths[:-1]))]  # the last episode is held out
    norm = model.get_module("state_norm")
    assert np.allclose(norm.mean.numpy(), train.mean(0), rtol=1e-5)
    assert np.allclose(norm.std.numpy()[:2], train.std(0)[:2], rtol=1e-5)
    assert norm.std[2] == 1  # the constant value is only centred
    assert checkpoint.context["states"].shape == (2, 3, STATE_SIZE)
    model.context_clips = dict(checkpoint.context)
    model.save_pretrained(tmp_path / "saved")
    again = WorldModelBase.from_pretrained(tmp_path / "saved")
    assert again.spec.state_size == STATE_SIZE and again.module_names() == model.module_names()
    assert all(torch.equal(value, again.state_dict()[key]) for key, value in model.state_dict().items())
    assert torch.equal(again.context_clips["states"], checkpoint.context["states"])


def test_observe_reads_the_context_states_and_imagine_predicts_them(run) -> None:
    folder, _ = run
    model, checkpoint = load_model(str(folder))
    clips = checkpoint.context
    frames, actions, states = clips["frames"], clips["actions"][:, :-1], clips["states"]
    with pytest.raises(WMError, match=r"state_size=3.*none was given"):
        model.observe(frames, actions)
    with pytest.raises(WMError, match=r"states have shape \(2, 3, 2\)"):
        model.observe(frames, actions, states[..., :2])
    torch.manual_seed(0)
    with torch.no_grad():
        imagined = model.imagine(model.observe(frames, actions, states), torch.zeros(2, 5, dtype=torch.long))
    assert imagined.states.shape == (2, 5, STATE_SIZE) and imagined.states.dtype == torch.float32
    assert torch.isfinite(imagined.states).all()
    assert (imagined.states[..., 2] - 5).abs().max() < 0.5  # in the data's units (the constant 5), not standardised (0)


def test_a_spec_without_state_size_builds_the_model_it_always_did() -> None:
    spec = DataSpec.from_dict({"channels": 1, "height": 16, "width": 16, "num_actions": 5})  # an older checkpoint's
    model = WorldModel(TINY, spec)
    assert spec.state_size == 0 and model.module_names() == ["encoder", "dynamics", "decoder", "blend"]
    assert not any("state" in key for key in model.state_dict())
    batch = {"frames": torch.zeros(2, 3, 1, 16, 16, dtype=torch.uint8), "actions": torch.zeros(2, 3, dtype=torch.long)}
    assert "state" not in model.loss(batch)[1]
    assert model.imagine(model.observe(batch["frames"], batch["actions"][:, :-1]), batch["actions"]).states is None


def test_a_model_with_states_refuses_a_batch_without_them() -> None:
    model = WorldModel(TINY, DataSpec(channels=1, height=16, width=16, num_actions=5, state_size=2))
    batch = {"frames": torch.zeros(2, 3, 1, 16, 16, dtype=torch.uint8), "actions": torch.zeros(2, 3, dtype=torch.long)}
    with pytest.raises(WMError, match="state_size=2"):
        model.loss(batch)
    _, parts = model.loss({**batch, "states": torch.randn(2, 3, 2)})
    assert "state" in parts


def test_state_norm_standardises_each_dimension_and_checks_its_input() -> None:
    norm = StateNorm(3)
    values = torch.tensor([[0.0, 1000.0, 5.0], [2.0, 3000.0, 5.0], [4.0, 2000.0, 5.0]])
    norm.fit(values)
    standard = norm(values)
    assert torch.allclose(standard.mean(0), torch.zeros(3), atol=1e-6)
    assert torch.allclose(standard[:, :2].std(0, correction=0), torch.ones(2), atol=1e-5)
    assert torch.allclose(norm.inverse(standard), values)
    with pytest.raises(WMError, match=r"expected \(N > 0, 3\)"):
        norm.fit(torch.zeros(4, 2))


def test_finetuning_across_a_state_vector_reinitialises_or_leaves_out_its_parts() -> None:
    from wm.core.checkpoint import Checkpoint
    from wm.core.training.finetune import load_pretrained

    plain_spec = DataSpec(channels=1, height=16, width=16, num_actions=5)
    state_spec = DataSpec(channels=1, height=16, width=16, num_actions=5, state_size=3)
    plain, with_states = WorldModel(TINY, plain_spec), WorldModel(TINY, state_spec)
    with_states.get_module("state_norm").fit(torch.tensor([[0.0, 0.0, 5.0], [2.0, 4000.0, 5.0]]))
    fitted = with_states.get_module("state_norm").std.clone()
    without = Checkpoint({}, plain_spec, plain.state_dict())
    with pytest.raises(WMError, match=r"state_size 0 -> 3.*reinit_modules=\[state_encoder,state_head,state_norm\]"):
        load_pretrained(with_states, without, [], "plain")
    load_pretrained(with_states, without, ["state_encoder", "state_head", "state_norm"], "plain")
    assert torch.equal(with_states.get_module("state_norm").std, fitted)  # the new data's standardisation
    assert torch.equal(with_states.encoder.net[0].weight, plain.encoder.net[0].weight)
    load_pretrained(plain, Checkpoint({}, state_spec, with_states.state_dict()), [], "with states")  # parts left out


def test_data_states_false_trains_on_pixels_only_and_still_reads_the_state_data(run, tmp_path) -> None:
    from wm.core.config import load_config
    from wm.core.imagine.evaluate import evaluate
    from wm.core.training import Trainer

    _, data = run
    config = load_config(["default"], [
        "model.size=xs", "model.depth=4", "model.deter=32", "model.hidden=32", "model.stoch=4", "model.classes=4",
        f"data.path={data}", "data.image_size=16", "data.states=false", "data.context_clips=2", "data.context_len=3",
        f"run.dir={tmp_path}", "run.name=pixels", "train.epochs=1", "train.steps_per_epoch=2", "train.batch_size=2",
        "train.seq_len=4", "train.device=cpu", "train.precision=fp32", "train.eval_at_end=false",
    ])  # fmt: skip
    Trainer(config).fit()
    model, checkpoint = load_model(str(tmp_path / "pixels"))
    assert model.spec.state_size == checkpoint.spec.state_size == 0
    assert not {"state_norm", "state_encoder", "state_head"} & set(model.module_names())
    assert "states" not in checkpoint.context
    report = evaluate(model, data, context=3, horizons=[1], episodes=2, seed=0, spread_steps=0, device="cpu")
    assert len(report.windows) == 2
