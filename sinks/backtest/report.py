"""The backtest report: report.md, report.html, alerts.csv and charts/<rule>.png in one folder.

Deterministic by construction: no wall-clock time anywhere (the replay window and snapshot
times only), rules in file order, alerts in firing order, CSV with fixed columns and `\\n`
line ends, every user string escaped for its format (HTML via `html.escape`, Markdown by
backslash-escaping the characters that would break a table).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sinks.backtest.charts import per_day_chart
from sinks.backtest.summary import BacktestMeta, RuleSummary

CSV_COLUMNS = (
    "rule",
    "rule_type",
    "fired_at",
    "event_time",
    "published_at",
    "delivery",
    "title",
    "outlet",
    "matched_terms",
    "key",
    "count",
    "url",
    "article_id",
    "alert_id",
    "relevant",
)
_MD_SPECIAL = str.maketrans(
    {"|": "\\|", "\n": " ", "\r": " ", "*": "\\*", "_": "\\_", "`": "\\`", "<": "&lt;"}
)


def _t(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else ""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def write_report(
    out_dir: Path,
    meta: BacktestMeta,
    summaries: Sequence[RuleSummary],
    relevant: dict[str, set[str]] | None = None,
) -> dict[str, Path]:
    """Write every report file under `out_dir`; returns them by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = {
        s.rule.name: per_day_chart(
            out_dir / "charts" / f"{s.rule.name}.png", s.rule.name, s.per_day, s.notified_per_day
        )
        for s in summaries
    }
    files = {
        "csv": out_dir / "alerts.csv",
        "md": out_dir / "report.md",
        "html": out_dir / "report.html",
    }
    files["csv"].write_bytes(alerts_csv(summaries, relevant).encode("utf-8"))
    files["md"].write_bytes(markdown(meta, summaries).encode("utf-8"))
    files["html"].write_bytes(html_report(meta, summaries).encode("utf-8"))
    return {**files, **{f"chart:{k}": v for k, v in charts.items()}}


