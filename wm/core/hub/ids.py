"""Hub ids as commands take them: ``user/name`` with an optional ``@revision``."""

from __future__ import annotations

import re

from wm.core.errors import WMError

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
HUB_ID = re.compile(r"(?P<repo>[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})(?:@(?P<revision>[^\s@]+))?")


def looks_like_hub_id(ref: str) -> bool:
    """Whether ``ref`` has the shape of ``user/name[@revision]`` (it may still not exist).

    A name ending in a checkpoint suffix (``runs/x.pt``) reads as a local path, not a Hub id.
    """
    return HUB_ID.fullmatch(ref) is not None and not ref.endswith(CHECKPOINT_SUFFIXES)


def parse_hub_id(ref: str, revision: str | None = None) -> tuple[str, str | None]:
    """``(repo_id, revision)`` from ``user/name[@rev]``; ``revision`` must agree with an ``@rev``."""
    match = HUB_ID.fullmatch(ref)
    if match is None:
        raise WMError(
            f"{ref}: no such local file or folder, and not a Hub id (expected user/name or user/name@revision)"
        )
    pinned = match.group("revision")
    if pinned and revision and pinned != revision:
        raise WMError(f"{ref}: revision @{pinned} disagrees with --revision {revision}; give one of them")
    return match.group("repo"), revision or pinned
