"""`wm rollout`: imagine N steps from a context and write them as a GIF/MP4.

Output: N pictures, one per imagined step (the context itself is not repeated). With
``batch`` B > 1 the B futures imagined from the same context are tiled in a grid. With
``compare`` every picture is [real | imagined ...] side by side, each under a label row
("real #5", "imagined #5  LEFT"), where real frame t is what the recorded action t produced.
With ``each_action`` the picture is the per-action grid of ``grid.py`` instead.
A model with a state vector (``spec.state_size`` = S > 0) observes the context's states, and beside
the video (not with ``each_action``) the states it predicts are written as ``NAME.states.npy``:
float32 (B, N, S), future b's state vector after imagined step n, in the data's units.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wm.core.checkpoint import Checkpoint
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.files import atomic_path
from wm.core.imagine.actions import action_label, parse_actions
from wm.core.imagine.context import Context, checkpoint_context, data_camera, dataset_context, default_context_length
from wm.core.imagine.engine import ImaginationEngine
from wm.core.imagine.grid import each_action_video, held_actions
from wm.core.imagine.video import FORMATS, labelled, tile, to_pictures, upscale, write_video
from wm.core.models.base import WorldModelBase


@dataclass
class RolloutOptions:
    """What `wm rollout` was asked for (see its --help)."""

    output: Path
    steps: int = 50
    fps: float = 15.0
    scale: int = 4
    data: str | None = None  # a dataset path or hf://datasets/USER/NAME
    episode: int = 0  # dataset episode, or checkpoint clip without data
    start: int = 0
    context: int | None = None  # None = the checkpoint's data.context_len (its whole clips without data)
    actions: str | None = None  # None = "data" with compare, else "random"
    compare: bool = False
    batch: int = 1
    seed: int = 0
    each_action: bool = False  # one tile per action held throughout (grid.py), truth tiles with data
    camera: str | None = None  # LeRobot data: video feature(s); None = the model's data.camera


@dataclass
class RolloutResult:
    output: Path
    source: str
    steps: int
    batch: int
    seconds: float  # spent imagining (observe + imagine + decode)
    states: Path | None = None  # the predicted state vectors (B, N, S), for a model with a state vector

    @property
    def frames_per_second(self) -> float:
        return self.steps * self.batch / max(self.seconds, 1e-9)


def run_rollout(
    model: WorldModelBase, checkpoint: Checkpoint, options: RolloutOptions, device: str | torch.device = "cpu"
) -> RolloutResult:
    """Imagine on ``device`` from the asked-for context with the asked-for actions (or each action) and
    write the video."""
    options = _checked(options)
    spec = model.spec
    if options.each_action:
        held_actions(spec, options.steps)  # a continuous or too large action space fails before any reading
    context = _context(checkpoint, spec, options)
    engine = ImaginationEngine(model, device)
    states = None
    with torch.random.fork_rng(devices=[]):
        if options.each_action:
            video, batch, seconds = each_action_video(engine, context, options.steps, options.scale, options.seed)
        else:
            video, batch, seconds, states = _imagine(engine, context, spec, options)
    write_video(options.output, video, options.fps)
    written = None if states is None else write_states(options.output.with_suffix(".states.npy"), states)
    return RolloutResult(options.output, context.source, options.steps, batch, seconds, written)


def write_states(path: Path, states: np.ndarray) -> Path:
    """Write predicted state vectors float32 (B, N, S) as .npy (atomic)."""
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.save(handle, states.astype(np.float32))
    return path


def _context(checkpoint: Checkpoint, spec: DataSpec, options: RolloutOptions) -> Context:
    """The context to imagine from; with a truth to show, it must be followed by ``--steps`` recorded steps."""
    if options.data is None:
        return checkpoint_context(checkpoint, options.episode, options.context)
    length = options.context or default_context_length(checkpoint)
    context = dataset_context(
        options.data, spec, episode=options.episode, start=options.start, length=length, steps=options.steps,
        camera=data_camera(checkpoint, options.data, options.camera),
    )
    if (options.compare or options.each_action) and len(context.next_frames) < options.steps:
        flag = "--compare" if options.compare else "--each-action --data"
        raise WMError(
            f"{flag}: {context.source} is followed by {len(context.next_frames)} recorded frames, "
            f"expected --steps {options.steps}; lower --steps or --start"
        )
    return context


def _imagine(
    engine: ImaginationEngine, context: Context, spec: DataSpec, options: RolloutOptions
) -> tuple[np.ndarray, int, float, np.ndarray | None]:
    """(video, futures imagined, seconds imagining, predicted states (B, N, S) or None) for ``--actions``
    over ``--batch`` futures."""
    text = options.actions or ("data" if options.compare else "random")
    rng = np.random.default_rng(options.seed)
    actions = parse_actions(text, spec, steps=options.steps, batch=options.batch, rng=rng, recorded=context.next_actions)
    frames = np.repeat(context.frames[None], options.batch, axis=0)
    torch.manual_seed(options.seed)
    began = time.perf_counter()
    states = None if context.states is None else np.repeat(context.states[None], options.batch, axis=0)
    engine.reset(frames, np.repeat(context.actions[None], options.batch, axis=0), states)
    imagined = engine.imagine(actions)
    seconds = time.perf_counter() - began
    video = _compose(upscale(to_pictures(imagined.frames), options.scale), context, actions, spec, options)
    predicted = None if imagined.states is None else imagined.states.cpu().numpy()
    return video, options.batch, seconds, predicted


def _checked(options: RolloutOptions) -> RolloutOptions:
    """``options`` after the checks that need no model or data, so mistakes cost nothing."""
    if options.output.suffix.lower() not in FORMATS:
        raise WMError(f"--output {options.output}: unknown video format '{options.output.suffix}', expected .gif or .mp4")
    if not options.output.parent.is_dir():
        raise WMError(f"--output {options.output}: folder {options.output.parent} does not exist")
    if options.steps < 1 or options.batch < 1 or options.scale < 1 or options.fps <= 0:
        raise WMError(
            f"rollout: --steps, --batch, --scale and --fps must be positive, found "
            f"{options.steps}, {options.batch}, {options.scale}, {options.fps}"
        )
    if options.compare and options.data is None:
        raise WMError("--compare shows the recorded truth beside the imagination: pass --data FILE")
    if options.each_action and (options.compare or options.actions is not None or options.batch != 1):
        raise WMError(
            "--each-action imagines one future per action (and the recorded one with --data); "
            "drop --compare, --actions and --batch"
        )
    if options.compare and options.actions not in (None, "data"):
        raise WMError(f"--compare imagines with the recorded actions; drop --actions {options.actions} or use --actions data")
    return options


def _compose(
    pictures: np.ndarray, context: Context, actions: np.ndarray, spec: DataSpec, options: RolloutOptions
) -> np.ndarray:
    """The video (N, H', W', 3) from imagined pictures (B, N, H, W, 3), truth-and-labels with ``compare``."""
    batch, steps = pictures.shape[:2]
    if not options.compare:
        return pictures[0] if batch == 1 else tile(list(pictures))
    truth = upscale(to_pictures(context.next_frames[:steps]), options.scale)
    columns = [labelled(truth, [f"real #{t}" for t in range(1, steps + 1)])]
    for b in range(batch):
        name = "imagined" if batch == 1 else f"future {b + 1}"
        texts = [f"{name} #{t + 1}  {action_label(spec, actions[b, t])}" for t in range(steps)]
        columns.append(labelled(pictures[b], texts))
    return tile(columns, columns=len(columns))
