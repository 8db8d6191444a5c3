"""DataSpec: the facts about a dataset that a model is built from and a checkpoint carries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class DataSpec:
    """Frame shape and action space of a dataset.

    Frames are (C, H, W) uint8 in [0, 255]. Discrete actions are ints in
    [0, num_actions); continuous actions are float vectors of size num_actions.
    ``state_size`` > 0: every step also carries a float vector of that size (``states``).
    """

    channels: int
    height: int
    width: int
    action_kind: Literal["discrete", "continuous"] = "discrete"
    num_actions: int = 1
    action_names: tuple[str, ...] = field(default_factory=tuple)
    has_rewards: bool = False
    has_terminals: bool = False
    fps: float | None = None
    state_size: int = 0

    @property
    def discrete(self) -> bool:
        return self.action_kind == "discrete"

    def action_name(self, action: int) -> str:
        """Display name of a discrete action index."""
        if 0 <= action < len(self.action_names):
            return self.action_names[action]
        return str(action)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["action_names"] = list(self.action_names)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSpec:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["action_names"] = tuple(known.get("action_names") or ())
        return cls(**known)
