"""Backtest evaluation and report: never sends, judges delivery as live would, same bytes twice."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from newswatch import Article, EnrichedArticle, article_id
from sinks.alerts import build_engine
from sinks.backtest import (
    Backtester,
    BacktestMeta,
    alerts_csv,
    days_between,
    load_labels,
    summarize,
    write_report,
)
from tests.test_sinks.conftest import make_article

T0 = datetime(2020, 5, 4, 8, 0, tzinfo=UTC)


def article(n: int, title: str, at: datetime) -> EnrichedArticle:
    raw = Article.create(link=f"https://wire.example/{n}", title=title, summary=title, published_at=at,
                         fetched_at=at, outlet="Wire <b>", replay_run="t")  # fmt: skip
    return EnrichedArticle.from_article(raw, topics=(), entities=(), classifier_version="test")


@pytest.fixture
def rules(tmp_path: Path, httpserver: HTTPServer) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"""
channels:
  desk: {{type: webhook, url: "{httpserver.url_for("/hook")}"}}
rules:
  - name: sanctions
    query: sanctions
    channels: [desk]
    throttle: 6h
  - name: oil
    query: oil
""",
        encoding="utf-8",
    )
    return path


def run(rules: Path) -> tuple[Backtester, list[datetime]]:
    tester = Backtester(rules)
    times = [T0, T0 + timedelta(hours=2), T0 + timedelta(days=1)]
    tester.process([article(1, "New sanctions on oil | exports", times[0])], times[0])
    tester.process([article(2, "More sanctions", times[1])], times[1])
    tester.process(
        [article(3, "Sanctions relief", times[2]), article(4, "Weather", times[2])], times[2]
    )
    return tester, times


def test_backtest_never_sends_and_judges_delivery_as_live_would(
    rules: Path, httpserver: HTTPServer
) -> None:
    tester, times = run(rules)
    tester.engine.flush(
        times[-1] + timedelta(days=1)
    )  # even an explicit flush finds nothing queued
    verdicts = [(a.alert.rule, a.fired_at, a.delivery) for a in tester.alerts]
    tester.close()
    assert verdicts == [
        ("sanctions", times[0], "notify"), ("oil", times[0], "no-channels"),
        ("sanctions", times[1], "throttled"), ("sanctions", times[2], "notify"),
    ]  # fmt: skip
    assert httpserver.log == []


def test_summary_counts_per_day_and_precision_recall(rules: Path, tmp_path: Path) -> None:
    tester, _ = run(rules)
    labels_file = tmp_path / "labels.csv"
    labels_file.write_text(f"url,rule\nhttps://wire.example/1?utm_source=x,sanctions\n{article_id('https://wire.example/4')},\n",
                           encoding="utf-8")  # fmt: skip
    labels = load_labels(labels_file)
    days = days_between(T0, T0 + timedelta(days=2))  # 8:00 on the 4th to 8:00 on the 6th: 3 days
    ids = {article_id(f"https://wire.example/{n}") for n in range(1, 5)}
    summaries = summarize(tester.rules, tester.alerts, days, resightings={article_id("https://wire.example/1"): 2},
                          replayed_ids=ids, labels=labels)  # fmt: skip
    tester.close()
    sanctions = summaries[0]
    assert [sanctions.per_day[d] for d in days] == [2, 1, 0]
    assert (sanctions.notifications, sanctions.deduplicated, sanctions.active_days) == (2, 2, 2)
    assert sanctions.quality is not None
    assert (
        sanctions.quality.true_positives,
        sanctions.quality.matched,
        sanctions.quality.relevant,
    ) == (1, 3, 2)
    assert sanctions.quality.precision == pytest.approx(1 / 3) and sanctions.quality.recall == 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "# ids\nabc\nhttps://wire.example/1\n",
            {"abc", article_id("https://wire.example/1")},
            id="plain",
        ),
        pytest.param("article_id\trelevant\nabc\t1\ndef\t0\n", {"abc"}, id="tsv-with-flag"),
    ],
)
def test_label_files(tmp_path: Path, text: str, expected: set[str]) -> None:
    path = tmp_path / "labels.txt"
    path.write_text(text, encoding="utf-8")
    assert load_labels(path).for_rule("any") == expected


def test_report_is_escaped_and_byte_identical_on_a_rerun(rules: Path, tmp_path: Path) -> None:
    outputs = []
    for attempt in ("a", "b"):
        tester, _ = run(rules)
        days = days_between(T0, T0 + timedelta(days=2))
        summaries = summarize(tester.rules, tester.alerts, days, resightings={}, replayed_ids=set())
        meta = BacktestMeta("t", T0, T0 + timedelta(days=2), "rules.yaml", "0" * 64, 3, 4, 0)
        files = write_report(tmp_path / attempt, meta, summaries)
        tester.close()
        outputs.append({k: p.read_bytes() for k, p in files.items()})
    assert outputs[0] == outputs[1]
    html = outputs[0]["html"].decode()
    assert "Wire &lt;b&gt;" in html and "<b>" not in html
    assert "New sanctions on oil \\| exports" in outputs[0]["md"].decode()
    rows = list(csv.DictReader(io.StringIO(outputs[0]["csv"].decode())))
    assert [(r["rule"], r["delivery"]) for r in rows] == [
        ("sanctions", "notify"), ("sanctions", "throttled"), ("sanctions", "notify"), ("oil", "no-channels"),
    ]  # fmt: skip
    assert alerts_csv(summaries).startswith("rule,rule_type,fired_at,")
    assert outputs[0]["chart:sanctions"].startswith(b"\x89PNG")


ENTITY_RULES = """
rules:
  - name: eu
    query: 'entity:"EU"'
"""


def _resolve(name: str, label: str | None) -> tuple[str, ...]:
    """What the CLI wiring's gazetteer resolver gives for "EU" (tests/test_newswatch/test_entity_names.py)."""
    return {"EU": ("EU", "European Union")}.get(name, (name,))


def test_entity_terms_resolve_as_in_the_live_alert_stage(tmp_path: Path) -> None:
    """`entity:"EU"` fires on a record naming "European Union" in a backtest given the resolver,
    exactly where the live engine (`build_engine`, as `alert_runner` builds it) fires; without a
    resolver the backtest matches the name as written, as before."""
    path = tmp_path / "rules.yaml"
    path.write_text(ENTITY_RULES, encoding="utf-8")
    at = T0
    records = [
        make_article(1, "Brussels summit", entities=(("ORG", "European Union"),)),
        make_article(2, "Old record", entities=(("ORG", "EU"),)),  # enriched before the full-name change
        make_article(3, "Weather"),
    ]
    live = build_engine(path, ":memory:", env={}, resolve=_resolve)
    try:
        live_fired = sorted(a.url for a in live.process(records, live=False))
    finally:
        live.close()
    tester = Backtester(path, resolve=_resolve)
    plain = Backtester(path)
    try:
        fired = sorted(w.alert.url for w in tester.process(records, at))
        as_written = sorted(w.alert.url for w in plain.process(records, at))
        assert tester.entity_names == ["eu: entity EU -> European Union"]
        assert plain.entity_names == []
    finally:
        tester.close()
        plain.close()
    assert fired == live_fired == ["https://example.com/1", "https://example.com/2"]
    assert as_written == ["https://example.com/2"]
