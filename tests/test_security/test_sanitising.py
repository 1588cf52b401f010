"""Issue 8: feed content is text. HTML in a feed never reaches a screen as markup: the parser keeps
text, `javascript:`/`data:` links are never kept as links, the CLI prints feed strings as rich
`Text` (no console markup, no terminal hyperlinks) and notifications are declared plain text so
apprise escapes them for HTML and Markdown services. (The web view has its own browser test.)"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

with warnings.catch_warnings():  # apprise imports imghdr (deprecated in 3.11); nothing newswatch can change
    warnings.simplefilter("ignore", DeprecationWarning)
    import apprise.utils.pgp  # noqa: F401 - load its imghdr shim here, warnings silenced
    from apprise.decorators import notify

from collectors import parse_feed
from newswatch.cli.health import StatusReport
from newswatch.cli.ops import status_tables
from sinks.alerts import AlertRecord
from sinks.alerts.delivery import Notifier, Secrets
from sinks.alerts.rules import ChannelSpec
from sinks.alerts.state import AlertState

NOW = datetime(2025, 6, 1, tzinfo=UTC)
HOSTILE = '<img src=x onerror="alert(1)"> [click](javascript:alert(2)) [link=https://evil.example]x[/link]'
FEED = b"""<rss version="2.0"><channel><title>t</title>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt;Hello</title><link>javascript:alert(1)</link><guid>g1</guid>
<description>&lt;p onclick="x()"&gt;Body&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt;</description></item>
<item><title>Data link</title><link>data:text/html;base64,PHNjcmlwdD4=</link><guid>g2</guid></item>
<item><title>Fine</title><link>https://news.example/ok</link></item>
</channel></rss>"""

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")
SENT: list[tuple[str, str]] = []


@notify(on="nwtesthtml", body_format="html")
def _html_service(body: str, title: str, notify_type: str, *args: object, **kwargs: object) -> bool:
    SENT.append(("html", body))
    return True


@notify(on="nwtestmd", body_format="markdown")
def _markdown_service(body: str, title: str, notify_type: str, *args: object, **kwargs: object) -> bool:
    SENT.append(("markdown", body))
    return True


def test_parser_keeps_text_and_drops_script_and_non_web_links() -> None:
    result = parse_feed(FEED, feed_url="https://news.example/feed", fetched_at=NOW)
    by_guid = {a.guid or a.url: a for a in result.articles}
    first = by_guid["g1"]
    assert "<p" not in first.text and "onclick" not in first.text and "Body" in first.text
    assert "steal()" not in first.text
    assert first.url == "" and by_guid["g2"].url == ""  # javascript: and data: never become links
    assert by_guid["https://news.example/ok"].url == "https://news.example/ok"


def test_cli_prints_feed_strings_literally() -> None:
    report = StatusReport(problems=[f"feed x failing: {HOSTILE}"])
    console = Console(record=True, width=400, force_terminal=True, color_system="truecolor")
    for renderable in status_tables(report):
        console.print(renderable)
    out = console.export_text(styles=True)
    assert "[link=https://evil.example]x[/link]" in out  # shown as typed, not interpreted
    assert "\x1b]8;" not in out  # no OSC 8 terminal hyperlink was emitted


@pytest.mark.parametrize("channel", ["nwtesthtml://desk", "nwtestmd://desk"])
def test_notifications_are_escaped_for_rich_services(tmp_path: Path, channel: str) -> None:
    SENT.clear()
    notifier = Notifier(AlertState(tmp_path / "a.db"), {}, Secrets({}))
    alert = AlertRecord(
        alert_id="a1", rule="r", rule_type="match", message=HOSTILE, event_time=NOW, title=HOSTILE,
        url="https://news.example/ok", outlet="x",
    )
    notifier.send("desk", ChannelSpec(url=channel), [alert])
    notifier.http.close()
    [(kind, body)] = SENT
    assert 'onerror="alert' not in body  # no live attribute in either form
    if kind == "html":
        assert "<img" not in body and "&lt;img" in body
    else:
        assert "\\[click\\]\\(javascript" in body and "\\>" in body  # neither a link nor a closed tag
