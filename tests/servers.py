"""Pytest plugin: real Kafka and Elasticsearch for the integration tests, started once per session.

Fixtures
    kafka_bootstrap     "127.0.0.1:PORT" of a Kafka broker shared by the session
    es_url              "http://127.0.0.1:PORT" of an Elasticsearch node shared by the session
    unique_name         "nw-test-<8 hex>", valid as topic, group, index and alias name
    name_factory        callable returning a new unique name per call (several per test)
    private_kafka       a broker of the test's own (LocalService), for tests that stop/restart it
    private_elasticsearch  the same for Elasticsearch
    bus                 parametrised: EmbeddedBus and KafkaBus, for contract tests of both

`NEWSWATCH_LOCAL_KAFKA` / `NEWSWATCH_LOCAL_ES`, when set, point at running servers that are reused and never
stopped. Otherwise the first test that needs a server runs `deploy/local/services.py up` once for
every server the collected tests need (in parallel) in a private run dir, and `down` at the end.
Under `CI=true` a server that does not start FAILS the tests with its log tail; elsewhere they skip
with the reason and the fix. Tests that use these fixtures are marked `integration` automatically.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "deploy" / "local" / "services.py"
KAFKA, ES = "kafka", "elasticsearch"
ENV_VAR = {KAFKA: "NEWSWATCH_LOCAL_KAFKA", ES: "NEWSWATCH_LOCAL_ES"}
FLAG = {KAFKA: "--kafka-only", ES: "--es-only"}
SERVER_FIXTURES = {
    "kafka_bootstrap": KAFKA,
    "es_url": ES,
    "private_kafka": KAFKA,
    "private_elasticsearch": ES,
}
START_TIMEOUT_S = 900  # a cold start downloads ~150 MB and starts two JVMs on 2 cores


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(what: str, detail: str) -> None:
    """Fail under CI (a run that tested nothing must not pass); skip with the fix elsewhere."""
    if in_ci():
        pytest.fail(
            f"{what} could not be started (CI=true makes this a failure):\n{detail}", pytrace=False
        )
    first = detail.strip().splitlines()[0] if detail.strip() else "no output"
    pytest.skip(
        f"{what} unavailable ({first}). Fix: run `.venv/bin/python {SCRIPT.relative_to(REPO)} up` "
        "to see why, or export NEWSWATCH_LOCAL_KAFKA / NEWSWATCH_LOCAL_ES to point at running servers"
    )


class LocalService:
    """Servers run by deploy/local/services.py in one run dir: up, stop (keeping data), down."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.addresses: dict[str, str] = {}

    def _run(self, command: str, names: list[str]) -> subprocess.CompletedProcess[str]:
        flags = [FLAG[names[0]]] if len(names) == 1 else []
        return subprocess.run(
            [sys.executable, str(SCRIPT), command, *flags, "--run-dir", str(self.run_dir)],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )

    def up(self, names: list[str]) -> str | None:
        """Start (or restart) these servers; None when ready, else the script's error output."""
        try:
            proc = self._run("up", names)
        except subprocess.TimeoutExpired:
            return (
                f"services.py up did not finish within {START_TIMEOUT_S} s (run dir {self.run_dir})"
            )
        if proc.returncode != 0:
            return f"{proc.stderr}\n(exit {proc.returncode}, run dir {self.run_dir})"
        for line in proc.stdout.splitlines():
            if line.startswith("export ") and "=" in line:
                var, value = line.removeprefix("export ").split("=", 1)
                for name, env in ENV_VAR.items():
                    if var == env:
                        self.addresses[name] = value
        return None

    def stop(self, names: list[str]) -> None:
        """Stop the servers but keep their data and ports: a later `up` restarts the same ones."""
        self._run("stop", names)

    def down(self) -> None:
        """Stop everything recorded in the run dir and delete it."""
        if self.run_dir.exists():
            self._run("down", [KAFKA, ES])
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _new_run_dir(label: str) -> Path:
    # /tmp, not the pytest tmp_path under /root: the Elasticsearch user must be able to read it.
    path = Path(tempfile.mkdtemp(prefix=f"newswatch-{label}-", dir="/tmp"))
    path.chmod(0o755)
    return path


