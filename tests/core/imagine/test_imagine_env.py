"""ImaginedEnv: a gymnasium environment that passes the checker, with rewards/termination from heads."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
from gymnasium.utils.env_checker import check_env
from squares import ShiftModel

from wm.core.checkpoint import Checkpoint
from wm.core.imagine import ImaginedEnv
from wm.core.imagine.context import checkpoint_clips


def test_trained_model_env_passes_the_checker(trained_checkpoint: Path) -> None:
    env = gymnasium.make("wm.core.imagine.env:wm/Imagined-v0", model=str(trained_checkpoint), render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    observation, info = env.reset(seed=3)
    assert observation.shape == (16, 16, 3) and observation.dtype == np.uint8 and info["clip"] in (0, 1, 2)
    for _ in range(3):
        observation, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert env.observation_space.contains(observation)
        assert (reward, terminated, truncated) == (0.0, False, False)  # no reward or continue head
    assert np.array_equal(env.render(), observation)


def test_rewards_and_termination_come_from_the_heads(shift_checkpoint: Checkpoint) -> None:
    env = ImaginedEnv(ShiftModel(), clips=checkpoint_clips(shift_checkpoint))
    first, _ = env.reset(seed=0)
    observation, reward, terminated, _, _ = env.step(3)  # RIGHT
    assert np.array_equal(observation, np.roll(first, 1, axis=1)) and (reward, terminated) == (0.0, False)
    assert env.step(1)[1:3] == (1.0, False)  # FIRE pays
    assert env.step(5)[1:3] == (0.0, True)  # DOWN ends the episode
