"""Model sizes by name, after DreamerV3 (Hafner et al., 2023, first version, table of model sizes).

One table; any size field set in ``ModelConfig`` (deter, hidden, stoch, classes, depth) overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from wm.core.config.schema import ModelConfig
from wm.core.errors import WMError


@dataclass(frozen=True)
class Dims:
    """Resolved widths of every part of the RSSM world model."""

    deter: int  # GRU state size
    hidden: int  # MLP width
    stoch: int  # number of categorical latents
    classes: int  # classes per latent
    depth: int  # CNN channel multiplier: stages have depth, 2*depth, 4*depth, ... channels
    layers: int  # hidden layers of the reward and continue heads


SIZES: dict[str, Dims] = {
    "xs": Dims(deter=256, hidden=256, stoch=32, classes=32, depth=24, layers=1),
    "s": Dims(deter=512, hidden=512, stoch=32, classes=32, depth=32, layers=2),
    "m": Dims(deter=1024, hidden=640, stoch=32, classes=32, depth=48, layers=3),
    "l": Dims(deter=2048, hidden=768, stoch=32, classes=32, depth=64, layers=4),
}


def resolve_dims(config: ModelConfig) -> Dims:
    """The size named by ``config.size`` with the fields set in ``config`` applied over it."""
    if config.size not in SIZES:
        raise WMError(f"model.size: unknown size '{config.size}'; expected one of {', '.join(SIZES)}")
    overrides = {}
    for name in ("deter", "hidden", "stoch", "classes", "depth"):
        value = getattr(config, name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise WMError(f"model.{name}: expected a positive integer, found {value!r}")
        overrides[name] = value
    return replace(SIZES[config.size], **overrides)
