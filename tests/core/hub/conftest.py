"""Fixtures of the hub tests: the stand-in Hub and a tiny real checkpoint."""

from __future__ import annotations

import pytest

from tests.core.hub.tiny import tiny_checkpoint
from tests.hub_server import hub  # noqa: F401 - the stand-in Hub fixture
from wm.core.checkpoint import Checkpoint


@pytest.fixture(scope="session")
def checkpoint() -> Checkpoint:
    return tiny_checkpoint()
