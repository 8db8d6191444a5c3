"""The on-Hub folder format: exact round trip, no pickle, clear refusals; load_model reads such folders."""

from __future__ import annotations

import json

import pytest
import torch

from wm.core.errors import WMError
from wm.core.hub.format import CONFIG, CONTEXT, TRAINING_FILES, WEIGHTS, read_folder, write_folder
from wm.core.loading import load_model


def test_round_trip_is_bitwise(checkpoint, tmp_path) -> None:
    files = write_folder(checkpoint, tmp_path, include_training_state=True)
    assert files == [CONFIG, WEIGHTS, CONTEXT, *TRAINING_FILES]
    back = read_folder(tmp_path)
    assert back.config == checkpoint.config and back.spec == checkpoint.spec
    assert back.model.keys() == checkpoint.model.keys()
    assert all(torch.equal(back.model[k], v) and back.model[k].dtype == v.dtype for k, v in checkpoint.model.items())
    assert all(torch.equal(back.context[k], v) for k, v in checkpoint.context.items())
    assert back.training["step"] == 2
    assert torch.equal(back.training["rng"]["torch"], checkpoint.training["rng"]["torch"])
    config = json.loads((tmp_path / CONFIG).read_text())
    assert config["format"] == "wm-hub" and config["spec"]["num_actions"] == 3
    assert config["spec"]["action_names"] == ["stay", "left", "right"] and config["model_kind"] == "rssm"


def test_inference_files_only_by_default(checkpoint, tmp_path) -> None:
    assert write_folder(checkpoint, tmp_path) == [CONFIG, WEIGHTS, CONTEXT]
    assert read_folder(tmp_path).training is None


def test_load_model_reads_a_hub_folder(checkpoint, tmp_path) -> None:
    write_folder(checkpoint, tmp_path)
    model, loaded = load_model(str(tmp_path))
    assert not model.training and loaded.spec == checkpoint.spec
    assert all(torch.equal(model.state_dict()[k], v) for k, v in checkpoint.model.items())


def test_foreign_config_is_not_a_wm_model(tmp_path) -> None:
    (tmp_path / CONFIG).write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(WMError, match=r"not a wm model \(config.json has format None, expected 'wm-hub'"):
        read_folder(tmp_path, source="someone/gpt2")


def test_newer_format_asks_for_an_upgrade(checkpoint, tmp_path) -> None:
    write_folder(checkpoint, tmp_path)
    config = json.loads((tmp_path / CONFIG).read_text())
    (tmp_path / CONFIG).write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(WMError, match="format version 99 is newer than this wm supports"):
        read_folder(tmp_path)


def test_truncated_weights_are_refused(checkpoint, tmp_path) -> None:
    write_folder(checkpoint, tmp_path)
    data = (tmp_path / WEIGHTS).read_bytes()
    (tmp_path / WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(WMError, match="model.safetensors is truncated or not a safetensors file"):
        read_folder(tmp_path)


def test_training_state_needs_one(checkpoint, tmp_path) -> None:
    bare = type(checkpoint)(checkpoint.config, checkpoint.spec, checkpoint.model, checkpoint.context, None)
    with pytest.raises(WMError, match="--include-training-state: this checkpoint holds no training state"):
        write_folder(bare, tmp_path, include_training_state=True)
