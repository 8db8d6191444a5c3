"""Presets merge left to right, overrides win, and every mistake names the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wm.core.config import Config, config_from_dict, config_to_dict, config_to_yaml, load_config, preset_dir
from wm.core.errors import WMError

REQUIRED_PRESETS = {"default", "debug", "cpu30", "high_res", "atari", "finetune"}


def test_shipped_presets_all_load() -> None:
    names = {p.stem for p in preset_dir().glob("*.yaml")}
    assert REQUIRED_PRESETS <= names
    for name in names:
        assert isinstance(load_config([name]), Config)


def test_default_preset_is_the_schema_defaults() -> None:
    assert load_config([]) == Config()
    assert load_config(["default"]) == Config()


def test_presets_merge_left_to_right_and_overrides_win() -> None:
    cfg = load_config(["debug", "high_res"], ["train.lr=3e-4", "data.path=x.h5"])
    assert cfg.model.size == "xs"  # from debug
    assert cfg.data.image_size == 128  # from high_res
    assert cfg.train.seq_len == 16  # from debug, untouched by high_res
    assert cfg.train.lr == pytest.approx(3e-4)
    assert cfg.data.path == "x.h5"
    assert load_config(["high_res", "atari"]).data.image_size == 64
    assert load_config(["atari", "high_res"]).data.image_size == 128


def test_override_values_are_yaml() -> None:
    cfg = load_config([], ["finetune.freeze_modules=[encoder, decoder]", "model.reward_head=true", "run.name=null"])
    assert cfg.finetune.freeze_modules == ["encoder", "decoder"]
    assert cfg.model.reward_head is True
    assert cfg.run.name is None
    assert load_config([], ["train.epochs=3.0"]).train.epochs == 3
    assert load_config([], ["run.name=123"]).run.name == "123"


def test_preset_extends_another(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({"train": {"epochs": 7, "lr": 1e-3}}))
    child = tmp_path / "child.yaml"
    child.write_text(yaml.safe_dump({"extends": ["debug", "base.yaml"], "train": {"lr": 2e-3}}))
    cfg = load_config([str(child)])
    assert (cfg.model.size, cfg.train.epochs, cfg.train.lr) == ("xs", 7, 2e-3)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.lrr=1"], "unknown config key 'train.lrr'; closest valid key: 'train.lr'"),
        (["trian.lr=1"], "unknown config key 'trian'; closest valid key: 'train'"),
        (["train.lr=fast"], "config key 'train.lr': expected float, found 'fast'"),
        (["model.size=huge"], "config key 'model.size': expected one of 'xs', 's', 'm', 'l', found 'huge'"),
        (["train.epochs=2.5"], "config key 'train.epochs': expected int, found 2.5"),
        (["train.compile=maybe"], "config key 'train.compile': expected bool, found 'maybe'"),
        (["finetune.freeze_modules=encoder"], "config key 'finetune.freeze_modules': expected a list"),
        (["train=3"], "config key 'train': expected a mapping"),
        (["lr"], "override 'lr': expected key=value"),
    ],
)
def test_bad_overrides_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(WMError) as err:
        load_config([], overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_preset_suggests_closest() -> None:
    with pytest.raises(WMError, match="unknown preset 'debgu'.*did you mean 'debug'"):
        load_config(["debgu"])


def test_bad_preset_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [unclosed")
    with pytest.raises(WMError, match=f"preset {broken}: not valid YAML"):
        load_config([str(broken)])
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(WMError, match="expected a mapping of keys"):
        load_config([str(listing)])
    loop = tmp_path / "loop.yaml"
    loop.write_text("extends: loop.yaml\n")
    with pytest.raises(WMError, match="cycle"):
        load_config([str(loop)])
    with pytest.raises(WMError, match="does not exist"):
        load_config([str(tmp_path / "missing.yaml")])


def test_yaml_round_trip() -> None:
    cfg = load_config(["atari"], ["data.path=p.h5", "finetune.freeze_modules=[encoder]"])
    again = config_from_dict(yaml.safe_load(config_to_yaml(cfg)))
    assert again == cfg
    assert config_to_dict(again)["data"]["path"] == "p.h5"


def test_overrides_of_text_fields_keep_the_text() -> None:
    cfg = load_config([], ["run.name=1e3", "train.lr=1e-3", "train.compile=true"])
    assert cfg.run.name == "1e3" and cfg.train.lr == 1e-3 and cfg.train.compile is True
    assert load_config([], ["run.name=no"]).run.name == "no"
    assert load_config([], ["run.name=1.50"]).run.name == "1.50"
    assert load_config([], ["run.name='quoted'"]).run.name == "quoted"
    assert load_config([], ["run.name=no", "run={name: 5}"]).run.name == "5"  # a later section override wins


@pytest.mark.parametrize(("key", "closest"), [("learning_rate", "lr"), ("LR", "lr"), ("batchsize", "batch_size")])
def test_unknown_key_names_the_closest_key_of_its_section(key: str, closest: str) -> None:
    with pytest.raises(WMError, match=f"unknown config key 'train.{key}'; closest valid key: 'train.{closest}'$"):
        load_config([], [f"train.{key}=1"])


def test_command_line_mistakes_are_config_errors_stored_ones_are_not() -> None:
    from wm.core.errors import ConfigError

    for overrides in (["train.lrr=1"], ["train.lr=fast"], ["lr"]):
        with pytest.raises(ConfigError):
            load_config([], overrides)
    with pytest.raises(ConfigError):
        load_config(["nope"])
    with pytest.raises(WMError) as err:
        config_from_dict({"train": {"lrr": 1}})  # a config stored in a checkpoint: an error, not usage
    assert not isinstance(err.value, ConfigError)