def alerts_csv(
    summaries: Sequence[RuleSummary], relevant: dict[str, set[str]] | None = None
) -> str:
    """Every would-be alert, one row each; `relevant` is yes/no when labels were given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for summary in summaries:
        wanted = None if relevant is None else relevant.get(summary.rule.name, set())
        for item in summary.alerts:
            a = item.alert
            label = (
                ""
                if wanted is None or not a.article_id
                else ("yes" if a.article_id in wanted else "no")
            )
            writer.writerow(
                [
                    a.rule,
                    a.rule_type,
                    _t(item.fired_at),
                    _t(a.event_time),
                    _t(a.published_at),
                    item.delivery,
                    a.title,
                    a.outlet,
                    "; ".join(a.matched_terms),
                    a.key,
                    a.count or "",
                    a.url,
                    a.article_id,
                    a.alert_id,
                    label,
                ]
            )
    return buffer.getvalue()


def _figures(s: RuleSummary) -> list[tuple[str, str]]:
    rows = [
        ("would-be alerts", str(len(s.alerts))),
        ("distinct articles", str(len(s.articles))),
        ("first / last firing", f"{_t(s.first) or '-'} / {_t(s.last) or '-'}"),
        ("days with matches", f"{s.active_days} of {len(s.per_day)}"),
        ("busiest day", _busiest(s)),
        ("notifications it would have sent", str(s.notifications)),
        ("throttled", str(s.delivery.get("throttled", 0))),
        ("silenced", str(s.delivery.get("silenced", 0))),
        ("deduplicated (matched article seen again later)", str(s.deduplicated)),
    ]
    if not s.rule.channels:
        rows.append(("channels", "none: the rule would never notify"))
    if s.quality is not None:
        q = s.quality
        rows += [
            ("precision", f"{_pct(q.precision)} ({q.true_positives}/{q.matched})"),
            ("recall", f"{_pct(q.recall)} ({q.true_positives}/{q.relevant})"),
        ]
        if q.relevant_not_replayed:
            rows.append(("labelled relevant but not in the replay", str(q.relevant_not_replayed)))
    return rows


def _busiest(s: RuleSummary) -> str:
    if not s.alerts:
        return "-"
    day, n = max(s.per_day.items(), key=lambda kv: (kv[1], -kv[0].toordinal()))
    return f"{day.isoformat()} ({n})"


def _header(meta: BacktestMeta) -> list[tuple[str, str]]:
    rows = [
        ("replay run", meta.run),
        ("window (UTC)", f"{_t(meta.since)} to {_t(meta.until)}"),
        ("rules file", f"{meta.rules_file} (sha256 {meta.rules_sha256[:12]})"),
        ("archived fetches replayed", str(meta.fetches)),
        ("articles processed", str(meta.articles)),
        ("items seen again and deduplicated", str(meta.duplicates)),
    ]
    if meta.classifier_version:
        rows.append(("classifier", meta.classifier_version))
    if meta.labels_file:
        rows.append(("labels", meta.labels_file))
    return rows


def _md(text: object) -> str:
    return str(text).translate(_MD_SPECIAL)


def markdown(meta: BacktestMeta, summaries: Sequence[RuleSummary]) -> str:
    """The report as Markdown (GitHub tables), charts linked as images."""
    out = [f"# Backtest: {_md(meta.run)}", "", "| | |", "|---|---|"]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in _header(meta)]
    out += [
        "",
        "## Rules",
        "",
        "| rule | type | alerts | articles | notifications | throttled | precision | recall |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        q = s.quality
        out.append(
            f"| {_md(s.rule.name)} | {s.rule.type} | {len(s.alerts)} | {len(s.articles)} | {s.notifications} "
            f"| {s.delivery.get('throttled', 0)} | {_pct(q.precision) if q else ''} | {_pct(q.recall) if q else ''} |"
        )
    if meta.problems:
        out += ["", "Rules that did not load:", ""] + [f"- {_md(p)}" for p in meta.problems]
    for s in summaries:
        out += [
            "",
            f"## {_md(s.rule.name)}",
            "",
            f"`{s.rule.query.replace('`', '')}` ({s.rule.type})",
            "",
            f"![matches per day](charts/{s.rule.name}.png)",
            "",
            "| | |",
            "|---|---|",
        ]
        out += [f"| {_md(k)} | {_md(v)} |" for k, v in _figures(s)]
        out += [
            "",
            "| fired (UTC) | published | title | outlet | matched terms | delivery |",
            "|---|---|---|---|---|---|",
        ]
        for item in s.alerts:
            a = item.alert
            title = (
                f"[{_md(a.title or a.message)}]({a.url.replace(')', '%29')})"
                if a.url
                else _md(a.title or a.message)
            )
            out.append(
                f"| {_t(item.fired_at)} | {_t(a.published_at)} | {title} | {_md(a.outlet)} "
                f"| {_md(', '.join(a.matched_terms))} | {item.delivery} |"
            )
    return "\n".join(out) + "\n"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;"
    "vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}img{max-width:100%}code{background:#f6f6f6}"
)


def _kv_table(rows: list[tuple[str, str]]) -> str:
    return (
        "<table>"
        + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        + "</table>"
    )


def html_report(meta: BacktestMeta, summaries: Sequence[RuleSummary]) -> str:
    """The report as one self-contained HTML page (charts as relative images)."""
    parts = [
        (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Backtest {_e(meta.run)}</title>"
            f"<style>{_CSS}</style></head><body><h1>Backtest: {_e(meta.run)}</h1>"
        ),
        _kv_table(_header(meta)),
        (
            "<h2>Rules</h2><table><tr><th>rule</th><th>type</th><th>alerts</th><th>articles</th>"
            "<th>notifications</th><th>throttled</th><th>precision</th><th>recall</th></tr>"
        ),
    ]
    for s in summaries:
        q = s.quality
        parts.append(
            f"<tr><td><a href='#{_e(s.rule.name)}'>{_e(s.rule.name)}</a></td><td>{_e(s.rule.type)}</td>"
            f"<td class=n>{len(s.alerts)}</td><td class=n>{len(s.articles)}</td><td class=n>{s.notifications}</td>"
            f"<td class=n>{s.delivery.get('throttled', 0)}</td><td class=n>{_pct(q.precision) if q else ''}</td>"
            f"<td class=n>{_pct(q.recall) if q else ''}</td></tr>"
        )
    parts.append("</table>")
    if meta.problems:
        parts.append(
            "<p>Rules that did not load:</p><ul>"
            + "".join(f"<li>{_e(p)}</li>" for p in meta.problems)
            + "</ul>"
        )
    for s in summaries:
        parts.append(
            f"<h2 id='{_e(s.rule.name)}'>{_e(s.rule.name)}</h2><p><code>{_e(s.rule.query)}</code> ({_e(s.rule.type)})</p>"
            f"<img src='charts/{_e(s.rule.name)}.png' alt='matches per day for {_e(s.rule.name)}'>"
            + _kv_table(_figures(s))
        )
        parts.append(
            "<table><tr><th>fired (UTC)</th><th>published</th><th>title</th><th>outlet</th>"
            "<th>matched terms</th><th>delivery</th></tr>"
        )
        for item in s.alerts:
            a = item.alert
            title = _e(a.title or a.message)
            if a.url.startswith(("http://", "https://")):
                title = f"<a href='{_e(a.url)}' rel='noopener noreferrer'>{title}</a>"
            parts.append(
                f"<tr><td>{_t(item.fired_at)}</td><td>{_t(a.published_at)}</td><td>{title}</td>"
                f"<td>{_e(a.outlet)}</td><td>{_e(', '.join(a.matched_terms))}</td><td>{item.delivery}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
