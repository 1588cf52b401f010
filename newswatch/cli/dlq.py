"""`newswatch dlq …`: inspect dead letters and re-drive them after a fix.

Dead letters stay on `news.dlq`; the consumer group `<prefix>.dlq-inspector` marks how far they
have been handled: `list`/`show` never move it, `replay` moves it past what it re-sent.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from newswatch.bus import Bus, Consumer, Record
from newswatch.cli import wiring
from newswatch.cli.context import app_context, fail
from newswatch.schema import DeadLetter
from newswatch.settings import Settings
from newswatch.topics import DLQ

app = typer.Typer(help="Inspect and re-drive dead letters (news.dlq).", no_args_is_help=True)


def _pending(
    settings: Settings, limit: int
) -> tuple[list[tuple[Record, DeadLetter | None]], Bus, Consumer]:
    bus = wiring.open_bus(settings)
    consumer = bus.consumer(wiring.group_name(settings, wiring.DLQ_INSPECTOR), [DLQ])
    rows: list[tuple[Record, DeadLetter | None]] = []
    while len(rows) < limit:
        batch = consumer.poll(min(500, limit - len(rows)), 1.0)
        if not batch:
            break
        for rec in batch:
            try:
                rows.append((rec, DeadLetter.model_validate_json(rec.value)))
            except ValueError:
                rows.append((rec, None))
    return rows, bus, consumer


@app.command("list")
def list_dead(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    stage: Annotated[str | None, typer.Option(help="only this stage")] = None,
) -> None:
    """Dead letters not yet re-driven: where they failed and why."""
    app = app_context(ctx)
    rows, bus, consumer = _pending(app.settings, limit)
    table = Table(title=f"{len(rows)} dead letters")
    for col in ("offset", "stage", "error", "message", "key", "failed at"):
        table.add_column(col, overflow="fold")
    for rec, dl in rows:
        if dl is None:
            table.add_row(
                str(rec.offset),
                "?",
                "unreadable",
                "the dead letter itself is not valid JSON",
                Text(rec.key or ""),
                "-",
            )
        elif stage is None or dl.stage == stage:
            table.add_row(
                str(rec.offset),
                dl.stage,
                dl.error_class,
                Text(dl.message[:200]),
                Text(dl.key or ""),
                dl.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
    app.console.print(table)
    consumer.close()
    bus.close()


@app.command("show")
def show(
    ctx: typer.Context, offset: Annotated[int, typer.Argument(help="offset shown by `dlq list`")]
) -> None:
    """One dead letter in full, with its original payload."""
    app = app_context(ctx)
    rows, bus, consumer = _pending(app.settings, 100_000)
    consumer.close()
    bus.close()
    for rec, dl in rows:
        if rec.offset == offset and dl is not None:
            app.console.print_json(dl.model_dump_json(exclude={"payload_b64"}))
            payload = dl.payload.decode("utf-8", errors="replace")[:5000]
            app.console.print(
                Text(payload), soft_wrap=True
            )  # unwrapped: the payload can be copied or piped
            return
    fail(ctx, f"no pending dead letter at offset {offset}; run `newswatch dlq list`")


@app.command("replay")
def replay(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1)] = 100_000) -> None:
    """Re-send pending dead letters' original records to their source topic, then mark them handled.

    All pending ones, oldest first: the handled mark is an offset, so none can be skipped."""
    app = app_context(ctx)
    rows, bus, consumer = _pending(app.settings, limit)
    sent = 0
    for _rec, dl in rows:
        if dl is not None and dl.source_topic:
            bus.produce(dl.source_topic, dl.key, dl.payload)
            sent += 1
    bus.flush()
    consumer.commit([rec for rec, _ in rows])
    consumer.close()
    bus.close()
    app.console.print(
        f"re-sent {sent} records; marked {len(rows)} dead letters handled", highlight=False
    )
