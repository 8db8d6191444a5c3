"""What a dataset holds, at a glance: the facts behind ``wm data inspect`` and its contact sheet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wm.core.data.dataset import EpisodeDataset
from wm.core.errors import WMError
from wm.core.files import atomic_path

SAMPLED_EPISODES = 16
SAMPLED_FRAMES = 256
GAP = 2  # pixels between contact-sheet tiles


@dataclass
class Summary:
    """Statistics of a dataset; pixel values come from a sample of episodes spread over it."""

    episodes: int
    total_steps: int
    lengths: tuple[int, float, int]  # min, median, max
    storage: dict[str, str]
    pixel_range: tuple[int, int]
    action_counts: list[tuple[str, int]]  # discrete: (name, count) per action; continuous: empty
    action_range: tuple[float, float] | None  # continuous actions: min, max
    state_range: tuple[float, float] | None  # states (spec.state_size values per step): min, max
    rewards: tuple[float, float, float] | None  # sum, min, max
    terminals: int | None  # number of terminal steps
    disk_bytes: int
    raw_frame_bytes: int  # frames as uint8 without padding or compression

    @property
    def compression(self) -> float:
        return self.raw_frame_bytes / max(self.disk_bytes, 1)


def summarize(dataset: EpisodeDataset) -> Summary:
    spec = dataset.spec
    ranges = [(int(f.min()), int(f.max())) for f in (  # one sampled window in memory at a time
        dataset.read(e, 0, min(SAMPLED_FRAMES, int(dataset.lengths[e])))["frames"]
        for e in dataset.spread_episodes(SAMPLED_EPISODES))]
    actions = dataset.all_steps("actions")
    counts: list[tuple[str, int]] = []
    action_range = None
    if spec.discrete:
        per_action = np.bincount(actions, minlength=spec.num_actions)
        counts = [(spec.action_name(a), int(n)) for a, n in enumerate(per_action)]
    else:
        action_range = (float(actions.min()), float(actions.max()))
    states = dataset.all_steps("states") if spec.state_size else None
    rewards = dataset.all_steps("rewards")
    terminals = dataset.all_steps("terminals")
    return Summary(
        episodes=dataset.num_episodes, total_steps=dataset.total_steps,
        lengths=(int(dataset.lengths.min()), float(np.median(dataset.lengths)), int(dataset.lengths.max())),
        storage=dataset.storage(), pixel_range=(min(r[0] for r in ranges), max(r[1] for r in ranges)),
        action_counts=counts, action_range=action_range,
        state_range=None if states is None else (float(states.min()), float(states.max())),
        rewards=None if rewards is None else (float(rewards.sum()), float(rewards.min()), float(rewards.max())),
        terminals=None if terminals is None else int(terminals.sum()), disk_bytes=dataset.disk_bytes(),
        raw_frame_bytes=dataset.total_steps * spec.channels * spec.height * spec.width,
    )


def contact_sheet(dataset: EpisodeDataset, path: str | Path, episodes: int = 8, frames: int = 8) -> Path:
    """PNG grid: one row per episode (spread over the dataset), ``frames`` columns spread over each episode."""
    import imageio.v3 as iio

    path = Path(path).expanduser()
    if path.suffix.lower() != ".png":
        raise WMError(f"{path}: grid file must end in .png; expected a PNG path")
    spec = dataset.spec
    rows = dataset.spread_episodes(episodes)
    tile_h, tile_w = spec.height + GAP, spec.width + GAP
    sheet = np.full((len(rows) * tile_h + GAP, frames * tile_w + GAP, 3), 255, dtype=np.uint8)
    for r, e in enumerate(rows):
        picks = np.linspace(0, int(dataset.lengths[e]) - 1, frames).round().astype(int)
        for c, t in enumerate(picks):
            tile = dataset.read(e, int(t), int(t) + 1)["frames"][0].transpose(1, 2, 0)
            tile = np.repeat(tile, 3, axis=2) if tile.shape[2] == 1 else tile[..., :3]
            y, x = GAP + r * tile_h, GAP + c * tile_w
            sheet[y : y + spec.height, x : x + spec.width] = tile
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, sheet)
    return path
