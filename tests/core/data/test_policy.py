"""Collection policies: sticky repeats, and the balanced policy keeps its net movement within reach."""

from __future__ import annotations

import numpy as np
from gymnasium.spaces import Discrete

from wm.core.data.policy import BALANCE_REACH, Policy, action_moves

BREAKOUT = ("NOOP", "FIRE", "RIGHT", "LEFT")


def test_action_moves_read_ale_names() -> None:
    moves = action_moves(("NOOP", "UP", "RIGHT", "LEFT", "DOWN", "UPLEFTFIRE"))
    assert moves.tolist() == [[0, 0], [0, -1], [1, 0], [-1, 0], [0, 1], [-1, -1]]


def test_balanced_policy_stays_within_reach_and_keeps_moving() -> None:
    policy = Policy(Discrete(4), np.random.default_rng(0), sticky=0.75, names=BREAKOUT, balanced=True)
    net, moves = 0, 0
    for _ in range(5000):
        step = {2: 1, 3: -1}.get(policy(), 0)
        net, moves = net + step, moves + abs(step)
        assert abs(net) <= BALANCE_REACH
    assert moves > 1500  # it moves often, not pinned at its reach


def test_plain_sticky_policy_wanders_past_the_reach() -> None:
    policy = Policy(Discrete(4), np.random.default_rng(0), sticky=0.75, names=BREAKOUT)
    net = np.cumsum([{2: 1, 3: -1}.get(policy(), 0) for _ in range(5000)])
    assert np.abs(net).max() > 4 * BALANCE_REACH
    policy.reset()
    actions = [policy() for _ in range(2000)]
    assert np.mean(np.equal(actions[1:], actions[:-1])) > 0.7
