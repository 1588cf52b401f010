"""Feed health as the CLI shows it, and how several parsed documents add up to one poll status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from collectors.parse import ParseResult
from collectors.schedule import base_interval, is_parked
from collectors.state import FeedState
from collectors.volume import VolumeSignal
from newswatch import FeedSpec, ScheduleSettings

Health = Literal["ok", "failing", "parked", "never-polled", "disabled"]


@dataclass(frozen=True)
class FeedStatus:
    """One row of `newswatch feeds list` / `status`: who the feed is, how it is doing and why."""

    url: str
    name: str
    outlet: str
    enabled: bool
    health: Health
    reason: str
    last_poll: datetime | None
    last_success: datetime | None
    last_new_item: datetime | None
    next_poll: datetime | None
    interval_s: float | None
    consecutive_failures: int
    failure_weight: float
    last_error_kind: str | None
    polls_new: int
    polls_not_modified: int
    polls_same_body: int
    polls_error: int
    articles_published: int
    volume: VolumeSignal | None = None
    """Last 24 h against the usual rate; `volume.dropped` flags an ingestion gap."""


def health_of(spec: FeedSpec | None, state: FeedState, settings: ScheduleSettings) -> Health:
    """ok / failing / parked (back-off at its cap, still retried) / never-polled / disabled."""
    if spec is not None and not spec.enabled:
        return "disabled"
    if state.last_poll is None:
        return "never-polled"
    if state.consecutive_failures == 0:
        return "ok"
    interval = base_interval(spec or FeedSpec(url=state.feed_url), state.interval_s, settings)
    return (
        "parked" if is_parked(state.failure_weight, interval, settings.max_backoff_s) else "failing"
    )


def feed_status(
    spec: FeedSpec | None, state: FeedState, settings: ScheduleSettings, volume: VolumeSignal | None = None
) -> FeedStatus:
    """Join a feed's spec (if known), stored state and volume signal into a status row.

    A volume drop is appended to the reason, so every view that shows the reason shows the gap."""
    health = health_of(spec, state, settings)
    if health in ("failing", "parked"):
        reason = f"{state.consecutive_failures} failure(s) in a row, last {state.last_error_kind}: {state.last_error_reason}"
        if health == "parked":
            reason += f"; retried every {settings.max_backoff_s:.0f}s until it works or `newswatch feeds reset`"
    else:
        reason = state.last_reason or ""
    if volume is not None and volume.dropped and health != "disabled":
        reason = f"{volume.reason}; {reason}" if reason else volume.reason
    return FeedStatus(
        url=state.feed_url,
        name=spec.name if spec else "",
        outlet=spec.outlet if spec else "",
        enabled=spec.enabled if spec else True,
        health=health,
        reason=reason,
        last_poll=state.last_poll,
        last_success=state.last_success,
        last_new_item=state.last_new_item,
        next_poll=state.next_poll,
        interval_s=state.interval_s,
        consecutive_failures=state.consecutive_failures,
        failure_weight=state.failure_weight,
        last_error_kind=state.last_error_kind,
        polls_new=state.polls_new,
        polls_not_modified=state.polls_not_modified,
        polls_same_body=state.polls_same_body,
        polls_error=state.polls_error,
        articles_published=state.articles_published,
        volume=volume,
    )


def combine_results(
    results: Sequence[ParseResult], sizes: Sequence[int]
) -> tuple[str, str, str | None]:
    """(status, reason, failure kind or None) for the documents of one poll (a directory has many).

    The poll fails as "not-a-feed" when no document was a feed, and as "empty-body" when every
    body was empty; anything else is a success whose status and reason say what was odd.
    """
    if not results:
        return "empty", "no documents", "empty-body"
    if len(results) == 1:
        only = results[0]
        failure = "not-a-feed" if only.status == "not-a-feed" else None
        if only.status == "empty" and sizes and sizes[0] == 0:
            failure = "empty-body"
        return only.status, only.reason, failure
    counts = Counter(r.status for r in results)
    first_odd = {s: next(r.reason for r in results if r.status == s) for s in counts if s != "ok"}
    parts = [
        f"{n} {s}" + (f" (first: {first_odd[s]})" if s in first_odd else "")
        for s, n in sorted(counts.items())
    ]
    reason = f"{len(results)} documents: " + "; ".join(parts)
    if counts["not-a-feed"] == len(results):
        return "not-a-feed", reason, "not-a-feed"
    if all(size == 0 for size in sizes):
        return "empty", reason, "empty-body"
    if counts["ok"] == len(results):
        return "ok", reason, None
    if counts["empty"] == len(results):
        return "empty", reason, None
    return "partial", reason, None
