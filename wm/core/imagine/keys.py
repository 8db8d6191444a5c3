"""Keyboard -> action: held keys (by pygame key name) to the model's action, with no pygame needed.

Discrete actions with names (ALE style): arrows or WASD give directions, Space gives FIRE, and
held keys combine in ALE's naming order (Up+Right+Space -> UPRIGHTFIRE). A combination the
model lacks falls back to the largest part of it that exists (Up+Space -> UPFIRE -> UP ...);
no key held -> NOOP when it exists. Number keys 0-9 pick raw action indices (the way in for
data whose actions have no names). Continuous actions: left/right move dimension 0 to -1/+1,
up/down dimension 1 to +1/-1, Space sets dimension 2 to +1.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from wm.core.data.spec import DataSpec
from wm.core.imagine.actions import action_label

DIRECTIONS = {
    "up": "UP", "w": "UP", "down": "DOWN", "s": "DOWN", "left": "LEFT", "a": "LEFT", "right": "RIGHT", "d": "RIGHT"
}
FIRE_KEYS = {"space": "FIRE"}
DIGITS = {str(d): d for d in range(10)}


class KeyMap:
    """Maps the set of held key names (``pygame.key.name`` spelling) to an action of ``spec``."""

    def __init__(self, spec: DataSpec) -> None:
        self.spec = spec
        self.names = [name.upper() for name in spec.action_names]
        self.default = self.names.index("NOOP") if "NOOP" in self.names else 0

    def action(self, held: set[str] | frozenset[str], last_digit: str | None = None) -> int | np.ndarray:
        """The action for ``held`` keys; ``last_digit`` (the latest held number key) wins over names."""
        if not self.spec.discrete:
            return self._vector(held)
        if last_digit is not None and last_digit in held and DIGITS[last_digit] < self.spec.num_actions:
            return DIGITS[last_digit]
        return self._named(held)

    def name(self, action: int | np.ndarray) -> str:
        """Display name of an action."""
        return action_label(self.spec, action)

    def help(self) -> str:
        """One line of key help for the HUD."""
        if not self.spec.discrete:
            return "arrows/WASD, Space: action  R: reset  P: pause  .: step  Esc: quit"
        parts = []
        if any(n in self.names for n in ("UP", "DOWN", "LEFT", "RIGHT")) or any("FIRE" in n for n in self.names):
            parts.append("arrows/WASD, Space")
        parts.append(f"0-{min(self.spec.num_actions, 10) - 1}: action")
        return "  ".join(parts) + "  R: reset  P: pause  .: step  Esc: quit"

    def _named(self, held: set[str] | frozenset[str]) -> int:
        pressed = {DIRECTIONS[k] for k in held if k in DIRECTIONS} | {FIRE_KEYS[k] for k in held if k in FIRE_KEYS}
        vertical = [d for d in ("UP", "DOWN") if d in pressed]
        horizontal = [d for d in ("RIGHT", "LEFT") if d in pressed]
        parts = (vertical if len(vertical) == 1 else []) + (horizontal if len(horizontal) == 1 else [])
        parts += ["FIRE"] if "FIRE" in pressed else []
        for size in range(len(parts), 0, -1):
            for subset in combinations(parts, size):
                name = "".join(subset)
                if name in self.names:
                    return self.names.index(name)
        return self.default

    def _vector(self, held: set[str] | frozenset[str]) -> np.ndarray:
        pressed = {DIRECTIONS[k] for k in held if k in DIRECTIONS}
        vector = np.zeros(self.spec.num_actions, dtype=np.float32)
        vector[0] = float("RIGHT" in pressed) - float("LEFT" in pressed)
        if self.spec.num_actions > 1:
            vector[1] = float("UP" in pressed) - float("DOWN" in pressed)
        if self.spec.num_actions > 2 and any(k in FIRE_KEYS for k in held):
            vector[2] = 1.0
        return vector
