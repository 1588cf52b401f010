"""`newswatch services …` (local Kafka + Elasticsearch for development) and `newswatch config …`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from rich.markup import escape

from newswatch.cli.context import app_context, fail

app = typer.Typer(help="Start, stop or inspect local Kafka and Elasticsearch (no Docker needed).", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)

_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "local" / "services.py"


def _run_script(ctx: typer.Context, action: str) -> None:
    if not _SCRIPT.exists():
        fail(ctx, f"{_SCRIPT} not found: `newswatch services` needs a checkout of the newswatch repository")
    raise typer.Exit(subprocess.call([sys.executable, str(_SCRIPT), action]))


@app.command("up")
def up(ctx: typer.Context) -> None:
    """Download (once), start and wait for Kafka and Elasticsearch; prints the exports to use them."""
    _run_script(ctx, "up")


@app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop the local servers started by `up`."""
    _run_script(ctx, "down")


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Say whether the local servers are running and where."""
    _run_script(ctx, "status")


@config_app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the effective settings as JSON, secrets masked."""
    typer.echo(json.dumps(app_context(ctx).settings.masked(), indent=2, default=str))


@config_app.command("check")
def check(ctx: typer.Context) -> None:
    """Validate the feed list, the alert rules and the reachability of the configured bus and store."""
    from newswatch.cli.checks import run_checks

    app = app_context(ctx)
    failures = 0
    for check_result in run_checks(app.settings):
        mark = "[green]ok[/]" if check_result.ok else "[bold red]FAIL[/]"
        app.console.print(f"{mark}  {escape(check_result.name)}: {escape(check_result.detail)}", highlight=False)
        failures += not check_result.ok
    if failures:
        raise typer.Exit(1)
