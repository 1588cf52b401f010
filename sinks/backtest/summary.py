"""Would-be alerts grouped per rule: when, how often per day, delivery verdicts, precision/recall.

Everything here is a pure function of the replay's output, sorted on stable keys, so the same
replay gives the same summary (and the same report bytes) every time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sinks.alerts import Rule
from sinks.backtest.evaluate import WouldBeAlert
from sinks.backtest.labels import Labels


@dataclass(frozen=True)
class BacktestMeta:
    """What was replayed: the run, the window, the rules file (by content hash) and the volume."""

    run: str
    since: datetime
    until: datetime
    rules_file: str
    rules_sha256: str
    fetches: int
    articles: int
    duplicates: int
    classifier_version: str = ""
    problems: tuple[str, ...] = ()
    labels_file: str = ""


@dataclass(frozen=True)
class Quality:
    """Precision and recall of one rule against the labels (None when nothing to divide by)."""

    matched: int
    relevant: int
    true_positives: int
    relevant_not_replayed: int

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.matched if self.matched else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.relevant if self.relevant else None


@dataclass
class RuleSummary:
    """One rule's backtest: its alerts in firing order and the figures the report shows."""

    rule: Rule
    alerts: list[WouldBeAlert]
    per_day: dict[date, int]
    notified_per_day: dict[date, int]
    delivery: Counter[str] = field(default_factory=Counter)
    deduplicated: int = 0
    quality: Quality | None = None

    @property
    def articles(self) -> list[str]:
        """Distinct article ids this rule matched, in firing order."""
        return list(dict.fromkeys(a.alert.article_id for a in self.alerts if a.alert.article_id))

    @property
    def first(self) -> datetime | None:
        return self.alerts[0].fired_at if self.alerts else None

    @property
    def last(self) -> datetime | None:
        return self.alerts[-1].fired_at if self.alerts else None

    @property
    def active_days(self) -> int:
        return sum(1 for n in self.per_day.values() if n)

    @property
    def notifications(self) -> int:
        """Messages the desk would have received: immediate alerts plus one per digest period."""
        immediate = self.delivery.get("notify", 0)
        period = self.rule.digest_period
        if period is None or not self.delivery.get("digest"):
            return immediate
        step = period.total_seconds()
        slots = {int(a.fired_at.timestamp() // step) for a in self.alerts if a.delivery == "digest"}
        return immediate + len(slots) * max(1, len(self.rule.channels))


def days_between(since: datetime, until: datetime) -> list[date]:
    """Every UTC day touched by [since, until)."""
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def sort_key(item: WouldBeAlert) -> tuple[datetime, datetime, str]:
    """Firing order: replay time, then event time, then the stable alert id."""
    return item.fired_at, item.alert.event_time, item.alert.alert_id


def summarize(
    rules: Sequence[Rule],
    alerts: Iterable[WouldBeAlert],
    days: Sequence[date],
    *,
    resightings: Mapping[str, int],
    replayed_ids: set[str],
    labels: Labels | None = None,
) -> list[RuleSummary]:
    """One summary per rule, in rules-file order, each rule's alerts in firing order."""
    by_rule: dict[str, list[WouldBeAlert]] = {r.name: [] for r in rules}
    for item in alerts:
        by_rule.setdefault(item.alert.rule, []).append(item)
    out = []
    for rule in rules:
        items = sorted(by_rule[rule.name], key=sort_key)
        per_day = dict.fromkeys(days, 0)
        notified = dict.fromkeys(days, 0)
        for item in items:
            day = item.fired_at.date()
            per_day[day] = per_day.get(day, 0) + 1
            if item.delivery in ("notify", "digest"):
                notified[day] = notified.get(day, 0) + 1
        summary = RuleSummary(rule, items, per_day, notified, Counter(i.delivery for i in items))
        summary.deduplicated = sum(resightings.get(aid, 0) for aid in summary.articles)
        if labels is not None:
            summary.quality = _quality(summary.articles, labels.for_rule(rule.name), replayed_ids)
        out.append(summary)
    return out


def _quality(matched: list[str], relevant: set[str], replayed: set[str]) -> Quality:
    in_replay = relevant & replayed
    return Quality(
        len(matched), len(in_replay), len(set(matched) & in_replay), len(relevant - replayed)
    )
