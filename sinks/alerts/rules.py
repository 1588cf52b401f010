"""The rules file (YAML): channels and rules, validated one rule at a time.

    channels:                          # named channels; a rule may also name an apprise URL inline
      desk-slack: {url: "${SLACK_URL}"}                 # apprise URL, secrets as ${VARIABLES}
      ops-hook: {type: webhook, url: "https://hooks.example/newswatch"}
    secrets_file: secrets.env          # optional KEY=value lines, relative to this file
    rules:
      - name: putin-defence
        query: 'entity:"Vladimir Putin" AND topic:defence'
        channels: [desk-slack]
        throttle: 10m                  # at most one notification per 10 minutes per group_by key

A rule that does not validate is reported with its name and reason; the others still load.
Only a file that is not YAML, or not a mapping, is a ConfigError.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from newswatch import ConfigError
from sinks.alerts.matcher import CompiledQuery, compile_query
from sinks.alerts.query import EntityResolver, QueryError, parse_query, resolve_entities

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
DIGESTS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


def parse_duration(value: object) -> object:
    """ "90s", "15m", "1h", "2d", "1w", or seconds as a number; anything else is left to pydantic."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found:
            return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
GroupKey = Literal[
    "none",
    "entity",
    "entity.person",
    "entity.org",
    "entity.gpe",
    "entity.loc",
    "outlet",
    "feed",
    "lang",
]
RuleType = Literal["match", "frequency", "spike", "new_term", "flatline"]


class ChannelSpec(BaseModel):
    """Where notifications go: an apprise URL, or a JSON webhook we POST to with httpx."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["apprise", "webhook"] = "apprise"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=10.0, gt=0)


class Rule(BaseModel):
    """One alert rule as written in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    query: str
    type: RuleType = "match"
    description: str = ""
    enabled: bool = True
    channels: tuple[str, ...] = ()
    group_by: GroupKey = "none"
    throttle: Duration | None = Field(
        default=None, description="realert at most once per period per key"
    )
    digest: Literal["hourly", "daily"] | Duration | None = None
    silence_until: AwareDatetime | None = None
    window: Duration | None = None
    threshold: int | None = Field(default=None, ge=1)
    baseline: Duration | None = None
    factor: float = Field(default=3.0, gt=1.0)
    min_count: int = Field(default=3, ge=1)
    term_field: Literal["entity", "entity.person", "entity.org", "entity.gpe", "entity.loc"] = (
        "entity"
    )
    warmup: Duration = timedelta(0)

    @model_validator(mode="after")
    def _type_needs(self) -> Rule:
        needs = {
            "frequency": ("window", "threshold"),
            "spike": ("window", "baseline"),
            "flatline": ("window",),
        }
        missing = [name for name in needs.get(self.type, ()) if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.type} rule needs {' and '.join(missing)} (e.g. window: 1h)")
        if (
            self.type == "spike"
            and self.baseline is not None
            and self.window is not None
            and self.baseline < self.window
        ):
            raise ValueError(
                "baseline must be at least as long as window (e.g. window: 1h, baseline: 24h)"
            )
        return self

    @property
    def digest_period(self) -> timedelta | None:
        """The digest interval, or None for immediate notifications."""
        return DIGESTS[self.digest] if isinstance(self.digest, str) else self.digest

    def silenced(self, now: datetime) -> bool:
        """True while `silence_until` is in the future."""
        return self.silence_until is not None and now < self.silence_until


@dataclass(frozen=True)
class LoadedRule:
    """A rule that validated, with its compiled query."""

    rule: Rule
    compiled: CompiledQuery


@dataclass(frozen=True)
class RuleProblem:
    """A rule that did not load, and why (the message says what to fix)."""

    name: str
    message: str


@dataclass
class RuleBook:
    """Everything a rules file yields: valid rules, problems, channels and the secrets file."""

    rules: list[LoadedRule] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)
    channels: dict[str, ChannelSpec] = field(default_factory=dict)
    secrets_file: Path | None = None
    warnings: list[str] = field(default_factory=list)


def read_document(path: Path) -> dict[str, Any]:
    """The raw YAML mapping ({} when the file does not exist yet)."""
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"alert rules file {path} is not valid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(
            f"alert rules file {path} must be a mapping with 'rules:' (and optional 'channels:')"
        )
    return doc


def write_document(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically (temp file + rename), so a running stage never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
    ) as tmp:
        tmp.write(body)
    os.replace(tmp.name, path)


def load_rules(path: Path, *, resolve: EntityResolver | None = None) -> RuleBook:
    """Load and validate; raises ConfigError only when the file as a whole is unusable.

    `resolve` widens each rule's `entity:` terms to the canonical names of the value (see
    `query.resolve_entities`); the CLI wiring passes one built on the extractor's gazetteer."""
    return build_book(read_document(path), base=path.parent, resolve=resolve)


def build_book(
    doc: dict[str, Any], base: Path = Path("."), *, resolve: EntityResolver | None = None
) -> RuleBook:
    """Validate a parsed document into a RuleBook."""
    book = RuleBook()
    for name, spec in (doc.get("channels") or {}).items():
        try:
            book.channels[str(name)] = ChannelSpec.model_validate(
                spec if isinstance(spec, dict) else {"url": spec}
            )
        except ValidationError as exc:
            book.problems.append(RuleProblem(f"channel {name}", _first_error(exc)))
    if doc.get("secrets_file"):
        book.secrets_file = base / str(doc["secrets_file"])
    seen: set[str] = set()
    for index, raw in enumerate(doc.get("rules") or []):
        label = (
            str(raw.get("name", f"rule #{index + 1}"))
            if isinstance(raw, dict)
            else f"rule #{index + 1}"
        )
        try:
            loaded = validate_rule(raw, book.channels, resolve=resolve)
        except (ValidationError, QueryError, ValueError) as exc:
            message = _first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            book.problems.append(RuleProblem(label, message))
            continue
        if loaded.rule.name in seen:
            book.problems.append(RuleProblem(label, "duplicate rule name: rename one of them"))
            continue
        seen.add(loaded.rule.name)
        book.warnings.extend(f"{label}: {w}" for w in loaded.compiled.query.warnings)
        book.rules.append(loaded)
    return book


def validate_rule(
    raw: object, channels: dict[str, ChannelSpec], *, resolve: EntityResolver | None = None
) -> LoadedRule:
    """One rule: schema, query and channel references; raises ValidationError/QueryError/ValueError.

    With `resolve`, the query's `entity:` terms also match the names it resolves them to."""
    rule = Rule.model_validate(raw)
    for channel in rule.channels:
        if channel not in channels and "://" not in channel:
            raise ValueError(
                f"unknown channel {channel!r}: define it under 'channels:' or give an apprise URL"
            )
    parsed = parse_query(rule.query)
    if resolve is not None:
        parsed = resolve_entities(parsed, resolve)
    return LoadedRule(rule, compile_query(rule.name, parsed))


def _first_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "rule"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
