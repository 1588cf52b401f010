"""Aggregate rule types over event time: frequency, spike, new_term and flatline.

Event time is when the article was published, capped at when it was fetched (a feed cannot
publish in the future), so replaying old records gives the same alerts as living through them.
Windows are (t - window, t]. An aggregate fires at most once per `throttle` (default: its
window) per group key, counted in event time. Spike and new_term stay quiet until they have
watched the stream for a full baseline / warm-up, and flatline only watches keys it has seen
at least once: a brand-new rule never floods the desk.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newswatch import EnrichedArticle
from sinks.alerts import text
from sinks.alerts.record import AlertRecord, alert_id, article_fields
from sinks.alerts.rules import Rule
from sinks.alerts.state import AlertState

_LABELS = {"entity.person": "PERSON", "entity.org": "ORG", "entity.gpe": "GPE", "entity.loc": "LOC"}


def event_time(article: EnrichedArticle) -> datetime:
    """Published time, never later than fetched time."""
    return min(article.published_at, article.fetched_at)


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def group_keys(key: str, article: EnrichedArticle) -> list[str]:
    """The values an article counts under for `group_by` (none -> [""]); may be empty."""
    if key == "none":
        return [""]
    if key in {"outlet", "feed", "lang"}:
        value = {"outlet": article.outlet, "feed": article.feed_url, "lang": article.language}[key]
        return [value] if value else []
    label = _LABELS.get(key)
    return sorted({e.canonical for e in article.entities if label is None or e.label == label})


class Aggregator:
    """Turns matches of aggregate rules into alerts, with its windows kept in `AlertState`."""

    def __init__(self, state: AlertState) -> None:
        self.state = state

    def watch(self, rule: Rule, t: datetime) -> datetime:
        """When this rule started watching the stream (set on the first batch it sees)."""
        return _dt(self.state.first_mark(rule.name, "watch", "", _ts(t)))

    def on_match(
        self, rule: Rule, article: EnrichedArticle, terms: tuple[str, ...]
    ) -> list[AlertRecord]:
        """Alerts this match causes (often none)."""
        if rule.type == "frequency":
            return self._windowed(rule, article, terms, spike=False)
        if rule.type == "spike":
            return self._windowed(rule, article, terms, spike=True)
        if rule.type == "new_term":
            return self._new_term(rule, article, terms)
        if rule.type == "flatline":
            t = _ts(event_time(article))
            for key in group_keys(rule.group_by, article):
                mark = self.state.mark(rule.name, "seen", key)
                # Strictly newer only: an item delivered again is no sign of life.
                if mark is None or t > mark[0]:
                    self.state.set_mark(rule.name, "seen", key, t, 0)
        return []

    def _refire_blocked(self, rule: Rule, key: str, t: float, every: timedelta) -> bool:
        last = self.state.mark(rule.name, "fired", key)
        if last is not None and abs(t - last[0]) < every.total_seconds():
            return True
        self.state.set_mark(rule.name, "fired", key, t)
        return False

    def _windowed(
        self, rule: Rule, article: EnrichedArticle, terms: tuple[str, ...], *, spike: bool
    ) -> list[AlertRecord]:
        assert rule.window is not None
        when = event_time(article)
        t, window = _ts(when), rule.window.total_seconds()
        out: list[AlertRecord] = []
        for key in group_keys(rule.group_by, article):
            if not self.state.add_event(rule.name, key, article.article_id, t):
                continue
            current = self.state.count(rule.name, key, t - window, t)
            expected: float | None = None
            if spike:
                assert rule.baseline is not None
                base = rule.baseline.total_seconds()
                if t - _ts(self.watch(rule, when)) < window + base:
                    continue
                expected = (
                    self.state.count(rule.name, key, t - window - base, t - window) * window / base
                )
                if current < rule.min_count or current < rule.factor * expected:
                    continue
            elif current < (rule.threshold or 1):
                continue
            if self._refire_blocked(rule, key, t, rule.throttle or rule.window):
                continue
            ids = tuple(self.state.recent_articles(rule.name, key, t - window, t))
            what = f"{current} matches in {rule.window}" + (
                f" (baseline {expected:.1f})" if expected is not None else ""
            )
            out.append(
                AlertRecord(
                    alert_id=alert_id(rule.name, key, str(t)),
                    rule=rule.name,
                    rule_type=rule.type,
                    message=f"{rule.name}: {what}" + (f" for {key}" if key else ""),
                    event_time=when,
                    matched_terms=terms,
                    key=key,
                    count=current,
                    baseline=expected,
                    window_s=window,
                    article_ids=ids,
                    **article_fields(article),  # type: ignore[arg-type]
                )
            )
        return out

    def _new_term(
        self, rule: Rule, article: EnrichedArticle, terms: tuple[str, ...]
    ) -> list[AlertRecord]:
        when = event_time(article)
        started = self.watch(rule, when)
        fresh = [
            name
            for name in group_keys(rule.term_field, article)
            if self.state.new_term(rule.name, text.normalize(name).strip(), _ts(when))
        ]
        if not fresh or when < started + rule.warmup:
            return []
        return [
            AlertRecord(
                alert_id=alert_id(rule.name, article.article_id),
                rule=rule.name,
                rule_type=rule.type,
                message=f"{rule.name}: first time seen: {', '.join(fresh)}",
                event_time=when,
                matched_terms=terms,
                key=", ".join(fresh),
                count=len(fresh),
                article_ids=(article.article_id,),
                **article_fields(article),  # type: ignore[arg-type]
            )
        ]

    def tick(self, rules: list[Rule], now: datetime) -> list[AlertRecord]:
        """Flatline checks at `now` (stream time per batch, or wall time from a timer)."""
        flat = {r.name: r for r in rules if r.type == "flatline"}
        out: list[AlertRecord] = []
        for name, key, last, alerted in self.state.marks("seen"):
            rule = flat.get(name)
            if rule is None or alerted or rule.window is None:
                continue
            if _ts(now) - last < rule.window.total_seconds():
                continue
            self.state.set_mark(name, "seen", key, last, 1)
            out.append(
                AlertRecord(
                    alert_id=alert_id(name, key, str(last)),
                    rule=name,
                    rule_type="flatline",
                    event_time=now,
                    message=f"{name}: nothing since {_dt(last):%Y-%m-%d %H:%M} UTC ({rule.window} window)"
                    + (f" for {key}" if key else ""),
                    key=key,
                    window_s=rule.window.total_seconds(),
                )
            )
        return out
