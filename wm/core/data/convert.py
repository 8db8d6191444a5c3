"""Convert any accepted source into the canonical HDF5 file (see writer.py).

Sources: an HDF5 file in any accepted layout, a folder of .npz episodes, a folder of image
folders, video files with actions beside them (see media.py), or a LeRobot dataset, a folder or
``hf://datasets/USER/NAME`` (see lerobot.py; ``camera`` picks its video features). ``action_offset=k`` is for
data recorded with the action that *led to* each frame: the action taken at frame t is then
stored at t + k, so actions (and rewards, terminals) move k steps earlier and each episode
loses its last k frames, whose action is unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from wm.core.data import checks
from wm.core.data.dataset import HDF5_SUFFIXES, EpisodeDataset, open_dataset
from wm.core.data.frames import resize_frames
from wm.core.data.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, ImageFolderEpisodes, VideoEpisodes
from wm.core.data.writer import EpisodeWriter
from wm.core.errors import WMError

BLOCK = 512  # frames read and resized at a time


def open_source(path: str | Path, camera: str | Sequence[str] | None = None) -> EpisodeDataset:
    """Detect the layout of ``path`` and open it (validating it)."""
    from wm.core.data.lerobot import is_lerobot, open_lerobot

    if is_lerobot(path):
        return open_lerobot(path, camera)
    if camera:
        raise WMError(f"{path}: --camera {camera} was given, but this is not a LeRobot dataset; "
                      "expected --camera only with LeRobot datasets")
    path = Path(path).expanduser()
    accepted = ("an HDF5 file, a folder of .npz episodes, a folder of image folders, videos with actions beside "
                "them, or a LeRobot dataset")
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoEpisodes(path)
    if not path.is_dir() or any(path.glob("*.npz")):
        if path.is_file() and path.suffix.lower() not in HDF5_SUFFIXES:
            raise WMError(f"{path}: unknown source type '{path.suffix}'; expected {accepted}")
        return open_dataset(path)
    if any(f.suffix.lower() in VIDEO_SUFFIXES for f in path.iterdir()):
        return VideoEpisodes(path)
    if any(d.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.iterdir()) for d in path.iterdir()):
        return ImageFolderEpisodes(path)
    raise WMError(f"{path}: found no episodes in this folder; expected {accepted}")


def convert(
    src: str | Path, out: str | Path, *, resize: tuple[int, int] | None = None, action_offset: int = 0,
    action_names: Sequence[str] | None = None, fps: float | None = None, overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None, camera: str | Sequence[str] | None = None,
) -> Path:
    """Write ``src`` as a canonical HDF5 file at ``out``; ``progress(done, total)`` counts episodes."""
    if action_offset < 0:
        raise WMError(f"action offset {action_offset}; expected 0 or a positive number of steps")
    source = open_source(src, camera)
    if Path(out).expanduser().resolve() == source.path.resolve():
        raise WMError(f"{out}: is the source itself; expected a different output file")
    names = tuple(action_names) if action_names else source.spec.action_names
    if names and not source.spec.discrete:
        raise WMError(f"{src}: action names given for continuous actions; expected discrete actions")
    checks.action_names(source.path, names, source.spec.num_actions if source.spec.discrete else 0)
    height, width = resize or (source.spec.height, source.spec.width)
    spec = replace(source.spec, height=height, width=width, action_names=names, fps=fps or source.spec.fps)
    keep = [e for e in range(source.num_episodes) if source.lengths[e] > action_offset]
    if not keep:
        raise WMError(f"{src}: every episode has at most {action_offset} steps; expected longer episodes "
                      f"for action offset {action_offset}")
    with EpisodeWriter(out, spec, source=f"converted from {source.source}", overwrite=overwrite) as writer:
        for done, episode in enumerate(keep, start=1):
            frames, steps = _episode(source, episode, (height, width), action_offset)
            writer.add_episode(frames, **steps)
            if progress:
                progress(done, len(keep))
    return Path(out)


def _episode(
    source: EpisodeDataset, episode: int, size: tuple[int, int], offset: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Frames and the per-step arrays (actions, rewards, terminals, states as present) of one episode,
    resized block by block and shifted."""
    length = int(source.lengths[episode])
    blocks, parts = [], []
    for start in range(0, length, BLOCK):
        part = source.read(episode, start, min(start + BLOCK, length))
        blocks.append(resize_frames(part.pop("frames"), size))
        parts.append(part)
    frames = np.concatenate(blocks)[: length - offset]
    return frames, {key: np.concatenate([p[key] for p in parts])[offset:] for key in parts[0]}
