"""One request pipeline for the sync and the async client, written once without I/O.

An endpoint is described by a ``Call`` (method, path, body, which credential, whether a retry is safe, how to
read the answer). ``exchange`` is a generator that turns a call into requests, decides on retries and backoff,
maps errors and parses the answer; it yields ``Send`` and ``Sleep`` steps and is driven by ``drive_sync`` or
``drive_async``, the only two places that touch the network or the clock. So retry rules, error mapping and
parsing cannot drift apart between the two clients.

Retries: connection failures before the request was sent are always retried; after it may have been sent
(read timeouts, dropped connections) and on 502/503/504 only for calls that are safe to repeat. A 4xx is never
retried; a 429 becomes ``RateLimitError`` carrying ``Retry-After``; a 503's ``Retry-After`` is honoured as the
wait before the next try when it is short enough.
"""

from __future__ import annotations

import asyncio
import platform
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from hokusai._errors import ConfigurationError, ServiceUnavailableError, error_for, parse_retry_after
from hokusai._version import __version__

T = TypeVar("T")
# admin: the admin token. user: the signed-in session's access token. admin_or_user: the admin token when the
# client has one, else the session's (the key endpoints: an operator for every key, a user for their own).
# service: a service token, else the admin token. none: a public endpoint.
Credential = Literal["admin", "admin_or_user", "user", "service", "none"]
CURRENT_SESSION = "current"  # Call.ends_session: the session of the token that asks
RETRYABLE_STATUSES = frozenset({502, 503, 504})
USER_AGENT = f"hokusai-python/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"


@dataclass(frozen=True, slots=True)
class Answer:
    """What a parser sees: status, headers and the decoded JSON body (``{}`` when there is none)."""

    status: int
    headers: httpx.Headers
    body: Any


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Answer], T]
    params: dict[str, Any] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    credential: Credential = "admin"
    idempotent: bool = True
    # Non-2xx statuses that are answers, not errors (the validate endpoint says "invalid" with a 401).
    answers: frozenset[int] = frozenset()
    # Set when the answer is known without asking (a key that fails the offline format check).
    known_answer: T | None = None
    # What a success does to the client's own session: the answer is a Session the client now uses (sign-in,
    # refresh), or it ended a session (CURRENT_SESSION, or that session's id).
    adopts_session: bool = False
    ends_session: str | None = None


def path(template: str, *parts: str) -> str:
    """A path with each part percent-encoded, so an id can never add path segments or a query."""
    return template.format(*(quote(str(part), safe="") for part in parts))


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # tries in all, the first included
    backoff_s: float = 0.5  # wait before the second try; doubles after each, with jitter
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 30.0  # a longer Retry-After is not waited for: the error is raised instead

    def backoff(self, attempt: int) -> float:
        base: float = min(self.backoff_s * (2 ** (attempt - 1)), self.max_backoff_s)
        return base * random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not secrecy


SIGN_IN_HINT = "sign in (hokusai.sign_in_with_keystore, or siwe_verify) or run `hokusai auth login --wallet KEYSTORE`"


@dataclass(frozen=True, slots=True)
class Credentials:
    admin_token: str | None = None
    service_token: str | None = None
    access_token: str | None = None  # the signed-in session's, set per request by the client

    def __repr__(self) -> str:
        # Says which secrets are held, never what they are: a repr ends up in logs, tracebacks and debuggers.
        held = [name for name in ("admin_token", "service_token", "access_token") if getattr(self, name) is not None]
        return f"Credentials({', '.join(f'{name}=<set>' for name in held)})"

    def uses_session(self, kind: Credential) -> bool:
        """Whether a call of this kind goes with the session's access token (an admin token wins)."""
        return kind == "user" or (kind == "admin_or_user" and self.admin_token is None)

    def header(self, kind: Credential) -> str | None:
        if kind == "none":
            return None
        if self.uses_session(kind):
            if self.access_token is None:
                if kind == "user":
                    raise ConfigurationError(f"this call needs a signed-in session: {SIGN_IN_HINT}")
                raise ConfigurationError(
                    "this call needs an admin token or a signed-in session: pass admin_token=..., set "
                    f"HOKUSAI_ADMIN_TOKEN (or ADMIN_TOKEN), run `hokusai auth login --admin-token`, or {SIGN_IN_HINT}"
                )
            return f"Bearer {self.access_token}"
        token = self.service_token or self.admin_token if kind == "service" else self.admin_token
        if token is None:
            what, give = ("an admin token", "admin_token=...") if kind == "admin" else (
                "a service or admin token", "service_token=... or admin_token=...")  # fmt: skip
            raise ConfigurationError(
                f"this call needs {what}: pass {give}, set HOKUSAI_ADMIN_TOKEN (or ADMIN_TOKEN), "
                "or run `hokusai auth login --admin-token`"
            )
        return f"Bearer {token}"


