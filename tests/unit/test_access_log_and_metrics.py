"""The access log and the request metrics keep their output while the request path only appends to memory."""

from __future__ import annotations

import asyncio
import logging

import orjson

from hokusai_auth.ops.metrics import Metrics
from hokusai_auth.web.access_log import FLUSH_AT, AccessLog

KEY = "hk_live_AbCdefghijklmnopqrstuvwxyz0123456789AB"


def _lines(chunks: list[bytes]) -> list[dict[str, object]]:
    return [orjson.loads(line) for chunk in chunks for line in chunk.splitlines()]


async def test_lines_are_written_together_shortly_after_and_look_like_every_log_line() -> None:
    written: list[bytes] = []
    log = AccessLog("hokusai_auth.access", sink=written.append)
    logging.getLogger("hokusai_auth.access").setLevel(logging.INFO)
    for number in range(3):
        log.record(
            1_764_650_000.5, f"req-{number}", "POST", f"/prediction/{KEY}", "prediction:other", 200, 0.0012, None
        )
    assert written == [], "nothing is written on the request path"
    await asyncio.sleep(0.4)
    assert len(written) == 1, "one write for the batch"
    first = _lines(written)[0]
    assert first == {
        "ts": "2025-12-02T04:33:20.500Z", "level": "info", "logger": "hokusai_auth.access", "msg": "request",
        "request_id": "req-0", "method": "POST", "path": "/prediction/hk_live_AbC***", "route": "prediction:other",
        "status": 200, "duration_ms": 1.2, "client_ip": None,
    }  # fmt: skip


async def test_a_full_buffer_is_written_at_once() -> None:
    written: list[bytes] = []
    log = AccessLog("hokusai_auth.access", sink=written.append)
    for _ in range(FLUSH_AT):
        log.record(0.0, "r", "GET", "/health", "/health", 200, 0.0, "127.0.0.1")
    assert len(_lines(written)) == FLUSH_AT
    assert log.flush() == 0


def test_the_logger_level_turns_the_access_log_off() -> None:
    logger = logging.getLogger("hokusai_auth.test-access")
    log = AccessLog("hokusai_auth.test-access", sink=lambda _: None)
    logger.setLevel(logging.WARNING)
    assert not log.enabled
    logger.setLevel(logging.INFO)
    assert log.enabled


def test_metrics_render_the_same_families_from_plain_counts() -> None:
    metrics = Metrics()
    for seconds in (0.0004, 0.0005, 0.003, 7.0):
        metrics.observe("POST", "/api/v1/keys/validate", 200, seconds)
    metrics.observe("POST", "/api/v1/keys/validate", 401, 0.001)
    text = metrics.render().decode()
    assert 'hokusai_http_requests_total{method="POST",route="/api/v1/keys/validate",status="200"} 4.0' in text
    assert 'hokusai_http_requests_total{method="POST",route="/api/v1/keys/validate",status="401"} 1.0' in text
    series = 'hokusai_http_request_duration_seconds_bucket{le="%s",method="POST",route="/api/v1/keys/validate"}'
    assert f"{series % '0.0005'} 2.0" in text, "a bucket's bound is inclusive"
    assert f"{series % '0.001'} 3.0" in text
    assert f"{series % '0.005'} 4.0" in text
    assert f"{series % '5.0'} 4.0" in text
    assert f"{series % '+Inf'} 5.0" in text
    assert 'hokusai_http_request_duration_seconds_count{method="POST",route="/api/v1/keys/validate"} 5.0' in text
