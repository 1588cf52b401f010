"""State shared by CLI commands: the settings, built once, and a rich console."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from rich.console import Console
from rich.markup import escape

from newswatch.settings import Settings


@dataclass
class AppContext:
    """Passed to every command through `typer.Context.obj`."""

    settings: Settings
    console: Console = field(default_factory=Console)
    errors: Console = field(default_factory=lambda: Console(stderr=True))


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext of the running command."""
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext)
    return obj


def fail(ctx: typer.Context, message: str, code: int = 1) -> None:
    """Print an error that says what to do next, then exit non-zero."""
    app_context(ctx).errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)
