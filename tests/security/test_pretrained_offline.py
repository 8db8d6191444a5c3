"""A loaded flexible model rebuilds its pretrained parts from its stored config: nothing fetched, no remote code.

The crafted checkpoints point a part at a Hub repo (``name_or_path``) or at transformers remote
code (``auto_map``); the stand-in Hub records every request, and none may be made. (That a checkpoint
wm wrote rebuilds offline is tested in tests/core/models/flexible/test_flexible_model.py.)
"""

from __future__ import annotations

import pytest
import torch

from tests.hub_server import hub  # noqa: F401 - the stand-in Hub fixture
from tests.security.model_files import SPEC, checkpoint_of, flexible_config, save
from wm.core.errors import WMError
from wm.core.loading import load_model
from wm.core.models import build_model


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_model(flexible_config().model, SPEC).state_dict()


def test_a_stored_name_or_path_is_refused_without_a_request(hub, tmp_path, weights) -> None:
    config = flexible_config()
    config.model.backbone.name_or_path = "mallory/backbone"  # a load would fetch (and build) this repo
    path = save(tmp_path / "fetching.pt", checkpoint_of(config, weights))
    with pytest.raises(WMError, match=r"model.backbone.name_or_path.*rebuilt offline.*never fetches"):
        load_model(path)
    assert hub.requests == []


def test_auto_map_in_a_stored_config_never_reaches_remote_code(hub, tmp_path, weights, monkeypatch) -> None:
    import transformers.dynamic_module_utils as dynamic

    def remote_code(*args: object, **kwargs: object) -> None:
        raise AssertionError("transformers' remote code loader was reached")

    monkeypatch.setattr(dynamic, "get_class_from_dynamic_module", remote_code)
    config = flexible_config()
    config.model.backbone.config = {
        **config.model.backbone.config, "auto_map": {"AutoModel": "mallory/code--modeling.Evil"}, "_name_or_path": "mallory/code",
    }  # fmt: skip
    path = save(tmp_path / "remote.pt", checkpoint_of(config, weights))
    with pytest.raises(WMError, match=r"model.backbone.config.auto_map.*remote code"):
        load_model(path, trust_remote_code=True)  # wm's flag never turns on transformers' remote code
    assert hub.requests == []

