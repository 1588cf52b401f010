"""Rules evaluated over replayed articles: the live AlertEngine with `live=False`, clocked by the replay.

The engine is the one the alert stage runs (same matcher, claims, windows and aggregates), with
its state in memory and its clock set to the replay's "now" (the snapshot time of the batch), so
nothing is remembered after the backtest and nothing is ever sent: `live=False`, every record
carries `replay_run`, and the HTTP client refuses every request as a last guard.

Delivery is then judged as the live notifier would have judged it at that time, so the report
can say which alerts would have notified and which were throttled, silenced or digested.

The rules' `entity:` terms are widened at load by the same resolver the live alert stage gets
from the CLI wiring (`entity:"EU"` also matches "European Union"), so a backtest fires where the
live stage would; without one, entity names match as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx

from newswatch import EnrichedArticle
from sinks.alerts import AlertEngine, AlertRecord, EntityResolver, Rule, build_engine

Delivery = Literal["notify", "digest", "throttled", "silenced", "no-channels"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NotificationRefusedError(RuntimeError):
    """Raised by the guard transport: a backtest attempted a real notification (a bug)."""


def _refuse(request: httpx.Request) -> httpx.Response:
    raise NotificationRefusedError(
        f"backtest must never notify, refused {request.method} {request.url.host}"
    )


@dataclass(frozen=True)
class WouldBeAlert:
    """An alert the rules would have raised, when, and what delivery would have done with it."""

    alert: AlertRecord
    fired_at: datetime
    delivery: Delivery


class Backtester:
    """Feeds replayed batches through an in-memory AlertEngine and keeps every would-be alert."""

    def __init__(self, rules_path: Path, *, resolve: EntityResolver | None = None) -> None:
        """`resolve` widens the rules' `entity:` terms as the live alert stage does (the CLI
        passes the gazetteer's); None matches entity names as written."""
        self._now = EPOCH
        self.engine: AlertEngine = build_engine(
            rules_path,
            ":memory:",
            env={},
            clock=lambda: self._now,
            http=httpx.Client(transport=httpx.MockTransport(_refuse)),
            resolve=resolve,
        )
        self.alerts: list[WouldBeAlert] = []
        self._notified: dict[tuple[str, str], datetime] = {}

    @property
    def rules(self) -> list[Rule]:
        """The enabled rules that loaded, in file order."""
        return [loaded.rule for loaded in self.engine.loaded]

    @property
    def entity_names(self) -> list[str]:
        """ 'eu: entity EU -> European Union' for each `entity:` term the resolver widened."""
        return [
            f"{loaded.rule.name}: entity {name} -> {' / '.join(names)}"
            for loaded in self.engine.loaded
            for name, names in loaded.compiled.query.entity_names.items()
        ]

    @property
    def problems(self) -> list[str]:
        """Rules that did not load, each with its reason."""
        return [f"{p.name}: {p.message}" for p in self.engine.book.problems]

    def process(self, articles: Sequence[EnrichedArticle], now: datetime) -> list[WouldBeAlert]:
        """One replay batch at replay time `now`: match, aggregate, flatline-check; never send."""
        self._now = now
        fired = self.engine.process(articles, live=False) if articles else []
        fired += self.engine.tick(now, live=False)
        by_name = {rule.name: rule for rule in self.rules}
        out = [
            WouldBeAlert(
                a.model_copy(update={"fired_at": now}), now, self._judge(by_name[a.rule], a, now)
            )
            for a in fired
        ]
        self.alerts.extend(out)
        return out

    def _judge(self, rule: Rule, alert: AlertRecord, now: datetime) -> Delivery:
        """What the live notifier would have done at `now` (see sinks.alerts.delivery.Notifier)."""
        if rule.silenced(now):
            return "silenced"
        if not rule.channels:
            return "no-channels"
        if rule.throttle is not None and rule.type == "match":
            last = self._notified.get((rule.name, alert.key))
            if last is not None and now - last < rule.throttle:
                return "throttled"
            self._notified[(rule.name, alert.key)] = now
        return "digest" if rule.digest_period is not None else "notify"

    def close(self) -> None:
        """Release the engine's memory and HTTP client."""
        self.engine.close()
