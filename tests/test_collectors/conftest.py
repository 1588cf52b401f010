"""Collector fixtures: hermetic settings under tmp_path, a real EmbeddedBus, edge-case feed files."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from collectors import Collector
from newswatch import EmbeddedBus, FetchSettings, ScheduleSettings, Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
SHARED_FEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "feeds"


def make_settings(tmp_path: Path, **fetch: object) -> Settings:
    """Settings for tests: data under tmp_path, no politeness wait, local HTTP server allowed."""
    fetch_opts: dict[str, object] = {
        "allow_private_hosts": True,
        "per_host_delay_s": 0.0,
        "timeout_s": 5.0,
    }
    fetch_opts.update(fetch)
    return Settings(
        data_dir=tmp_path / "data",
        fetch=FetchSettings(**fetch_opts),  # type: ignore[arg-type]
        schedule=ScheduleSettings(
            interval_s=900,
            min_interval_s=300,
            max_interval_s=3600,
            jitter_fraction=0.0,
            max_backoff_s=7200,
        ),
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[EmbeddedBus]:
    bus = EmbeddedBus(tmp_path / "bus.db")
    yield bus
    bus.close()


@pytest.fixture
def collector(settings: Settings, bus: EmbeddedBus) -> Iterator[Collector]:
    c = Collector(settings, bus, rng=random.Random(7))
    yield c
    c.close()


@pytest.fixture
def feed_file() -> Callable[[str], Path]:
    """An edge-case feed from tests/fixtures/feeds/ (each says in its first comment what it covers)."""
    return lambda name: FIXTURES / name


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """make_settings bound to this test's tmp_path; keyword arguments override fetch settings."""
    return lambda **fetch: make_settings(tmp_path, **fetch)


@pytest.fixture
def raw_keys(bus: EmbeddedBus) -> Callable[[], list[str | None]]:
    """Keys of every record on news.raw so far, read with a throwaway consumer group."""

    def read() -> list[str | None]:
        consumer = bus.consumer(f"test-{random.random()}", ["news.raw"], start="earliest")
        try:
            return [r.key for r in consumer.poll(max_records=100_000, timeout_s=0.1)]
        finally:
            consumer.close()

    return read
