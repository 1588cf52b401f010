"""Kafka 4.x single-node KRaft from Maven Central jars: fetch, configure, format, start, probe."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import versions
from svc_common import (
    TEMPLATES,
    ServiceError,
    alive,
    cache_dir,
    file_lock,
    free_port,
    java_home,
    mvn,
    render,
    spawn,
    tail,
)


def fetch() -> Path:
    """The broker's classpath dir in the cache, copied by Maven once (a marker file says done)."""
    home = cache_dir() / f"kafka-{versions.KAFKA}"
    libs = home / "libs"
    with file_lock(cache_dir() / ".mvn.lock"):
        if (home / ".complete").exists():
            return libs
        home.mkdir(parents=True, exist_ok=True)
        render(
            "kafka-pom.xml",
            home / "pom.xml",
            kafka_version=versions.KAFKA,
            log4j_version=versions.LOG4J,
        )
        staging = home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        mvn(
            [
                "-f",
                str(home / "pom.xml"),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            f"Kafka {versions.KAFKA}",
            cwd=home,
        )
        jars = {p.name for p in staging.glob("*.jar")}
        if not any(j.startswith("slf4j-api-1.") for j in jars):
            raise ServiceError(
                f"Kafka {versions.KAFKA} no longer ships SLF4J 1.x ({sorted(jars)}): "
                "switch the binding in templates/kafka-pom.xml to log4j-slf4j2-impl"
            )
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        (home / ".complete").write_text(versions.KAFKA + "\n")
    return libs


def cluster_id() -> str:
    """16 random bytes, base64url without padding; never starting with '-' (the CLI reads flags)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _java(libs: Path) -> list[str]:
    return [str(java_home() / "bin" / "java"), "-cp", f"{libs}/*"]


def prepare(run: Path, libs: Path) -> dict[str, Any]:
    """Write configs into a fresh `run` dir, format the storage; returns the service record."""
    shutil.rmtree(run, ignore_errors=True)
    (run / "logs").mkdir(parents=True)
    rec: dict[str, Any] = {
        "dir": str(run),
        "port": free_port(),
        "controller_port": free_port(),
        "version": versions.KAFKA,
    }
    render(
        "kafka-server.properties",
        run / "server.properties",
        port=rec["port"],
        controller_port=rec["controller_port"],
        data_dir=run / "data",
    )
    shutil.copy(TEMPLATES / "kafka-log4j2.properties", run / "log4j2.properties")
    fmt = subprocess.run(
        [
            *_java(libs),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id(),
            "-c",
            str(run / "server.properties"),
            "--ignore-formatted",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if fmt.returncode != 0:
        raise ServiceError(
            f"Kafka storage format failed (exit {fmt.returncode}):\n{fmt.stdout}{fmt.stderr}"
        )
    return rec


def start(rec: dict[str, Any], libs: Path) -> None:
    """Start the broker JVM detached, on the record's ports and data dir (fresh or restarted)."""
    run = Path(rec["dir"])
    heap = os.environ.get("NEWSWATCH_KAFKA_HEAP", versions.KAFKA_HEAP)
    cmd = [
        str(java_home() / "bin" / "java"),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={run / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={run / 'logs'}",
        "-cp",
        f"{libs}/*",
        "kafka.Kafka",
        str(run / "server.properties"),
    ]
    rec["pid"], rec["start_ticks"] = spawn(
        cmd, env=dict(os.environ), cwd=run, out=run / "kafka.out"
    )


def logs(rec: dict[str, Any]) -> str:
    """Tails of the broker's console output and server.log, for error messages."""
    run = Path(rec["dir"])
    return tail(run / "kafka.out", 20) + "\n" + tail(run / "logs" / "server.log", 40)


def probe(bootstrap: str, timeout_s: float = 3.0) -> bool:
    """True when a KafkaAdminClient connects and the cluster lists one broker."""
    from kafka import KafkaAdminClient  # kafka-python, from the project's venv
    from kafka.errors import KafkaError

    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="newswatch-services-probe",
            request_timeout_ms=ms,
            bootstrap_timeout_ms=ms,
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        return len(admin.describe_cluster().get("brokers", [])) >= 1
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()


def wait_ready(rec: dict[str, Any], timeout_s: float) -> None:
    """Poll every 0.5 s until the broker answers; raise with the log tails on exit or timeout."""
    deadline = time.monotonic() + timeout_s
    bootstrap = f"127.0.0.1:{rec['port']}"
    while time.monotonic() < deadline:
        if not alive(rec["pid"], rec["start_ticks"]):
            raise ServiceError(f"Kafka exited during start-up.\n{logs(rec)}")
        if probe(bootstrap, timeout_s=2.0):
            return
        time.sleep(0.5)
    raise ServiceError(f"Kafka not ready on {bootstrap} after {timeout_s:.0f} s.\n{logs(rec)}")
