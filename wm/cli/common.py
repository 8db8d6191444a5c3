"""Helpers shared by command modules: config resolution, output console, trust and download notices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from wm.core.config import Config

PRESET_OPTION = typer.Option(
    None, "--preset", "-p", help="Preset name or YAML path; repeat to merge left to right."
)
PRINT_CONFIG_OPTION = typer.Option(False, "--print-config", help="Print the resolved config as YAML and exit.")
OVERRIDES_ARGUMENT = typer.Argument(None, help="key=value overrides, e.g. data.path=pong.h5 train.lr=3e-4")
DEVICE_OPTION = typer.Option(
    None, "--device", help="auto (CUDA, then MPS, then the CPU) | cpu | cuda | mps.", show_default="auto"
)
TRUST_OPTION = typer.Option(
    False, "--trust-remote-code",
    help="Let the config name plug-in classes by import path (pkg.mod:Class), which runs that code: only for models you trust.",
)  # fmt: skip


def console():  # noqa: ANN201 - rich is imported lazily
    from rich.console import Console

    return Console(highlight=False)


def notice(message: str) -> None:
    """One line on stderr about what a command does beyond its output, e.g. a download from the Hub."""
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[dim]{message}[/]", soft_wrap=True)


def resolve_config(
    presets: list[str] | None, overrides: list[str] | None, *, first: tuple[str, ...] = (),
    base: dict[str, Any] | None = None,
) -> Config:
    """Config from ``base``, then `first` presets, then the user's presets, then overrides."""
    from wm.core.config import load_config

    return load_config([*first, *(presets or [])], overrides or [], base=base)  # none at all: "default"


def print_config(config: Config) -> None:
    from rich.syntax import Syntax

    from wm.core.config import config_to_yaml

    console().print(Syntax(config_to_yaml(config), "yaml", background_color="default"))
