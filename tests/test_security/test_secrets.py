"""Issue 8: secrets never appear in logs, status output or error messages, even when the servers
they are for cannot be reached (the moment clients like to print their configuration)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch import KafkaSettings
from newswatch.kafka_bus import KafkaBus, _client_config

API_KEY = "ES-APIKEY-c2VjcmV0LWtleQ"
ES_PASSWORD = "es-pass-9f3b1d"
SASL_PASSWORD = "sasl-pass-77a0c4"
URL_PASSWORD = "url-pass-41e9"
SECRETS = (API_KEY, ES_PASSWORD, SASL_PASSWORD, URL_PASSWORD)


def _newswatch(tmp_path: Path, env: dict[str, str], *args: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    result = subprocess.run(
        [sys.executable, "-m", "newswatch", "--json-logs", "-v", *args],
        env={**clean, "NEWSWATCH_DATA_DIR": str(tmp_path), "COLUMNS": "200", **env},
        capture_output=True, text=True, timeout=180, check=False,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"NEWSWATCH_STORE": "https://127.0.0.1:9", "NEWSWATCH_ELASTIC__API_KEY": API_KEY}, id="es-api-key"),
        pytest.param(
            {"NEWSWATCH_STORE": "http://127.0.0.1:9", "NEWSWATCH_ELASTIC__USERNAME": "elastic",
             "NEWSWATCH_ELASTIC__PASSWORD": ES_PASSWORD}, id="es-basic-auth"),
        pytest.param({"NEWSWATCH_STORE": f"http://elastic:{URL_PASSWORD}@127.0.0.1:9"}, id="es-credentials-in-url"),
        pytest.param(
            {"NEWSWATCH_BUS": "kafka://127.0.0.1:9", "NEWSWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
             "NEWSWATCH_KAFKA__SASL_MECHANISM": "PLAIN", "NEWSWATCH_KAFKA__SASL_USERNAME": "svc",
             "NEWSWATCH_KAFKA__SASL_PASSWORD": SASL_PASSWORD}, id="kafka-sasl"),
    ],
)
def test_no_secret_in_config_check_show_or_health_on_connection_errors(tmp_path: Path, env: dict[str, str]) -> None:
    for args in (("config", "check"), ("config", "show")):
        out = _newswatch(tmp_path, env, *args)
        assert "127.0.0.1:9" in out or "**********" in out, out[-2000:]  # the command did run
        leaked = [s for s in SECRETS if s in out]
        assert leaked == [], f"{args}: {leaked} in {out[-3000:]}"


def test_status_report_problems_carry_no_secret(tmp_path: Path) -> None:
    from newswatch import Settings
    from newswatch.cli.ops import maintain, status_report

    settings = Settings(
        data_dir=tmp_path, store=f"http://elastic:{URL_PASSWORD}@127.0.0.1:9",
        elastic={"api_key": API_KEY},  # type: ignore[arg-type]
    )
    text = repr(status_report(settings)) + repr(maintain(settings))
    assert [s for s in SECRETS if s in text] == []


def test_sasl_and_ssl_settings_reach_every_kafka_client() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="svc",
        sasl_password=SASL_PASSWORD, ssl_cafile="/etc/ssl/ca.pem",  # type: ignore[arg-type]
        ssl_certfile="/etc/ssl/client.pem", ssl_keyfile="/etc/ssl/client.key",
        ssl_password=ES_PASSWORD,  # type: ignore[arg-type]
    )
    config = _client_config(["broker:9093"], kafka, "newswatch-test", 1000)
    assert config["security_protocol"] == "SASL_SSL" and config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "svc" and config["sasl_plain_password"] == SASL_PASSWORD
    assert config["ssl_cafile"] == "/etc/ssl/ca.pem"
    assert (config["ssl_certfile"], config["ssl_keyfile"]) == ("/etc/ssl/client.pem", "/etc/ssl/client.key")
    assert config["ssl_password"] == ES_PASSWORD and ES_PASSWORD not in repr(kafka)
    bus = KafkaBus(["broker:9093"], kafka)
    for role in ("producer", "admin", "consumer-g"):  # the one helper every client is built from
        assert bus._config(role)["sasl_plain_password"] == SASL_PASSWORD
    assert SASL_PASSWORD not in repr(kafka) and SASL_PASSWORD not in str(kafka.model_dump(mode="json"))


def test_elasticsearch_api_key_basic_auth_and_tls_reach_the_client() -> None:
    """Issue 8: Elasticsearch over TLS with an API key or basic auth, for clusters not on localhost."""
    import base64

    from newswatch import ElasticSettings
    from sinks.elastic import make_client

    keyed = make_client(
        "https://es.example:9200",
        ElasticSettings(api_key=API_KEY, ca_certs="/etc/ssl/es-ca.pem"),  # type: ignore[arg-type]
    )
    node = keyed.transport.node_pool.all()[0].config
    assert keyed._headers["authorization"] == f"ApiKey {API_KEY}"
    assert (node.scheme, node.verify_certs, node.ca_certs) == ("https", True, "/etc/ssl/es-ca.pem")
    basic = make_client(
        "https://es.example:9200",
        ElasticSettings(username="elastic", password=ES_PASSWORD),  # type: ignore[arg-type]
    )
    expected = base64.b64encode(f"elastic:{ES_PASSWORD}".encode()).decode()
    assert basic._headers["authorization"] == f"Basic {expected}"
    assert API_KEY not in repr(ElasticSettings(api_key=API_KEY))  # type: ignore[arg-type]
    keyed.close()
    basic.close()
