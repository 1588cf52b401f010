"""Typed settings: built once from defaults, an optional TOML file and `NEWSWATCH_*` variables.

Precedence (highest first): environment, the file named by `NEWSWATCH_CONFIG` (or `--config`),
defaults. Nested groups use `__` in variable names, e.g. `NEWSWATCH_FETCH__TIMEOUT_S=10`.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from newswatch.errors import ConfigError

_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)([^:@/]*):[^@/]*@", re.IGNORECASE)
"""user:password@ in a URL; the password part is masked in dumps."""

_REFRESH_INTERVAL = re.compile(r"-1|[1-9][0-9]*(ms|s|m|h)")
"""An Elasticsearch time value that `index.refresh_interval` takes (0 would refresh non-stop)."""

_CONFIG_FILE: ContextVar[Path | None] = ContextVar("newswatch_config_file", default=None)
"""The settings file of the `load_settings` call in progress (never a process-wide change)."""


def default_home() -> Path:
    """Where embedded data lives unless `NEWSWATCH_DATA_DIR` says otherwise (XDG data dir)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "newswatch"


class FetchSettings(BaseModel):
    """How collectors talk to feed servers."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = 20.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    per_host_delay_s: float = 1.0
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
    allow_private_hosts: bool = False
    allow_file_urls: bool = True


class ScheduleSettings(BaseModel):
    """Polling cadence: adaptive between floor and cap, with jitter and failure back-off."""

    model_config = ConfigDict(frozen=True)

    interval_s: float = 900.0
    min_interval_s: float = 300.0
    max_interval_s: float = 6 * 3600.0
    jitter_fraction: float = 0.1
    max_backoff_s: float = 24 * 3600.0


class KafkaSettings(BaseModel):
    """Kafka client options passed through for real clusters (SASL/SSL); partitions per topic."""

    model_config = ConfigDict(frozen=True)

    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = Field(default=None, description="client certificate (mutual TLS)")
    ssl_keyfile: str | None = Field(default=None, description="client certificate's private key")
    ssl_password: SecretStr | None = Field(default=None, description="password of ssl_keyfile")
    partitions: int = 6
    retention_hours: int = 24 * 7
    group_prefix: str = "newswatch"


class ElasticSettings(BaseModel):
    """Elasticsearch connection and index naming."""

    model_config = ConfigDict(frozen=True)

    index_prefix: str = "newswatch"
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    analyzer: str = Field(
        default="standard", description="'english' needs the analysis-common module"
    )
    replicas: int = 0
    bulk_docs: int = 500
    bulk_interval_s: float = 1.0
    refresh_interval: str = Field(
        default="500ms",
        description="how soon indexed articles become searchable (ES index.refresh_interval, "
        "e.g. 1s; -1 = only on demand): the largest share of Kafka -> search latency at light "
        "load. 500ms rather than ES's 1s because news volumes (tens of articles/s) make the "
        "extra refreshes cheap and live dashboards and alerts want the lower latency; raise it "
        "for bulk backfills",
    )
    retention_days: int = 90
    rollover_max_age: str = Field(
        default="7d", description="`newswatch maintain` starts a new index this often"
    )
    rollover_max_primary_shard_size: str = "25gb"

    @field_validator("refresh_interval")
    @classmethod
    def _es_time_value(cls, value: str) -> str:
        if not _REFRESH_INTERVAL.fullmatch(value):
            raise ValueError(
                f"refresh_interval {value!r} is not an Elasticsearch interval: use e.g. 1s, 500ms "
                "or 2m (or -1 to refresh only on demand)"
            )
        return value


class VolumeSettings(BaseModel):
    """The volume-drop signal: the last 24 h against the median of the previous days' 24 h counts."""

    model_config = ConfigDict(frozen=True)

    baseline_days: int = Field(
        default=14, ge=1, description="days of history the usual rate is the median of"
    )
    min_history_days: int = Field(
        default=3, ge=1, description="no judgement before this many full days"
    )
    min_daily_articles: float = Field(
        default=5.0, ge=0, description="feeds usually below this per day are never flagged"
    )
    drop_ratio: float = Field(
        default=0.25, gt=0, le=1, description="flag when the last 24 h < ratio x usual"
    )


