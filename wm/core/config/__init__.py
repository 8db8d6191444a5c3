"""Typed configuration, presets and dotted ``key=value`` overrides."""

from wm.core.config.loader import (
    config_from_dict,
    config_to_dict,
    config_to_yaml,
    load_config,
    preset_dir,
)
from wm.core.config.schema import (
    Config,
    DataConfig,
    FinetuneConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)

__all__ = [
    "Config",
    "DataConfig",
    "FinetuneConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "config_from_dict",
    "config_to_dict",
    "config_to_yaml",
    "load_config",
    "preset_dir",
]
