"""One feed end to end: fetch, parse, dedup, publish to `news.raw`, then remember; and feed health.

`Collector.poll_feed` reads top to bottom like a recipe. Nothing is marked seen and no validator
is stored until the bus has flushed, so a crash or a bus outage means a re-fetch, never a loss.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from collectors.archive import RawArchive
from collectors.fetch import Fetcher, FetchResult
from collectors.parse import ParseResult, parse_feed
from collectors.schedule import plan_next_poll
from collectors.state import DB_NAME, FeedState, FeedStateStore, SeenIds
from collectors.status import FeedStatus, combine_results, feed_status
from collectors.volume import VolumeLog, VolumeRules, VolumeSignal
from newswatch import (
    Article,
    Bus,
    FeedError,
    FeedSpec,
    RetryLaterError,
    Settings,
    metrics,
    topics,
    utcnow,
)

log = logging.getLogger("collectors.service")

PollResultKind = Literal["new", "same-body", "not-modified", "error"]


@dataclass(frozen=True)
class PollOutcome:
    """What one poll did: `result` is new / same-body / not-modified / error; `status` the parse status or error kind."""

    feed_url: str
    result: PollResultKind
    status: str
    reason: str
    polled_at: datetime
    next_poll_at: datetime
    interval_s: float
    found: int = 0
    published: int = 0
    duplicates: int = 0
    error_kind: str | None = None
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        """True unless the poll failed."""
        return self.result != "error"


def dedup(articles: Sequence[Article], seen: AbstractSet[str]) -> list[Article]:
    """Articles whose id is neither in `seen` nor earlier in the batch (first occurrence wins).

    `seen` is only read, never copied: a replay passes every id published so far, and copying it
    per fetch made a month's replay quadratic."""
    fresh: list[Article] = []
    taken: set[str] = set()
    for article in articles:
        if article.article_id not in seen and article.article_id not in taken:
            taken.add(article.article_id)
            fresh.append(article)
    return fresh


