"""Real collection from gymnasium: ALE with action meanings, a classic-control env, the built-in source."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from wm.core.data import builtin, open_dataset
from wm.core.data.collect import collect, resolve_env_id
from wm.core.errors import WMError


def test_short_names() -> None:
    assert resolve_env_id("ale:pong") == "ALE/Pong-v5"
    assert resolve_env_id("ale:space_invaders") == "ALE/SpaceInvaders-v5"
    assert resolve_env_id("CartPole-v1") == "CartPole-v1"


def test_ale_collect(tmp_path) -> None:
    out = collect("ale:pong", tmp_path / "pong.h5", steps=300, size=(48, 40), seed=1, max_episode_steps=120)
    dataset = open_dataset(out)
    spec = dataset.spec
    assert dataset.lengths.tolist() == [120, 120, 60]
    assert (spec.channels, spec.height, spec.width, spec.num_actions) == (3, 48, 40, 6)
    assert spec.action_names[:4] == ("NOOP", "FIRE", "RIGHT", "LEFT") and spec.fps == 15.0
    assert spec.has_rewards and spec.has_terminals
    actions = dataset.all_steps("actions")
    assert (actions[1:] == actions[:-1]).mean() > 0.6  # sticky policy: mostly repeats
    frames = dataset.read(0)["frames"]
    assert frames.std() > 10 and not np.array_equal(frames[0], frames[-1])  # real, changing screens


def test_random_policy_and_episodes_on_classic_control(tmp_path) -> None:
    out = collect("CartPole-v1", tmp_path / "cp.h5", episodes=2, size=(32, 32), policy="random", frameskip=2, seed=0)
    dataset = open_dataset(out)
    assert dataset.num_episodes == 2 and dataset.spec.num_actions == 2
    assert dataset.all_steps("terminals").sum() == 2  # each episode ends in a real termination
    assert dataset.spec.fps == 25.0  # 50 render fps / 2 frames per step


def test_unknown_env_leaves_nothing(tmp_path) -> None:
    with pytest.raises(WMError, match="environment 'ALE/NoSuchGame-v5'"):
        collect("ale:no_such_game", tmp_path / "x.h5", steps=10)
    assert list(tmp_path.iterdir()) == []


def test_builtin_dataset_is_collected_once(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(builtin, "BUILTIN_STEPS", 150)
    messages: list[str] = []
    path = builtin.builtin_dataset(messages.append)
    assert path.parent == tmp_path / "cache" and len(messages) == 1 and "collecting the built-in dataset" in messages[0]
    assert open_dataset(path).spec.action_names == ("NOOP", "FIRE", "RIGHT", "LEFT")
    assert builtin.builtin_dataset(messages.append) == path and len(messages) == 1


def test_missing_gymnasium_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import gymnasium now raises ImportError
    with pytest.raises(WMError, match=r"pip install 'wm-world-models\[atari\]'"):
        collect("ale:pong", tmp_path / "x.h5", steps=10)
    assert list(tmp_path.iterdir()) == []
