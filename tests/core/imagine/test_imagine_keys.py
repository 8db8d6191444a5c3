"""Held keys -> actions: ALE names and their combinations, fallbacks, digits, continuous vectors."""

from __future__ import annotations

import numpy as np

from wm.core.data.spec import DataSpec
from wm.core.imagine.keys import KeyMap

ALE = ("NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT",
       "UPFIRE", "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE", "DOWNLEFTFIRE")
PONG = ("NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE")


def keymap(names: tuple[str, ...]) -> KeyMap:
    return KeyMap(DataSpec(channels=3, height=8, width=8, num_actions=len(names), action_names=names))


def test_full_ale_set_combines_keys() -> None:
    keys = keymap(ALE)
    name = lambda held: keys.name(keys.action(set(held)))  # noqa: E731
    assert name([]) == "NOOP"
    assert name(["space"]) == "FIRE"
    assert name(["up", "right", "space"]) == "UPRIGHTFIRE"
    assert name(["w", "a"]) == "UPLEFT" and name(["s", "d", "space"]) == "DOWNRIGHTFIRE"
    assert name(["up", "down"]) == "NOOP" and name(["left", "right", "up"]) == "UP"


def test_missing_combinations_fall_back_to_what_exists() -> None:
    keys = keymap(PONG)
    name = lambda held: keys.name(keys.action(set(held)))  # noqa: E731
    assert name(["up", "right", "space"]) == "RIGHTFIRE"
    assert name(["up"]) == "NOOP" and name(["up", "space"]) == "FIRE"
    assert name(["left"]) == "LEFT"


def test_digits_pick_raw_indices() -> None:
    keys = KeyMap(DataSpec(channels=1, height=8, width=8, num_actions=4))
    assert keys.action(set()) == 0 and keys.action({"3"}, "3") == 3
    assert keys.action({"9"}, "9") == 0  # out of range: ignored
    assert keys.name(2) == "2" and "0-3" in keys.help()


def test_continuous_vectors() -> None:
    keys = KeyMap(DataSpec(channels=3, height=8, width=8, action_kind="continuous", num_actions=3))
    assert keys.action({"left", "up", "space"}).tolist() == [-1.0, 1.0, 1.0]
    assert np.array_equal(keys.action(set()), np.zeros(3, dtype=np.float32))
