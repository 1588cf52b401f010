"""The `newswatch` command line: typer app whose sub-commands are registered explicitly here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from newswatch.cli import alerts, commands, dlq, evaluate, feeds, kibana, ops, replay, services, web
from newswatch.cli.context import AppContext
from newswatch.errors import NewswatchError
from newswatch.logs import configure_logging
from newswatch.settings import load_settings

app = typer.Typer(
    name="newswatch",
    help="News monitoring: collect RSS/Atom feeds, classify topics and entities, index for search and alerts.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option(help="TOML settings file [env: NEWSWATCH_CONFIG]")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="embedded data directory [env: NEWSWATCH_DATA_DIR]")
    ] = None,
    feeds_file: Annotated[
        Path | None, typer.Option("--feeds", help="feed list TOML [env: NEWSWATCH_FEEDS_FILE]")
    ] = None,
    json_logs: Annotated[
        bool, typer.Option("--json-logs", help="log JSON lines [env: NEWSWATCH_LOG_JSON]")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False,
) -> None:
    """Build settings once from the file, the environment and these options."""
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if feeds_file is not None:
        overrides["feeds_file"] = feeds_file
    try:
        settings = load_settings(config, **overrides)
    except (NewswatchError, ValueError) as exc:
        file = config or os.environ.get("NEWSWATCH_CONFIG")
        where = (
            f"settings file {file} or NEWSWATCH_* variables" if file else "NEWSWATCH_* variables"
        )
        raise typer.BadParameter(f"invalid settings in {where}: {exc}") from exc
    configure_logging(
        json_lines=json_logs or settings.log_json, level="DEBUG" if verbose else "INFO"
    )
    ctx.obj = AppContext(settings=settings)


commands.register(app)
ops.register(app)  # newswatch maintain, newswatch health
replay.register(app)  # newswatch archive …, replay, backtest
app.add_typer(feeds.app, name="feeds")
app.add_typer(services.app, name="services")
app.add_typer(dlq.app, name="dlq")
app.add_typer(evaluate.app, name="eval")
app.add_typer(kibana.app, name="kibana")
app.command()(web.web)
alerts.app.command("run")(commands.alerts_run)
app.add_typer(alerts.app, name="alerts")
app.add_typer(services.config_app, name="config")


def run() -> None:
    """Console entry point: an expected failure prints its message (which says the fix), no traceback."""
    try:
        app(prog_name="newswatch")
    except NewswatchError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise SystemExit(1) from None


__all__ = ["app", "run"]
