"""Action sequences from a command-line description (`--actions`), checked against the model's space.

Accepted descriptions (discrete spaces take indices or action names, case-insensitive):
- ``random``: uniform over the actions (continuous: uniform in [-1, 1] per dimension);
- ``repeat:K``: action K at every step (continuous: ``repeat:0.5,-1`` gives the vector);
- ``0,2,2,3`` or ``UP,FIRE``: this sequence, repeated cyclically to fill the steps;
- ``FILE.npy``: an array (H[, A]) or (B, H[, A]) with at least the requested steps;
- ``data``: the actions recorded after the context (needs a dataset window).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wm.core.data.spec import DataSpec
from wm.core.errors import WMError


def parse_actions(
    text: str,
    spec: DataSpec,
    *,
    steps: int,
    batch: int = 1,
    rng: np.random.Generator,
    recorded: np.ndarray | None = None,
) -> np.ndarray:
    """Actions (batch, steps) int64 or (batch, steps, A) float32 described by ``text``."""
    text = text.strip()
    if text == "random":
        return random_actions(spec, (batch, steps), rng)
    if text == "data":
        if recorded is None:
            raise WMError("--actions data: recorded actions need a dataset, pass --data FILE")
        return _fit(np.asarray(recorded), spec, steps, batch, "--actions data")
    if text.endswith(".npy"):
        return _fit(_load_npy(Path(text)), spec, steps, batch, f"--actions {text}")
    if text.startswith("repeat:"):
        one = _parse_values(text[len("repeat:") :], spec, text, single=True)
        return _fit(np.repeat(one, steps, axis=0), spec, steps, batch, f"--actions {text}")
    sequence = _parse_values(text, spec, text, single=False)
    cycles = -(-steps // len(sequence))
    return _fit(np.concatenate([sequence] * cycles)[:steps], spec, steps, batch, f"--actions {text}")


def action_label(spec: DataSpec, action: int | np.ndarray) -> str:
    """Display name of one action: its name (or index) for discrete spaces, the vector otherwise."""
    if spec.discrete:
        return spec.action_name(int(action))
    return "[" + " ".join(f"{v:+.2g}" for v in np.asarray(action, dtype=np.float32)) + "]"


def random_actions(spec: DataSpec, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Uniform actions of ``shape`` (B, H): ints in [0, n) or floats in [-1, 1]^A."""
    if spec.discrete:
        return rng.integers(0, spec.num_actions, size=shape, dtype=np.int64)
    return rng.uniform(-1.0, 1.0, size=(*shape, spec.num_actions)).astype(np.float32)


def _parse_values(body: str, spec: DataSpec, text: str, *, single: bool) -> np.ndarray:
    """A (H,) int array of indices/names, or for continuous spaces one (1, A) vector."""
    items = [item.strip() for item in body.split(",") if item.strip()]
    if not items:
        raise WMError(f"--actions '{text}': no actions given")
    if not spec.discrete:
        if not single:
            raise WMError(
                f"--actions '{text}': a continuous action space takes random, repeat:V1,...,V{spec.num_actions}, "
                f"FILE.npy or data"
            )
        try:
            vector = np.array([float(item) for item in items], dtype=np.float32)
        except ValueError:
            raise WMError(f"--actions '{text}': expected {spec.num_actions} numbers after 'repeat:'") from None
        if vector.shape != (spec.num_actions,):
            raise WMError(f"--actions '{text}': expected {spec.num_actions} numbers, found {len(vector)}")
        return vector[None]
    if single and len(items) != 1:
        raise WMError(f"--actions '{text}': repeat takes one action, e.g. repeat:2")
    return np.array([_index(item, spec, text) for item in items], dtype=np.int64)


def _index(item: str, spec: DataSpec, text: str) -> int:
    names = [name.upper() for name in spec.action_names]
    if item.upper() in names:
        return names.index(item.upper())
    try:
        index = int(item)
    except ValueError:
        known = f"names are {', '.join(spec.action_names)}" if names else "this model's actions have no names"
        raise WMError(f"--actions '{text}': '{item}' is not an action index or name ({known})") from None
    if not 0 <= index < spec.num_actions:
        raise WMError(f"--actions '{text}': action {index} is out of range, expected 0..{spec.num_actions - 1}")
    return index


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise WMError(f"--actions {path}: file does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise WMError(f"--actions {path}: not a readable .npy array ({err})") from None


def _fit(actions: np.ndarray, spec: DataSpec, steps: int, batch: int, what: str) -> np.ndarray:
    """Check ``actions`` (H[, A]) or (B, H[, A]) against the space; cut to ``steps``, broadcast to ``batch``."""
    per_step = 0 if spec.discrete else 1
    if actions.ndim == per_step + 1:
        actions = np.broadcast_to(actions, (batch, *actions.shape))
    expected = "(H,) or (B, H)" if spec.discrete else f"(H, {spec.num_actions}) or (B, H, {spec.num_actions})"
    if actions.ndim != per_step + 2 or (not spec.discrete and actions.shape[-1] != spec.num_actions):
        raise WMError(f"{what}: expected actions of shape {expected}, found {tuple(actions.shape)}")
    if actions.shape[0] != batch:
        raise WMError(f"{what}: holds {actions.shape[0]} action sequences, expected 1 or --batch {batch}")
    if actions.shape[1] < steps:
        raise WMError(f"{what}: holds {actions.shape[1]} steps of actions, expected at least {steps}")
    actions = actions[:, :steps]
    if spec.discrete:
        if not np.issubdtype(actions.dtype, np.integer):
            raise WMError(f"{what}: expected integer actions, found {actions.dtype}")
        if actions.min() < 0 or actions.max() >= spec.num_actions:
            raise WMError(
                f"{what}: actions range {actions.min()}..{actions.max()}, expected 0..{spec.num_actions - 1}"
            )
        return np.array(actions, dtype=np.int64)  # a writable copy, never a broadcast view
    if not np.isfinite(actions).all():
        raise WMError(f"{what}: actions hold NaN or inf")
    return np.array(actions, dtype=np.float32)
