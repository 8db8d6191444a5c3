"""A checkpoint's config is checked against its model kind and its weights before the model is built.

Keys the kind does not read are refused (not silently ignored); sizes that disagree with the
weights are refused from a meta-device build, so a small config asking for a huge model
allocates nothing.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest
import torch

from tests.core.hub.tiny import tiny_checkpoint
from tests.security.model_files import SPEC, checkpoint_of, flexible_config, one_line_error, save
from wm.core.checkpoint import Checkpoint
from wm.core.config import config_from_dict
from wm.core.errors import WMError
from wm.core.hub.format import write_folder
from wm.core.loading import load_model
from wm.core.models import build_model
from wm.core.models.kind_keys import unused_keys


@pytest.fixture(scope="module")
def rssm() -> Checkpoint:
    return tiny_checkpoint()


def _with_model(checkpoint: Checkpoint, **model: object) -> Checkpoint:
    config = json.loads(json.dumps(checkpoint.config))
    config["model"].update(model)
    return Checkpoint(config, checkpoint.spec, checkpoint.model, checkpoint.context)


def test_an_rssm_checkpoint_naming_flexible_parts_is_refused(rssm, tmp_path: Path) -> None:
    crafted = _with_model(rssm, manipulator="linear_probe_alignment", vision={"module": "evil:Encoder"})
    path = save(tmp_path / "mixed.pt", crafted)
    with pytest.raises(WMError, match=r"model.vision, model.manipulator: not used by a 'rssm' model"):
        load_model(path)
    assert "not used by a 'rssm' model" in one_line_error(["rollout", path, "-o", str(tmp_path / "x.gif")])


def test_unused_keys_of_each_kind_and_source() -> None:
    flexible = flexible_config(deter=64, manipulator_kwargs={"shift": 0}).model
    flexible.vision.module_kwargs = {"width": 8}  # the vision part is built from its config, not a module
    flexible.decoder.name_or_path = "mallory/vae"  # a conv decoder reads no pretrained VAE
    assert unused_keys(flexible) == [
        "model.deter", "model.vision.module_kwargs", "model.decoder.name_or_path", "model.manipulator_kwargs",
    ]  # fmt: skip
    assert unused_keys(flexible_config().model) == [] and unused_keys(config_from_dict({}).model) == []


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_small_config_asking_for_a_huge_model_is_refused_without_allocating(rssm, tmp_path: Path) -> None:
    folder = tmp_path / "bomb"
    folder.mkdir()
    write_folder(rssm, folder)  # a Hub-format folder: config.json + model.safetensors
    config = json.loads((folder / "config.json").read_text())
    config["config"]["model"].update(deter=200_000, hidden=200_000)  # some 3e11 weights, > 1 TB in float32
    (folder / "config.json").write_text(json.dumps(config))
    before = _peak_rss_mb()
    with pytest.raises(WMError, match=r"describes a rssm model of [\d,]{15,} weights, the checkpoint holds [\d,]+ that"):
        load_model(str(folder))
    assert _peak_rss_mb() - before < 200  # built on the meta device only


def test_weights_of_another_shape_are_refused_before_the_real_build(tmp_path: Path, monkeypatch) -> None:
    torch.manual_seed(0)
    weights = build_model(flexible_config().model, SPEC).state_dict()
    bigger = flexible_config()
    bigger.model.backbone.config = {**bigger.model.backbone.config, "hidden_size": 32}
    builds: list[str] = []
    real = torch.nn.Linear.reset_parameters

    def counted(self: torch.nn.Linear) -> None:
        builds.append(str(self.weight.device))
        real(self)

    monkeypatch.setattr(torch.nn.Linear, "reset_parameters", counted)
    with pytest.raises(WMError, match=r"do not fit \(.*wrong shape"):
        load_model(save(tmp_path / "resized.pt", checkpoint_of(bigger, weights)))
    assert builds and set(builds) == {"meta"}  # every layer it built lived on the meta device
