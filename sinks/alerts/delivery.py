"""Notifications: silence, throttle and digests decide what is queued; the outbox sends it.

`Notifier.submit` runs inside the batch's state transaction and only queues (so a crash never
loses a queued notification and a replay never queues twice: the article was claimed).
`Notifier.flush` sends what is due: one message per immediate alert, one per digest group,
through apprise or a JSON webhook (httpx). A failed send is retried with back-off and given up
after `MAX_ATTEMPTS`, logged by channel name only. Secrets are `${NAME}` placeholders filled
from the environment or the rules' secrets file at send time; they never reach a log line.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import apprise
import httpx

from newswatch import ConfigError, metrics, utcnow
from sinks.alerts.masking import Secrets, mask_url
from sinks.alerts.record import AlertRecord
from sinks.alerts.rules import ChannelSpec, Rule
from sinks.alerts.state import AlertState, OutboxItem

log = logging.getLogger("newswatch.alerts.delivery")
MAX_ATTEMPTS = 6


Sender = Callable[[str, ChannelSpec, list[AlertRecord]], None]


@dataclass
class DeliveryReport:
    """What one flush did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


class Notifier:
    """Queues notifications for alerts and sends the due ones."""

    def __init__(
        self,
        state: AlertState,
        channels: Mapping[str, ChannelSpec],
        secrets: Secrets,
        *,
        clock: Callable[[], datetime] = utcnow,
        http: httpx.Client | None = None,
    ) -> None:
        self.state = state
        self.channels = dict(channels)
        self.secrets = secrets
        self.clock = clock
        self.http = http or httpx.Client(follow_redirects=False)

    def submit(self, rule: Rule, alert: AlertRecord, *, live: bool) -> AlertRecord:
        """Queue `alert` for the rule's channels unless replaying, silenced or throttled."""
        now = self.clock()
        reason = self._suppressed(rule, alert, now, live)
        if reason != "replay":  # replays and backtests are not alerts an operator counts
            metrics.ALERTS.labels(alert.rule_type, "-", "fired").inc()
        if reason:
            if reason != "replay":
                metrics.ALERTS.labels(alert.rule_type, "-", reason).inc()
            return alert.model_copy(update={"suppressed": reason})
        period = rule.digest_period
        due = now.timestamp()
        if period is not None:
            step = period.total_seconds()
            due = math.floor(due / step) * step + step
        # Channel names as displayed: an inline apprise URL may hold a token, and this payload
        # travels to the other channels and, via news.alerts, into the alerts index.
        shown = tuple(_name(c) for c in rule.channels)
        payload = alert.model_copy(update={"channels": shown}).model_dump_json()
        for channel in rule.channels:
            grp = (
                f"digest:{rule.name}:{channel}:{due:.0f}"
                if period is not None
                else f"alert:{alert.alert_id}:{channel}"
            )
            self.state.enqueue(rule.name, channel, grp, due, payload)
        return alert.model_copy(update={"channels": shown})

    def _suppressed(self, rule: Rule, alert: AlertRecord, now: datetime, live: bool) -> str:
        if not live or not alert.live:
            return "replay"
        if rule.silenced(now):
            return "silenced"
        if not rule.channels:
            return "no-channels"
        if rule.throttle is not None and rule.type == "match":
            key = alert.key
            last = self.state.mark(rule.name, "notified", key)
            if last is not None and now.timestamp() - last[0] < rule.throttle.total_seconds():
                self.state.set_mark(rule.name, "notified", key, last[0], last[1] + 1)
                return "throttled"
            self.state.set_mark(rule.name, "notified", key, now.timestamp())
        return ""

    def flush(self, now: datetime | None = None, send: Sender | None = None) -> DeliveryReport:
        """Send every due notification; failures are retried later (never raised)."""
        at = (now or self.clock()).timestamp()
        report = DeliveryReport()
        groups: dict[str, list[OutboxItem]] = {}
        for item in self.state.due(at):
            groups.setdefault(item.grp, []).append(item)
        for items in groups.values():
            self._send_group(items, at, send or self.send, report)
        return report

    def _send_group(
        self, items: list[OutboxItem], at: float, send: Sender, report: DeliveryReport
    ) -> None:
        first = items[0]
        ids = [i.id for i in items]
        alerts = [AlertRecord.model_validate_json(i.payload) for i in items]
        try:
            spec = self.channels.get(first.channel) or ChannelSpec(url=first.channel)
            send(first.channel, spec, alerts)
        except Exception as exc:  # noqa: BLE001 - any channel failure is retried, then given up
            message = self.secrets.mask(f"{type(exc).__name__}: {exc}")
            report.errors.append(f"{_name(first.channel)}: {message}")
            if first.attempts + 1 >= MAX_ATTEMPTS:
                self.state.finish(ids, "dead", message)
                report.dead += len(ids)
                _count(first.channel, alerts, "failed")
                log.error(
                    "alert notification given up",
                    extra={"channel": _name(first.channel), "rule": first.rule, "error": message},
                )
            else:
                self.state.finish(
                    ids, "pending", message, retry_at=at + min(30 * 2**first.attempts, 3600)
                )
                report.retried += len(ids)
                _count(first.channel, alerts, "retried")
                log.warning(
                    "alert notification failed, will retry",
                    extra={"channel": _name(first.channel), "rule": first.rule, "error": message},
                )
            return
        self.state.finish(ids, "sent")
        report.sent += len(ids)
        _count(first.channel, alerts, "delivered")

    def send(self, channel: str, spec: ChannelSpec, alerts: list[AlertRecord]) -> None:
        """Deliver one message (one alert or a digest) to one channel; raises on failure."""
        url = self.secrets.expand(spec.url, _name(channel))
        title, body = render(alerts)
        if spec.type == "webhook":
            headers = {k: self.secrets.expand(v, _name(channel)) for k, v in spec.headers.items()}
            payload: dict[str, Any] = {
                "title": title,
                "digest": len(alerts) > 1,
                "alerts": [json.loads(a.model_dump_json()) for a in alerts],
            }
            response = self.http.post(url, json=payload, headers=headers, timeout=spec.timeout_s)
            if response.status_code >= 300:
                raise RuntimeError(f"webhook answered HTTP {response.status_code}")
            return
        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise ConfigError(
                f"apprise does not understand the URL of channel {_name(channel)!r} ({mask_url(url)})"
            )
        # Declared as plain text, so apprise escapes it for HTML and Markdown services (feed text
        # can hold literal "<img onerror=...>" or "[x](javascript:...)" once its own escaping is undone).
        if not notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT):
            raise RuntimeError(f"apprise could not deliver to {mask_url(url)}")


