"""deploy/local/services.py without starting anything: configs, ids, state handling, version pins."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

LOCAL = Path(__file__).resolve().parents[2] / "deploy" / "local"


def load(name: str) -> ModuleType:
    """Import a sibling module of the script the way the script does (its dir on sys.path)."""
    if str(LOCAL) not in sys.path:
        sys.path.insert(0, str(LOCAL))
    spec = importlib.util.spec_from_file_location(name, LOCAL / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def test_cluster_ids_are_22_char_base64url_never_starting_with_a_dash() -> None:
    kafka = load("local_kafka")
    ids = {kafka.cluster_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", cid) and not cid.startswith("-") for cid in ids)


def test_templates_render_every_placeholder(tmp_path: Path) -> None:
    common = load("svc_common")
    common.render(
        "kafka-server.properties",
        tmp_path / "server.properties",
        port=1,
        controller_port=2,
        data_dir=tmp_path / "data",
    )
    common.render(
        "elasticsearch.yml",
        tmp_path / "es.yml",
        cluster_name="c",
        port=3,
        transport_port=4,
        data_dir="/d",
        logs_dir="/l",
    )
    for path in (tmp_path / "server.properties", tmp_path / "es.yml"):
        assert "${" not in path.read_text()
    props = dict(
        line.split("=", 1)
        for line in (tmp_path / "server.properties").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:2"
    assert props["auto.create.topics.enable"] == "false"


def test_compose_file_pins_the_same_versions_as_the_local_script() -> None:
    versions = load("versions")
    compose = (LOCAL.parent / "docker-compose.yml").read_text()
    assert f"apache/kafka:{versions.KAFKA}" in compose
    assert f"elasticsearch/elasticsearch:{versions.ELASTICSEARCH}" in compose
    assert f"kibana/kibana:{versions.ELASTICSEARCH}" in compose


def test_status_and_down_on_an_empty_run_dir_say_nothing_is_recorded(tmp_path: Path) -> None:
    for command in ("status", "down"):
        proc = subprocess.run(
            [sys.executable, str(LOCAL / "services.py"), command, "--run-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 3
        assert "nothing recorded" in proc.stderr


@pytest.mark.parametrize("alive_pid", [True, False], ids=["running", "gone"])
def test_alive_checks_pid_and_start_time(alive_pid: bool) -> None:
    common = load("svc_common")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        ticks = common.proc_start_ticks(proc.pid)
        if not alive_pid:
            proc.kill()
            proc.wait()
        assert common.alive(proc.pid, ticks) is alive_pid
        assert (
            common.alive(proc.pid, (ticks or 0) + 1) is False
        )  # same pid, other process: not ours
    finally:
        proc.kill()
        proc.wait()
