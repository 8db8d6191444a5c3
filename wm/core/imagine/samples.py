"""Sample GIFs for a run's samples/ folder: real context frames, then what the model imagines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from wm.core.imagine.actions import random_actions
from wm.core.imagine.engine import ImaginationEngine
from wm.core.imagine.video import labelled, tile, to_pictures, upscale, write_video
from wm.core.models.base import WorldModelBase


def save_sample(
    model: WorldModelBase,
    clips: dict[str, torch.Tensor],
    steps: int,
    path: str | Path,
    *,
    fps: float = 8,
    scale: int = 2,
    seed: int = 0,
) -> Path:
    """Write a GIF/MP4 of K clips side by side: their T real frames, then ``steps`` imagined ones.

    ``clips``: ``frames`` uint8 (K, T, C, H, W), optionally ``actions`` (K, T'[, A]) and, for a model
    with a state vector, ``states`` (K, T, S) recorded with the frames.
    Actions ``[:T-1]`` join the context frames; the recorded ``actions[T-1:]`` drive the
    imagination as far as they go, uniform random actions (seeded by ``seed``) after that.
    Every picture carries a label row: "real #2" or "imagined #9". The global torch RNG is
    left as it was.
    """
    frames = torch.as_tensor(clips["frames"])
    count, length = frames.shape[:2]
    rng = np.random.default_rng(seed)
    needed = random_actions(model.spec, (count, length - 1 + steps), rng)
    if "actions" in clips:
        recorded = np.asarray(torch.as_tensor(clips["actions"]).cpu())[:, : length - 1 + steps]
        needed[:, : recorded.shape[1]] = recorded
    was_training = model.training
    engine = ImaginationEngine(model, device=next(model.parameters()).device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        engine.reset(frames, needed[:, : length - 1], clips.get("states"))
        imagined = engine.rollout(needed[:, length - 1 :])
    model.train(was_training)
    video = np.concatenate([to_pictures(frames), to_pictures(imagined)], axis=1)  # (K, T + steps, H, W, 3)
    texts = [f"real #{t}" for t in range(length)] + [f"imagined #{t}" for t in range(length, length + steps)]
    columns = [labelled(upscale(clip, scale), texts) for clip in video]
    return write_video(path, tile(columns, columns=count), fps)