class Settings(BaseSettings):
    """Everything newswatch reads from its environment, frozen after start-up."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSWATCH_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_home)
    feeds_file: Path | None = Field(default=None, description="default: <data_dir>/feeds.toml")
    alerts_file: Path | None = Field(
        default=None, description="alert rules YAML; default: <data_dir>/alerts.yaml"
    )
    bus: str = Field(default="embedded", description="'embedded' or kafka://host:port[,host:port]")
    store: str = Field(default="embedded", description="'embedded' or http(s)://host:9200")
    batch_size: int = 64
    seen_ids_max: int = 1_000_000
    log_json: bool = False
    metrics_port: int = Field(
        default=0, description="serve Prometheus /metrics here from long-running commands; 0 = off"
    )
    bus_retention_days: float = Field(
        default=7.0,
        ge=0,
        description="embedded log: keep raw/enriched/alerts records this long; 0 = forever",
    )
    dlq_retention_days: float = Field(
        default=30.0, ge=0, description="embedded log: keep dead letters this long; 0 = forever"
    )
    store_retention_days: float = Field(
        default=90.0,
        ge=0,
        description="embedded store: drop articles published longer ago; 0 = forever",
    )
    archive_retention_days: int = Field(
        default=365,
        ge=0,
        description="raw archive: drop live bodies fetched longer ago; 0 = forever",
    )
    archive_max_bytes: int = Field(
        default=0,
        ge=0,
        description="raw archive: trim the oldest bodies past this size; 0 = no bound",
    )
    volume_history_days: int = Field(
        default=60, ge=1, description="hourly per-feed counts kept for the volume signal"
    )
    maintain_interval_s: float = Field(
        default=3600.0, gt=0, description="how often `run` applies retention"
    )
    fetch: FetchSettings = FetchSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    kafka: KafkaSettings = KafkaSettings()
    elastic: ElasticSettings = ElasticSettings()
    volume: VolumeSettings = VolumeSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init kwargs, then environment, then the TOML file named by NEWSWATCH_CONFIG."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _CONFIG_FILE.get() or os.environ.get("NEWSWATCH_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @property
    def feeds_path(self) -> Path:
        """The feed list file in use."""
        return self.feeds_file or self.data_dir / "feeds.toml"

    @property
    def uses_kafka(self) -> bool:
        return self.bus.startswith("kafka://")

    @property
    def kafka_bootstrap(self) -> list[str]:
        """Bootstrap servers from `kafka://h1:p1,h2:p2`."""
        return [s for s in self.bus.removeprefix("kafka://").split(",") if s]

    @property
    def uses_elasticsearch(self) -> bool:
        return self.store.startswith(("http://", "https://"))

    def masked(self) -> dict[str, Any]:
        """A JSON-able dump with every secret replaced by '**********' (for `config show`),
        passwords inside the bus and store URLs included."""
        dump = self.model_dump(mode="json")
        for key in ("bus", "store"):
            dump[key] = _USERINFO.sub(r"\1\2:**********@", dump[key])
        return dump


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings once (CLI start-up); `config` wins over NEWSWATCH_CONFIG. Nothing global changes."""
    path = config or (
        Path(os.environ["NEWSWATCH_CONFIG"]) if os.environ.get("NEWSWATCH_CONFIG") else None
    )
    if path is not None and not path.is_file():
        raise ConfigError(
            f"settings file {path} does not exist: fix --config / NEWSWATCH_CONFIG or create it"
        )
    token = _CONFIG_FILE.set(path)
    try:
        return Settings(**overrides)
    finally:
        _CONFIG_FILE.reset(token)
