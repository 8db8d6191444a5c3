"""A MODEL reference that names a local path never goes to the Hub; every download says so in one line.

The stand-in Hub holds ``alice/tiny`` and records every request; the working folder holds an
``alice/`` folder, so ``alice/tiny`` reads as a (mistyped) local path there and must answer
"no such checkpoint" without a single request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.core.hub.tiny import tiny_checkpoint
from tests.hub_server import hub  # noqa: F401 - the stand-in Hub fixture
from wm.core.checkpoint import Checkpoint
from wm import push_to_hub
from wm.cli.app import app
from wm.core.errors import WMError
from wm.core.hub.ids import names_local_path
from wm.core.loading import load_model


@pytest.fixture(scope="module")
def checkpoint() -> Checkpoint:
    return tiny_checkpoint()


@pytest.fixture
def published(hub, checkpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``alice/tiny`` on the Hub; the working folder holds ``alice/`` (without ``tiny`` in it)."""
    push_to_hub(checkpoint, "alice/tiny")
    (tmp_path / "alice").mkdir()
    monkeypatch.chdir(tmp_path)
    hub.requests.clear()
    return hub


@pytest.mark.parametrize(
    "ref", ["alice/tiny", "./alice/tiny", "alice/tiny.pt", "alice/tiny.safetensors", "alice/config.json", "/alice/tiny"]
)
def test_a_local_looking_reference_never_reaches_the_hub(published, ref: str) -> None:
    assert names_local_path(ref)
    with pytest.raises(WMError, match=r"no such checkpoint file or folder.*hf://user/name or pass --hub"):
        load_model(ref)
    assert published.requests == []


def test_hf_scheme_and_hub_flag_force_the_hub_and_say_so(published, checkpoint) -> None:
    said: list[str] = []
    _, loaded = load_model("hf://alice/tiny", log=said.append)  # alice/ exists here, hf:// still means the Hub
    assert loaded.config == checkpoint.config
    _, loaded = load_model("alice/tiny@main", hub=True, log=said.append)
    assert said == ["downloading alice/tiny from the Hub", "downloading alice/tiny@main from the Hub"]
    assert not names_local_path("hf://alice/tiny") and not names_local_path("bob/model")


def test_the_cli_says_it_downloads(published, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["rollout", "hf://alice/tiny", "--steps", "2", "-o", str(tmp_path / "d.gif")])
    assert result.exit_code == 0, result.output
    assert "downloading alice/tiny from the Hub" in result.output
    result = CliRunner().invoke(app, ["rollout", "alice/tiny", "--steps", "2", "-o", str(tmp_path / "d.gif")])
    assert result.exit_code == 1 and "alice/tiny: no such checkpoint file or folder" in result.output
    assert "downloading" not in result.output
