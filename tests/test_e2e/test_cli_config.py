"""`newswatch config show|check` as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.test_e2e.conftest import run_newswatch

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _newswatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_newswatch(env, *args, timeout=120)


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    result = _newswatch(
        {"NEWSWATCH_DATA_DIR": str(tmp_path), "NEWSWATCH_ELASTIC__PASSWORD": "hunter2-secret"},
        "config",
        "show",
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["elastic"]["password"] == "**********"
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert shown["data_dir"] == str(tmp_path)


def test_config_check_reports_each_failure_with_its_fix(tmp_path: Path) -> None:
    result = _newswatch(
        {"NEWSWATCH_DATA_DIR": str(tmp_path), "NEWSWATCH_STORE": "http://127.0.0.1:9"},
        "config",
        "check",
    )
    assert result.returncode == 1
    assert "FAIL  feed list" in result.stdout and "newswatch feeds add" in result.stdout
    assert "ok  bus" in result.stdout
    assert "FAIL  store" in result.stdout and "services.py up" in result.stdout
    assert "Traceback" not in result.stderr


def test_config_check_passes_on_the_demo_setup(tmp_path: Path) -> None:
    result = _newswatch(
        {
            "NEWSWATCH_DATA_DIR": str(tmp_path),
            "NEWSWATCH_FEEDS_FILE": str(ROOT / "seeds" / "feeds.toml"),
        },
        "config",
        "check",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 feeds (6 enabled)" in result.stdout


def test_config_check_validates_the_alert_rules(tmp_path: Path) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        "rules:\n  - name: good\n    query: 'topic:defence'\n"
        "  - name: broken\n    query: 'topic:defence AND ('\n",
        encoding="utf-8",
    )
    env = {
        "NEWSWATCH_DATA_DIR": str(tmp_path),
        "NEWSWATCH_FEEDS_FILE": str(ROOT / "seeds" / "feeds.toml"),
        "NEWSWATCH_ALERTS_FILE": str(rules),
    }
    result = _newswatch(env, "config", "check")
    assert result.returncode == 1
    assert "FAIL  alert rules" in result.stdout and "broken" in result.stdout
    assert "ok  feed list" in result.stdout
    demo = {**env, "NEWSWATCH_ALERTS_FILE": str(ROOT / "seeds" / "demo-alerts.yaml")}
    passed = _newswatch(demo, "config", "check")
    assert passed.returncode == 0, passed.stdout
    assert "ok  alert rules: 3 rules" in passed.stdout


def test_an_invalid_settings_file_is_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "newswatch.toml"
    bad.write_text('[fetch]\ntimeout_s = "soon"\n', encoding="utf-8")
    result = _newswatch(
        {"NEWSWATCH_DATA_DIR": str(tmp_path), "NEWSWATCH_CONFIG": str(bad)}, "config", "check"
    )
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "fetch.timeout_s" in result.stderr and "Traceback" not in result.stderr
