"""`newswatch feeds …`: manage the feed list (TOML) and see each feed's health."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from newswatch.cli import wiring
from newswatch.cli.context import app_context, fail
from newswatch.errors import ConfigError
from newswatch.schema import FeedSpec

app = typer.Typer(help="List, add, remove, import and export feeds.", no_args_is_help=True)


@app.command("list")
def list_feeds(ctx: typer.Context) -> None:
    """Every feed with its health: last success, failures and why, next poll."""
    settings = app_context(ctx).settings
    table = Table(title=f"feeds in {settings.feeds_path}")
    for col in ("name", "url", "health", "last success", "failures", "reason", "next poll", "polls new/304/same/err"):
        table.add_column(col, overflow="fold")
    bus = wiring.open_bus(settings)
    try:
        rows = wiring.feed_statuses(settings, bus)
    except ConfigError as exc:
        fail(ctx, str(exc))
        return
    finally:
        bus.close()
    for row in rows:
        table.add_row(
            Text(row.name), Text(row.url), row.health, _fmt(row.last_success), str(row.consecutive_failures),
            Text(row.reason or ""), _fmt(row.next_poll),
            f"{row.polls_new}/{row.polls_not_modified}/{row.polls_same_body}/{row.polls_error}",
        )
    app_context(ctx).console.print(table)


def _fmt(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"  # type: ignore[attr-defined]


@app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="http(s) URL, file:// URL or a local path")],
    name: Annotated[str, typer.Option(help="short name")] = "",
    outlet: Annotated[str, typer.Option(help="outlet shown in results")] = "",
    interval: Annotated[float | None, typer.Option(help="poll interval in seconds")] = None,
) -> None:
    """Add a feed to the list (no duplicates)."""
    from collectors import add_feed

    settings = app_context(ctx).settings
    try:
        add_feed(settings.feeds_path, FeedSpec(url=url, name=name, outlet=outlet, interval_s=interval))
    except (ConfigError, ValueError) as exc:
        fail(ctx, str(exc))
    app_context(ctx).console.print(Text(f"added {url} to {settings.feeds_path}"))


@app.command("remove")
def remove(ctx: typer.Context, url_or_name: Annotated[str, typer.Argument(help="the feed's URL or name")]) -> None:
    """Remove a feed by URL or name."""
    from collectors import remove_feed

    settings = app_context(ctx).settings
    try:
        removed = remove_feed(settings.feeds_path, url_or_name)
    except ConfigError as exc:
        fail(ctx, str(exc))
        return
    app_context(ctx).console.print(Text(f"removed {removed.url}"))


@app.command("import-opml")
def import_opml_cmd(ctx: typer.Context, path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Add every feed of an OPML file (existing ones are kept)."""
    from collectors import add_feed, import_opml, load_feeds

    settings = app_context(ctx).settings
    known = {f.url for f in load_feeds(settings.feeds_path)} if settings.feeds_path.exists() else set()
    added = 0
    try:
        for spec in import_opml(path):
            if spec.url not in known:
                add_feed(settings.feeds_path, spec)
                known.add(spec.url)
                added += 1
    except ConfigError as exc:
        fail(ctx, str(exc))
    app_context(ctx).console.print(f"imported {added} new feeds into {settings.feeds_path}", highlight=False)


@app.command("export-opml")
def export_opml_cmd(
    ctx: typer.Context, output: Annotated[Path | None, typer.Option(help="file to write; default stdout")] = None
) -> None:
    """Write the feed list as OPML."""
    from collectors import export_opml, load_feeds

    text = export_opml(load_feeds(app_context(ctx).settings.feeds_path))
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
