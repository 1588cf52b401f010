"""Alert delivery against real local servers: a JSON webhook (pytest-httpserver) and SMTP (aiosmtpd)."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer

from newswatch import EmbeddedBus, EnrichedArticle, Entity, TopicLabel, topics
from sinks.alerts import (
    AlertEngine,
    AlertRecord,
    build_engine,
    make_alert_handler,
    mask_url,
    write_document,
)

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")
"""apprise's email plugin imports imghdr lazily (Python 3.11 warns); nothing newswatch can change."""

T0 = datetime(2025, 12, 5, 12, tzinfo=UTC)
SECRET = "s3cr3t-token-value"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def seed_article(ident: str = "seed", minutes: int = 0) -> EnrichedArticle:
    when = T0 + timedelta(minutes=minutes)
    return EnrichedArticle(
        article_id=ident,
        url=f"https://news.example/{ident}",
        title=f"India-Russia defence deal {ident}",
        text="Narendra Modi and Vladimir Putin agreed on S-400 spares.",
        published_at=when,
        fetched_at=when,
        outlet="newswatch seed",
        language="en",
        topics=(
            TopicLabel(
                label="defence", iptc_code="medtop:20000598", score=2.0, evidence=("s-400",)
            ),
        ),
        entities=(Entity(text="Vladimir Putin", label="PERSON", canonical="Vladimir Putin"),),
    )


def engine_for(
    tmp_path: Path, doc: dict, clock: Clock, env: dict[str, str] | None = None
) -> AlertEngine:
    rules = tmp_path / "alerts.yaml"
    write_document(rules, doc)
    return build_engine(rules, tmp_path / "alerts.db", env=env or {}, clock=clock)


class _Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = _Inbox()

    def only_the_secret(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == b"desk"
            and data.password == SECRET.encode()
        )
        return AuthResult(success=ok)

    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=only_the_secret,
    )
    controller.start()
    yield port, inbox
    controller.stop()


