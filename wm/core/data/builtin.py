"""The built-in quick-start dataset: real Breakout frames, collected once and cached.

The balanced sticky-random policy (``wm.core.data.policy``: the paddle keeps moving instead of
resting against a wall, so the data shows what the actions do) plays ALE Breakout for
BUILTIN_STEPS steps at 64x64, in episodes of at most BUILTIN_EPISODE_STEPS steps. Collection
takes well under a minute; the file lands in ``$WM_CACHE_DIR`` or ``~/.cache/wm`` and is reused.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from wm.core.data.collect import collect

BUILTIN_ENV = "ALE/Breakout-v5"
BUILTIN_STEPS = 10000
BUILTIN_EPISODE_STEPS = 500
BUILTIN_NAME = "builtin-breakout-64-balanced-10k.h5"  # a new name whenever what is collected changes


def cache_dir() -> Path:
    """$WM_CACHE_DIR, else ~/.cache/wm (created on demand)."""
    folder = Path(os.environ.get("WM_CACHE_DIR") or Path.home() / ".cache" / "wm").expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def builtin_dataset(log: Callable[[str], None] | None = None) -> Path:
    """Path of the built-in dataset, collecting it first if the cache does not hold it yet."""
    path = cache_dir() / BUILTIN_NAME
    if path.is_file():
        return path
    if log:
        log(f"No data.path given: collecting the built-in dataset once ({BUILTIN_STEPS} steps of {BUILTIN_ENV}, "
            f"balanced sticky random policy, 64x64) into {path}")
    return collect(BUILTIN_ENV, path, steps=BUILTIN_STEPS, size=(64, 64), seed=0, policy="balanced",
                   max_episode_steps=BUILTIN_EPISODE_STEPS)
