"""WindowSampler: inside episodes, uniform over windows, a pure function of (seed, rank, step)."""

from __future__ import annotations

import numpy as np
import pytest

from wm.core.data import WindowSampler
from wm.core.errors import WMError

LENGTHS = [10, 3, 20, 40, 8]  # seq_len 8: episode 1 is too short, episode 4 has exactly one window


def test_windows_stay_inside_one_episode() -> None:
    sampler = WindowSampler(LENGTHS, seq_len=8, seed=0)
    seen = set()
    for step in range(200):
        for episode, start in sampler.batch(step, 16):
            assert episode != 1 and 0 <= start and start + 8 <= LENGTHS[episode]
            seen.add((episode, start))
    assert (4, 0) in seen and (3, 32) in seen and (0, 2) in seen  # first and last valid windows are reachable


def test_uniform_over_valid_windows() -> None:
    sampler = WindowSampler(LENGTHS, seq_len=8, seed=3)
    valid = [(e, s) for e, n in enumerate(LENGTHS) for s in range(n - 8 + 1)]
    index = {w: i for i, w in enumerate(valid)}
    counts = np.zeros(len(valid))
    for step in range(500):
        for window in sampler.batch(step, 64):
            counts[index[window]] += 1
    expected = counts.sum() / len(valid)
    chi2 = ((counts - expected) ** 2 / expected).sum()
    dof = len(valid) - 1
    assert chi2 < dof + 5 * np.sqrt(2 * dof), chi2  # far beyond the 99.9% quantile only if not uniform
    per_episode = [counts[[index[(e, s)] for s in range(n - 7)]].sum() for e, n in enumerate(LENGTHS) if n >= 8]
    assert per_episode[2] > per_episode[0] * 5  # long episodes are sampled in proportion to their windows


def test_pure_function_of_seed_rank_step() -> None:
    a = WindowSampler(LENGTHS, 8, seed=5)
    b = WindowSampler(LENGTHS, 8, seed=5)
    assert [a.batch(s, 8) for s in (7, 0, 7)] == [b.batch(s, 8) for s in (7, 0, 7)]
    assert a.batch(0, 8) != a.batch(1, 8)
    assert a.batch(0, 8) != WindowSampler(LENGTHS, 8, seed=6).batch(0, 8)


def test_ranks_split_the_global_batch() -> None:
    whole = WindowSampler(LENGTHS, 8, seed=1).batch(4, 12)
    parts = [WindowSampler(LENGTHS, 8, seed=1, rank=r, world_size=3).batch(4, 4) for r in range(3)]
    assert sum(parts, []) == whole


def test_episode_subset() -> None:
    sampler = WindowSampler(LENGTHS, 8, seed=0, episodes=[0, 4])
    assert {e for s in range(50) for e, _ in sampler.batch(s, 8)} == {0, 4}


def test_no_episode_long_enough() -> None:
    with pytest.raises(WMError, match="no episode has seq_len=50 steps \\(longest has 40\\)"):
        WindowSampler(LENGTHS, 50, seed=0)
    with pytest.raises(WMError, match="outside"):
        WindowSampler(LENGTHS, 8, seed=0, episodes=[9])
