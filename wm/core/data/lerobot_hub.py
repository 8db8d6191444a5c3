"""LeRobot datasets on the Hugging Face Hub: ``hf://datasets/USER/NAME[@revision]`` to a local folder.

Through huggingface_hub's own client (token, HF_ENDPOINT, the standard cache, HF_HUB_OFFLINE), in
two steps at one commit: first ``meta/`` (info.json and the episode table, checked), then only the
data parquet files and the mp4 files of the chosen cameras (``allow_patterns`` from info.json's
templates); other cameras, images and stats stay on the Hub. Client errors become one-line WMErrors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from wm.core.errors import WMError

DATASET_SCHEME = "hf://datasets/"
META_PATTERNS = ["meta/info.json", "meta/episodes.jsonl", "meta/episodes/*.parquet"]
logger = logging.getLogger("wm")


def download_dataset(ref: str, camera: str | Sequence[str] | None) -> tuple[Path, str]:
    """The local snapshot folder of ``ref`` holding what reading ``camera`` needs, and ``ref`` pinned
    to its commit (``hf://datasets/USER/NAME@sha``), for the record."""
    from huggingface_hub import snapshot_download

    from wm.core.data.lerobot_meta import read_info
    from wm.core.hub.errors import hub_errors
    from wm.core.hub.ids import parse_hub_id

    if not ref.startswith(DATASET_SCHEME):
        raise WMError(f"{ref}: not a Hub dataset; expected hf://datasets/USER/NAME[@revision]")
    repo_id, revision = parse_hub_id(ref.removeprefix(DATASET_SCHEME))
    logger.info(f"downloading dataset {repo_id}{'@' + revision if revision else ''} from the Hub (or its cache)")
    with hub_errors(repo_id, revision):
        meta = Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, allow_patterns=META_PATTERNS))
        info = read_info(meta)
        patterns = [info.pattern("data_path")]
        if info.video_path is not None:
            patterns += [info.pattern("video_path", c) for c in info.choose(camera)]
        folder = Path(snapshot_download(repo_id, repo_type="dataset", revision=meta.name,
                                        allow_patterns=META_PATTERNS + patterns))
    return folder, f"{DATASET_SCHEME}{repo_id}@{folder.name}"