class SessionServers:
    """The session's shared servers: reused from the environment or started on first need."""

    def __init__(self, needed: set[str]) -> None:
        self.needed = needed
        self.service: LocalService | None = None
        self.errors: dict[str, str] = {}

    def address(self, name: str) -> str:
        if env := os.environ.get(ENV_VAR[name]):
            return env
        if name in self.errors:
            _unavailable(name, self.errors[name])
        if self.service is None:
            self.service = LocalService(_new_run_dir("pytest"))
            atexit.register(self.service.down)  # also on an interrupted session
        if name not in self.service.addresses:
            # Start every server the collected tests need in one go, so they start in parallel.
            wanted = sorted(
                {name}
                | {n for n in self.needed if not os.environ.get(ENV_VAR[n])}
                - set(self.service.addresses)
                - set(self.errors)
            )
            error = self.service.up(wanted)
            if error is not None:
                self.errors.update(dict.fromkeys(wanted, error))
                _unavailable(name, error)
        return self.service.addresses[name]

    def close(self) -> None:
        if self.service is not None:
            self.service.down()


_NEEDED: set[str] = set()

# The warning filters for kafka-python's leaked refused-connection sockets live in pyproject.toml.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a server fixture `integration`; remember which servers to start."""
    for item in items:
        used = {
            SERVER_FIXTURES[f] for f in getattr(item, "fixturenames", ()) if f in SERVER_FIXTURES
        }
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("bus") == "kafka":
            used.add(KAFKA)
        if used:
            item.add_marker(pytest.mark.integration)
            _NEEDED.update(used)


@pytest.fixture(scope="session")
def _session_servers() -> Iterator[SessionServers]:
    servers = SessionServers(set(_NEEDED))
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(_session_servers: SessionServers) -> str:
    """`host:port` of the session's Kafka broker (auto-create off: create your topics)."""
    return _session_servers.address(KAFKA)


@pytest.fixture(scope="session")
def es_url(_session_servers: SessionServers) -> str:
    """URL of the session's Elasticsearch node (integ-test zip: probe with cluster health, not GET /)."""
    return _session_servers.address(ES)


def new_name() -> str:
    """`nw-test-<8 hex>`: lower case, valid for Kafka topics and groups and ES indices and aliases."""
    return f"nw-test-{secrets.token_hex(4)}"


@pytest.fixture
def unique_name() -> str:
    """A fresh name for this test's topic, group or index."""
    return new_name()


@pytest.fixture
def name_factory() -> Callable[[], str]:
    """Call it for each further unique name a test needs."""
    return new_name


def _private(label: str, name: str) -> Iterator[LocalService]:
    service = LocalService(_new_run_dir(label))
    try:
        error = service.up([name])
        if error is not None:
            _unavailable(f"a private {name}", error)
        yield service
    finally:
        service.down()


@pytest.fixture
def private_kafka() -> Iterator[LocalService]:
    """A broker of this test's own; `.addresses["kafka"]`, `.stop(["kafka"])`, `.up(["kafka"])`."""
    yield from _private("kafka", KAFKA)


@pytest.fixture
def private_elasticsearch() -> Iterator[LocalService]:
    """A node of this test's own; `.addresses["elasticsearch"]`, `.stop([...])`, `.up([...])`."""
    yield from _private("es", ES)


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.integration)])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The same Bus contract over EmbeddedBus and KafkaBus (topics: create them with unique names)."""
    if request.param == "embedded":
        from newswatch.bus import EmbeddedBus

        embedded = EmbeddedBus(tmp_path / "bus.sqlite")
        yield embedded
        embedded.close()
        return
    from newswatch.kafka_bus import KafkaBus
    from newswatch.settings import KafkaSettings

    kafka = KafkaBus(
        [request.getfixturevalue("kafka_bootstrap")], KafkaSettings(), client_id=new_name()
    )
    yield kafka
    kafka.close()
