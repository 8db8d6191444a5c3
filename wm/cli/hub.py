"""`wm hub push` and `wm hub pull`: share a model on the Hugging Face Hub, fetch one back.

A thin shell over wm.core.hub; torch and huggingface_hub are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from wm.cli.common import TRUST_OPTION, console, notice

REVISION_HELP = "Branch, tag or commit id (also accepted as REPO_ID@REV)."
TOKEN_OPTION = typer.Option(
    None, "--token", help="Hugging Face token (default: the one from `hf auth login`, or HF_TOKEN).", show_default=False
)
REPO_TYPE_OPTION = typer.Option("model", "--repo-type", help="Kind of Hub repo; wm shares models only.")


def model_repo(repo_type: str) -> None:
    """Accept ``--repo-type model`` only: what wm pushes and pulls is a model repo."""
    from wm.core.errors import UsageError

    if repo_type != "model":
        raise UsageError(
            f"--repo-type {repo_type}: wm hub pushes and pulls model repos only "
            "(for other files: hf upload / hf download)"
        )


def push(
    checkpoint: Path = typer.Argument(..., help="Checkpoint file, run folder (checkpoints/last.pt) or pulled folder."),
    repo_id: str = typer.Argument(..., help="Hub repo to push to, user/name (created when missing)."),
    private: bool = typer.Option(False, "--private", help="Create the repo private (an existing repo keeps its own)."),
    revision: str | None = typer.Option(None, "--revision", help="Branch to push to, created from main when missing."),
    message: str | None = typer.Option(None, "--commit-message", "--message", "-m", help="Commit message."),
    create_pr: bool = typer.Option(
        False, "--create-pr", help="Open a pull request against main instead of committing to it."
    ),
    token: str | None = TOKEN_OPTION,
    repo_type: str = REPO_TYPE_OPTION,
    include_training_state: bool = typer.Option(
        False, "--include-training-state", help="Also upload the optimizer/scheduler/RNG state, to resume training."
    ),
    evaluation: Path | None = typer.Option(
        None, "--eval", help="`wm eval --json` output for the card (default: the run's own end-of-training evaluation)."
    ),
    license: str = typer.Option("mit", "--license", help="License in the model card metadata."),  # noqa: A002
    trust_remote_code: bool = TRUST_OPTION,
) -> None:
    """Upload a checkpoint as a wm model repo: config, weights, context clips, a card with a sample rollout."""
    from wm.core.hub import push_to_hub
    from wm.core.hub.card import find_evaluation
    from wm.core.loading import local_checkpoint

    model_repo(repo_type)
    loaded = local_checkpoint(checkpoint)
    results = find_evaluation(checkpoint, loaded, evaluation)
    with console().status(f"pushing {checkpoint} to {repo_id} ..."):
        url = push_to_hub(
            loaded, repo_id, private=True if private else None, revision=revision, commit_message=message,
            include_training_state=include_training_state, evaluation=results, license=license,
            token=token, create_pr=create_pr, trust_remote_code=trust_remote_code,
        )  # fmt: skip
    extra = " with its training state" if include_training_state else ""
    console().print(f"pushed {checkpoint}{extra} to [bold]{repo_id}[/]: {url}")
    console().print(f"use it with: wm rollout {repo_id} --steps 100 -o dream.gif")


def pull(
    repo_id: str = typer.Argument(..., help="Hub repo, user/name or user/name@REV (hf:// prefix accepted)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Also copy the files into this folder (replaced only when empty or pulled before)."
    ),
    revision: str | None = typer.Option(None, "--revision", help=REVISION_HELP),
    include_training_state: bool = typer.Option(
        False, "--include-training-state", help="Also fetch the training state, when the repo has one."
    ),
    token: str | None = TOKEN_OPTION,
    repo_type: str = REPO_TYPE_OPTION,
) -> None:
    """Download a wm model into the Hugging Face cache (then every command works offline with REPO_ID)."""
    from rich.table import Table

    from wm.core.hub import pull as pull_model
    from wm.core.hub.format import read_config

    model_repo(repo_type)
    folder = pull_model(
        repo_id, revision, output=output, include_training_state=include_training_state, log=notice, token=token
    )
    config = read_config(folder, repo_id)
    spec = config["spec"]
    names = ", ".join(spec.get("action_names") or [])
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("model", f"{repo_id} ({config['model_kind']}, wm format {config['format_version']})")
    table.add_row("frames", f"{spec['channels']} x {spec['height']} x {spec['width']}")
    table.add_row("actions", f"{spec['action_kind']}, {spec['num_actions']}" + (f": {names}" if names else ""))
    table.add_row("files", ", ".join(sorted(p.name for p in folder.iterdir())))
    table.add_row("folder", f"[bold]{folder}[/]")
    console().print(table)
    console().print(f"use it with: wm rollout {repo_id} --steps 100 -o dream.gif  (works offline from now on)")


def register(app: typer.Typer) -> None:
    """Add `wm hub push|pull` to the root app."""
    group = typer.Typer(
        name="hub", help="Share models on the Hugging Face Hub: push and pull.", no_args_is_help=True,
        rich_markup_mode="rich",
    )  # fmt: skip
    group.command("push")(push)
    group.command("pull")(pull)
    app.add_typer(group, name="hub")
