"""Aggregate rule types over event time, and rules files where one bad rule spares the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswatch import EnrichedArticle, Entity
from sinks.alerts import AlertEngine, build_engine, load_rules, write_document

T0 = datetime(2025, 12, 1, tzinfo=UTC)


def art(
    ident: str,
    minutes: float,
    *,
    outlet: str = "Wire",
    orgs: tuple[str, ...] = (),
    title: str = "S-400 deal",
) -> EnrichedArticle:
    when = T0 + timedelta(minutes=minutes)
    return EnrichedArticle(
        article_id=ident,
        url=f"https://news.example/{ident}",
        title=title,
        published_at=when,
        fetched_at=when,
        outlet=outlet,
        entities=tuple(Entity(text=o, label="ORG", canonical=o) for o in orgs),
    )


def engine(tmp_path: Path, rule: dict) -> AlertEngine:
    write_document(tmp_path / "alerts.yaml", {"rules": [rule]})
    return build_engine(tmp_path / "alerts.yaml", tmp_path / "alerts.db", env={})


def test_frequency_fires_once_per_window_per_key_and_counts_an_article_once(tmp_path: Path) -> None:
    eng = engine(
        tmp_path,
        {
            "name": "f",
            "type": "frequency",
            "query": "s-400",
            "threshold": 3,
            "window": "1h",
            "group_by": "outlet",
        },
    )
    assert eng.process([art("a", 0), art("b", 10), art("a", 10)]) == []
    fired = eng.process([art("c", 20), art("x", 21, outlet="Other"), art("d", 30)])
    assert [(a.key, a.count) for a in fired] == [("Wire", 3)]
    assert set(fired[0].article_ids) == {"a", "b", "c"}
    assert eng.process([art("e", 40)]) == []  # 5 in the window, but it fired 20 minutes ago
    assert [a.count for a in eng.process([art("h", 85)])] == [
        3
    ]  # (25, 85]: d e h, over an hour after it fired


def test_spike_needs_a_full_baseline_then_fires_on_k_times_the_rate(tmp_path: Path) -> None:
    rule = {
        "name": "s",
        "type": "spike",
        "query": "s-400",
        "window": "1h",
        "baseline": "4h",
        "factor": 3,
        "min_count": 3,
    }
    eng = engine(tmp_path, rule)
    early = [art(f"e{i}", i) for i in range(4)]  # a burst before any baseline exists
    assert eng.process(early) == []
    steady = [art(f"b{i}", 60 + i * 60) for i in range(5)]  # one an hour
    assert eng.process(steady) == []
    burst = eng.process([art(f"s{i}", 301 + i) for i in range(4)])
    assert [(a.rule_type, a.count) for a in burst] == [("spike", 4)]
    assert burst[0].baseline == pytest.approx(
        1.0
    )  # b0-b3: one an hour in the 4 h before the window


def test_new_term_alerts_once_per_new_entity_after_warmup(tmp_path: Path) -> None:
    eng = engine(
        tmp_path,
        {
            "name": "n",
            "type": "new_term",
            "query": '"S-400"',
            "term_field": "entity.org",
            "warmup": "1h",
        },
    )
    assert eng.process([art("a", 0, orgs=("Almaz-Antey",))]) == []
    fired = eng.process(
        [
            art("b", 90, orgs=("Almaz-Antey", "Rosoboronexport")),
            art("c", 95, orgs=("Rosoboronexport",)),
        ]
    )
    assert [(a.article_id, a.key) for a in fired] == [("b", "Rosoboronexport")]
    again = build_engine(tmp_path / "alerts.yaml", tmp_path / "alerts.db", env={})
    assert again.process([art("d", 100, orgs=("Rosoboronexport",))]) == []


def test_flatline_fires_once_per_silence_per_key_on_stream_time_and_timer(tmp_path: Path) -> None:
    eng = engine(
        tmp_path,
        {
            "name": "quiet",
            "type": "flatline",
            "query": "outlet:*",
            "group_by": "outlet",
            "window": "2h",
        },
    )
    assert eng.process([art("a", 0, outlet="A"), art("b", 0, outlet="B")]) == []
    fired = eng.process([art("c", 150, outlet="B")])
    assert [(a.rule_type, a.key) for a in fired] == [("flatline", "A")]
    assert eng.process([art("d", 200, outlet="B")]) == []
    assert [a.key for a in eng.tick(T0 + timedelta(minutes=200 + 121), live=False)] == ["B"]
    assert eng.process([art("e", 330, outlet="A")]) == []


def test_a_bad_rule_is_reported_and_the_others_still_match(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    write_document(
        path,
        {
            "rules": [
                {"name": "good", "query": "s-400"},
                {"name": "broken", "query": "s-400 AND (modi"},
                {"name": "no-window", "type": "frequency", "query": "x", "threshold": 2},
                {"name": "nowhere", "query": "x", "channels": ["missing"]},
                {"name": "good", "query": "dup"},
            ]
        },
    )
    book = load_rules(path)
    assert [r.rule.name for r in book.rules] == ["good"]
    problems = {p.name: p.message for p in book.problems}
    assert 'expected ")"' in problems["broken"] and "^" in problems["broken"]
    assert "needs window" in problems["no-window"]
    assert "unknown channel 'missing'" in problems["nowhere"]
    assert "duplicate" in problems["good"]
    eng = build_engine(path, tmp_path / "alerts.db", env={})
    assert [a.rule for a in eng.process([art("a", 0)])] == ["good"]


def test_rules_are_reloaded_when_the_file_changes(tmp_path: Path) -> None:
    eng = engine(tmp_path, {"name": "one", "query": "s-400"})
    write_document(tmp_path / "alerts.yaml", {"rules": [{"name": "two", "query": "deal"}]})
    assert eng.reload_if_changed() is True
    assert [a.rule for a in eng.process([art("a", 0)])] == ["two"]


@pytest.mark.parametrize("text", ["rules: [", "- just a list"])
def test_an_unusable_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    from newswatch import ConfigError

    (tmp_path / "alerts.yaml").write_text(text)
    with pytest.raises(ConfigError, match="alert rules file"):
        load_rules(tmp_path / "alerts.yaml")
