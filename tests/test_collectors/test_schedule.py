"""Cadence maths (pure) and the APScheduler wiring (a real BackgroundScheduler, short delays)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors import FeedScheduler, plan_next_poll
from collectors.schedule import failure_backoff, is_parked, next_interval, with_jitter
from newswatch import FeedSpec, ScheduleSettings, utcnow

S = ScheduleSettings(
    interval_s=900, min_interval_s=300, max_interval_s=3600, jitter_fraction=0.1, max_backoff_s=7200
)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
FEED = FeedSpec(url="https://e.example/rss")


@pytest.mark.parametrize(
    ("current", "new_items", "expected"),
    [
        pytest.param(900, 5, 675, id="new-items-speed-up"),
        pytest.param(900, 0, 1125, id="nothing-new-slows-down"),
        pytest.param(320, 3, 300, id="clamped-to-floor"),
        pytest.param(3500, 0, 3600, id="clamped-to-cap"),
    ],
)
def test_next_interval(current: float, new_items: int, expected: float) -> None:
    assert next_interval(current, new_items=new_items, settings=S) == expected


@given(current=st.floats(1, 1e6), new_items=st.integers(0, 1000))
def test_next_interval_always_within_bounds(current: float, new_items: int) -> None:
    assert (
        S.min_interval_s
        <= next_interval(current, new_items=new_items, settings=S)
        <= S.max_interval_s
    )


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        pytest.param(0.0, 900, id="no-weight-is-the-interval"),
        pytest.param(0.5, 900 * 2**0.5, id="one-timeout"),
        pytest.param(2.0, 3600, id="two-hard-failures"),
        pytest.param(50.0, 7200, id="capped-never-parked-forever"),
        pytest.param(1e9, 7200, id="huge-weight-no-overflow"),
    ],
)
def test_failure_backoff(weight: float, expected: float) -> None:
    assert failure_backoff(weight, 900, S.max_backoff_s) == pytest.approx(expected)


def test_is_parked_only_at_the_cap() -> None:
    assert (
        not is_parked(0.0, 900, 7200)
        and not is_parked(2.0, 900, 7200)
        and is_parked(3.0, 900, 7200)
    )


@given(seconds=st.floats(0, 1e6), fraction=st.floats(0, 0.5), seed=st.integers())
def test_jitter_stays_within_fraction(seconds: float, fraction: float, seed: int) -> None:
    jittered = with_jitter(seconds, fraction, random.Random(seed))
    assert seconds * (1 - fraction) - 1e-6 <= jittered <= seconds * (1 + fraction) + 1e-6


def _plan(**kw: object) -> object:
    args: dict[str, object] = {
        "current_interval": 900.0,
        "failed": False,
        "new_items": 0,
        "failure_weight": 0.0,
        "retry_after_s": None,
        "now": NOW,
        "settings": S,
        "rng": random.Random(1),
    }
    args.update(kw)
    spec = args.pop("spec", FEED)
    return plan_next_poll(spec, **args)  # type: ignore[arg-type]


def test_plan_success_adapts_with_jitter() -> None:
    plan = _plan(new_items=3)
    assert plan.interval_s == 675  # type: ignore[attr-defined]
    assert 675 * 0.9 <= plan.delay_s <= 675 * 1.1  # type: ignore[attr-defined]
    assert plan.next_poll == NOW + timedelta(seconds=plan.delay_s)  # type: ignore[attr-defined]


def test_plan_failure_backs_off_without_adapting() -> None:
    plan = _plan(failed=True, failure_weight=2.0)
    assert plan.interval_s == 900 and 3600 * 0.9 <= plan.delay_s <= 3600 * 1.1  # type: ignore[attr-defined]


def test_plan_retry_after_wins_but_is_bounded() -> None:
    assert _plan(failed=True, failure_weight=5.0, retry_after_s=42.0).delay_s == 42.0  # type: ignore[attr-defined]
    assert _plan(failed=True, retry_after_s=1e9).delay_s == S.max_backoff_s  # type: ignore[attr-defined]


def test_plan_pinned_interval_is_not_adapted() -> None:
    plan = _plan(spec=FeedSpec(url="u", interval_s=60.0), new_items=0)
    assert plan.interval_s == 60.0  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FakeOutcome:
    next_poll_at: datetime


def test_feed_scheduler_polls_and_reschedules_each_enabled_feed() -> None:
    calls: dict[str, int] = {}
    done = threading.Event()
    lock = threading.Lock()

    def poll(spec: FeedSpec) -> FakeOutcome:
        with lock:
            calls[spec.url] = calls.get(spec.url, 0) + 1
            if calls.get("a", 0) >= 3 and calls.get("b", 0) >= 3:
                done.set()
        if spec.url == "b":
            raise RuntimeError("a bug in the poll function")  # rescheduled anyway, after the floor
        return FakeOutcome(utcnow() + timedelta(milliseconds=20))

    fast = ScheduleSettings(
        interval_s=1, min_interval_s=0.02, max_interval_s=1, jitter_fraction=0.0, max_backoff_s=1
    )
    scheduler = FeedScheduler(poll, fast, rng=random.Random(3))
    scheduler.start([FeedSpec(url="a"), FeedSpec(url="b"), FeedSpec(url="off", enabled=False)])
    try:
        assert done.wait(timeout=10), f"feeds were not re-polled: {calls}"
        assert set(scheduler.next_runs()) <= {"a", "b"}
    finally:
        scheduler.stop()
    assert "off" not in calls and calls["a"] >= 3 and calls["b"] >= 3


def test_feed_scheduler_starts_at_the_stored_next_poll() -> None:
    later = utcnow() + timedelta(hours=1)
    scheduler = FeedScheduler(lambda spec: FakeOutcome(later), S, first_poll=lambda spec: later)
    scheduler.start([FEED])
    try:
        runs = scheduler.next_runs()
    finally:
        scheduler.stop()
    assert runs[FEED.url] == later