def test_webhook_gets_one_json_alert_and_the_secret_never_reaches_logs(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(
        "/hook", method="POST", headers={"Authorization": f"Bearer {SECRET}"}
    ).respond_with_data("ok")
    doc = {
        "channels": {
            "hook": {
                "type": "webhook",
                "url": httpserver.url_for("/hook"),
                "headers": {"Authorization": "Bearer ${TOKEN}"},
            }
        },
        "rules": [
            {
                "name": "putin-defence",
                "query": 'entity:"Vladimir Putin" AND topic:defence',
                "channels": ["hook"],
            }
        ],
    }
    caplog.set_level(logging.DEBUG)
    engine = engine_for(tmp_path, doc, Clock(), env={"TOKEN": SECRET})
    alerts = engine.process([seed_article()])
    assert [a.rule for a in alerts] == ["putin-defence"] and alerts[0].channels == ("hook",)
    body = json.loads(httpserver.log[0][0].get_data())
    assert body["alerts"][0]["article_id"] == "seed"
    assert body["alerts"][0]["matched_terms"] == ['entity:"Vladimir Putin"', "topic:defence"]
    assert SECRET not in caplog.text
    engine.close()


def test_failed_webhook_is_retried_later_and_the_error_is_masked(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_data("down", status=503)
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = Clock()
    doc = {
        "channels": {"hook": {"type": "webhook", "url": httpserver.url_for("/hook") + "?k=${KEY}"}},
        "rules": [{"name": "r", "query": "putin", "channels": ["hook"]}],
    }
    engine = engine_for(tmp_path, doc, clock, env={"KEY": SECRET})
    engine.process([seed_article()])
    assert engine.state.outbox_counts() == {"pending": 1}
    assert outbox_errors(tmp_path) == ["RuntimeError: webhook answered HTTP 503"]
    clock.now += timedelta(minutes=5)
    report = engine.flush()
    assert report.sent == 1 and engine.state.outbox_counts() == {"sent": 1}
    assert len(httpserver.log) == 2
    assert httpserver.log[1][0].args["k"] == SECRET  # the secret is sent, just never shown
    engine.close()


def outbox_errors(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "alerts.db") as conn:
        return [e for (e,) in conn.execute("SELECT error FROM outbox ORDER BY id")]


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: connecting is refused


def test_secrets_never_reach_any_log_even_at_debug_level(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """apprise logs a channel's filled-in URL at debug level, httpx a request's URL at info."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    dead = _refused_port()
    doc = {
        "channels": {
            "hook": {"type": "webhook", "url": httpserver.url_for("/hook") + "?k=${TOKEN}"},
            "json": {"url": f"json://127.0.0.1:{dead}/hooks/${{TOKEN}}"},
            "mail": {
                "url": f"mailto://desk:${{SMTP_PASSWORD}}@127.0.0.1:{dead}?from=a@newswatch.example&to=b@newswatch.example"
            },
        },
        "rules": [
            {
                "name": "r",
                "query": "putin",
                "channels": ["hook", "json", "mail", f"json://127.0.0.1:{dead}/inline/${{TOKEN}}"],
            }
        ],
    }
    caplog.set_level(logging.DEBUG)
    # Other code in the same process (newswatch.logs.configure_logging) may have raised these loggers'
    # own levels; set them for this test so their records are really produced and checked.
    for name in ("apprise", "httpx", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    engine = engine_for(
        tmp_path, doc, Clock(), env={"TOKEN": SECRET, "SMTP_PASSWORD": SECRET + "2"}
    )
    alerts = engine.process([seed_article()])
    assert engine.state.outbox_counts() == {"sent": 1, "pending": 3}
    # Every record in this process except werkzeug's: that is the receiving test server's own log.
    ours = [r for r in caplog.records if r.name != "werkzeug"]
    assert {"apprise", "httpx", "urllib3.connectionpool"} <= {r.name for r in ours}
    assert not [
        r.getMessage() for r in ours if SECRET in r.getMessage() or SECRET in (r.exc_text or "")
    ]
    assert not [e for e in outbox_errors(tmp_path) if SECRET in e]
    assert alerts[0].channels[3] == f"json://127.0.0.1:{dead}/**********"
    assert SECRET not in alerts[0].model_dump_json()
    engine.close()


def test_secrets_file_fills_placeholders_and_the_environment_wins(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    (tmp_path / "alerts-secrets.env").write_text(
        f"# desk secrets\nTOKEN='{SECRET}'\nPATH_PART=from-file\n", encoding="utf-8"
    )
    doc = {
        "secrets_file": "alerts-secrets.env",
        "channels": {
            "hook": {
                "type": "webhook",
                "url": httpserver.url_for("/hook") + "?p=${PATH_PART}",
                "headers": {"Authorization": "Bearer ${TOKEN}"},
            }
        },
        "rules": [{"name": "r", "query": "putin", "channels": ["hook"]}],
    }
    engine = engine_for(tmp_path, doc, Clock(), env={"PATH_PART": "from-env"})
    engine.process([seed_article()])
    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.args["p"] == "from-env"
    engine.close()


def test_email_through_apprise_reaches_a_real_smtp_server(
    tmp_path: Path, smtp: tuple[int, _Inbox]
) -> None:
    port, inbox = smtp
    doc = {
        "channels": {
            "desk": {
                "url": f"mailto://desk:${{SMTP_PASSWORD}}@127.0.0.1:{port}?from=alerts@newswatch.example&to=desk@newswatch.example"
            }
        },
        "rules": [
            {
                "name": "putin-defence",
                "query": 'entity:"Vladimir Putin" AND topic:defence',
                "channels": ["desk"],
            }
        ],
    }
    engine = engine_for(tmp_path, doc, Clock(), env={"SMTP_PASSWORD": SECRET})
    engine.process([seed_article()])
    assert engine.state.outbox_counts() == {"sent": 1}, engine.state.outbox_counts()
    message = inbox.messages[0]
    assert "putin-defence" in message["Subject"]  # type: ignore[index]
    parts = [
        part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart()
    ]  # type: ignore[attr-defined]
    assert any("https://news.example/seed" in part for part in parts)
    engine.close()


def test_hourly_digest_groups_matches_into_one_message(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = Clock()
    doc = {
        "channels": {"hook": {"type": "webhook", "url": httpserver.url_for("/hook")}},
        "rules": [{"name": "r", "query": "putin", "channels": ["hook"], "digest": "hourly"}],
    }
    engine = engine_for(tmp_path, doc, clock)
    engine.process([seed_article("a"), seed_article("b", 1)])
    clock.now += timedelta(minutes=20)
    engine.process([seed_article("c", 20)])
    assert httpserver.log == []
    clock.now = T0 + timedelta(hours=1)
    engine.tick()
    assert len(httpserver.log) == 1
    body = json.loads(httpserver.log[0][0].get_data())
    assert body["digest"] is True and [a["article_id"] for a in body["alerts"]] == ["a", "b", "c"]
    engine.close()


def test_throttle_silence_and_replay_survive_a_restart(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = Clock()
    doc = {
        "channels": {"hook": {"type": "webhook", "url": httpserver.url_for("/hook")}},
        "rules": [{"name": "r", "query": "putin", "channels": ["hook"], "throttle": "30m"}],
    }
    first = engine_for(tmp_path, doc, clock)
    assert first.process([seed_article("a")])[0].suppressed == ""
    first.close()
    clock.now += timedelta(minutes=10)
    second = build_engine(tmp_path / "alerts.yaml", tmp_path / "alerts.db", env={}, clock=clock)
    again = second.process([seed_article("a"), seed_article("b", 10)])
    assert [(a.article_id, a.suppressed) for a in again] == [("b", "throttled")]
    assert second.process([seed_article("c", 11)], live=False)[0].suppressed == "replay"
    second.close()
    doc["rules"][0]["silence_until"] = (T0 + timedelta(days=1)).isoformat()
    third = engine_for(tmp_path, doc, clock)
    assert third.process([seed_article("d", 12)])[0].suppressed == "silenced"
    assert len(httpserver.log) == 1
    third.close()


def test_handler_publishes_each_alert_once_on_the_alerts_topic(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        {
            "rules": [
                {"name": "putin-defence", "query": 'entity:"Vladimir Putin" AND topic:defence'}
            ]
        },
        Clock(),
    )
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.produce(topics.ENRICHED, "seed", seed_article().to_bytes())
    bus.produce(topics.ENRICHED, "bad", b"not json")
    bus.flush()
    handler = make_alert_handler(engine)
    records = bus.consumer("alerts", [topics.ENRICHED]).poll(10, 0.1)
    result = handler(records)
    assert [o.topic for o in result.outputs] == [topics.ALERTS] and len(result.dead) == 1
    assert AlertRecord.model_validate_json(result.outputs[0].value).article_id == "seed"
    bus.produce(topics.ENRICHED, "seed", seed_article().to_bytes())  # the article delivered again
    bus.flush()
    assert handler(bus.consumer("alerts-2", [topics.ENRICHED]).poll(10, 0.1)[2:]).outputs == []
    engine.close()
    bus.close()


def test_a_batch_read_again_publishes_the_same_alerts_but_notifies_once(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """The runner re-reads a batch whose output never reached the bus (a Kafka outage between
    this stage's state commit and its produce): its alerts must come out again, not be lost."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = Clock()
    doc = {
        "channels": {"hook": {"type": "webhook", "url": httpserver.url_for("/hook")}},
        "rules": [
            {"name": "putin", "query": "putin", "channels": ["hook"]},
            {"name": "busy", "query": "putin", "type": "frequency", "threshold": 2, "window": "1h"},
            {"name": "quiet", "query": "putin", "type": "flatline", "window": "1h"},
        ],
    }
    engine = engine_for(tmp_path, doc, clock)
    bus = EmbeddedBus(tmp_path / "bus.db")
    for ident, minutes in (("a", 0), ("b", 1)):
        bus.produce(topics.ENRICHED, ident, seed_article(ident, minutes).to_bytes())
    other = seed_article("c", 180).model_copy(update={"title": "Other", "text": "", "entities": ()})
    bus.produce(topics.ENRICHED, "c", other.to_bytes())  # three hours on: "quiet" goes off
    bus.flush()
    records = bus.consumer("alerts", [topics.ENRICHED]).poll(10, 0.1)
    handler = make_alert_handler(engine)
    first = [AlertRecord.model_validate_json(o.value) for o in handler(records).outputs]
    assert sorted(a.rule for a in first) == ["busy", "putin", "putin", "quiet"]
    engine.close()
    engine = build_engine(tmp_path / "alerts.yaml", tmp_path / "alerts.db", env={}, clock=clock)
    again = make_alert_handler(engine)(records)  # a restarted stage reading the same records
    assert [o.value for o in again.outputs] == [a.to_bytes() for a in first]
    assert len(httpserver.log) == 2  # one notification per matching article, never a second
    bus.produce(topics.ENRICHED, "b", seed_article("b", 1).to_bytes())  # b delivered anew
    bus.flush()
    assert (
        make_alert_handler(engine)(
            bus.consumer("alerts", [topics.ENRICHED]).poll(10, 0.1)[3:]
        ).outputs
        == []
    )
    engine.close()
    bus.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param(f"slack://T000/B000/{SECRET}", "slack://**********", id="slack-tokens"),
        pytest.param(f"tgram://123456:{SECRET}/-100123", "tgram://**********", id="telegram-bot"),
        pytest.param("ntfy://${TOPIC}", "ntfy://**********", id="placeholder-host"),
        pytest.param(
            f"mailtos://user:{SECRET}@smtp.example.org?to=a@b",
            "mailtos://smtp.example.org/**********",
            id="mail-credentials",
        ),
        pytest.param(
            f"https://hooks.example:8443/x?k={SECRET}",
            "https://hooks.example:8443/**********",
            id="webhook-query",
        ),
        pytest.param("json://localhost/hook", "json://localhost/**********", id="localhost"),
    ],
)
def test_mask_url_hides_credentials_paths_and_token_hosts(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_alert_runner_fires_once_then_never_again_for_the_seed_rule(tmp_path: Path) -> None:
    from newswatch import Settings
    from sinks.alerts import alert_runner

    settings = Settings(data_dir=tmp_path)
    write_document(
        tmp_path / "alerts.yaml",
        {
            "rules": [
                {"name": "putin-defence", "query": 'entity:"Vladimir Putin" AND topic:defence'}
            ]
        },
    )
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.produce(topics.ENRICHED, "seed", seed_article().to_bytes())
    bus.flush()
    assert (
        alert_runner(settings, bus, env={}).run(until_idle=True, idle_timeout_s=0.1).produced == 1
    )
    bus.produce(
        topics.ENRICHED, "seed", seed_article().to_bytes()
    )  # the same article again, e.g. a replay
    bus.flush()
    assert (
        alert_runner(settings, bus, env={}).run(until_idle=True, idle_timeout_s=0.1).produced == 0
    )
    alerts = bus.consumer("check", [topics.ALERTS]).poll(10, 0.1)
    assert [AlertRecord.model_validate_json(r.value).rule for r in alerts] == ["putin-defence"]
    bus.close()


def test_throttle_is_per_group_by_key(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = Clock()
    doc = {
        "channels": {"hook": {"type": "webhook", "url": httpserver.url_for("/hook")}},
        "rules": [
            {
                "name": "r",
                "query": "putin",
                "channels": ["hook"],
                "throttle": "1h",
                "group_by": "outlet",
            }
        ],
    }
    engine = engine_for(tmp_path, doc, clock)
    a, b, c = (seed_article(n, i) for i, n in enumerate("abc"))
    b = b.model_copy(update={"outlet": "Other outlet"})
    out = engine.process([a, b, c])
    assert [(x.article_id, x.key, x.suppressed) for x in out] == [
        ("a", "newswatch seed", ""),
        ("b", "Other outlet", ""),
        ("c", "newswatch seed", "throttled"),
    ]
    assert len(httpserver.log) == 2
    engine.close()
