"""Feed state persistence and transitions; the bounded, persistent SeenIds memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors import FeedState, FeedStateStore, SeenIds

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_state_round_trips_through_sqlite(tmp_path: Path) -> None:
    store = FeedStateStore(tmp_path / "collector.db")
    state = FeedState(feed_url="https://e.example/rss").after_success(
        NOW, result="new", reason="ok", published=3, etag='"e"', last_modified="lm", body_hash="h"
    )
    store.put(state)
    store.close()
    reopened = FeedStateStore(tmp_path / "collector.db")
    assert reopened.get("https://e.example/rss") == state
    assert reopened.get("https://other.example/rss") == FeedState(
        feed_url="https://other.example/rss"
    )
    assert [s.feed_url for s in reopened.all()] == ["https://e.example/rss"]
    reopened.close()


def test_counters_are_kept_per_result_kind() -> None:
    state = FeedState(feed_url="u")
    for result in ("new", "same-body", "not-modified", "not-modified"):
        state = state.after_success(
            NOW, result=result, reason="", published=2 if result == "new" else 0
        )
    state = state.after_failure(NOW, kind="timeout", reason="slow")
    assert (
        state.polls_new,
        state.polls_same_body,
        state.polls_not_modified,
        state.polls_error,
    ) == (1, 1, 2, 1)
    assert state.articles_published == 2


def test_failures_accumulate_weight_and_success_halves_it() -> None:
    state = FeedState(feed_url="u")
    state = state.after_failure(NOW, kind="timeout", reason="t")  # 0.5
    state = state.after_failure(NOW, kind="not-a-feed", reason="html")  # +1.0
    state = state.after_failure(NOW, kind="rate-limited", reason="429")  # +0
    assert (state.consecutive_failures, state.failure_weight) == (3, 1.5)
    assert (state.last_error_kind, state.last_result) == ("rate-limited", "error")
    state = state.after_success(NOW + timedelta(hours=1), result="same-body", reason="")
    assert (state.consecutive_failures, state.failure_weight) == (0, 0.75)
    assert state.last_success == NOW + timedelta(hours=1)


def test_success_keeps_old_validators_when_server_sends_none() -> None:
    state = FeedState(feed_url="u", etag='"a"', last_modified="lm", body_hash="h")
    after = state.after_success(NOW, result="not-modified", reason="")
    assert (after.etag, after.last_modified, after.body_hash) == ('"a"', "lm", "h")


def test_reset_clears_failures_and_validators() -> None:
    state = FeedState(feed_url="u", etag='"a"', body_hash="h", next_poll=NOW).after_failure(
        NOW, kind="blocked", reason="x"
    )
    reset = state.reset()
    assert (
        reset.consecutive_failures,
        reset.failure_weight,
        reset.etag,
        reset.body_hash,
        reset.next_poll,
    ) == (0, 0.0, None, None, None)
    assert reset.polls_error == 1  # history stays


def test_seen_ids_contains_and_persists(tmp_path: Path) -> None:
    seen = SeenIds(tmp_path / "collector.db", max_ids=100)
    seen.add_many(["a", "b", "b"])
    assert seen.contains_many(["a", "c", "b"]) == {"a", "b"}
    seen.close()
    assert SeenIds(tmp_path / "collector.db", max_ids=100).contains_many(["a", "b"]) == {"a", "b"}


def test_seen_ids_evicts_least_recently_seen_past_the_bound(tmp_path: Path) -> None:
    seen = SeenIds(tmp_path / "collector.db", max_ids=3)
    seen.add_many(["a", "b", "c"])
    seen.add_many(["a"])  # refreshed: now the newest
    seen.add_many(["d", "e"])  # evicts b and c, the oldest
    assert seen.contains_many(["a", "b", "c", "d", "e"]) == {"a", "d", "e"}
    assert len(seen) == 3


def test_seen_ids_bound_holds_for_a_batch_larger_than_the_bound(tmp_path: Path) -> None:
    seen = SeenIds(tmp_path / "collector.db", max_ids=5)
    seen.add_many(str(i) for i in range(12))
    assert len(seen) == 5 and seen.contains_many(str(i) for i in range(12)) == {
        "7",
        "8",
        "9",
        "10",
        "11",
    }


def test_seen_ids_rejects_a_useless_bound(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NEWSWATCH_SEEN_IDS_MAX"):
        SeenIds(tmp_path / "collector.db", max_ids=0)
