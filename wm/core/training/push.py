"""``train.push_to_hub=user/name``: the final model goes to the Hub when training ends, as `wm hub push` sends it.

The id and the login are checked before training, so a typo costs nothing; the push itself comes
after the final checkpoint, sample and evaluation are on disk, so a failed push loses nothing of
the run (push it again with ``wm hub push runs/NAME user/name``).
"""

from __future__ import annotations

from pathlib import Path

from wm.core.errors import WMError


def check_push_target(repo_id: str) -> None:
    """Raise WMError now for a ``train.push_to_hub`` that cannot work at the end: not a Hub id,
    no Hub token, or the Hub client in offline mode."""
    from huggingface_hub import constants, get_token

    from wm.core.hub.errors import LOGIN
    from wm.core.hub.ids import parse_hub_id

    try:
        parse_hub_id(repo_id)
    except WMError:
        raise WMError(f"train.push_to_hub={repo_id}: expected a Hub id user/name (or user/name@branch)") from None
    if constants.is_offline_mode():
        raise WMError(f"train.push_to_hub={repo_id}: HF_HUB_OFFLINE=1 forbids the push at the end of training")
    if get_token() is None:
        raise WMError(f"train.push_to_hub={repo_id}: not logged in to the Hugging Face Hub; {LOGIN} first")


def push_final(
    checkpoint: Path, repo_id: str, evaluation: dict[str, float], *, trust_remote_code: bool = False
) -> str:
    """Upload the checkpoint file ``checkpoint`` with its ``evaluation`` (flat, as the trainer logs it) as
    `wm hub push` does: config, weights, context clips, a card with the sample GIF and the evaluation
    tables (``wm.core.hub.push_to_hub``); the commit URL. Hub failures are one-line WMErrors."""
    from wm.core.hub import push_to_hub
    from wm.core.loading import local_checkpoint

    return push_to_hub(
        local_checkpoint(checkpoint), repo_id, evaluation=evaluation or None, trust_remote_code=trust_remote_code
    )
