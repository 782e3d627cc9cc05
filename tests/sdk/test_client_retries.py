"""Retries, backoff and error mapping against a real HTTP server that misbehaves on purpose.

The server answers each path with a scripted sequence of (status, headers, body) and counts the attempts, so a
test can tell whether the client tried again, waited, or gave up."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hokusai import (
    AsyncAuthClient,
    AuthClient,
    AuthenticationError,
    DecodeError,
    HokusaiError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
)
from tests.conftest import free_port
from tests.servers import serving_in_thread

KEY_ID = "00000000-0000-4000-8000-000000000001"
KEY_JSON = {
    "key_id": KEY_ID, "name": "k", "key_prefix": "hk_live_AbC***", "user_id": "admin", "service_id": "platform",
    "scopes": [], "environment": "production", "is_active": True, "rate_limit_per_hour": 1000, "burst": None,
    "monthly_prediction_limit": None, "allowed_ips": None, "billing_plan": "free",
    "created_at": "2026-11-30T10:00:00Z", "expires_at": None, "last_used_at": None, "revoked_at": None,
    "rotated_from": None, "rotated_to": None,
}  # fmt: skip
FAST = RetryPolicy(attempts=3, backoff_s=0.01)
Answer = tuple[int, dict[str, str], Any]  # status, headers, body (JSON, or a str sent as HTML)
Script = list[Answer]


class ScriptedServer:
    def __init__(self) -> None:
        self.scripts: dict[str, Script] = {}
        self.attempts: dict[str, int] = {}

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)
        self.attempts[path] = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        self.attempts[path] = self.attempts.get(path, 0) + 1
        answers = self.scripts.get(path) or [(404, {}, {"detail": "Not Found", "code": "not_found"})]
        status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        kind = b"text/html" if isinstance(body, str) else b"application/json"
        header_list = [(b"content-type", kind), *((k.encode(), v.encode()) for k, v in headers.items())]
        await send({"type": "http.response.start", "status": status, "headers": header_list})
        await send({"type": "http.response.body", "body": raw})


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[ScriptedServer, str]]:
    app = ScriptedServer()
    with serving_in_thread(app) as url:
        yield app, url


def _client(url: str, policy: RetryPolicy = FAST) -> AuthClient:
    return AuthClient(url, admin_token="t", retry=policy)


UNAVAILABLE: Answer = (503, {}, {"detail": "Service temporarily unavailable", "code": "service_unavailable"})


def test_reads_are_retried_on_503_until_they_succeed(scripted: tuple[ScriptedServer, str], sdk_env: Path) -> None:
    app, url = scripted
    path = f"/api/v1/keys/{KEY_ID}"
    app.script(path, UNAVAILABLE, (502, {}, "<html>bad gateway</html>"), (200, {}, KEY_JSON))
    with _client(url) as client:
        assert client.get_key(KEY_ID).key_id == KEY_ID
    assert app.attempts[path] == 3


def test_creating_a_key_is_never_repeated_after_it_may_have_arrived(
    scripted: tuple[ScriptedServer, str], sdk_env: Path
) -> None:
    app, url = scripted
    app.script("/api/v1/keys", UNAVAILABLE, (201, {}, {}))
    with _client(url) as client, pytest.raises(ServiceUnavailableError):
        client.create_key("once", "platform")
    assert app.attempts["/api/v1/keys"] == 1, "a retry could mint a second key"


def test_4xx_is_never_retried(scripted: tuple[ScriptedServer, str], sdk_env: Path) -> None:
    app, url = scripted
    path = f"/api/v1/keys/{KEY_ID}"
    app.script(path, (401, {}, {"detail": "Invalid or missing admin token", "code": "unauthorized"}))
    with _client(url) as client, pytest.raises(AuthenticationError):
        client.get_key(KEY_ID)
    assert app.attempts[path] == 1


def test_429_raises_with_retry_after_and_is_not_retried(scripted: tuple[ScriptedServer, str], sdk_env: Path) -> None:
    app, url = scripted
    path = f"/api/v1/keys/{KEY_ID}"
    app.script(path, (429, {"Retry-After": "42"}, {"detail": "Rate limit exceeded", "code": "rate_limited"}))
    with _client(url) as client, pytest.raises(RateLimitError) as limited:
        client.get_key(KEY_ID)
    assert limited.value.retry_after == 42
    assert app.attempts[path] == 1


def test_a_short_retry_after_on_503_is_waited_for(scripted: tuple[ScriptedServer, str], sdk_env: Path) -> None:
    app, url = scripted
    path = f"/api/v1/keys/{KEY_ID}"
    app.script(path, (503, {"Retry-After": "1"}, UNAVAILABLE[2]), (200, {}, KEY_JSON))
    started = time.monotonic()
    with _client(url) as client:
        client.get_key(KEY_ID)
    assert time.monotonic() - started >= 0.9, "the service asked for a second"
    assert app.attempts[path] == 2


def test_a_long_retry_after_is_reported_not_slept(scripted: tuple[ScriptedServer, str], sdk_env: Path) -> None:
    app, url = scripted
    path = f"/api/v1/keys/{KEY_ID}"
    app.script(path, (503, {"Retry-After": "3600"}, UNAVAILABLE[2]))
    with _client(url) as client, pytest.raises(ServiceUnavailableError) as unavailable:
        client.get_key(KEY_ID)
    assert unavailable.value.retry_after == 3600
    assert app.attempts[path] == 1


def test_an_answer_from_something_else_is_named_as_such(scripted: tuple[ScriptedServer, str], sdk_env: Path) -> None:
    app, url = scripted
    path = f"/api/v1/keys/{KEY_ID}"
    app.script(path, (418, {}, "<html>I'm a proxy</html>"))
    with _client(url) as client, pytest.raises(HokusaiError, match="not a Hokusai auth service answer"):
        client.get_key(KEY_ID)
    app.script(path, (200, {}, "<html>login page</html>"))
    with _client(url) as client, pytest.raises(DecodeError, match="unexpected answer"):
        client.get_key(KEY_ID)


def test_an_unreachable_service_is_retried_then_named(sdk_env: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with _client(url) as client, pytest.raises(ServiceUnavailableError) as unreachable:
        client.get_key(KEY_ID)
    assert (
        str(unreachable.value)
        == f"cannot reach the Hokusai auth service at {url}: connection refused or host not found"
    )


async def test_the_async_client_follows_the_same_rules(scripted: tuple[ScriptedServer, str], sdk_env: Path) -> None:
    app, url = scripted
    path = f"/api/v1/keys/{KEY_ID}"
    app.script(path, UNAVAILABLE, (200, {}, KEY_JSON))
    async with AsyncAuthClient(url, admin_token="t", retry=FAST) as client:
        assert (await client.get_key(KEY_ID)).name == "k"
        assert app.attempts[path] == 2
        app.script("/api/v1/keys", UNAVAILABLE)
        with pytest.raises(ServiceUnavailableError):
            await client.create_key("once", "platform")
        assert app.attempts["/api/v1/keys"] == 1
