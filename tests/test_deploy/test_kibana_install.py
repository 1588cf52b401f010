"""`newswatch kibana install` against a stand-in for Kibana's import API (pytest-httpserver).

Kibana itself cannot run here; the stand-in checks what Kibana checks (method, path, overwrite,
kbn-xsrf, auth, one multipart `file`) and answers as Kibana does, so the command's request and its
handling of success, partial failure and refused credentials are tested for real over HTTP.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from newswatch.cli import kibana
from newswatch.cli.context import AppContext
from newswatch.settings import ElasticSettings, Settings


class FakeKibana:
    """Records import requests; answers with `answer` (status, body)."""

    def __init__(self, answer: tuple[int, dict[str, Any]] = (200, {})) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        upload = request.files.get("file")
        objects = [json.loads(line) for line in upload.read().decode().splitlines()] if upload else []
        self.requests.append({"path": request.path, "args": dict(request.args), "headers": dict(request.headers),
                              "objects": objects})
        status, body = self.answer
        if status == 200 and not body:
            body = {"success": True, "successCount": len(objects), "successResults": []}
        return Response(json.dumps(body), status=status, content_type="application/json")


def flat(output: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(output.split())


def run(server: HTTPServer, fake: FakeKibana, *args: str, prefix: str = "newswatch") -> Any:
    server.expect_request("/api/saved_objects/_import", method="POST").respond_with_handler(fake)
    server.expect_request("/s/newsroom/api/saved_objects/_import", method="POST").respond_with_handler(fake)
    settings = Settings(elastic=ElasticSettings(index_prefix=prefix))
    return CliRunner().invoke(kibana.app, ["install", "--kibana-url", server.url_for("/").rstrip("/"), *args],
                              obj=AppContext(settings=settings), catch_exceptions=False)


def test_imports_every_object_with_overwrite_and_xsrf(httpserver: HTTPServer) -> None:
    fake = FakeKibana()
    result = run(httpserver, fake, "--api-key", "c2VjcmV0")
    assert result.exit_code == 0, result.output
    assert "imported 18 saved objects" in result.output
    (request,) = fake.requests
    assert request["args"] == {"overwrite": "true"}
    assert request["headers"]["Kbn-Xsrf"]
    assert request["headers"]["Authorization"] == "ApiKey c2VjcmV0"
    assert {o["type"] for o in request["objects"]} == {"index-pattern", "visualization", "search", "dashboard"}


def test_basic_auth_space_and_prefix(httpserver: HTTPServer) -> None:
    fake = FakeKibana()
    result = run(httpserver, fake, "--username", "elastic", "--password", "pw", "--space", "newsroom", prefix="acme")
    assert result.exit_code == 0, result.output
    (request,) = fake.requests
    assert request["path"] == "/s/newsroom/api/saved_objects/_import"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"elastic:pw").decode()
    titles = {o["attributes"]["title"] for o in request["objects"] if o["type"] == "index-pattern"}
    assert titles == {"acme-articles", "acme-alerts"}


def test_fails_unless_kibana_says_success(httpserver: HTTPServer) -> None:
    fake = FakeKibana((200, {"success": False, "successCount": 17, "errors": [
        {"id": "nw-vis-top-people", "type": "visualization", "title": "Top people",
         "error": {"type": "missing_references"}}]}))
    result = run(httpserver, fake)
    assert result.exit_code == 1
    assert "visualization/nw-vis-top-people (Top people): missing_references" in flat(result.output)


@pytest.mark.parametrize(("status", "expected"), [(401, "refused the credentials"), (500, "answered 500")])
def test_http_errors_say_what_to_fix(httpserver: HTTPServer, status: int, expected: str) -> None:
    result = run(httpserver, FakeKibana((status, {"error": "x"})))
    assert result.exit_code == 1 and expected in flat(result.output)


def test_unreachable_kibana_and_missing_file(tmp_path: Path) -> None:
    settings = Settings()
    runner = CliRunner()
    down = runner.invoke(kibana.app, ["install", "--kibana-url", "http://127.0.0.1:9"], obj=AppContext(settings=settings))
    assert down.exit_code == 1 and "cannot reach Kibana" in flat(down.output)
    missing = runner.invoke(kibana.app, ["install", "--kibana-url", "http://127.0.0.1:9", "--file",
                                         str(tmp_path / "none.ndjson")], obj=AppContext(settings=settings))
    assert missing.exit_code == 1 and "no saved objects" in flat(missing.output)


def _load_sh(server: HTTPServer, fake: FakeKibana, **env: str) -> Any:
    import os
    import shutil
    import subprocess

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed; load.sh needs it")
    server.expect_request("/api/status").respond_with_json({"status": {"overall": {"level": "available"}}})
    server.expect_request("/api/saved_objects/_import", method="POST").respond_with_handler(fake)
    script = Path(__file__).resolve().parents[2] / "deploy" / "kibana" / "load.sh"
    return subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "KIBANA_URL": server.url_for("/").rstrip("/"), **env})


def test_load_sh_imports_like_the_cli(httpserver: HTTPServer) -> None:
    fake = FakeKibana()
    proc = _load_sh(httpserver, fake, NEWSWATCH_INDEX_PREFIX="acme", KIBANA_API_KEY="k")
    assert proc.returncode == 0, proc.stderr
    (request,) = fake.requests
    assert request["args"] == {"overwrite": "true"} and request["headers"]["Kbn-Xsrf"]
    assert request["headers"]["Authorization"] == "ApiKey k"
    assert len(request["objects"]) == 18
    assert {o["attributes"]["title"] for o in request["objects"] if o["type"] == "index-pattern"} == {
        "acme-articles", "acme-alerts"}


def test_load_sh_fails_unless_success(httpserver: HTTPServer) -> None:
    proc = _load_sh(httpserver, FakeKibana((200, {"success": False, "errors": []})))
    assert proc.returncode == 1 and "import failed" in proc.stderr
