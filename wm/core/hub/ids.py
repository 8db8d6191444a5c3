"""MODEL references as commands take them: a local path, or a Hub id ``user/name`` with an optional ``@revision``.

A reference that names a local path never goes to the Hub (see ``names_local_path``); ``hf://user/name``
(or ``--hub``) forces the Hub reading of one that would otherwise look local.
"""

from __future__ import annotations

import re
from pathlib import Path

from wm.core.errors import WMError

HUB_SCHEME = "hf://"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors", ".json")
HUB_ID = re.compile(r"(?P<repo>[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})(?:@(?P<revision>[^\s@]+))?")


def names_local_path(ref: str) -> bool:
    """Whether ``ref`` names a local path, so that it is never looked up on the Hub.

    It does when it exists, starts with ``.``, ``/`` or ``~``, ends in a checkpoint suffix
    (``.pt``, ``.safetensors``, ``.json``, ...), has a first path component that exists here
    (``runs/pong`` beside a ``runs/`` folder), or does not have the shape ``user/name[@rev]``.
    ``hf://...`` never names a local path.
    """
    if ref.startswith(HUB_SCHEME):
        return False
    if Path(ref).exists() or ref.startswith((".", "/", "~")) or ref.lower().endswith(CHECKPOINT_SUFFIXES):
        return True
    first = ref.split("/", 1)[0]
    return ("/" in ref and Path(first).exists()) or HUB_ID.fullmatch(ref) is None


def parse_hub_id(ref: str, revision: str | None = None) -> tuple[str, str | None]:
    """``(repo_id, revision)`` from ``[hf://]user/name[@rev]``; ``revision`` must agree with an ``@rev``."""
    match = HUB_ID.fullmatch(ref.removeprefix(HUB_SCHEME))
    if match is None:
        raise WMError(f"{ref}: not a Hub id (expected user/name or user/name@revision, optionally as hf://user/name)")
    pinned = match.group("revision")
    if pinned and revision and pinned != revision:
        raise WMError(f"{ref}: revision @{pinned} disagrees with --revision {revision}; give one of them")
    return match.group("repo"), revision or pinned
