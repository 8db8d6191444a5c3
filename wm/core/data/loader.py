"""make_loader: an infinite, deterministic stream of training batches from a dataset on disk.

Batch k of ``make_loader(..., start_step=s)`` is the batch of training step s + k, whatever
``num_workers`` is: worker w of W builds the steps with (step - s) % W == w and the DataLoader
hands them out round-robin in that order. Each process opens its own HDF5 handle.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from wm.core.data.dataset import EpisodeDataset, open_dataset
from wm.core.data.frames import parse_size, resize_frames
from wm.core.data.sampler import WindowSampler

Batch = dict[str, torch.Tensor]


class WindowBatches(IterableDataset):
    """Yields whole batches: frames uint8 (B, T, C, H, W), actions (B, T) int64 or (B, T, A) float32,
    rewards float32 (B, T), terminals bool (B, T) and states float32 (B, T, S) when the data has them."""

    def __init__(
        self, dataset: EpisodeDataset, sampler: WindowSampler, batch_size: int, start_step: int,
        image_size: tuple[int, int] | None,
    ) -> None:
        self.dataset = dataset
        self.sampler = sampler
        self.batch_size = batch_size
        self.start_step = start_step
        self.image_size = image_size

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        for step in itertools.count(self.start_step + worker, workers):
            yield self.make_batch(step)

    def make_batch(self, step: int) -> Batch:
        seq = self.sampler.seq_len
        reads = [self.dataset.read(e, s, s + seq) for e, s in self.sampler.batch(step, self.batch_size)]
        batch = {key: torch.from_numpy(np.stack([r[key] for r in reads])) for key in reads[0]}
        if self.image_size is not None:
            batch["frames"] = resize_frames(batch["frames"], self.image_size)
        return batch


def make_loader(
    path: str | Path, *, seq_len: int, batch_size: int, seed: int, start_step: int = 0,
    episodes: Sequence[int] | None = None, num_workers: int = 0, image_size: int | tuple[int, int] | None = None,
    rank: int = 0, world_size: int = 1, camera: str | Sequence[str] | None = None,
) -> Iterator[Batch]:
    """Infinite iterator of batches of windows of ``seq_len`` steps (see WindowBatches for shapes).

    ``episodes`` restricts sampling (e.g. to the training split); ``image_size`` (int or (H, W))
    resizes frames that differ: area averaging to shrink, bilinear to enlarge; ``camera``: the
    video feature(s) of a LeRobot dataset (see ``open_dataset``).
    """
    dataset = open_dataset(path, camera)
    sampler = WindowSampler(dataset.lengths, seq_len, seed, episodes=episodes, rank=rank, world_size=world_size)
    size = parse_size(image_size)
    if size == (dataset.spec.height, dataset.spec.width):
        size = None
    if num_workers > 0:
        dataset.close()  # each worker opens its own handle
    batches = WindowBatches(dataset, sampler, batch_size, start_step, size)
    loader = DataLoader(batches, batch_size=None, num_workers=num_workers, persistent_workers=num_workers > 0)
    return iter(loader)
