"""The data a run trains on: the dataset file, its training/held-out split, loaders and context clips.

The last ``data.holdout_episodes`` episodes are held back from training; they provide the
context clips stored in checkpoints, the sample GIFs and the end-of-training evaluation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import torch

from wm.core.config import Config
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError


@dataclasses.dataclass
class TrainingData:
    """A dataset split into training and held-out episodes, frames resized to ``image_size``."""

    path: Path  # a local file or folder (a Hub dataset's download in the Hugging Face cache)
    spec: DataSpec  # height and width are the model's image size
    train_episodes: list[int]
    holdout_episodes: list[int]
    lengths: list[int]  # steps of every episode
    camera: list[str] | str | None = None  # ``data.camera``: the LeRobot video feature(s) read

    @classmethod
    def open(cls, config: Config) -> TrainingData:
        from wm.core.data import open_dataset

        dataset = open_dataset(config.data.path or _builtin(), camera=config.data.camera)
        path = dataset.path
        count, holdout = dataset.num_episodes, config.data.holdout_episodes
        if holdout < 0 or holdout >= count:
            raise WMError(
                f"data.holdout_episodes={holdout} leaves no training episodes in {path} "
                f"({count} episode(s)); expected 0 <= holdout < {count}"
            )
        train = list(range(count - holdout))
        size = config.data.image_size
        state_size = dataset.spec.state_size if config.data.states else 0
        spec = dataclasses.replace(dataset.spec, height=size, width=size, state_size=state_size)
        holdout_episodes = list(range(count - holdout, count))
        return cls(path, spec, train, holdout_episodes, [int(n) for n in dataset.lengths], config.data.camera)

    @property
    def train_frames(self) -> int:
        return sum(self.lengths[i] for i in self.train_episodes)

    def eval_horizons(self, config: Config) -> list[int]:
        """Horizons scored at the end: 1, 4 and 8 where below ``train.sample_steps``, and it; checks that a
        held-out episode is long enough."""
        need = config.data.context_len + config.train.sample_steps
        longest = max((self.lengths[i] for i in self.holdout_episodes), default=0)
        if config.train.eval_at_end and self.holdout_episodes and longest < need:
            raise WMError(
                f"train.eval_at_end: evaluation needs a held-out episode of data.context_len + train.sample_steps "
                f"= {need} steps, the longest in {self.path} has {longest}; lower them or set train.eval_at_end=false"
            )
        return sorted({1, config.train.sample_steps} | {h for h in (4, 8) if h < config.train.sample_steps})

    def steps_per_epoch(self, config: Config, world_size: int) -> int:
        """``train.steps_per_epoch``, or about one pass over the training frames when it is 0."""
        if config.train.steps_per_epoch > 0:
            return config.train.steps_per_epoch
        per_step = config.train.batch_size * config.train.seq_len * world_size
        return max(1, self.train_frames // per_step)

    def loader(self, config: Config, start_step: int, rank: int = 0, world_size: int = 1) -> Iterator[dict[str, torch.Tensor]]:
        """Training batches from step ``start_step`` on; the stream is a pure function of (seed, step, rank)."""
        from wm.core.data import make_loader

        return make_loader(
            self.path,
            seq_len=config.train.seq_len,
            batch_size=config.train.batch_size,
            seed=config.seed,
            start_step=start_step,
            episodes=self.train_episodes,
            num_workers=config.data.num_workers,
            image_size=config.data.image_size,
            rank=rank,
            world_size=world_size,
            camera=self.camera,
        )

    def context_clips(self, config: Config) -> dict[str, torch.Tensor]:
        """``data.context_clips`` clips of ``data.context_len`` frames with their actions and, when the data
        has them, states (held-out first)."""
        from wm.core.data import make_loader

        if config.data.context_clips <= 0:
            return {}
        episodes = self.holdout_episodes or self.train_episodes
        longest = max(self.lengths[i] for i in episodes)
        if longest < config.data.context_len:
            raise WMError(
                f"data.context_len={config.data.context_len}: context clips are cut from the "
                f"{'held-out' if self.holdout_episodes else 'training'} episodes of {self.path}, the longest has "
                f"{longest} steps; lower data.context_len (or set data.context_clips=0)"
            )
        batches = make_loader(
            self.path,
            seq_len=config.data.context_len,
            batch_size=config.data.context_clips,
            seed=config.seed,
            episodes=episodes,
            image_size=config.data.image_size,
            camera=self.camera,
        )
        batch = next(iter(batches))
        keys = ("frames", "actions", "states") if self.spec.state_size else ("frames", "actions")
        return {key: batch[key].contiguous() for key in keys if key in batch}


def _builtin() -> Path:
    from wm.core.data.builtin import builtin_dataset

    return builtin_dataset()
