"""`newswatch archive import|list|stats|prune`: the raw archive of fetched feed bodies.

The collector archives every body it sees as new; `import` adds dated snapshots (e.g. a git-scraped
feed history) as if fetched at their snapshot times. Replays and backtests read from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from newswatch.cli.context import AppContext, app_context, fail

app = typer.Typer(
    help="The raw archive of every fetched feed body: import, list, stats, prune.",
    no_args_is_help=True,
)


@contextmanager
def progress_bar(app: AppContext, what: str) -> Iterator[tuple[Progress, int]]:
    """A rich progress bar on stderr (the report goes to stdout)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=app.errors, transient=False) as progress:
        yield progress, progress.add_task(what, total=None)


@app.command("import")
def archive_import(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(
            help="folder of dated snapshots (YYYYMMDDTHHMMSSZ….xml)", exists=True, file_okay=False
        ),
    ],
    feed_url: Annotated[
        str | None, typer.Option("--feed-url", help="feed URL of every file (else from files.tsv)")
    ] = None,
    outlet: Annotated[
        str, typer.Option("--outlet", help="outlet name (else the feed's own title)")
    ] = "",
) -> None:
    """Add dated feed snapshots to the archive as if fetched at their snapshot times."""
    from collectors import RawArchive, find_snapshots, import_snapshots

    app = app_context(ctx)
    snapshots, skipped = find_snapshots(directory, feed_url)
    archive = RawArchive.for_settings(app.settings)
    try:
        with progress_bar(app, f"importing {directory.name}") as (progress, task):
            progress.update(task, total=len(snapshots))
            report = import_snapshots(
                archive, snapshots, outlet=outlet, advance=lambda n: progress.advance(task, n)
            )
    finally:
        archive.close()
    for path, reason in skipped:
        app.errors.print(Text(f"skipped {path}: {reason}", style="yellow"))
    app.console.print(
        f"archived {report.added} snapshots ({report.already} already there, {len(skipped)} skipped, "
        f"{report.raw_bytes / 1e6:.1f} MB read)",
        highlight=False,
    )
    if not snapshots:
        fail(ctx, f"no dated snapshots found in {directory}: see the skipped files above")


@app.command("list")
def archive_list(ctx: typer.Context) -> None:
    """Archived feeds: fetches, first and last fetch time, raw size."""
    from collectors import RawArchive

    app = app_context(ctx)
    archive = RawArchive.for_settings(app.settings)
    rows = archive.feeds()
    archive.close()
    table = Table(title=f"{len(rows)} feeds in {app.settings.data_dir / 'archive'}")
    for col in ("feed URL", "outlet", "fetches", "first (UTC)", "last (UTC)", "raw MB"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            Text(r.feed_url),
            Text(r.outlet),
            str(r.entries),
            f"{r.first:%Y-%m-%d %H:%M}",
            f"{r.last:%Y-%m-%d %H:%M}",
            f"{r.raw_bytes / 1e6:.2f}",
        )
    app.console.print(table)


@app.command("stats")
def archive_stats(ctx: typer.Context) -> None:
    """Archive totals: fetches, distinct bodies, bytes before and after compression, time span."""
    from collectors import RawArchive, retention_from

    app = app_context(ctx)
    archive = RawArchive.for_settings(app.settings)
    s = archive.stats()
    archive.close()
    days, max_bytes = retention_from(app.settings)
    ratio = s.raw_bytes / s.stored_bytes if s.stored_bytes else 0.0
    lines = [
        f"fetches archived   {s.entries} from {s.feeds} feeds",
        f"distinct bodies    {s.blobs}",
        f"raw bytes          {s.raw_bytes:,} (stored {s.stored_bytes:,}, {ratio:.1f}x smaller)",
        f"time span (UTC)    {s.first:%Y-%m-%d %H:%M} to {s.last:%Y-%m-%d %H:%M}"
        if s.first and s.last
        else "time span          (empty)",
        f"retention          live fetches {days or 'forever'} days; size cap {f'{max_bytes:,} bytes' if max_bytes else 'none'}",
    ]
    app.console.print("\n".join(lines), highlight=False)


@app.command("prune")
def archive_prune(ctx: typer.Context) -> None:
    """Apply retention now (the collector also does it hourly)."""
    from collectors import RawArchive

    app = app_context(ctx)
    archive = RawArchive.for_settings(app.settings)
    result = archive.prune()
    archive.close()
    app.console.print(
        f"removed {result.entries} fetches and {result.blobs} bodies ({result.bytes_freed:,} bytes)",
        highlight=False,
    )


__all__ = ["app", "progress_bar"]
