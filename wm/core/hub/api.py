"""Push a model to the Hugging Face Hub, pull one back, build a model from a Hub id or folder.

Everything goes through huggingface_hub's own client (token from ``hf auth login`` or HF_TOKEN,
endpoint from HF_ENDPOINT, the standard cache under HF_HOME, HF_HUB_OFFLINE honoured), so a
pulled model is reused offline. Client errors become one-line WMErrors (see ``errors.py``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from wm.core.checkpoint import Checkpoint
from wm.core.errors import UsageError, WMError
from wm.core.hub.card import model_card
from wm.core.hub.errors import hub_errors
from wm.core.hub.format import (
    CARD,
    CONFIG,
    INFERENCE_FILES,
    SAMPLE,
    TRAINING_FILES,
    WEIGHTS,
    is_hub_folder,
    read_config,
    write_folder,
)
from wm.core.hub.ids import parse_hub_id
from wm.core.hub.privacy import public_checkpoint, public_value
from wm.core.models.base import WorldModelBase

SAMPLE_STEPS = 24
PULL_MARKER = ".wm-pull.json"  # written by `pull -o`: only such a folder is ever replaced
logger = logging.getLogger("wm")


def push_to_hub(
    model_or_checkpoint: WorldModelBase | Checkpoint,
    repo_id: str,
    *,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    include_training_state: bool = False,
    context: dict[str, Any] | None = None,
    evaluation: dict[str, Any] | None = None,
    license: str = "mit",  # noqa: A002 - the Hub's metadata key
    token: str | None = None,
    create_pr: bool = False,
    trust_remote_code: bool = False,
) -> str:
    """Upload a model as a wm Hub repo (created when missing); returns the commit URL, or with
    ``create_pr`` the URL of the pull request opened against main instead of committing to it
    (none when no file changed: then the URL of main's commit).

    ``model_or_checkpoint``: a ``Checkpoint`` (config, weights, context clips, training state)
    or a bare model, whose context clips then come from ``context`` ({"frames", "actions"}).
    ``private``, ``token``, ``revision``, ``commit_message``, ``create_pr`` mean what they mean to
    ``huggingface_hub.HfApi.upload_folder`` (and ``hf upload``); ``private`` only applies to a repo
    created here. ``revision`` is a branch, created from main when missing. Only inference files go up
    unless ``include_training_state``; wm files left from an earlier push that this one does
    not write (say a training state) are deleted in the same commit. Nothing uploaded names a
    local path (see ``privacy``). ``trust_remote_code`` lets the sample's model import plug-in paths.
    """
    from huggingface_hub import HfApi

    repo_id, revision = parse_hub_id(repo_id, revision)
    if create_pr and revision not in (None, "main"):
        raise UsageError(
            f"{repo_id}: a pull request is opened against main; drop the revision '{revision}' or create_pr"
        )
    checkpoint = public_checkpoint(as_checkpoint(model_or_checkpoint, context))
    evaluation = public_value(evaluation) if evaluation else evaluation
    api = HfApi(token=token)
    with hub_errors(repo_id, revision, action="writing"):
        api.whoami()  # fail on a missing or rejected token before building anything
    with tempfile.TemporaryDirectory(prefix="wm-hub-push-") as tmp:
        folder = Path(tmp)
        given = model_or_checkpoint if isinstance(model_or_checkpoint, WorldModelBase) else None
        files = write_repo_folder(
            checkpoint, folder, repo_id, given, include_training_state=include_training_state, evaluation=evaluation,
            license=license, trust_remote_code=trust_remote_code,
        )  # fmt: skip
        stale = [name for name in (*INFERENCE_FILES, *TRAINING_FILES) if name not in files]
        with hub_errors(repo_id, revision, action="writing"):
            api.create_repo(repo_id, private=private, exist_ok=True)
            if revision:
                api.create_branch(repo_id, branch=revision, exist_ok=True)
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                revision=revision,
                commit_message=commit_message or "Upload wm world model",
                allow_patterns=files,
                delete_patterns=stale,
                create_pr=create_pr,
            )
    return info.pr_url or info.commit_url  # no pull request when nothing changed


def write_repo_folder(
    checkpoint: Checkpoint,
    folder: Path,
    repo_id: str,
    model: WorldModelBase | None = None,
    *,
    include_training_state: bool = False,
    evaluation: dict[str, Any] | None = None,
    license: str = "mit",  # noqa: A002 - the Hub's metadata key
    trust_remote_code: bool = False,
) -> list[str]:
    """Write what a Hub repo holds into ``folder``: the format's files (``format.write_folder``), the
    sample GIF when there are context clips (imagined by ``model``, else one built from the checkpoint)
    and the card naming ``repo_id``; the file names."""
    files = write_folder(checkpoint, folder, include_training_state=include_training_state, evaluation=evaluation)
    if checkpoint.context:
        write_sample(checkpoint, folder / SAMPLE, model, trust_remote_code=trust_remote_code)
        files.append(SAMPLE)
    card = model_card(repo_id, checkpoint, files=files, evaluation=evaluation, license=license)
    (folder / CARD).write_text(card)
    return [*files, CARD]


def save_pretrained(
    model: WorldModelBase, save_directory: str | Path, *, context: dict[str, Any] | None = None
) -> list[Path]:
    """Write ``model`` (with ``context`` clips, {"frames", "actions"}) into ``save_directory`` in the Hub
    format, card and sample included, as ``push_to_hub`` would upload it; the paths written.

    Each file replaces its namesake atomically; wm files of an earlier save that this one does not
    write (a context, a sample) are removed, anything else in the folder is left alone.
    """
    from wm.core.files import atomic_path

    target = Path(save_directory)
    target.mkdir(parents=True, exist_ok=True)
    checkpoint = as_checkpoint(model, context)
    written = []
    with tempfile.TemporaryDirectory(prefix="wm-save-") as tmp:
        files = write_repo_folder(checkpoint, Path(tmp), target.resolve().name, model)
        for name in files:
            with atomic_path(target / name) as part:
                shutil.copyfile(Path(tmp) / name, part)
            written.append(target / name)
    for name in (*INFERENCE_FILES, *TRAINING_FILES):
        if name not in files:
            (target / name).unlink(missing_ok=True)
    return written


def as_checkpoint(model_or_checkpoint: WorldModelBase | Checkpoint, context: dict[str, Any] | None) -> Checkpoint:
    """The checkpoint to push: as given, or a model's config, spec and weights with ``context``."""
    if isinstance(model_or_checkpoint, Checkpoint):
        if context is not None:
            return Checkpoint(**{**vars(model_or_checkpoint), "context": context})
        return model_or_checkpoint
    if not isinstance(model_or_checkpoint, WorldModelBase):
        raise WMError(
            f"push_to_hub: expected a wm model or Checkpoint, got {type(model_or_checkpoint).__name__}"
        )
    from wm.core.config import Config, config_to_dict
    from wm.core.config.schema import DataConfig

    model = model_or_checkpoint
    return Checkpoint(
        config=config_to_dict(Config(model=model.config, data=DataConfig(image_size=model.spec.height))),
        spec=model.spec,
        model=model.state_dict(),
        context=dict(context or {}),
    )


def write_sample(
    checkpoint: Checkpoint, path: Path, model: WorldModelBase | None = None, *, trust_remote_code: bool = False
) -> Path:
    """The card's sample rollout GIF, imagined from the checkpoint's own context clips by ``model``
    (the model pushed, else one built from the checkpoint)."""
    from wm.core.imagine.samples import save_sample
    from wm.core.loading import model_from_checkpoint

    if model is None:
        model = model_from_checkpoint(checkpoint, trust_remote_code=trust_remote_code)
    return save_sample(model, checkpoint.context, SAMPLE_STEPS, path, fps=checkpoint.spec.fps or 8)


def download(
    ref: str,
    revision: str | None = None,
    *,
    include_training_state: bool = False,
    log: Callable[[str], None] | None = None,
    token: str | None = None,
) -> Path:
    """The folder (in the Hugging Face cache) holding the wm files of ``[hf://]user/name[@rev]``.

    ``token``: as for ``snapshot_download`` (default: the logged-in token or HF_TOKEN).

    Says so in one line through ``log`` (default: the ``wm`` logger at INFO) before it contacts the
    Hub: "downloading user/name@rev from the Hub" (or that the cache is read, offline).

    config.json comes first and is checked, so a repo that is not a wm model costs one small
    file; the rest is then fetched at the same commit, with progress bars only when the
    weights are not cached yet. Offline, or with the Hub out of reach, the cached copy is used
    when it is complete.
    """
    from huggingface_hub import snapshot_download

    from huggingface_hub import constants

    repo_id, revision = parse_hub_id(ref, revision)
    source = f"{repo_id}@{revision}" if revision else repo_id
    offline = f"reading {source} from the Hugging Face cache (offline)"
    (log or logger.info)(offline if constants.HF_HUB_OFFLINE else f"downloading {source} from the Hub")
    with hub_errors(repo_id, revision):
        first = snapshot_download(repo_id, revision=revision, allow_patterns=[CONFIG], tqdm_class=_Quiet, token=token)
        folder = Path(first)
        read_config(folder, source)
        patterns = [*INFERENCE_FILES, *(TRAINING_FILES if include_training_state else ())]
        bars = _Quiet if (folder / WEIGHTS).is_file() else None
        folder = Path(
            snapshot_download(repo_id, revision=folder.name, allow_patterns=patterns, tqdm_class=bars, token=token)
        )
    if not is_hub_folder(folder):
        raise WMError(f"{source}: not a wm model (config.json but no model.safetensors)")
    return folder


def pull(
    ref: str,
    revision: str | None = None,
    *,
    output: str | Path | None = None,
    include_training_state: bool = False,
    log: Callable[[str], None] | None = None,
    token: str | None = None,
) -> Path:
    """Download a wm model into the cache and, with ``output``, copy its files there; the folder.

    ``output`` is written whole or not at all: files go to a temporary sibling folder that
    replaces ``output`` at the end, with a ``.wm-pull.json`` marker. An existing ``output`` is
    replaced only when it is empty or was written by ``pull`` (the marker) and holds nothing else.
    """
    folder = download(ref, revision, include_training_state=include_training_state, log=log, token=token)
    if output is None:
        return folder
    repo_id, _ = parse_hub_id(ref, revision)
    return _copy_folder(folder, Path(output), {"format": "wm-pull", "repo": repo_id, "revision": folder.name})


def create_from_pretrained(
    repo_id_or_folder: str | Path, revision: str | None = None, *, trust_remote_code: bool = False
) -> WorldModelBase:
    """The model behind a Hub id (``user/name[@rev]``), a pulled folder or a checkpoint, in eval mode
    (``WorldModelBase.from_pretrained``)."""
    return WorldModelBase.from_pretrained(repo_id_or_folder, revision=revision, trust_remote_code=trust_remote_code)


class _Quiet(tqdm):
    """A progress bar that never shows (for fetches that are small or served from the cache)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)


def _check_replaceable(output: Path) -> None:
    """Refuse an ``output`` that ``pull`` did not write: only an empty folder, or one holding the pull
    marker and wm's own files and nothing else, may be replaced."""
    if not output.exists() and not output.is_symlink():
        return
    if output.is_symlink() or not output.is_dir():
        raise WMError(f"{output}: exists and is not a pulled wm model (not a folder); choose another -o folder or remove it")
    names = {entry.name for entry in output.iterdir()}
    if not names:
        return
    if PULL_MARKER not in names:
        raise WMError(
            f"{output}: exists and is not a pulled wm model (no {PULL_MARKER}, so `wm hub pull` did not write it); "
            "choose another -o folder or remove it"
        )
    foreign = sorted(names - {PULL_MARKER, *INFERENCE_FILES, *TRAINING_FILES})
    if foreign:
        raise WMError(
            f"{output}: exists and is not a pulled wm model alone (it also holds {', '.join(foreign[:3])}); "
            "choose another -o folder or move those files"
        )


def _copy_folder(source: Path, output: Path, marker: dict[str, str]) -> Path:
    _check_replaceable(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    try:
        for file in sorted(source.iterdir()):
            shutil.copyfile(file, staging / file.name)  # follows the cache's symlinks to the blobs
        (staging / PULL_MARKER).write_text(json.dumps(marker) + "\n")
        old = output.with_name(f".{output.name}.{os.getpid()}.old")
        if output.exists():
            os.replace(output, old)
        os.replace(staging, output)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output
