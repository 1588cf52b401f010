"""Entity names as a user types them: `newswatch search --entity NBA`, alert rules with
`entity:"EU"`, on the embedded store after a real pipeline run and on real Elasticsearch.

The extractor stores canonical names ("National Basketball Association", "United States",
"European Union"); the CLI resolves a query name through the same gazetteer and matches the
canonical names or the name as typed (records enriched before the full-name change say "NBA")."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswatch import ElasticSettings, EmbeddedStore, article_id
from sinks import ElasticStore
from tests.test_e2e.conftest import run_newswatch
from tests.test_sinks.conftest import make_article

pytestmark = pytest.mark.e2e

NBA_URL = "https://sports.example/nba-expansion"
FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>sports desk</title>
    <link>https://sports.example/</link>
    <description>newswatch test feed: one article naming the NBA, the US and the EU by abbreviation</description>
    <language>en</language>
    <item>
      <title>NBA expands to two new cities</title>
      <link>{NBA_URL}</link>
      <guid isPermaLink="false">nba-expansion-1</guid>
      <pubDate>Mon, 20 Oct 2025 12:00:00 GMT</pubDate>
      <description>The NBA said on Monday that it will add two teams, one in Seattle and one in Las Vegas.
      Commissioner Adam Silver told reporters in New York that the league's owners voted for the
      plan, which the European Union's competition office does not review because both cities are
      in the US.</description>
    </item>
  </channel>
</rss>
"""
RULES = """
rules:
  - name: eu-us
    query: 'entity:"EU" AND entity:US'
  - name: nba
    query: 'entity.org:NBA'
  - name: putin
    query: 'entity:"Vladimir Putin"'
"""


def _newswatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_newswatch(env, *args, timeout=600)


