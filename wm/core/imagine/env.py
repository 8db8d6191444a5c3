"""A trained world model as a gymnasium environment: act in imagination.

Observation: the imagined frame, uint8 (H, W, C). Action space: ``Discrete(n)`` or
``Box(-1, 1, (A,))``, the model's. Reward and termination come from the model's reward
and continue heads when it has them (terminated when P(continue) < 0.5), otherwise 0 and
never. ``reset`` observes a context clip drawn with the env's ``np_random``; the model's
sampling is seeded from the same generator, so a seeded env is reproducible.

Registered as ``wm/Imagined-v0``: ``gymnasium.make("wm.core.imagine.env:wm/Imagined-v0", model=PATH)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from wm.core.imagine.context import checkpoint_clips
from wm.core.imagine.engine import ImaginationEngine
from wm.core.models.base import WorldModelBase


class ImaginedEnv(gym.Env):
    """``ImaginedEnv("runs/pong/checkpoints/final.pt")`` or ``ImaginedEnv(model, clips=(frames, actions))``.

    ``clips``: frames uint8 (K, T, C, H, W), actions (K, T[, A]) and, for a model with a state vector,
    states (K, T, S) as a third item; taken from the checkpoint when ``model`` is a MODEL reference.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(
        self,
        model: WorldModelBase | str | Path,
        clips: tuple[np.ndarray, ...] | None = None,
        render_mode: str | None = None,
        device: str = "cpu",
    ) -> None:
        if not isinstance(model, WorldModelBase):
            from wm.core.loading import load_model

            model, checkpoint = load_model(str(model))
            clips = clips or checkpoint_clips(checkpoint)
        if clips is None:
            raise ValueError("ImaginedEnv: pass clips=(frames, actions) along with a model object")
        self.engine = ImaginationEngine(model, device)
        self.frames, self.actions = np.asarray(clips[0], dtype=np.uint8), np.asarray(clips[1])
        self.states = clips[2] if len(clips) > 2 else None
        spec = model.spec
        self.observation_space = spaces.Box(0, 255, (spec.height, spec.width, spec.channels), np.uint8)
        if spec.discrete:
            self.action_space = spaces.Discrete(spec.num_actions)
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (spec.num_actions,), np.float32)
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": spec.fps or 15}
        self._observation: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        clip = int(self.np_random.integers(len(self.frames)))
        length = self.frames.shape[1]
        with self._seeded():
            states = None if self.states is None else self.states[clip : clip + 1]
            frame = self.engine.reset(self.frames[clip : clip + 1], self.actions[clip : clip + 1, : length - 1], states)
        self._observation = self._to_observation(frame)
        return self._observation, {"clip": clip}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = np.asarray(action, dtype=np.int64 if self.engine.spec.discrete else np.float32)
        with self._seeded():
            frame = self.engine.step(action[None])
        self._observation = self._to_observation(frame)
        engine = self.engine
        reward = 0.0 if engine.rewards is None else float(engine.rewards[0])
        terminated = False if engine.continues is None else bool(engine.continues[0] < 0.5)
        return self._observation, reward, terminated, False, {}

    def render(self) -> np.ndarray | None:
        """The current frame as RGB (H, W, 3) in ``rgb_array`` mode."""
        if self.render_mode != "rgb_array" or self._observation is None:
            return None
        return np.repeat(self._observation, 3 // self._observation.shape[-1], axis=-1)

    @contextmanager
    def _seeded(self) -> Iterator[None]:
        """The model samples from a torch RNG seeded by ``np_random``; the global one is untouched."""
        seed = int(self.np_random.integers(2**63 - 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield

    def _to_observation(self, frame: torch.Tensor) -> np.ndarray:
        """(1, C, H, W) float -> uint8 (H, W, C)."""
        picture = (frame[0].clamp(0, 1) * 255).round().to(torch.uint8)
        return picture.permute(1, 2, 0).contiguous().cpu().numpy()


ENV_ID = "wm/Imagined-v0"
if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point=ImaginedEnv)
