"""`newswatch config check`: each piece of configuration checked on its own, each failure with its fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from newswatch.cli import wiring
from newswatch.errors import NewswatchError
from newswatch.settings import Settings


@dataclass(frozen=True)
class CheckResult:
    """One line of the report."""

    name: str
    ok: bool
    detail: str


def _feeds(settings: Settings) -> str:
    from collectors import load_feeds

    feeds = load_feeds(settings.feeds_path)
    enabled = sum(f.enabled for f in feeds)
    return f"{len(feeds)} feeds ({enabled} enabled) in {settings.feeds_path}"


def _bus(settings: Settings) -> str:
    bus = wiring.open_bus(settings)
    bus.close()
    return f"{settings.bus} reachable, topics present"


def _store(settings: Settings) -> str:
    store = wiring.open_store(settings)
    count = store.count()
    store.close()
    return f"{settings.store} reachable, {count} articles"


CHECKS: tuple[tuple[str, Callable[[Settings], str]], ...] = (
    ("feed list", _feeds),
    ("bus", _bus),
    ("store", _store),
)


def run_checks(settings: Settings) -> Iterator[CheckResult]:
    """Run every check; an error never stops the others."""
    for name, check in CHECKS:
        try:
            yield CheckResult(name, True, check(settings))
        except NewswatchError as exc:
            yield CheckResult(name, False, str(exc))
        except Exception as exc:  # noqa: BLE001 - report any failure as a check result
            yield CheckResult(name, False, f"{type(exc).__name__}: {exc}")