@dataclass(frozen=True, slots=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Step = Send | Sleep
Outcome = httpx.Response | httpx.TransportError | None
Exchange = Generator[Step, Outcome, T]

# Failures that guarantee the request never left: safe to retry whatever the call does.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def build_request(client: httpx.Client | httpx.AsyncClient, call: Call[Any], credentials: Credentials) -> httpx.Request:
    headers = {"Accept": "application/json", **call.headers}
    authorization = credentials.header(call.credential)
    if authorization is not None:
        headers["Authorization"] = authorization
    params = {k: _query_value(v) for k, v in (call.params or {}).items() if v is not None}
    return client.build_request(call.method, call.path, params=params, json=call.json, headers=headers)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def exchange(
    call: Call[T], policy: RetryPolicy, build: Callable[[], httpx.Request], base_url: str
) -> Generator[Step, Outcome, T]:
    if call.known_answer is not None:
        return call.known_answer
    attempt = 0
    while True:
        attempt += 1
        outcome = yield Send(build())
        if isinstance(outcome, httpx.TransportError):
            if attempt < policy.attempts and (call.idempotent or isinstance(outcome, _NOT_SENT)):
                yield Sleep(policy.backoff(attempt))
                continue
            raise _unreachable(outcome, base_url) from None
        assert isinstance(outcome, httpx.Response)
        if _may_retry(call, outcome.status_code) and attempt < policy.attempts:
            retry_after = parse_retry_after(outcome.headers.get("retry-after"))
            if retry_after is None or retry_after <= policy.max_retry_after_s:
                yield Sleep(retry_after if retry_after is not None else policy.backoff(attempt))
                continue
        return _read(call, outcome)


def _may_retry(call: Call[Any], status: int) -> bool:
    return status in RETRYABLE_STATUSES and status not in call.answers and call.idempotent


def _read(call: Call[T], response: httpx.Response) -> T:
    body = _json(response)
    status = response.status_code
    if 200 <= status < 300 or status in call.answers:
        return call.parse(Answer(status, response.headers, body))
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    request_id = response.headers.get("x-request-id")
    if not isinstance(body, dict) or not body:
        body = {"detail": _fallback_detail(status, response)}
    raise error_for(status, body, retry_after=retry_after, request_id=request_id)


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return None


def _fallback_detail(status: int, response: httpx.Response) -> str:
    # Something other than a Hokusai service answered (a proxy's HTML error page, a wrong URL).
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    return f"HTTP {status} from {response.request.url.host} ({kind}): not a Hokusai auth service answer"


def _unreachable(error: httpx.TransportError, base_url: str) -> ServiceUnavailableError:
    reason = {
        httpx.ConnectError: "connection refused or host not found",
        httpx.ConnectTimeout: "timed out connecting",
        httpx.ReadTimeout: "timed out waiting for an answer",
        httpx.WriteTimeout: "timed out sending the request",
        httpx.PoolTimeout: "no free connection",
        httpx.RemoteProtocolError: "the connection was closed mid-answer",
    }.get(type(error), type(error).__name__)
    return ServiceUnavailableError(f"cannot reach the Hokusai auth service at {base_url}: {reason}")


def drive_sync(steps: Exchange[T], client: httpx.Client) -> T:
    outcome: Outcome = None
    try:
        while True:
            step = steps.send(outcome)
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                outcome = None
                continue
            try:
                outcome = client.send(step.request)
            except httpx.TransportError as error:
                outcome = error
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        steps.close()  # a lock the exchange holds is released even when this stops early


async def drive_async(steps: Exchange[T], client: httpx.AsyncClient) -> T:
    outcome: Outcome = None
    try:
        while True:
            step = steps.send(outcome)
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                outcome = None
                continue
            try:
                outcome = await client.send(step.request)
            except httpx.TransportError as error:
                outcome = error
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        steps.close()  # a lock the exchange holds is released even when this stops early


def timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))
