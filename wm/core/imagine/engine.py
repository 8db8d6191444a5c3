"""The imagination engine: context -> state, action -> next frame.

Rollout, play, eval, the trainer's samples and the gymnasium env all drive a model
through this one class, so they agree with each other and with training.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import numpy as np
import torch

from wm.core.errors import WMError
from wm.core.imagine.graphed import StaticStep, graphable
from wm.core.models.base import Imagined, State, WorldModelBase


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run on one intra-op thread: a batch-1 step is a chain of small kernels, where a second thread
    costs more in synchronisation (and, on a busy machine, in waiting for a core) than it saves."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class ImaginationEngine:
    """Holds a model's belief state and steps it forward one action (or H actions) at a time.

    Shapes (B batch, T context length, H horizon, A action size):
    ``reset(frames uint8 (B, T, C, H, W), actions (B, T-1[, A]), states (B, T, S) for a model with a
    state vector)`` -> float frame (B, C, H, W); ``step(actions (B[, A]))`` -> (B, C, H, W);
    ``rollout(actions (B, H[, A]))`` -> (B, H, C, H, W); ``imagine`` the same with every output.
    Frames are float in [0, 1]. After each step ``rewards`` and ``continues`` (B,) hold the
    heads' predictions for the last frame, or None when the model has no such head.
    ``fast_decode=True`` opts into the model's faster, slightly inexact decoding where its family
    offers one (``WorldModel.set_fast_decode``; ``self.fast_decode`` says whether it is on).
    Batch-1 steps run on one thread (the fastest at that size), whatever ``torch.get_num_threads()``.
    ``static_steps`` (None: on CUDA) runs ``step`` from static buffers, on CUDA as a replayed CUDA
    graph (``StaticStep``), captured at the first step after each ``reset``; a model whose step
    cannot be captured keeps the plain path. The model's weights must not change in between.
    """

    def __init__(
        self,
        model: WorldModelBase,
        device: str | torch.device = "cpu",
        *,
        fast_decode: bool = False,
        static_steps: bool | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.static_steps = self.device.type == "cuda" if static_steps is None else static_steps
        self.static: StaticStep | None = None
        self.model = model.to(self.device).eval()
        self.fast_decode = model.set_fast_decode(fast_decode)
        self.spec = model.spec
        self.state: State | None = None
        self.batch = 0
        self.rewards: torch.Tensor | None = None
        self.continues: torch.Tensor | None = None

    @torch.inference_mode()
    def reset(
        self, frames: torch.Tensor | np.ndarray, actions: torch.Tensor | np.ndarray,
        states: torch.Tensor | np.ndarray | None = None,
    ) -> torch.Tensor:
        """Observe a context clip (with its state vectors, which a model that reads them needs); returns
        the model's picture of its last frame (B, C, H, W)."""
        frames = torch.as_tensor(frames).to(self.device)
        spec = self.spec
        if frames.ndim != 5 or tuple(frames.shape[2:]) != (spec.channels, spec.height, spec.width):
            raise WMError(
                f"context frames: expected (B, T, {spec.channels}, {spec.height}, {spec.width}), "
                f"found {tuple(frames.shape)}"
            )
        actions = self._actions(actions, frames.shape[:1] + (frames.shape[1] - 1,))
        states = None if states is None else torch.as_tensor(states).to(self.device, torch.float32)
        self.state = self.model.observe(frames, actions, states)
        self.static = None
        self.batch = frames.shape[0]
        self.rewards = self.continues = None
        return self.model.decode(self.state)

    @torch.inference_mode()
    def step(self, actions: torch.Tensor | np.ndarray | int) -> torch.Tensor:
        """Take one action per batch row, (B[, A]); returns the imagined frames (B, C, H, W)."""
        actions = torch.as_tensor(actions)
        if actions.ndim == (0 if self.spec.discrete else 1):
            actions = actions.unsqueeze(0)
        return self.rollout(actions.unsqueeze(1))[:, 0]

    @torch.inference_mode()
    def rollout(self, actions: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Take H actions per batch row, (B, H[, A]); returns the imagined frames (B, H, C, H, W)."""
        return self.imagine(actions).frames

    @torch.inference_mode()
    def imagine(self, actions: torch.Tensor | np.ndarray) -> Imagined:
        """Take H actions per batch row, (B, H[, A]); returns every output of the H steps (frames as
        ``rollout``'s, the heads' predictions and state vectors where the model has them)."""
        return self._advance(actions, decode=True)

    @torch.inference_mode()
    def frames_at(self, actions: torch.Tensor | np.ndarray, horizons: list[int]) -> torch.Tensor:
        """Take ``horizons[-1]`` actions per row, (B, H[, A]); returns only the frames at ``horizons``
        (1-based, increasing), (B, K, C, H, W), the ones rollout returns there, decoding no other step."""
        return self.predict_at(actions, horizons)[0]

    @torch.inference_mode()
    def predict_at(
        self, actions: torch.Tensor | np.ndarray, horizons: list[int]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``frames_at``, and the predicted state vectors at ``horizons`` (B, K, S) (None without them)."""
        actions = torch.as_tensor(actions)
        frames, states, done = [], [], 0
        for horizon in horizons:
            imagined = self._advance(actions[:, done:horizon], decode=False)
            frames.append(self.model.decode(self.state))
            if imagined.states is not None:
                states.append(imagined.states[:, -1])
            done = horizon
        return torch.stack(frames, 1), torch.stack(states, 1) if states else None

    def _advance(self, actions: torch.Tensor | np.ndarray, decode: bool) -> Imagined:
        """Imagine from the current state with actions (B, H[, A]) and keep the new state and heads."""
        if self.state is None:
            raise WMError("imagination engine: call reset(context) before step or rollout")
        actions = torch.as_tensor(actions)
        actions = self._actions(actions, (self.batch, actions.shape[1] if actions.ndim > 1 else 1))
        with _one_thread() if self.batch == 1 else nullcontext():
            imagined = self._imagine(actions, decode)
        self.state = imagined.state
        self.rewards = None if imagined.rewards is None else imagined.rewards[:, -1]
        self.continues = None if imagined.continues is None else imagined.continues[:, -1]
        return imagined

    def _imagine(self, actions: torch.Tensor, decode: bool) -> Imagined:
        """``model.imagine`` from the current state, through the static step where it applies."""
        if not (self.static_steps and decode and actions.shape[1] == 1 and graphable(self.state)):
            return self.model.imagine(self.state, actions, decode=decode)
        if self.static is None or not self.static.fits(self.state, actions):
            try:
                self.static = StaticStep(self.model, self.state, actions)
            except RuntimeError:  # an operator that cannot be captured: the plain path from now on
                self.static_steps = False
                return self.model.imagine(self.state, actions, decode=decode)
        return self.static(self.state, actions)

    def _actions(self, actions: torch.Tensor | np.ndarray, batch_time: tuple[int, ...]) -> torch.Tensor:
        """Actions as the model takes them: int64 (B, T) or float32 (B, T, A) on the device."""
        actions = torch.as_tensor(actions)
        if self.spec.discrete:
            expected = tuple(batch_time)
            actions = actions.to(self.device, torch.long)
        else:
            expected = (*batch_time, self.spec.num_actions)
            actions = actions.to(self.device, torch.float32)
        if tuple(actions.shape) != expected:
            raise WMError(f"actions: expected shape {expected}, found {tuple(actions.shape)}")
        return actions