def _ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return sorted(json.loads(line)["article_id"] for line in result.stdout.splitlines() if line)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One `newswatch run --once` over a feed naming the NBA, the US and the EU."""
    root = tmp_path_factory.mktemp("entity-names")
    (root / "feed.xml").write_text(FEED, encoding="utf-8")
    (root / "feeds.toml").write_text(
        '[[feeds]]\nurl = "feed.xml"\nname = "sports"\noutlet = "Sports Desk"\n', encoding="utf-8"
    )
    (root / "alerts.yaml").write_text(RULES, encoding="utf-8")
    env = {
        "NEWSWATCH_DATA_DIR": str(root / "data"),
        "NEWSWATCH_FEEDS_FILE": str(root / "feeds.toml"),
        "NEWSWATCH_ALERTS_FILE": str(root / "alerts.yaml"),
    }
    run = _newswatch(env, "run", "--once")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "processed 1 articles" in run.stdout
    return env | {"run_stdout": run.stdout}


def test_pipeline_stores_canonical_names(pipeline: dict[str, str]) -> None:
    """The precondition: the extractor wrote full names, so a filter on "NBA" alone finds nothing."""
    env = {k: v for k, v in pipeline.items() if k.startswith("NEWSWATCH_")}
    for canonical in ("National Basketball Association", "United States", "European Union"):
        assert _ids(_newswatch(env, "search", "--entity", canonical, "--json")) == [
            article_id(NBA_URL)
        ], f"the extractor no longer stores {canonical!r}"


@pytest.mark.parametrize(
    ("typed", "resolved"),
    [
        ("NBA", "National Basketball Association"),
        ("nba", "National Basketball Association"),
        ("US", "United States"),
        ("U.S.", "United States"),
        ("America", "United States"),
        ("EU", "European Union"),
    ],
)
def test_search_by_abbreviation_or_alias(pipeline: dict[str, str], typed: str, resolved: str) -> None:
    env = {k: v for k, v in pipeline.items() if k.startswith("NEWSWATCH_")}
    result = _newswatch(env, "search", "--entity", typed, "--json")
    assert _ids(result) == [article_id(NBA_URL)]
    assert f"entity {typed} -> {resolved}" in result.stderr  # shown, and never on --json's stdout


def test_search_table_and_names_that_resolve_to_themselves(pipeline: dict[str, str]) -> None:
    env = {k: v for k, v in pipeline.items() if k.startswith("NEWSWATCH_")}
    table = _newswatch(env, "search", "--entity", "NBA", "--entity", "US")
    assert table.returncode == 0, table.stderr
    assert "1 hits" in table.stdout and "NBA expands" in table.stdout
    plain = _newswatch(env, "search", "--entity", "Adam Silver", "--json")
    assert _ids(plain) == [article_id(NBA_URL)]
    assert "entity" not in plain.stderr
    assert _ids(_newswatch(env, "search", "--entity", "NBA", "--entity", "Vladimir Putin", "--json")) == []


def test_alert_rules_resolve_entity_names(pipeline: dict[str, str]) -> None:
    env = {k: v for k, v in pipeline.items() if k.startswith("NEWSWATCH_")}
    assert "2 alerts" in pipeline["run_stdout"]  # eu-us and nba fired in the alert stage itself
    listed = _newswatch(env, "alerts", "list")
    assert listed.returncode == 0, listed.stderr
    assert "entity EU -> European Union" in listed.stdout
    assert "entity US -> United States" in listed.stdout
    assert "entity NBA -> National Basketball Association" in listed.stdout
    tested = _newswatch(env, "alerts", "test", 'entity:"EU"', "--since", "3650d", "--json")
    assert tested.returncode == 0, tested.stderr
    alerts = [json.loads(line) for line in tested.stdout.splitlines() if line]
    assert [a["article_id"] for a in alerts] == [article_id(NBA_URL)]
    assert alerts[0]["matched_terms"] == ['entity:"European Union"']
    assert "entity EU -> European Union" in tested.stderr
    check = _newswatch(env, "config", "check")
    assert "entity names resolved: " in check.stdout and "EU -> European Union" in check.stdout


def test_backtest_fires_where_the_alert_stage_fired(pipeline: dict[str, str], tmp_path: Path) -> None:
    """`newswatch backtest` of the same rules over the run's archived fetch resolves `entity:"EU"`
    as the live alert stage did: the same rules fire on the same article."""
    env = {k: v for k, v in pipeline.items() if k.startswith("NEWSWATCH_")}
    with sqlite3.connect(Path(env["NEWSWATCH_DATA_DIR"]) / "store.db") as conn:
        live = sorted((rule, json.loads(doc)["article_id"]) for rule, doc in conn.execute("SELECT rule, doc FROM alerts"))
    assert live == [("eu-us", article_id(NBA_URL)), ("nba", article_id(NBA_URL))]
    today = datetime.now(UTC).date()
    result = _newswatch(
        env, "backtest", "--rules", env["NEWSWATCH_ALERTS_FILE"],
        "--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1)),
        "--run", "entity-names", "--out", str(tmp_path / "report"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "eu-us: entity EU -> European Union" in result.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "report" / "alerts.csv").read_text(encoding="utf-8"))))
    assert sorted((r["rule"], r["article_id"]) for r in rows) == live
    eu = next(r for r in rows if r["rule"] == "eu-us")
    assert 'entity:"European Union"' in eu["matched_terms"]


def _seeded(store: EmbeddedStore | ElasticStore) -> None:
    """A record from before the full-name change ("NBA") beside one from after it."""
    store.setup()
    assert store.write([
        make_article(1, "Old record", entities=(("ORG", "NBA"),)),
        make_article(2, "New record", entities=(("ORG", "National Basketball Association"),)),
        make_article(3, "Other", entities=(("PERSON", "Adam Silver"),)),
    ]) == []


OLD_AND_NEW = sorted(article_id(f"https://example.com/{n}") for n in (1, 2))


def test_records_enriched_before_the_full_names_still_match(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store.db")
    _seeded(store)
    store.close()
    env = {"NEWSWATCH_DATA_DIR": str(tmp_path)}
    assert _ids(_newswatch(env, "search", "--entity", "NBA", "--json")) == OLD_AND_NEW
    full = _newswatch(env, "search", "--entity", "National Basketball Association", "--json")
    assert _ids(full) == OLD_AND_NEW


@pytest.fixture
def elastic_env(es_url: str, unique_name: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    store = ElasticStore(es_url, ElasticSettings(index_prefix=unique_name))
    try:
        _seeded(store)
        store.refresh()
        yield {
            "NEWSWATCH_STORE": es_url,
            "NEWSWATCH_ELASTIC__INDEX_PREFIX": unique_name,
            "NEWSWATCH_DATA_DIR": str(tmp_path),
        }
    finally:
        store.drop()
        store.close()


def test_search_on_elasticsearch_resolves_entity_names(elastic_env: dict[str, str]) -> None:
    for typed in ("NBA", "nba", "National Basketball Association"):
        result = _newswatch(elastic_env, "search", "--entity", typed, "--json")
        assert _ids(result) == OLD_AND_NEW, typed
    assert "entity nba -> National Basketball Association" in _newswatch(
        elastic_env, "search", "--entity", "nba", "--json"
    ).stderr
