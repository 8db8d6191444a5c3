"""Imagination with a state vector: the engine, eval's state error per horizon, rollout's states file, misfit data.

The model is the tiny run trained on the state world (tests/state_world.py); the figures are checked
for what they are, not for how good a model trained 40 steps is.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.state_world import STATE_SIZE, state_run, write_state_world
from wm.core.errors import WMError
from wm.core.imagine.context import checkpoint_clips, dataset_context
from wm.core.imagine.engine import ImaginationEngine
from wm.core.imagine.eval_table import eval_tables, notes
from wm.core.imagine.evaluate import evaluate
from wm.core.imagine.rollout import RolloutOptions, run_rollout
from wm.core.loading import load_model

HORIZONS = [1, 3]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    folder, data = state_run(tmp_path_factory)
    model, checkpoint = load_model(str(folder))
    return model, checkpoint, data


def test_the_engine_returns_the_imagined_states_and_the_ones_at_horizons(trained) -> None:
    model, checkpoint, _ = trained
    frames, actions, states = checkpoint_clips(checkpoint)
    engine = ImaginationEngine(model)
    plan = np.full((len(frames), 3), 4)
    torch.manual_seed(0)
    engine.reset(frames, actions[:, :-1], states)
    imagined = engine.imagine(plan)
    torch.manual_seed(0)
    engine.reset(frames, actions[:, :-1], states)
    _, picked = engine.predict_at(plan, HORIZONS)
    assert imagined.states.shape == (2, 3, STATE_SIZE)
    assert torch.allclose(picked, imagined.states[:, [h - 1 for h in HORIZONS]])


def test_eval_reports_the_state_error_per_horizon_beside_copy_last(trained) -> None:
    model, _, data = trained
    report = evaluate(model, data, context=3, horizons=HORIZONS, episodes=6, seed=0, spread_steps=0)
    rows = {(r["method"], r["horizon"]): r for r in report.results if r["metric"] == "state_mse"}
    assert set(rows) == {(m, h) for m in ("model", "copy_last", "shuffled_actions") for h in HORIZONS}
    assert all(np.isfinite(r["value"]) and r["low"] <= r["value"] <= r["high"] for r in rows.values())
    from wm.core.data import open_dataset

    dataset, std = open_dataset(data), model.get_module("state_norm").std.numpy()
    errors = {h: [] for h in HORIZONS}
    for episode, start in report.windows:  # copy-last by hand: the last context state against the truth at h
        states = dataset.read(episode, start, start + 3 + HORIZONS[-1])["states"]
        for h in HORIZONS:
            errors[h].append((((states[2 + h] - states[2]) / std) ** 2).mean())
    for h in HORIZONS:
        assert rows["copy_last", h]["value"] == pytest.approx(np.mean(errors[h]), rel=1e-6)
    flat = report.flat()
    quality = eval_tables(flat)[0]
    assert quality.header[-1] == "state MSE" and all(row[-1] != "-" for row in quality.rows)
    assert "state MSE" in notes(flat) and "state_mse" in report.to_dict()["metrics"]


def test_rollout_writes_the_predicted_states_beside_the_video(trained, tmp_path) -> None:
    model, checkpoint, data = trained
    result = run_rollout(model, checkpoint, RolloutOptions(tmp_path / "dream.gif", steps=5, batch=2))
    assert result.states == tmp_path / "dream.states.npy"
    states = np.load(result.states)
    assert states.shape == (2, 5, STATE_SIZE) and states.dtype == np.float32
    from_data = run_rollout(model, checkpoint, RolloutOptions(tmp_path / "d.gif", steps=4, data=data, compare=True))
    assert np.load(from_data.states).shape == (1, 4, STATE_SIZE)


@pytest.mark.parametrize(("size", "found"), [(0, "no values per step (state_size 0)"), (2, "2 values per step (state_size 2)")])
def test_data_whose_states_do_not_fit_the_model_is_refused_in_one_line(trained, tmp_path, size, found) -> None:
    model, _, _ = trained
    data = write_state_world(tmp_path / "other.h5", episodes=2, length=12, seed=1, state_size=size)
    expected = f"{data}: 'states' has {found}, the model reads and predicts a state vector of state_size 3"
    for run in (
        lambda: evaluate(model, data, context=3, horizons=[1], episodes=2, seed=0),
        lambda: dataset_context(data, model.spec, episode=0, start=0, length=3, steps=2),
    ):
        with pytest.raises(WMError) as caught:
            run()
        assert str(caught.value) == expected
