"""Collection policies: what `wm data collect` presses.

``random``: uniform actions. ``sticky``: uniform, repeating the previous action with
probability ``sticky``. ``balanced``: sticky, but biased to undo its own movement, so that a
paddle or ship keeps moving instead of resting against a wall (where its actions show no
effect and a world model cannot learn them). Movement comes from the action names (LEFT/RIGHT,
UP/DOWN, as ALE names them: ``UPLEFTFIRE`` moves on both axes); a space without names, or a
continuous one, is plain sticky.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

AXES = {"LEFT": (0, -1), "RIGHT": (0, 1), "UP": (1, -1), "DOWN": (1, 1)}  # name -> (axis, direction)
BALANCE_REACH = 6  # steps of net movement along an axis after which moving further out is refused


def action_moves(names: tuple[str, ...]) -> np.ndarray:
    """(A, 2) int: each action's direction (-1, 0, 1) on the horizontal and vertical axis."""
    moves = np.zeros((len(names), 2), dtype=np.int64)
    for index, name in enumerate(names):
        for word, (axis, direction) in AXES.items():
            if word in name.upper():
                moves[index, axis] = direction
    return moves


@dataclass
class Policy:
    """Uniform random actions; ``sticky`` > 0 repeats the previous action with that probability.

    ``names`` given and ``balanced`` set: actions that would take the net movement along an axis
    past ``BALANCE_REACH`` steps are redrawn (see the module docstring).
    """

    space: Any
    rng: np.random.Generator
    sticky: float = 0.0
    names: tuple[str, ...] = ()
    balanced: bool = False
    _last: Any = None
    _offset: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.int64))

    def __post_init__(self) -> None:
        discrete = hasattr(self.space, "n")
        self._moves = action_moves(self.names) if self.balanced and discrete and self.names else None

    def reset(self) -> None:
        self._last = None
        self._offset[:] = 0

    def __call__(self) -> Any:
        if self._last is None or self.rng.random() >= self.sticky or not self._allowed(self._last):
            self._last = self._draw()
        if self._moves is not None:
            self._offset = np.clip(self._offset + self._moves[self._last], -BALANCE_REACH, BALANCE_REACH)
        return self._last

    def _draw(self) -> Any:
        if not hasattr(self.space, "n"):
            return self.rng.uniform(self.space.low, self.space.high).astype(np.float32)
        allowed = [a for a in range(int(self.space.n)) if self._allowed(a)]
        return int(self.rng.choice(allowed)) if allowed else int(self.rng.integers(self.space.n))

    def _allowed(self, action: Any) -> bool:
        """False for a move that would carry the net movement past the reach (balanced only)."""
        if self._moves is None:
            return True
        move = self._moves[action]
        return bool(np.all((move == 0) | (self._offset * move < BALANCE_REACH)))
