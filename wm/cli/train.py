"""wm train | wm finetune: resolve the config, run wm.core.training.Trainer, show rich progress.

Under torchrun every rank runs this command; only rank 0 prints (the trainer reports to rank 0 only).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from wm.cli.common import (
    DEVICE_OPTION, OVERRIDES_ARGUMENT, PRESET_OPTION, PRINT_CONFIG_OPTION, TRUST_OPTION, console, notice, print_config,
    resolve_config,
)  # fmt: skip

EXIT_INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C
EXIT_PEER_FAILED = 1  # under torchrun: another rank failed, that rank shows why
EXIT_PUSH_FAILED = 1  # the run is complete on disk, its train.push_to_hub failed


def train(
    presets: Optional[list[str]] = PRESET_OPTION,
    overrides: Optional[list[str]] = OVERRIDES_ARGUMENT,
    print_only: bool = PRINT_CONFIG_OPTION,
    resume: Optional[Path] = typer.Option(
        None, "--resume", help="Continue the run in this folder (runs/NAME) exactly where it stopped."
    ),
    trust_remote_code: bool = TRUST_OPTION,
    device: Optional[str] = DEVICE_OPTION,
) -> None:
    """Train a world model. With no data.path, trains on the small built-in ALE dataset.

    [dim]wm train --preset debug[/]
    [dim]wm train --preset atari data.path=pong.h5 run.name=pong[/]
    [dim]wm train --resume runs/pong train.epochs=40[/]
    """
    from wm.core.errors import WMError

    overrides = with_device(overrides, device)
    checkpoint = None
    if resume is not None:
        if presets:
            raise WMError("--resume continues a run with its saved config; give key=value overrides, not --preset")
        from wm.core.training import resume_run

        config, checkpoint = resume_run(resume, overrides or [])
        if checkpoint is None and int(os.environ.get("RANK", "0")) == 0:
            note = f"[yellow]{escape(str(resume))} holds no complete checkpoint[/]: starting again from step 0"
            console().print(note, soft_wrap=True)
    else:
        config = resolve_config(presets, overrides)
    if print_only:
        print_config(config)
        return
    _run(config, resume=checkpoint, trust_remote_code=trust_remote_code)


def finetune(
    presets: Optional[list[str]] = PRESET_OPTION,
    overrides: Optional[list[str]] = OVERRIDES_ARGUMENT,
    print_only: bool = PRINT_CONFIG_OPTION,
    trust_remote_code: bool = TRUST_OPTION,
    device: Optional[str] = DEVICE_OPTION,
) -> None:
    """Finetune a trained model on new data: the `finetune` preset first, then yours.

    [dim]wm finetune finetune.pretrained_path=runs/pong/checkpoints/final.pt data.path=breakout.h5[/]
    [dim]... finetune.freeze_modules="\\[encoder]" finetune.reinit_modules="\\[dynamics]"[/]
    """
    from wm.core.errors import WMError
    from wm.core.loading import check_checkpoint, resolve_checkpoint
    from wm.core.training import pretrained_overrides

    overrides = with_device(overrides, device)
    source = resolve_config(presets, overrides, first=("finetune",)).finetune.pretrained_path
    if not source:
        raise WMError(
            "finetune.pretrained_path is not set; expected a checkpoint or run folder, "
            "e.g. finetune.pretrained_path=runs/pong/checkpoints/final.pt"
        )
    pretrained = resolve_checkpoint(source, log=notice)
    check_checkpoint(pretrained, trust_remote_code=trust_remote_code, source=source)  # before its config is used
    config = resolve_config(presets, overrides, first=("finetune",), base=pretrained_overrides(pretrained))
    if print_only:
        print_config(config)
        return
    _run(config, pretrained=pretrained, source=source, trust_remote_code=trust_remote_code)


def with_device(overrides: list[str] | None, device: str | None) -> list[str]:
    """The overrides with ``--device`` as ``train.device`` (the flag wins over a key=value)."""
    if device is None:
        return list(overrides or [])
    from wm.core.devices import resolve_device

    resolve_device(device, setting="--device")  # a device this machine lacks is named as the flag
    return [*(overrides or []), f"train.device={device}"]


def _run(config: Any, **kwargs: Any) -> None:
    """Train with a live progress display on rank 0; Ctrl-C saves and exits with code 130.

    Under torchrun, a rank that fails shows its own error; the others, whose collectives then fail,
    add no second one: rank 0 says in one line that the job stopped, and they exit with code 1.
    """
    from wm.core.training import Trainer
    from wm.core.training.distributed import is_peer_failure

    main = int(os.environ.get("RANK", "0")) == 0
    if config.data.path is None:
        from wm.core.data.builtin import builtin_dataset

        builtin_dataset(log=console().print if main else None)  # collected once, then cached
    view = ProgressView() if main else None
    try:
        trainer = Trainer(config, callback=view, **kwargs)
        if view is not None:
            view.open(trainer)
        result = trainer.fit()
    except Exception as err:
        if not is_peer_failure(err):
            raise
        if main:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            reason = re.sub(r"^\[[^\]]*\]\s*", "", first).split(". ")[0]  # drop gloo's source location
            note = f"[red]stopped[/]: another process of the job failed or stopped answering ({escape(reason)})"
            console().print(note, soft_wrap=True)
        raise typer.Exit(EXIT_PEER_FAILED) from None
    finally:
        if view is not None:
            view.close()
    if not main:
        return
    out = console()
    if result.interrupted:
        out.print(f"[yellow]interrupted[/] at step {result.step}: saved {result.checkpoint}", soft_wrap=True)
        out.print(f"continue with: [bold]wm train --resume {result.run_dir}[/]", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    out.print(f"[green]done[/]: {result.step} steps, final checkpoint [bold]{result.checkpoint}[/]", soft_wrap=True)
    if result.evaluation:
        _print_evaluation(result.evaluation)
    repo_id = config.train.push_to_hub
    if result.pushed:
        out.print(f"pushed to [bold]{repo_id}[/]: {result.pushed}", soft_wrap=True)
    elif result.push_error:
        out.print(f"[red]push to {repo_id} failed[/]: {escape(result.push_error)}", soft_wrap=True)
        out.print(f"the run is complete in {result.run_dir}; push it with: [bold]wm hub push {result.run_dir} {repo_id}[/]",
                  soft_wrap=True)  # fmt: skip
        raise typer.Exit(EXIT_PUSH_FAILED)


class ProgressView:
    """The trainer's callback: a rich progress bar with epoch, step, loss parts, frames/s and ETA."""

    SHOWN = ("loss", "recon", "kl")

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"),
            TextColumn("[cyan]{task.fields[fps]}[/] frames/s  ETA {task.fields[eta]}"),
            console=console(),
            transient=False,
        )
        self.task: Any = None
        self.push_to = ""  # train.push_to_hub

    def open(self, trainer: Any) -> None:
        config, context = trainer.config, trainer.context
        self.push_to = config.train.push_to_hub or ""
        model = config.model.kind if config.model.kind != "rssm" else f"rssm/{config.model.size}"
        total = sum(p.numel() for p in trainer.model.parameters())
        trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
        where = f"{context.device}" + (f" x {context.world_size} processes" if context.distributed else "")
        out = self.progress.console
        out.print(f"run folder [bold]{trainer.folder.path}[/]  data {trainer.data.path}", soft_wrap=True)
        out.print(
            f"model {model}: {total:,} parameters ({trainable:,} trainable) on {where}; "
            f"{trainer.total_steps} steps = {config.train.epochs} epoch(s) x {trainer.steps_per_epoch}",
            soft_wrap=True,
        )
        out.print(f"precision {escape(str(trainer.precision))}", soft_wrap=True)
        self.progress.start()

    def close(self) -> None:
        self.progress.stop()

    def __call__(self, event: Any) -> None:
        if self.task is None:
            self.task = self.progress.add_task(
                "train", total=event.total_steps, completed=event.step, epoch="", losses="", fps="-", eta="-"
            )
        if event.kind in ("checkpoint", "sample"):
            self.progress.console.print(f"[dim]{event.kind}[/] {event.path}", soft_wrap=True)
        if event.kind == "push":
            self.progress.console.print(f"pushing {event.path} to {self.push_to} ...", soft_wrap=True)
            return
        if event.kind == "budget":
            self.progress.console.print(
                f"train.max_minutes reached after {event.metrics['minutes']:.1f} minutes of training, "
                f"at step {event.step} of {event.total_steps}: finishing the run", soft_wrap=True,
            )
            return
        losses = "  ".join(f"{k} {event.metrics[k]:.3g}" for k in self.SHOWN if k in event.metrics)
        self.progress.update(
            self.task,
            completed=event.step,
            epoch=f"{event.epoch}/{event.epochs}",
            **({"losses": losses} if event.kind != "eval" else {}),  # eval metrics are not training losses
            fps=f"{event.frames_per_s:,.0f}" if event.frames_per_s else "-",
            eta=_duration(event.eta_s) if event.eta_s is not None else "-",
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _print_evaluation(results: dict[str, float]) -> None:
    """Held-out scores, as `wm eval` shows them."""
    from wm.cli.rollout import show_evaluation

    show_evaluation(results)


def register(app: typer.Typer) -> None:
    """Add `wm train` and `wm finetune` to the root app."""
    app.command("train")(train)
    app.command("finetune")(finetune)
