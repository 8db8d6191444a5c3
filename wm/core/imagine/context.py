"""Where imagination starts: context clips from a checkpoint, or windows of a dataset.

A context is T observed frames uint8 (T, C, H, W) and the T-1 actions between them, with the
T state vectors float32 (T, S) recorded with the frames when the model reads them.
A dataset window also carries what really followed: the recorded actions, frames and states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wm.core.checkpoint import Checkpoint
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError


@dataclass
class Context:
    """Observed frames (T, C, H, W) uint8 and actions (T-1[, A]); truth after them when known."""

    frames: np.ndarray
    actions: np.ndarray
    source: str
    next_actions: np.ndarray | None = None  # (N[, A]) recorded from the last context frame on
    next_frames: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 1), np.uint8))  # (N, C, H, W) truth
    states: np.ndarray | None = None  # (T, S) with the frames, for a model with a state vector
    next_states: np.ndarray | None = None  # (N, S) recorded with next_frames


def checkpoint_clips(checkpoint: Checkpoint) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The checkpoint's clips: frames uint8 (K, T, C, H, W), actions (K, T[, A]) and, for a model with a
    state vector, states float32 (K, T, S) (else None)."""
    clips = checkpoint.context
    if "frames" not in clips or len(clips["frames"]) == 0:
        raise WMError("checkpoint holds no context clips; pass --data FILE to take the context from a dataset")
    frames = np.asarray(clips["frames"], dtype=np.uint8)
    actions = np.asarray(clips["actions"]) if "actions" in clips else None
    if actions is None or actions.shape[:2] != frames.shape[:2]:
        found = None if actions is None else tuple(actions.shape)
        raise WMError(
            f"checkpoint context: actions {found} do not match frames {tuple(frames.shape)} (expected (K, T[, A]))"
        )
    size = checkpoint.spec.state_size
    if not size:
        return frames, actions, None
    states = np.asarray(clips["states"], dtype=np.float32) if "states" in clips else None
    if states is None or states.shape != (*frames.shape[:2], size):
        found = None if states is None else tuple(states.shape)
        raise WMError(
            f"checkpoint context: states {found} do not match frames {tuple(frames.shape)} "
            f"(expected (K, T, {size}): the model reads a state vector; pass --data FILE with 'states')"
        )
    return frames, actions, states


def default_context_length(checkpoint: Checkpoint) -> int:
    """The context length the model was trained to start from: its config's data.context_len."""
    return int(checkpoint.config.get("data", {}).get("context_len", 8))


def checkpoint_context(checkpoint: Checkpoint, clip: int, length: int | None = None) -> Context:
    """The last ``length`` frames (default: all) of stored clip ``clip``."""
    frames, actions, states = checkpoint_clips(checkpoint)
    count, stored = frames.shape[:2]
    length = stored if length is None else length
    if not 0 <= clip < count:
        raise WMError(f"checkpoint context: clip {clip} does not exist, expected 0..{count - 1}")
    if not 1 <= length <= stored:
        raise WMError(f"--context {length}: the checkpoint's clips hold {stored} frames, expected 1..{stored}")
    first = stored - length
    return Context(
        frames=frames[clip, first:],
        actions=actions[clip, first : stored - 1],
        source=f"checkpoint clip {clip} ({length} frames)",
        states=None if states is None else states[clip, first:],
    )


def check_compatible(data: DataSpec, model: DataSpec, path: str | Path) -> None:
    """Raise WMError when a dataset's frames, actions or state vectors cannot feed the model."""
    if data.channels != model.channels:
        raise WMError(f"{path}: frames have {data.channels} channels, the model expects {model.channels}")
    if data.action_kind != model.action_kind:
        raise WMError(f"{path}: actions are {data.action_kind}, the model takes {model.action_kind} actions")
    if (data.num_actions > model.num_actions) if data.discrete else (data.num_actions != model.num_actions):
        raise WMError(f"{path}: {data.num_actions} actions, the model takes {model.num_actions}")
    if model.state_size and data.state_size != model.state_size:
        raise WMError(
            f"{path}: 'states' has {data.state_size or 'no'} values per step (state_size {data.state_size}), "
            f"the model reads and predicts a state vector of state_size {model.state_size}"
        )


def read_window(dataset, spec: DataSpec, episode: int, start: int, stop: int) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Steps [start, stop) of an episode with frames resized to the model's (H, W)."""
    from wm.core.data.frames import resize_frames

    window = dataset.read(episode, start, stop)
    window["frames"] = resize_frames(window["frames"], (spec.height, spec.width))
    return window


def data_camera(checkpoint: Checkpoint, path: str | Path, camera: str | None) -> str | list[str] | None:
    """The camera(s) to read ``path`` with: ``camera`` when given, else for a LeRobot dataset the
    model's own ``data.camera`` (the features it was trained on), else None."""
    from wm.core.data.lerobot import is_lerobot

    if camera:
        return camera
    return checkpoint.config.get("data", {}).get("camera") if is_lerobot(path) else None


def dataset_context(
    path: str | Path, spec: DataSpec, *, episode: int, start: int, length: int, steps: int,
    camera: str | list[str] | None = None,
) -> Context:
    """``length`` frames of ``episode`` (negative: from the end) from ``start``, with up to ``steps``
    recorded after; ``camera``: the video feature(s) of a LeRobot dataset (see ``open_dataset``)."""
    from wm.core.data.dataset import open_dataset

    dataset = open_dataset(path, camera)
    check_compatible(dataset.spec, spec, path)
    if not -dataset.num_episodes <= episode < dataset.num_episodes:
        raise WMError(f"--episode {episode}: {path} holds episodes 0..{dataset.num_episodes - 1} (-1 is the last)")
    episode %= dataset.num_episodes
    size = int(dataset.lengths[episode])
    if length < 1 or start < 0 or start + length > size:
        raise WMError(
            f"--start {start} --context {length}: episode {episode} of {path} has {size} frames, "
            f"expected start + context <= {size}"
        )
    window = read_window(dataset, spec, episode, start, min(start + length + steps, size))
    return Context(
        frames=window["frames"][:length],
        actions=window["actions"][: length - 1],
        source=f"{path} episode {episode}, frames {start}..{start + length - 1}",
        next_actions=window["actions"][length - 1 : length - 1 + steps],
        next_frames=window["frames"][length:],
        states=window["states"][:length] if spec.state_size else None,
        next_states=window["states"][length:] if spec.state_size else None,
    )
