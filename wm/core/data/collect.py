"""Collect a dataset from a gymnasium environment with a random, sticky or balanced policy (see policy.py).

Frames are the env's rgb render, resized (area averaging) to ``size``. Each recorded step t
holds the frame seen, the action taken there, and that step's reward and termination; the
frame after an episode's last step is not stored. ALE games are made with their own frame
skip and ``repeat_action_probability=0`` so that the recorded action is the one executed;
other envs repeat the action ``frameskip`` times. ``ale:pong`` is short for ``ALE/Pong-v5``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

import numpy as np

from wm.core.data.frames import resize_frames
from wm.core.data.policy import Policy
from wm.core.data.spec import DataSpec
from wm.core.data.writer import EpisodeWriter
from wm.core.errors import WMError

INSTALL_HINT = "install it with: pip install 'wm-world-models[atari]'"
RESIZE_BLOCK = 256  # raw frames held before they are resized


def resolve_env_id(name: str) -> str:
    """``ale:space_invaders`` -> ``ALE/SpaceInvaders-v5``; other ids are returned unchanged."""
    if name.lower().startswith("ale:"):
        game = "".join(part[:1].upper() + part[1:] for part in name[4:].replace("-", "_").split("_"))
        return f"ALE/{game}-v5"
    return name


def make_env(env_id: str, frameskip: int | None) -> tuple[Any, int, float | None]:
    """The env (rendering rgb arrays), how often our loop repeats each action, and recorded steps per second."""
    try:
        import gymnasium as gym
    except ImportError:
        raise WMError(f"collecting needs gymnasium, which is not installed; {INSTALL_HINT}") from None
    kwargs: dict[str, Any] = {"render_mode": "rgb_array"}
    repeat = frameskip or 1
    if env_id.startswith("ALE/"):
        try:
            import ale_py
        except ImportError:
            raise WMError(f"{env_id} needs ale-py, which is not installed; {INSTALL_HINT}") from None
        gym.register_envs(ale_py)
        kwargs["repeat_action_probability"] = 0.0
        if frameskip:
            kwargs["frameskip"] = frameskip
        repeat = 1
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as err:
        raise WMError(f"environment '{env_id}': {err}; expected a gymnasium id like ALE/Pong-v5 or ale:pong") from None
    if not hasattr(env.action_space, "n") and len(getattr(env.action_space, "shape", ()) or ()) != 1:
        raise WMError(f"environment '{env_id}' has action space {env.action_space}; expected Discrete or a 1-D Box")
    if env_id.startswith("ALE/"):  # the Atari runs at 60 frames per second
        native = frameskip or (env.spec.kwargs.get("frameskip", 1) if env.spec else 1)
        return env, repeat, 60.0 / native if isinstance(native, int) else None
    render_fps = env.metadata.get("render_fps")
    return env, repeat, float(render_fps) / repeat if render_fps else None


def collect(
    env_name: str, out: str | Path, *, steps: int | None = None, episodes: int | None = None,
    size: tuple[int, int] = (64, 64), frameskip: int | None = None, seed: int = 0,
    policy: Literal["random", "sticky", "balanced"] = "sticky", stickiness: float = 0.75, max_episode_steps: int | None = None,
    overwrite: bool = False, progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Record ``steps`` steps or ``episodes`` episodes into the canonical HDF5 file ``out``.

    ``progress(steps_done, episodes_done)`` is called as collection advances.
    """
    if (steps is None) == (episodes is None) or (steps or episodes or 0) < 1:
        raise WMError("collect: give exactly one of steps or episodes, a positive number")
    if not 0.0 <= stickiness < 1.0:
        raise WMError(f"stickiness={stickiness}; expected a probability in [0, 1)")
    env_id = resolve_env_id(env_name)
    env, repeat, fps = make_env(env_id, frameskip)
    space = env.action_space
    discrete = hasattr(space, "n")
    names = tuple(env.unwrapped.get_action_meanings()) if hasattr(env.unwrapped, "get_action_meanings") else ()
    spec = DataSpec(
        channels=3, height=size[0], width=size[1], action_kind="discrete" if discrete else "continuous",
        num_actions=int(space.n) if discrete else int(space.shape[0]), action_names=names, has_rewards=True,
        has_terminals=True, fps=fps,
    )
    act = Policy(space, np.random.default_rng(seed), 0.0 if policy == "random" else stickiness, names, policy == "balanced")
    total, done_episodes = 0, 0
    source = f"{env_id} {policy} policy seed={seed}"
    with closing(env), EpisodeWriter(out, spec, source=source, overwrite=overwrite) as writer:
        while (steps is None or total < steps) and (episodes is None or done_episodes < episodes):
            env.reset(seed=seed if done_episodes == 0 else None)
            caps = [x for x in (None if steps is None else steps - total, max_episode_steps) if x is not None]
            limit = min(caps) if caps else None
            tick = (lambda n, base=total, eps=done_episodes: progress(base + n, eps)) if progress else None
            episode = _episode(env, act, repeat, size, limit, tick)
            writer.add_episode(*episode)
            total += len(episode[1])
            done_episodes += 1
            if progress:
                progress(total, done_episodes)
    return Path(out)


def _episode(
    env: Any, act: Policy, repeat: int, size: tuple[int, int], limit: int | None, tick: Callable[[int], None] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run one episode from the current reset state: frames, actions, rewards, terminals.

    ``tick(steps)`` reports the steps recorded so far in this episode."""
    blocks, raw, actions, rewards, terminals = [], [], [], [], []
    act.reset()
    ended = False
    while not ended and (limit is None or len(actions) < limit):
        raw.append(env.render())
        if not actions and (not isinstance(raw[0], np.ndarray) or raw[0].ndim != 3 or raw[0].shape[-1] != 3):
            raise WMError(f"environment '{env.spec.id if env.spec else env}' renders {type(raw[0]).__name__}; "
                          "expected rgb frames (H, W, 3) from render_mode='rgb_array'")
        action = act()
        reward, terminated, truncated = 0.0, False, False
        for _ in range(repeat):
            _, r, terminated, truncated, _ = env.step(action)
            reward += float(r)
            if terminated or truncated:
                break
        actions.append(action)
        rewards.append(reward)
        terminals.append(terminated)
        ended = terminated or truncated
        if tick:
            tick(len(actions))
        if len(raw) == RESIZE_BLOCK or ended or len(actions) == limit:
            blocks.append(resize_frames(np.stack(raw).transpose(0, 3, 1, 2), size))
            raw = []
    return (np.concatenate(blocks), np.asarray(actions), np.asarray(rewards, np.float32),
            np.asarray(terminals, np.bool_))