class Collector:
    """Polls feeds and publishes new articles; safe to call from several scheduler threads at once."""

    def __init__(
        self,
        settings: Settings,
        bus: Bus,
        state: FeedStateStore | None = None,
        *,
        seen: SeenIds | None = None,
        fetcher: Fetcher | None = None,
        rng: random.Random | None = None,
        archive: RawArchive | None = None,
    ) -> None:
        self.settings = settings
        self.archive = archive if archive is not None else RawArchive.for_settings(settings)
        self.bus = bus
        self.state = state or FeedStateStore(settings.data_dir / DB_NAME)
        self.seen = seen or SeenIds(self.state.path, settings.seen_ids_max)
        self.volume = VolumeLog(self.state.path)
        self.volume_rules = VolumeRules.from_settings(settings)
        self.fetcher = fetcher or Fetcher(settings.fetch)
        self._rng = rng or random.Random()
        self._publish_lock = (
            threading.Lock()
        )  # dedup -> produce -> flush -> mark is one step across feeds

    def close(self) -> None:
        """Release HTTP connections and the state database."""
        self.fetcher.close()
        self.archive.close()
        self.volume.close()
        self.seen.close()
        self.state.close()

    def poll_feed(self, spec: FeedSpec, now: datetime | None = None) -> PollOutcome:
        """Poll one feed once; never raises: failures come back as an outcome with result "error"."""
        now = now or utcnow()
        try:
            return self._poll(spec, now)
        except Exception as exc:  # log.exception keeps the traceback; other feeds go on
            log.exception("poll of %s failed unexpectedly", spec.url)
            wait = self.settings.schedule.min_interval_s
            outcome = PollOutcome(
                feed_url=spec.url, result="error", status="internal",
                reason=f"{type(exc).__name__}: {exc} (a newswatch bug or an unwritable data dir)",
                polled_at=now, next_poll_at=now + timedelta(seconds=wait), interval_s=wait,
                error_kind="internal",
            )  # fmt: skip
            _log_outcome(outcome)
            return outcome

    def _poll(self, spec: FeedSpec, now: datetime) -> PollOutcome:
        """The recipe: fetch with validators, short-cut unchanged bodies, else parse and publish."""
        state = self.state.get(spec.url)
        try:
            fetched = self.fetcher.fetch(
                spec.url, etag=state.etag, last_modified=state.last_modified
            )
        except RetryLaterError as exc:
            return self._failed(spec, state, now, exc.kind, str(exc), retry_after=exc.after)
        except FeedError as exc:
            return self._failed(spec, state, now, exc.kind, str(exc))
        if fetched.not_modified:
            return self._succeeded(
                spec, state, now, "not-modified", "304 Not Modified", fetched=fetched
            )
        if fetched.body_hash == state.body_hash:
            return self._succeeded(
                spec, state, now, "same-body", "body unchanged since last poll", fetched=fetched
            )
        return self._publish_new(spec, state, now, fetched)

    def _publish_new(
        self, spec: FeedSpec, state: FeedState, now: datetime, fetched: FetchResult
    ) -> PollOutcome:
        """Parse a changed body, publish unseen articles, and only after the flush mark them seen."""
        self._archive(spec, now, fetched)
        results: list[ParseResult] = [
            parse_feed(
                doc.body,
                headers=fetched.headers,
                feed_url=spec.url,
                fetched_at=now,
                outlet=spec.outlet,
            )
            for doc in fetched.documents
        ]
        status, reason, failure = combine_results(results, [len(d.body) for d in fetched.documents])
        if failure:
            return self._failed(spec, state, now, failure, reason)
        articles = [a for r in results for a in r.articles]
        try:
            with self._publish_lock:
                fresh = dedup(articles, self.seen.contains_many(a.article_id for a in articles))
                for article in fresh:
                    self.bus.produce(topics.RAW, article.article_id, article.to_bytes())
                self.bus.flush()
                self.seen.add_many(a.article_id for a in articles)
        except Exception as exc:  # noqa: BLE001 - any bus error: record it, re-fetch next poll
            return self._failed(
                spec,
                state,
                now,
                "bus",
                f"publishing to {topics.RAW} failed: {exc}; check the bus, the feed is re-fetched next time",
            )
        for article in fresh:  # with JSON logs, `article_id` follows a story through every stage
            log.debug(
                "published %s from %s",
                article.article_id,
                spec.url,
                extra={
                    "stage": "collector",
                    "article_id": article.article_id,
                    "feed_url": spec.url,
                    "topic": topics.RAW,
                },
            )
        return self._succeeded(
            spec,
            state,
            now,
            "new",
            f"{status}: {reason}",
            fetched=fetched,
            found=len(articles),
            published=len(fresh),
            parse_status=status,
        )

    def _archive(self, spec: FeedSpec, now: datetime, fetched: FetchResult) -> None:
        """Keep each new body in the raw archive for replays; a failure here never fails the poll."""
        ctype = next((v for k, v in fetched.headers.items() if k.lower() == "content-type"), "")
        try:
            for doc in fetched.documents:
                self.archive.add(
                    spec.url,
                    doc.body,
                    now,
                    outlet=spec.outlet,
                    content_type=ctype,
                    source=doc.source,
                )
        except Exception as exc:  # noqa: BLE001 - the archive is a copy; publishing comes first
            log.warning("archiving a feed body failed: %s", exc, extra={"feed_url": spec.url})

    def _succeeded(
        self,
        spec: FeedSpec,
        state: FeedState,
        now: datetime,
        result: PollResultKind,
        reason: str,
        *,
        fetched: FetchResult,
        found: int = 0,
        published: int = 0,
        parse_status: str = "ok",
    ) -> PollOutcome:
        """Store validators, counters and the next poll time for a poll that worked."""
        plan = plan_next_poll(
            spec,
            current_interval=state.interval_s,
            failed=False,
            new_items=published,
            failure_weight=0.0,
            retry_after_s=None,
            now=now,
            settings=self.settings.schedule,
            rng=self._rng,
        )
        new_state = state.after_success(
            now,
            result=result,
            reason=reason,
            published=published,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=fetched.body_hash if fetched.documents else None,
        )
        self.state.put(_with_plan(new_state, plan.interval_s, plan.next_poll))
        outcome = PollOutcome(
            feed_url=spec.url,
            result=result,
            status=parse_status if result == "new" else "ok",
            reason=reason,
            polled_at=now,
            next_poll_at=plan.next_poll,
            interval_s=plan.interval_s,
            found=found,
            published=published,
            duplicates=found - published,
        )
        _log_outcome(outcome)
        self._observe(spec, now, result, published)
        return outcome

    def _failed(
        self,
        spec: FeedSpec,
        state: FeedState,
        now: datetime,
        kind: str,
        reason: str,
        *,
        retry_after: float | None = None,
    ) -> PollOutcome:
        """Record a failure with its kind and reason, and back off (or obey Retry-After)."""
        new_state = state.after_failure(now, kind=kind, reason=reason)
        plan = plan_next_poll(
            spec,
            current_interval=state.interval_s,
            failed=True,
            new_items=0,
            failure_weight=new_state.failure_weight,
            retry_after_s=retry_after,
            now=now,
            settings=self.settings.schedule,
            rng=self._rng,
        )
        self.state.put(_with_plan(new_state, plan.interval_s, plan.next_poll))
        outcome = PollOutcome(
            feed_url=spec.url,
            result="error",
            status=kind,
            reason=reason,
            polled_at=now,
            next_poll_at=plan.next_poll,
            interval_s=plan.interval_s,
            error_kind=kind,
            retry_after_s=retry_after,
        )
        _log_outcome(outcome)
        self._observe(spec, now, f"error:{kind}", 0)
        return outcome

    def _observe(self, spec: FeedSpec, now: datetime, outcome: str, published: int) -> None:
        """Metrics and the volume log for one poll; never fails the poll."""
        label = spec.name or spec.url
        metrics.FEED_FETCHES.labels(label, outcome).inc()
        if published:
            metrics.ARTICLES.labels("collector", "published").inc(published)
        try:
            self.volume.record(spec.url, now, published)
            signal = self.volume.signal(spec.url, now, self.volume_rules)
        except Exception as exc:  # noqa: BLE001 - the signal is advice; polling goes on
            log.warning("volume log update failed: %s", exc, extra={"feed_url": spec.url})
            return
        if signal.ratio is not None:
            metrics.FEED_VOLUME_RATIO.labels(label).set(signal.ratio)
        metrics.FEED_VOLUME_DROP.labels(label).set(1 if signal.dropped else 0)

    def volume_signal(self, url: str | None, now: datetime | None = None) -> VolumeSignal:
        """The volume-drop signal of one feed, or (None) of every feed together."""
        return self.volume.signal(url, now or utcnow(), self.volume_rules)

    def poll_all(
        self, feeds: Sequence[FeedSpec], *, max_workers: int = 4, now: datetime | None = None
    ) -> list[PollOutcome]:
        """Poll every enabled feed once (fetches run in parallel, politeness per host); outcomes in input order."""
        enabled = [f for f in feeds if f.enabled]
        if not enabled:
            return []
        with ThreadPoolExecutor(
            max_workers=max(1, min(max_workers, len(enabled))), thread_name_prefix="poll"
        ) as pool:
            return list(pool.map(lambda spec: self.poll_feed(spec, now), enabled))

    def next_poll_at(self, spec: FeedSpec) -> datetime | None:
        """The stored next poll time of a feed (FeedScheduler's first run after a restart)."""
        return self.state.get(spec.url).next_poll

    def reset_feed(self, url: str) -> None:
        """Forget a feed's failures and validators so it is polled afresh (`newswatch feeds reset`)."""
        self.state.put(self.state.get(url).reset())

    def feed_statuses(
        self, feeds: Sequence[FeedSpec] | None = None, now: datetime | None = None
    ) -> list[FeedStatus]:
        """Health rows for `newswatch feeds list` / `status`: the given feeds, or every feed ever polled."""
        now = now or utcnow()
        if feeds is None:
            return [
                feed_status(None, s, self.settings.schedule, self.volume_signal(s.feed_url, now))
                for s in self.state.all()
            ]
        return [
            feed_status(
                spec,
                self.state.get(spec.url),
                self.settings.schedule,
                self.volume_signal(spec.url, now),
            )
            for spec in feeds
        ]


def _with_plan(state: FeedState, interval_s: float, next_poll: datetime) -> FeedState:
    return replace(state, interval_s=interval_s, next_poll=next_poll)


def _log_outcome(outcome: PollOutcome) -> None:
    """One line per feed: a fixed message with the fields spelled out (and attached as `extra`)."""
    fields = {
        "feed_url": outcome.feed_url,
        "result": outcome.result,
        "status": outcome.status,
        "found": outcome.found,
        "published": outcome.published,
        "duplicates": outcome.duplicates,
        "next_poll_in_s": round((outcome.next_poll_at - outcome.polled_at).total_seconds()),
    }
    level = logging.WARNING if outcome.result == "error" else logging.INFO
    text = " ".join(f"{k}={v}" for k, v in fields.items())
    log.log(level, "feed polled %s reason=%r", text, outcome.reason, extra=fields)
