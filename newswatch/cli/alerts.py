"""`newswatch alerts list|add|remove|test`: manage the alert rules file and try rules on articles.

The rules file is `settings.alerts_file` when set, else `<data_dir>/alerts.yaml`. A running
alert stage picks up changes on its next batch. `test` never notifies and never marks anything.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from newswatch.cli import wiring
from newswatch.cli.context import app_context, fail
from newswatch.errors import NewswatchError
from newswatch.schema import EnrichedArticle
from newswatch.store import SearchQuery
from sinks.alerts import (
    ArticleView,
    Matcher,
    ParsedQuery,
    QueryError,
    compile_query,
    load_rules,
    mask_url,
    match_alert,
    parse_query,
    read_document,
    resolve_entities,
    rules_path_for,
    to_elasticsearch,
    validate_rule,
    write_document,
)
from sinks.alerts.rules import LoadedRule, Rule

app = typer.Typer(
    help="Keyword alerts: Lucene-syntax rules matched on every enriched article.",
    no_args_is_help=True,
)


def _path(ctx: typer.Context) -> Path:
    return rules_path_for(app_context(ctx).settings)


@app.command("list")
def list_rules(ctx: typer.Context) -> None:
    """Every rule with its type, query and channels; rules that do not load are shown with the reason."""
    app_ = app_context(ctx)
    path = _path(ctx)
    try:
        book = load_rules(path, resolve=wiring.resolve_entity)
    except NewswatchError as exc:
        fail(ctx, str(exc))
        return
    table = Table(title=f"{len(book.rules)} rules in {path}")
    for col in ("name", "type", "query", "channels", "notes"):
        table.add_column(col, overflow="fold")
    now = datetime.now(UTC)
    for loaded in book.rules:
        r = loaded.rule
        notes = [
            n
            for n in (
                "disabled" if not r.enabled else "",
                f"silenced until {r.silence_until:%Y-%m-%d %H:%M}" if r.silenced(now) else "",
                f"throttle {r.throttle}" if r.throttle else "",
                f"digest {r.digest}" if r.digest else "",
                *_resolutions(loaded.compiled.query),
            )
            if n
        ]
        table.add_row(
            Text(r.name),
            r.type,
            Text(r.query),
            Text(", ".join(mask_url(c) if "://" in c else c for c in r.channels)),
            Text("; ".join(notes)),
        )
    app_.console.print(table)
    for problem in book.problems:
        app_.errors.print(Text(f"not loaded: {problem.name}: {problem.message}", style="red"))
    for warning in book.warnings:
        app_.errors.print(Text(f"warning: {warning}", style="yellow"))


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="unique rule name, e.g. putin-defence")],
    query: Annotated[
        str, typer.Argument(help="Lucene query, e.g. 'entity:\"Vladimir Putin\" AND topic:defence'")
    ],
    rule_type: Annotated[
        str, typer.Option("--type", help="match, frequency, spike, new_term or flatline")
    ] = "match",
    channel: Annotated[
        list[str] | None,
        typer.Option(help="channel name from the file, or an apprise URL (repeatable)"),
    ] = None,
    throttle: Annotated[
        str | None, typer.Option(help="at most one notification per period, e.g. 30m")
    ] = None,
    digest: Annotated[
        str | None, typer.Option(help="hourly, daily or a period: group notifications")
    ] = None,
    window: Annotated[
        str | None, typer.Option(help="window for frequency/spike/flatline, e.g. 1h")
    ] = None,
    threshold: Annotated[
        int | None, typer.Option(help="frequency: matches needed within the window")
    ] = None,
    baseline: Annotated[str | None, typer.Option(help="spike: baseline period, e.g. 1d")] = None,
    group_by: Annotated[
        str | None, typer.Option(help="none, entity, entity.person, outlet, …")
    ] = None,
    silence_until: Annotated[
        str | None, typer.Option(help="ISO time: no notifications before it")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="overwrite a rule of the same name")
    ] = False,
) -> None:
    """Add a rule (validated first: a query that does not parse is refused with the position)."""
    path = _path(ctx)
    raw: dict[str, Any] = {"name": name, "query": query, "type": rule_type}
    options = {
        "channels": channel,
        "throttle": throttle,
        "digest": digest,
        "window": window,
        "threshold": threshold,
        "baseline": baseline,
        "group_by": group_by,
        "silence_until": silence_until,
    }
    raw.update({k: v for k, v in options.items() if v})
    try:
        doc = read_document(path)
        loaded = validate_rule(raw, load_rules(path).channels, resolve=wiring.resolve_entity)
    except QueryError as exc:
        fail(ctx, f"rule {name!r}: query does not parse: {exc}")
        return
    except (NewswatchError, ValueError) as exc:
        fail(
            ctx,
            f"rule {name!r} is not valid: {exc}".splitlines()[0]
            + " (see `newswatch alerts add --help`)",
        )
        return
    rules = list(doc.get("rules") or [])
    existing = [i for i, r in enumerate(rules) if isinstance(r, dict) and r.get("name") == name]
    if existing and not replace:
        fail(
            ctx,
            f"a rule named {name!r} exists: pass --replace to overwrite it, or choose another name",
        )
        return
    clean = loaded.rule.model_dump(
        mode="json", exclude_defaults=True, include=set(raw) | {"name", "query"}
    )
    if existing:
        rules[existing[0]] = clean
    else:
        rules.append(clean)
    doc["rules"] = rules
    write_document(path, doc)
    app_context(ctx).console.print(Text(f"added {name} to {path}"))
    for note in _resolutions(loaded.compiled.query):
        app_context(ctx).console.print(Text(note))
    for warning in loaded.compiled.query.warnings:
        app_context(ctx).errors.print(Text(f"warning: {warning}", style="yellow"))


def _resolutions(query: ParsedQuery) -> list[str]:
    """ 'entity NBA -> National Basketball Association' for each entity term the gazetteer widened."""
    return [f"entity {name} -> {' / '.join(names)}" for name, names in query.entity_names.items()]


@app.command()
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="rule name")]) -> None:
    """Remove a rule by name."""
    path = _path(ctx)
    doc = read_document(path)
    rules = [
        r for r in doc.get("rules") or [] if not (isinstance(r, dict) and r.get("name") == name)
    ]
    if len(rules) == len(doc.get("rules") or []):
        fail(ctx, f"no rule named {name!r} in {path}: see `newswatch alerts list`")
        return
    doc["rules"] = rules
    write_document(path, doc)
    app_context(ctx).console.print(Text(f"removed {name} from {path}"))


def _target(ctx: typer.Context, target: str) -> LoadedRule:
    book = load_rules(_path(ctx), resolve=wiring.resolve_entity)
    for loaded in book.rules:
        if loaded.rule.name == target:
            return loaded
    parsed = resolve_entities(parse_query(target), wiring.resolve_entity)
    return LoadedRule(Rule(name="query", query=target), compile_query("query", parsed))


def _articles(
    ctx: typer.Context, input_path: Path | None, since: str, limit: int
) -> list[EnrichedArticle]:
    if input_path is not None:
        lines = input_path.read_text(encoding="utf-8").splitlines()
        return [EnrichedArticle.model_validate_json(line) for line in lines if line.strip()][:limit]
    units = {"h": "hours", "d": "days", "w": "weeks", "m": "minutes"}
    if not (since[:-1].isdigit() and since[-1] in units):
        fail(ctx, f"--since {since!r}: expected a number and a unit, e.g. 24h, 7d or 2w")
    start = datetime.now(UTC) - timedelta(**{units[since[-1]]: int(since[:-1])})
    store = wiring.open_store(app_context(ctx).settings)
    try:
        hits = store.search(SearchQuery(since=start, limit=limit))
        return [a for a in (store.get(h.article_id) for h in hits) if a is not None]
    finally:
        store.close()


@app.command()
def test(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="a rule name from the file, or a query")],
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input",
            exists=True,
            dir_okay=False,
            help="JSONL of enriched articles; default: the store's recent articles",
        ),
    ] = None,
    since: Annotated[
        str, typer.Option(help="store articles from this far back: 24h, 7d, 2w")
    ] = "7d",
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="articles to try")] = 1000,
    as_json: Annotated[
        bool, typer.Option("--json", help="one alert JSON object per match")
    ] = False,
    es: Annotated[
        bool, typer.Option("--es", help="also print the query as an Elasticsearch query body")
    ] = False,
) -> None:
    """Show which articles a rule or query matches, with highlighted terms (nothing is sent or recorded)."""
    app_ = app_context(ctx)
    try:
        loaded = _target(ctx, target)
        articles = _articles(ctx, input_path, since, limit)
    except QueryError as exc:
        fail(ctx, f"query does not parse: {exc}")
        return
    except (NewswatchError, ValueError) as exc:
        fail(ctx, str(exc).splitlines()[0])
        return
    for note in _resolutions(loaded.compiled.query):  # stderr: --json output stays one alert a line
        app_.errors.print(Text(note), highlight=False)
    if es:
        typer.echo(json.dumps({"query": to_elasticsearch(loaded.compiled.query)}, indent=2))
    matcher = Matcher([loaded.compiled])
    alerts = [
        match_alert(loaded, a, view) for a in articles if matcher.match(view := ArticleView.of(a))
    ]
    if as_json:
        for alert in alerts:
            typer.echo(alert.model_dump_json())
        return
    table = Table(
        title=f"{len(alerts)} of {len(articles)} articles match {loaded.compiled.query.source}"
    )
    for col in ("published", "outlet", "title", "matched"):
        table.add_column(col, overflow="fold")
    for alert in alerts:
        matched = "\n".join(
            f"{h.field}: {h.snippet}" if h.snippet else h.term for h in alert.highlights[:4]
        )
        when = alert.published_at.strftime("%Y-%m-%d %H:%M") if alert.published_at else "-"
        table.add_row(when, Text(alert.outlet), Text(alert.title), Text(matched))
    app_.console.print(table)
