"""make_loader: batches of the sampler's windows, identical for any number of workers."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from wm.core.data import WindowSampler, make_loader, open_dataset


def take(loader, n):
    return list(itertools.islice(loader, n))


def test_batches_hold_the_sampled_windows(tiny_dataset) -> None:
    batch = next(make_loader(tiny_dataset, seq_len=12, batch_size=5, seed=2))
    assert batch["frames"].shape == (5, 12, 3, 64, 64) and batch["frames"].dtype == torch.uint8
    assert batch["actions"].shape == (5, 12) and batch["actions"].dtype == torch.int64
    assert batch["rewards"].dtype == torch.float32 and batch["terminals"].dtype == torch.bool
    dataset = open_dataset(tiny_dataset)
    for i, (episode, start) in enumerate(WindowSampler(dataset.lengths, 12, seed=2).batch(0, 5)):
        window = dataset.read(episode, start, start + 12)
        np.testing.assert_array_equal(batch["frames"][i].numpy(), window["frames"])
        np.testing.assert_array_equal(batch["actions"][i].numpy(), window["actions"])


def test_same_batches_for_any_worker_count_and_resume(tiny_dataset) -> None:
    kwargs = dict(seq_len=8, batch_size=3, seed=7)
    serial = take(make_loader(tiny_dataset, **kwargs), 5)
    parallel = take(make_loader(tiny_dataset, num_workers=2, **kwargs), 5)
    resumed = take(make_loader(tiny_dataset, start_step=3, num_workers=2, **kwargs), 2)
    for a, b in zip(serial, parallel):
        assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["actions"], b["actions"])
    for a, b in zip(serial[3:], resumed):
        assert torch.equal(a["frames"], b["frames"])


def test_resize_and_episode_subset(tiny_dataset) -> None:
    loader = make_loader(tiny_dataset, seq_len=4, batch_size=2, seed=0, image_size=32, episodes=[1])
    batch = next(loader)
    assert batch["frames"].shape == (2, 4, 3, 32, 32) and batch["frames"].dtype == torch.uint8
    big = next(make_loader(tiny_dataset, seq_len=4, batch_size=2, seed=0, image_size=(80, 96)))
    assert big["frames"].shape == (2, 4, 3, 80, 96)
