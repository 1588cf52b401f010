"""`newswatch config check`: each piece of configuration checked on its own, each failure with its fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from newswatch.cli import wiring
from newswatch.errors import ConfigError, NewswatchError
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


def _rules(settings: Settings) -> str:
    from sinks.alerts import load_rules, rules_path_for

    path = rules_path_for(settings)
    if not path.exists():
        return f"no rules file at {path} (optional; `newswatch alerts add NAME QUERY` creates it)"
    book = load_rules(path, resolve=wiring.resolve_entity)
    if book.problems:
        found = "; ".join(f"{p.name}: {p.message}" for p in book.problems)
        raise ConfigError(f"{path}: {found} (fix the file; the other rules still load)")
    resolved = {
        f"{name} -> {' / '.join(names)}"
        for loaded in book.rules
        for name, names in loaded.compiled.query.entity_names.items()
    }
    also = f"; entity names resolved: {', '.join(sorted(resolved))}" if resolved else ""
    return f"{len(book.rules)} rules, {len(book.channels)} channels in {path}{also}"


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
    ("alert rules", _rules),
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
