"""WindowSampler: which (episode, start) windows make up the batch of a training step.

Every window of ``seq_len`` consecutive steps inside one episode is equally likely; windows
never cross an episode boundary and episodes shorter than ``seq_len`` are skipped. A step's
global batch (``batch_size * world_size`` windows) is a pure function of (seed, step); rank r
takes its r-th slice, so a resumed or re-sharded run sees exactly the same data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wm.core.errors import WMError


class WindowSampler:
    """Uniform sampler over the valid windows of a set of episodes."""

    def __init__(
        self, lengths: Sequence[int] | np.ndarray, seq_len: int, seed: int,
        episodes: Sequence[int] | None = None, rank: int = 0, world_size: int = 1,
    ) -> None:
        lengths = np.asarray(lengths, dtype=np.int64)
        if seed < 0:
            raise WMError(f"seed={seed}; expected a non-negative integer")
        if seq_len < 1:
            raise WMError(f"seq_len={seq_len}; expected a positive number of steps")
        if not 0 <= rank < world_size:
            raise WMError(f"rank={rank} with world_size={world_size}; expected 0 <= rank < world_size")
        chosen = np.arange(len(lengths)) if episodes is None else np.asarray(list(episodes), dtype=np.int64)
        if chosen.size and (chosen.min() < 0 or chosen.max() >= len(lengths)):
            raise WMError(f"episodes {chosen.tolist()} include indices outside [0, {len(lengths)})")
        counts = lengths[chosen] - seq_len + 1  # valid start positions per chosen episode
        keep = counts > 0
        if not keep.any():
            longest = int(lengths[chosen].max()) if chosen.size else 0
            raise WMError(f"no episode has seq_len={seq_len} steps (longest has {longest}); "
                          "expected a shorter train.seq_len or longer episodes")
        self.episodes = chosen[keep]
        self.seq_len = seq_len
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self._ends = np.cumsum(counts[keep])  # window index w belongs to the first episode with w < end

    @property
    def num_windows(self) -> int:
        return int(self._ends[-1])

    def batch(self, step: int, batch_size: int) -> list[tuple[int, int]]:
        """This rank's ``batch_size`` (episode, start) windows of training step ``step``."""
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, step])))
        windows = rng.integers(0, self.num_windows, size=batch_size * self.world_size)
        windows = windows[self.rank * batch_size : (self.rank + 1) * batch_size]
        slot = np.searchsorted(self._ends, windows, side="right")
        starts = windows - np.concatenate([[0], self._ends])[slot]
        return [(int(e), int(s)) for e, s in zip(self.episodes[slot], starts)]
