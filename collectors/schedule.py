"""When to poll each feed next: pure cadence maths, and the APScheduler 3.x wiring that uses it.

Cadence adapts within [min_interval_s, max_interval_s]: faster after a poll that brought new
items, slower after one that did not. A failing feed backs off by its weighted failure count,
up to `max_backoff_s`, so it is retried at least that often and never parked forever.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from newswatch import FeedSpec, ScheduleSettings, utcnow

log = logging.getLogger("collectors.schedule")

SPEED_UP = 0.75
"""Interval factor after a poll with new items."""
SLOW_DOWN = 1.25
"""Interval factor after a poll with nothing new."""


def clamp(value: float, low: float, high: float) -> float:
    """`value` limited to [low, high]."""
    return max(low, min(high, value))


def base_interval(spec: FeedSpec, current: float | None, settings: ScheduleSettings) -> float:
    """The feed's interval before this poll: its pinned `interval_s`, else the adapted one, else the default."""
    if spec.interval_s is not None:
        return spec.interval_s
    return clamp(current or settings.interval_s, settings.min_interval_s, settings.max_interval_s)


def next_interval(current: float, *, new_items: int, settings: ScheduleSettings) -> float:
    """Adaptive interval: shorter after new items, longer after none, clamped to the floor and cap."""
    factor = SPEED_UP if new_items > 0 else SLOW_DOWN
    return clamp(current * factor, settings.min_interval_s, settings.max_interval_s)


def with_jitter(seconds: float, fraction: float, rng: random.Random) -> float:
    """`seconds` spread by up to ±fraction so feeds on one host do not poll in lockstep."""
    if fraction <= 0:
        return seconds
    return max(0.0, seconds * (1.0 + rng.uniform(-fraction, fraction)))


def failure_backoff(weight: float, interval: float, max_backoff_s: float) -> float:
    """Delay after a failure: interval × 2^weight, never below the interval nor above the cap."""
    exponent = min(weight, 60.0)  # 2**60 s is already "the cap"; avoid float overflow
    return min(max_backoff_s, max(interval, interval * 2.0**exponent))


def is_parked(weight: float, interval: float, max_backoff_s: float) -> bool:
    """True when back-off has reached its cap: the feed is retried only every max_backoff_s."""
    return weight > 0 and failure_backoff(weight, interval, max_backoff_s) >= max_backoff_s


@dataclass(frozen=True)
class Plan:
    """The outcome of scheduling maths for one feed: its interval and the next poll time."""

    interval_s: float
    delay_s: float
    next_poll: datetime


def plan_next_poll(
    spec: FeedSpec,
    *,
    current_interval: float | None,
    failed: bool,
    new_items: int,
    failure_weight: float,
    retry_after_s: float | None,
    now: datetime,
    settings: ScheduleSettings,
    rng: random.Random,
) -> Plan:
    """Combine adaptation, back-off, Retry-After and jitter into the next poll time.

    Retry-After wins (bounded by the back-off cap); a failure backs off from the current interval
    without adapting it; a success adapts the interval (unless the feed pins `interval_s`).
    """
    interval = base_interval(spec, current_interval, settings)
    if retry_after_s is not None:
        delay = clamp(retry_after_s, 0.0, settings.max_backoff_s)  # the server's word, bounded
    elif failed:
        delay = with_jitter(
            failure_backoff(failure_weight, interval, settings.max_backoff_s),
            settings.jitter_fraction,
            rng,
        )
    else:
        if spec.interval_s is None:
            interval = next_interval(interval, new_items=new_items, settings=settings)
        delay = with_jitter(interval, settings.jitter_fraction, rng)
    return Plan(interval_s=interval, delay_s=delay, next_poll=now + timedelta(seconds=delay))


class PollResult(Protocol):
    """What the scheduler needs back from a poll: when to come back."""

    @property
    def next_poll_at(self) -> datetime: ...


class FeedScheduler:
    """One APScheduler job per enabled feed; each run re-schedules itself at the poll's `next_poll_at`.

    Lifecycle: `start(feeds)` once; `stop()` on shutdown (waits for running polls). A poll function
    must not raise (Collector.poll_feed never does); if it does, the feed is retried after the floor.
    """

    def __init__(
        self,
        poll: Callable[[FeedSpec], PollResult],
        settings: ScheduleSettings,
        *,
        scheduler: BaseScheduler | None = None,
        first_poll: Callable[[FeedSpec], datetime | None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._poll = poll
        self._settings = settings
        self._scheduler = scheduler or BackgroundScheduler(timezone="UTC")
        self._first_poll = first_poll or (lambda _spec: None)
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._stopped = False

    def start(self, feeds: Iterable[FeedSpec]) -> None:
        """Schedule every enabled feed (at its stored next poll, or soon with a jittered start) and run."""
        now = utcnow()
        for spec in feeds:
            if not spec.enabled:
                continue
            stored = self._first_poll(spec)
            stagger = self._rng.uniform(
                0, min(30.0, self._settings.min_interval_s * self._settings.jitter_fraction)
            )
            self._schedule(spec, stored or now + timedelta(seconds=stagger))
        if not self._scheduler.running:
            self._scheduler.start()

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; with `wait`, let running polls finish first."""
        with self._lock:
            self._stopped = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def next_runs(self) -> dict[str, datetime | None]:
        """Feed URL -> next scheduled run (for status output)."""
        return {job.id: getattr(job, "next_run_time", None) for job in self._scheduler.get_jobs()}

    def _schedule(self, spec: FeedSpec, when: datetime) -> None:
        with self._lock:
            if self._stopped:
                return
            self._scheduler.add_job(
                self._run,
                trigger="date",
                run_date=when,
                args=[spec],
                id=spec.url,
                name=spec.name or spec.url,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    def _run(self, spec: FeedSpec) -> None:
        """Job body: poll, then book the next run."""
        try:
            when = self._poll(spec).next_poll_at
        except Exception:
            log.exception(
                "poll of %s raised; retrying after %.0fs", spec.url, self._settings.min_interval_s
            )
            when = utcnow() + timedelta(seconds=self._settings.min_interval_s)
        self._schedule(spec, when)
