"""Settings: environment and file precedence, masking, and no clash with the local-servers exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch import Settings, load_settings


def test_environment_overrides_file_and_nested_groups_use_double_underscore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "newswatch.toml"
    config.write_text('bus = "kafka://file:9092"\nbatch_size = 7\n[fetch]\ntimeout_s = 3.5\n', encoding="utf-8")
    monkeypatch.setenv("NEWSWATCH_BATCH_SIZE", "9")
    monkeypatch.setenv("NEWSWATCH_KAFKA__PARTITIONS", "3")
    settings = load_settings(config)
    assert (settings.bus, settings.batch_size, settings.fetch.timeout_s) == ("kafka://file:9092", 9, 3.5)
    assert settings.kafka.partitions == 3 and settings.kafka_bootstrap == ["file:9092"]


def test_secrets_are_masked_in_the_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_ELASTIC__API_KEY", "very-secret-key")
    dumped = str(Settings().masked())
    assert "very-secret-key" not in dumped and "**********" in dumped


@pytest.mark.parametrize("name", ["NEWSWATCH_LOCAL_KAFKA", "NEWSWATCH_LOCAL_ES"])
def test_local_services_exports_do_not_break_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`eval "$(deploy/local/services.py up)"` exports these; every newswatch command must still start
    (an export named NEWSWATCH_KAFKA once collided with the nested `kafka` settings group)."""
    monkeypatch.setenv(name, "127.0.0.1:9092")
    assert Settings().bus == "embedded"