def _count(channel: str, alerts: list[AlertRecord], outcome: str) -> None:
    """ALERTS metric per rule type, channel (masked name) and delivery outcome."""
    for alert in alerts:
        metrics.ALERTS.labels(alert.rule_type, _name(channel), outcome).inc()


def _name(channel: str) -> str:
    return mask_url(channel) if "://" in channel else channel


def render(alerts: list[AlertRecord]) -> tuple[str, str]:
    """Title and plain-text body: one alert, or a digest listing each."""
    if len(alerts) == 1:
        a = alerts[0]
        return f"[newswatch] {a.rule}: {a.title or a.message}", _describe(a)
    rules = sorted({a.rule for a in alerts})
    title = f"[newswatch] digest: {len(alerts)} alerts for {', '.join(rules)}"
    return title, "\n\n".join(f"{n}. {_describe(a)}" for n, a in enumerate(alerts, 1))


def _describe(a: AlertRecord) -> str:
    lines = [a.message if not a.title else f"{a.title} ({a.outlet})" if a.outlet else a.title]
    if a.url:
        lines.append(a.url)
    if a.matched_terms:
        lines.append("matched: " + ", ".join(a.matched_terms))
    lines.extend(f"  {h.field}: {h.snippet}" for h in a.highlights[:5] if h.snippet)
    return "\n".join(lines)
