"""What the Hub client raises, turned into one-line WMErrors that say what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from wm.core.errors import WMError

LOGIN = "run `hf auth login` or set HF_TOKEN"


@contextmanager
def hub_errors(repo_id: str, revision: str | None = None, *, action: str = "reading") -> Iterator[None]:
    """Translate huggingface_hub and network exceptions raised inside the block for ``repo_id``.

    ``action`` is "reading" or "writing": a missing repo means a typo or a private repo when
    reading, a namespace without write access when writing.
    """
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        LocalTokenNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import httpx

    try:
        yield
    except LocalTokenNotFoundError as err:
        raise WMError(f"not logged in to the Hugging Face Hub: {LOGIN}") from err
    except RevisionNotFoundError as err:
        raise WMError(
            f"{repo_id}: revision '{revision}' not found on the Hub; check the branch, tag or commit id"
        ) from err
    except RepositoryNotFoundError as err:
        if action == "writing":
            raise WMError(
                f"{repo_id}: the Hub refused the write (repo not found for this token); "
                f"push to a namespace you own or {LOGIN} with a write token"
            ) from err
        raise WMError(
            f"{repo_id}: repository not found on the Hub (check the id; if it is private, {LOGIN} "
            f"for an account that can read it)"
        ) from err
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as err:
        ref = f"{repo_id}@{revision}" if revision else repo_id
        if constants.is_offline_mode():
            raise WMError(
                f"{ref}: not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading; "
                f"pull it once online (`wm hub pull {ref}`)"
            ) from err
        raise WMError(
            f"{ref}: cannot reach the Hugging Face Hub at {constants.ENDPOINT} and it is not in the local "
            f"cache; check your network connection (or HF_ENDPOINT)"
        ) from err
    except httpx.TransportError as err:
        raise WMError(
            f"cannot reach the Hugging Face Hub at {constants.ENDPOINT} while {action} {repo_id} "
            f"({type(err).__name__}); check your network connection (or HF_ENDPOINT)"
        ) from err
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        if status == 401:
            raise WMError(
                f"the Hub rejected your token while {action} {repo_id} (401): {LOGIN} to a valid token"
            ) from err
        if status == 403:
            raise WMError(
                f"{repo_id}: no write access (403); push to a namespace you own or {LOGIN} with a write token"
            ) from err
        raise WMError(
            f"the Hub answered {status} while {action} {repo_id}"
            + ("; nothing was committed, push again later" if action == "writing" else "; try again later")
        ) from err
