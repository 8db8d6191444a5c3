"""The `wm` command: a thin Typer shell over wm.core. No model logic lives here."""
