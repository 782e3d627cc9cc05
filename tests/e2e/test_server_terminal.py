"""``hokusai-auth serve`` as a person at a terminal sees it: readable log lines, and the first-start banner last,
after every start-up line, so the admin token is not lost among them. Piped, the same server logs JSON."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.helpers import clean_env
from tests.terminal import Terminal

pytestmark = pytest.mark.slow

SERVER = str(Path(sys.executable).with_name("hokusai-auth"))
TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO |WARNING|ERROR|CRITICAL) [\w.]+: ")


def _serve(tmp_path: Path, **env: str) -> tuple[Terminal, str]:
    port = free_port()
    settings = clean_env(HOKUSAI_DATA_DIR=str(tmp_path / "data"), BCRYPT_ROUNDS="4", COLUMNS="120", **env)
    return Terminal([SERVER, "serve", "--port", str(port)], settings), f"http://127.0.0.1:{port}"


def test_on_a_terminal_logs_read_as_lines_and_the_banner_comes_last(tmp_path: Path) -> None:
    server, base = _serve(tmp_path)
    try:
        server.expect("Create your first API key:", timeout=60)
        server.expect("-d '", timeout=5)
        httpx.get(f"{base}/health?api_key=hk_live_secret")  # an access line, with its query dropped
        server.expect("GET /health", timeout=5)
    finally:
        server.interrupt()
        server.finish()
    shown = server.shown.replace("\r\n", "\n")
    before_banner, banner_and_after = shown.split("First start:", 1)
    log_lines = [line for line in before_banner.splitlines() if line.strip()]
    assert any("Uvicorn running on" in line or "Application startup complete" in line for line in log_lines)
    assert log_lines, shown
    assert log_lines[-2].startswith("Hokusai Auth on ")  # the banner's first two lines
    assert log_lines[-1].startswith("Dashboard: http://127.0.0.1:")
    for line in log_lines[:-2]:
        assert TEXT_LINE.match(line), f"not a readable log line: {line!r}"
        assert not line.lstrip().startswith("{")
    banner = banner_and_after.split("GET /health", 1)[0]
    assert "startup complete" not in banner, "no start-up line after the banner"
    token = json.loads((tmp_path / "data" / "secrets.json").read_text())["admin_token"]
    assert token in banner
    access = next(line for line in shown.splitlines() if "GET /health" in line)
    assert TEXT_LINE.match(access)
    assert "hk_live_secret" not in shown


def test_log_format_json_keeps_json_on_a_terminal(tmp_path: Path) -> None:
    server, _base = _serve(tmp_path, LOG_FORMAT="json")
    try:
        server.expect("Create your first API key:", timeout=60)
    finally:
        server.interrupt()
        server.finish()
    lines = [line.strip() for line in server.shown.replace("\r\n", "\n").split("First start:", 1)[0].splitlines()]
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(entry["logger"].startswith("uvicorn") for entry in logged)
