"""A checkpoint cannot make wm import or construct a class: plug-ins come from a registry the user controls.

The crafted checkpoints name a module whose import leaves a mark on disk; loading them must
refuse before importing it, with one line saying how to allow it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from tests.security.model_files import SPEC, checkpoint_of, flexible_config, one_line_error, save
from wm.core.errors import WMError
from wm.core.loading import load_model
from wm.core.models import build_model, register_module
from wm.core.models.backbones import LayerManipulator
from wm.core.models.backbones import registry
from wm.core.models.backbones.registry import find_class

EVIL = '''
import pathlib
pathlib.Path({mark!r}).write_text("imported")  # what a stranger's module does at import time
from wm.core.models.backbones import LayerManipulator
class Evil(LayerManipulator):
    pass
'''


@pytest.fixture
def evil_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable module ``evil_plugin`` that writes the returned file when imported."""
    mark = tmp_path / "imported.txt"
    (tmp_path / "evil_plugin.py").write_text(EVIL.format(mark=str(mark)))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield mark
    sys.modules.pop("evil_plugin", None)


def _checkpoint_naming(tmp_path: Path, manipulator: str) -> str:
    """A flexible checkpoint (real weights of the plain model) whose config names ``manipulator``."""
    torch.manual_seed(0)
    weights = build_model(flexible_config().model, SPEC).state_dict()
    return save(tmp_path / "crafted.pt", checkpoint_of(flexible_config(manipulator=manipulator), weights))


def test_an_import_path_in_a_checkpoint_is_refused_before_it_is_imported(tmp_path, evil_module) -> None:
    path = _checkpoint_naming(tmp_path, "evil_plugin:Evil")
    with pytest.raises(WMError, match=r"model.manipulator.*import path.*--trust-remote-code \(trust_remote_code=True\)"):
        load_model(path)
    assert not evil_module.exists() and "evil_plugin" not in sys.modules
    output = one_line_error(["rollout", path, "-o", str(tmp_path / "x.gif")])
    assert "--trust-remote-code" in output and not evil_module.exists()


def test_trust_remote_code_allows_the_import_path(tmp_path, evil_module) -> None:
    path = _checkpoint_naming(tmp_path, "evil_plugin:Evil")
    model, _ = load_model(path, trust_remote_code=True)  # the user said so: imported and built
    assert evil_module.exists() and type(model.manipulator).__name__ == "Evil"


def test_an_unregistered_name_is_refused_and_says_how_to_register(tmp_path) -> None:
    path = _checkpoint_naming(tmp_path, "subprocess.run")
    with pytest.raises(WMError, match=r"no plug-in 'subprocess.run' is registered.*register_module"):
        load_model(path, trust_remote_code=True)  # not an import path: trust does not make it one


def test_registered_in_code_and_by_entry_point(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(registry, "_REGISTERED", dict(registry._REGISTERED))  # undone after the test
    @register_module("test_quiet_manipulator")
    class Quiet(LayerManipulator):
        pass

    assert find_class("test_quiet_manipulator", "model.manipulator", LayerManipulator) is Quiet
    model, _ = load_model(_checkpoint_naming(tmp_path, "test_quiet_manipulator"))
    assert type(model.manipulator) is Quiet
    (tmp_path / "ep_plugin.py").write_text("from wm.core.models.backbones import LayerManipulator\nclass Probe(LayerManipulator):\n    pass\n")
    info = tmp_path / "ep_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[wm.modules]\nep_probe = ep_plugin:Probe\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # an installed package that declares a wm.modules entry point
    assert find_class("ep_probe", "model.manipulator", LayerManipulator).__name__ == "Probe"
    with pytest.raises(WMError, match="is not a subclass of torch.optim"):
        find_class("test_quiet_manipulator", "model.manipulator", torch.optim.Optimizer)
    sys.modules.pop("ep_plugin", None)


def test_a_preset_import_path_needs_trust_too(tmp_path, evil_module) -> None:
    config = flexible_config(manipulator="evil_plugin:Evil").model
    with pytest.raises(WMError, match="--trust-remote-code"):
        build_model(config, SPEC)  # training builds through the same rule
    assert not evil_module.exists()
