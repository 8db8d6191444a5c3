"""Interactive (batch-1) stepping: one intra-op thread for the step, the caller's count restored; fast decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from squares import ShiftModel, square_episode

from wm.core.imagine import ImaginationEngine


class ThreadsSeen(ShiftModel):
    """ShiftModel that records the intra-op thread count of every imagine call."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def imagine(self, state, actions, decode=True):
        self.threads.append(torch.get_num_threads())
        return super().imagine(state, actions, decode)


@pytest.mark.parametrize("batch, expected", [(1, 1), (2, 2)])
def test_batch_one_steps_run_on_one_thread(batch: int, expected: int) -> None:
    rng = np.random.default_rng(0)
    episodes = [square_episode(rng, 4) for _ in range(batch)]
    model, threads = ThreadsSeen(), torch.get_num_threads()
    engine = ImaginationEngine(model)
    engine.reset(np.stack([e[0] for e in episodes]), np.stack([e[1][:-1] for e in episodes]))
    torch.set_num_threads(2)
    try:
        engine.step(np.zeros(batch, dtype=np.int64))
        assert model.threads == [expected] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_fast_decoding_is_off_for_a_model_that_offers_none() -> None:
    assert ImaginationEngine(ShiftModel(), fast_decode=True).fast_decode is False
