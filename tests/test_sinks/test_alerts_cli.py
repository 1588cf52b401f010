"""`newswatch alerts list|add|remove|test`, run through typer's CliRunner on a temporary data dir."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from typer.testing import CliRunner

from newswatch import EnrichedArticle, Entity, Settings, TopicLabel
from newswatch.cli import alerts
from newswatch.cli.context import AppContext


def cli(tmp_path: Path) -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = AppContext(settings=Settings(data_dir=tmp_path))

    root.add_typer(alerts.app, name="alerts")
    return root


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli(tmp_path), ["alerts", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_add_list_test_remove(tmp_path: Path) -> None:
    code, out = run(
        tmp_path,
        "add",
        "putin-defence",
        'entity:"Vladimir Putin" AND topic:defence',
        "--throttle",
        "30m",
    )
    assert code == 0, out
    code, out = run(tmp_path, "list")
    assert code == 0 and "putin-defence" in out and "throttle 0:30:00" in out
    when = datetime(2025, 12, 5, 12, tzinfo=UTC)
    seed = EnrichedArticle(
        article_id="seed",
        url="https://news.example/seed",
        title="India-Russia Agree on Joint Defence Manufacturing",
        text="talks between Narendra Modi and Vladimir Putin",
        published_at=when,
        fetched_at=when,
        outlet="seed",
        topics=(TopicLabel(label="defence", iptc_code="medtop:20000598", score=1.0),),
        entities=(Entity(text="Vladimir Putin", label="PERSON", canonical="Vladimir Putin"),),
    )
    other = seed.model_copy(update={"article_id": "other", "topics": ()})
    jsonl = tmp_path / "articles.jsonl"
    jsonl.write_text(seed.model_dump_json() + "\n" + other.model_dump_json() + "\n")
    code, out = run(tmp_path, "test", "putin-defence", "--input", str(jsonl), "--json")
    assert code == 0, out
    assert [json.loads(line)["article_id"] for line in out.splitlines()] == ["seed"]
    code, out = run(tmp_path, "test", "title:manufactur*", "--input", str(jsonl))
    assert code == 0 and "2 of 2 articles" in out and "**Manufacturing**" in out
    code, out = run(tmp_path, "remove", "putin-defence")
    assert code == 0
    assert "0 rules" in run(tmp_path, "list")[1]


def test_add_refuses_a_query_that_does_not_parse_and_says_where(tmp_path: Path) -> None:
    code, out = run(tmp_path, "add", "broken", "putin AND (modi")
    assert code == 1
    assert 'expected ")"' in out and "^" in out
    assert not (tmp_path / "alerts.yaml").exists()


def test_test_prints_the_elasticsearch_query(tmp_path: Path) -> None:
    jsonl = tmp_path / "none.jsonl"
    jsonl.write_text("")
    code, out = run(tmp_path, "test", "topic:defence", "--input", str(jsonl), "--es")
    assert code == 0 and '"topics.label"' in out


def test_remove_unknown_rule_fails_with_the_next_step(tmp_path: Path) -> None:
    code, out = run(tmp_path, "remove", "nope")
    assert code == 1 and "newswatch alerts list" in out


def test_list_hides_the_token_of_an_inline_channel_url(tmp_path: Path) -> None:
    token = "T000-B000-XXXXsecretXXXX"
    code, out = run(tmp_path, "add", "s400", '"S-400"', "--channel", f"slack://{token}/#desk")
    assert code == 0, out
    code, out = run(tmp_path, "list")
    assert code == 0 and "s400" in out and "slack://" in out
    assert token not in out
