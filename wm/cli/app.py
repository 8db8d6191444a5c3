"""The top-level Typer app: global flags, user-error handling and command registration.

Exit codes: 0 success; 1 error (a ``WMError``: bad data, a missing file, a Hub failure; or an
unexpected failure, with its traceback); 2 usage (a flag or argument click cannot parse, or a
``UsageError`` such as a key=value override or preset that does not fit the config); 130 interrupted (Ctrl-C).

Command modules import wm.core (and so torch) inside their functions only, which keeps
`wm --help` fast.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from wm.core.errors import UsageError, WMError

DEBUG_KEY = "wm_debug"
ERROR_EXIT = 1
USAGE_EXIT = 2  # click's own code for a command line it cannot parse
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report Ctrl-C


def show_error(message: str) -> None:
    """Print a user error as one red line on stderr."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


class WMGroup(TyperGroup):
    """Root group: a WMError becomes one red line and exit code 1 (a UsageError 2), Ctrl-C one line
    and 130, unless debugging was asked for."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (WMError, KeyboardInterrupt) as err:
            if ctx.meta.get(DEBUG_KEY) or os.environ.get("WM_DEBUG") == "1":
                raise
            show_error("interrupted" if isinstance(err, KeyboardInterrupt) else str(err))
            code = INTERRUPTED_EXIT if isinstance(err, KeyboardInterrupt) else ERROR_EXIT
            raise typer.Exit(code=USAGE_EXIT if isinstance(err, UsageError) else code) from None


app = typer.Typer(
    cls=WMGroup,
    name="wm",
    help="Action-conditioned world models: collect data, train, evaluate, roll out, play, share.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from wm import __version__

        typer.echo(f"wm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks (or set WM_DEBUG=1)."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """wm: imagine what comes next from frames and actions."""
    ctx.meta[DEBUG_KEY] = debug or os.environ.get("WM_DEBUG") == "1"


def _register() -> None:
    from wm.cli import data, hub, rollout, train

    for module in (data, train, rollout, hub):
        module.register(app)


_register()


def main() -> None:
    app()
