"""`wm rollout --each-action`: one tile per action, every tile imagined from the same context.

Tiles, row-major in a near-square grid (``video.tile``), each under a label row per step:
with a recorded future, "truth  #t" (the recorded frames) and "recorded ACTION  #t" (imagined
with the recorded actions) come first; then "NAME  #t" for every action of the model's
discrete space, that action held for every step. Each tile is imagined on its own from the
same seed, so all share the context's latent sample and every later random draw: tiles differ
by their actions alone (and each equals ``wm rollout --actions repeat:NAME --seed S``).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.imagine.actions import action_label
from wm.core.imagine.context import Context
from wm.core.imagine.engine import ImaginationEngine
from wm.core.imagine.video import labelled, tile, to_pictures, upscale

MAX_ACTIONS = 18  # ALE's full action set; more tiles than this stop being readable


def held_actions(spec: DataSpec, steps: int) -> np.ndarray:
    """Every action of ``spec`` held for ``steps`` steps: int64 (num_actions, steps)."""
    if not spec.discrete:
        raise WMError(
            f"--each-action: the model's actions are continuous ({spec.num_actions} dimensions), expected discrete; "
            f"use --actions repeat:V1,...,V{spec.num_actions} for one held vector"
        )
    if spec.num_actions > MAX_ACTIONS:
        raise WMError(
            f"--each-action: the model has {spec.num_actions} actions, expected at most {MAX_ACTIONS} tiles; "
            f"use --actions repeat:K for one action"
        )
    return np.repeat(np.arange(spec.num_actions, dtype=np.int64)[:, None], steps, axis=1)


def each_action_video(
    engine: ImaginationEngine, context: Context, steps: int, scale: int, seed: int
) -> tuple[np.ndarray, int, float]:
    """(video uint8 (steps, H', W', 3), futures imagined, seconds spent imagining) for ``context``.

    The truth and recorded-actions tiles appear when ``context`` comes from a dataset
    (``next_actions`` set); it must then hold ``steps`` recorded steps.
    """
    spec = engine.spec
    plans = [(a, [f"{spec.action_name(int(a[0]))}  #{t + 1}" for t in range(steps)]) for a in held_actions(spec, steps)]
    recorded = context.next_actions is not None
    if recorded:
        actions = np.asarray(context.next_actions[:steps])
        plans.insert(0, (actions, [f"recorded {action_label(spec, actions[t])}  #{t + 1}" for t in range(steps)]))
    seconds, tiles = 0.0, []
    for actions, texts in plans:
        began = time.perf_counter()
        imagined = imagine_alone(engine, context, actions, seed)
        seconds += time.perf_counter() - began
        tiles.append(labelled(upscale(to_pictures(imagined), scale), texts))
    if recorded:
        truth = upscale(to_pictures(context.next_frames[:steps]), scale)
        tiles.insert(0, labelled(truth, [f"truth  #{t + 1}" for t in range(steps)]))
    return tile(tiles), len(plans), seconds


def imagine_alone(engine: ImaginationEngine, context: Context, actions: np.ndarray, seed: int) -> torch.Tensor:
    """Observe ``context`` and imagine ``actions`` (H[, A]) as a batch of one from ``seed``: (H, C, H, W)."""
    torch.manual_seed(seed)
    engine.reset(context.frames[None], context.actions[None], None if context.states is None else context.states[None])
    return engine.rollout(actions[None])[0]
