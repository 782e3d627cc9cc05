"""Sending generated cases to the app in-process, and judging the answers.

Hypothesis drives generation from a worker thread; the app (its engines, pools and background tasks) lives on
the test's event loop, so each request is handed to that loop and waited for. Failures are collected rather
than raised: one run then reports every distinct defect it met (deduplicated by endpoint, status and cause,
each with the shortest request that showed it) instead of stopping at the first and shrinking it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import httpx
import requests
import schemathesis
from schemathesis import Case
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.fuzz.boundaries import latin1

# The contract's answer for an unavailable dependency; every other 5xx is a defect.
RETRYABLE_UNAVAILABLE = 503
# Text that must never reach a client: it means an internal error leaked (stack trace, SQL, driver).
LEAK_MARKERS = ("Traceback", "sqlalchemy", "asyncpg", "aiosqlite", "SELECT ", "INSERT INTO", "UPDATE ", "psycopg")
# An id the caller sent that is short and plain enough that any sane policy echoes it (contract: "echoed").
PLAIN_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
DROPPED_CASE_HEADERS = ("user-agent", "accept-encoding", "connection", "x-schemathesis-testcaseid")
BASE_URL = "http://testserver"
ENVELOPE_HEADERS = ("x-request-id", "x-content-type-options", "x-frame-options", "content-security-policy")


@dataclass(frozen=True, order=True)
class Failure:
    kind: str  # server_error, escaped_exception, schema, error_shape, leak, envelope, background_error
    operation: str
    status: int
    summary: str


@dataclass
class Sent:
    operation: str
    method: str
    url: str
    peer: str
    auth: str
    headers: list[tuple[bytes, bytes]]
    content: bytes | None

    def render(self, limit: int = 600) -> str:
        shown = [
            (name.decode(), value.decode("latin-1")) for name, value in self.headers if name.lower() != b"authorization"
        ]
        headers = ", ".join(f"{name}: {_clip(value, 90)!r}" for name, value in shown)
        body = "" if self.content is None else f" body={_clip(self.content.decode('utf-8', 'backslashreplace'), 300)}"
        text = f"{self.method} {_clip(self.url, 250)} [auth={self.auth}, peer={self.peer}] {{{headers}}}{body}"
        return _clip(text, limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…(+{len(text) - limit} chars)"


def normalize(message: str) -> str:
    """One line per cause: drop the SQL and parameters drivers append, and values that vary between inputs."""
    line = message.strip().splitlines()[0] if message.strip() else "(no message)"
    line = re.sub(r"datetime\.datetime\([^)]*\)", "datetime(…)", line)
    line = re.sub(r"'[^']{12,}'", "'…'", line)
    return _clip(line, 220)


def describe_exception(exc: BaseException) -> str:
    return normalize(f"{type(exc).__name__}: {exc}")


class LogCollector(logging.Handler):
    """Error records the service logs (the 500 handler logs the exception it swallowed; background tasks log
    what failed outside any request)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._claimed: set[int] = set()
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.records.append(record)

    def mark(self) -> int:
        with self._lock:
            return len(self.records)

    def since(self, mark: int) -> list[logging.LogRecord]:
        """The records logged since ``mark``, claimed by the request that was being answered meanwhile."""
        with self._lock:
            self._claimed.update(range(mark, len(self.records)))
            return self.records[mark:]

    def unclaimed(self) -> list[logging.LogRecord]:
        """Records logged while no request was being answered: background work (usage flushes) that failed."""
        with self._lock:
            return [record for index, record in enumerate(self.records) if index not in self._claimed]

    @staticmethod
    def summary(record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_info[1] is not None:
            return f"{record.name}: {describe_exception(record.exc_info[1])}"
        return f"{record.name}: {normalize(record.getMessage())}"

    @contextmanager
    def attached(self, logger_name: str = "hokusai_auth") -> Iterator[LogCollector]:
        logger = logging.getLogger(logger_name)
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)


@dataclass
class Findings:
    """Distinct failures with their shortest example, and what was exercised (for coverage and the report)."""

    examples: dict[Failure, str] = field(default_factory=dict)
    counts: Counter[Failure] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, failure: Failure, example: str) -> None:
        self.counts[failure] += 1
        known = self.examples.get(failure)
        if known is None or len(example) < len(known):
            self.examples[failure] = example

    def report(self) -> str:
        lines = []
        for failure in sorted(self.examples):
            lines.append(
                f"- [{failure.kind}] {failure.operation} → {failure.status or '-'}: {failure.summary}"
                f"  (×{self.counts[failure]})\n    e.g. {self.examples[failure]}"
            )
        return "\n".join(lines)

    def coverage(self) -> str:
        return "\n".join(
            f"  {operation}: " + ", ".join(f"{status}×{n}" for status, n in sorted(counter.items()))
            for operation, counter in sorted(self.statuses.items())
        )


NO_BODY = object()


@dataclass
class Draft:
    """A generated case as it will go on the wire, still open to changes that a schemathesis Case refuses (it
    re-validates itself on every change, and its validator cannot even read a lone surrogate)."""

    operation: str
    method: str
    path: str
    path_parameters: dict[str, str]
    params: Any
    body: Any
    raw_body: bytes | None
    headers: list[tuple[str, str]]

    @classmethod
    def of(cls, case: Case[Any]) -> Draft:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL)
        raw = kwargs.get("data")
        if raw is not None and not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "surrogatepass")
        headers = [
            (name, str(value))
            for name, value in kwargs["headers"].items()
            if name.lower() not in DROPPED_CASE_HEADERS and name.lower() != "authorization"
        ]
        return cls(
            operation=case.operation.label,
            method=kwargs["method"],
            path=case.operation.path,
            # schemathesis keeps them percent-encoded; they are encoded again when the URL is built
            path_parameters={name: unquote(str(value)) for name, value in (case.path_parameters or {}).items()},
            params=kwargs.get("params"),
            body=kwargs.get("json", NO_BODY),
            raw_body=raw,
            headers=headers,
        )

    def url(self) -> str:
        path = re.sub(r"\{(\w+)\}", lambda m: quote(self.path_parameters[m[1]], safe=""), self.path)
        return BASE_URL + path


def encode_json(value: Any, ascii_only: bool) -> bytes:
    """JSON the way clients send it: escaped ASCII, or raw UTF-8. A lone surrogate is legal JSON as an escape;
    as raw text it becomes the (invalid) bytes a sloppy client would produce."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


class Exchange:
    """Send one case through an in-process client on the app's event loop, and check the answer."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        clients: dict[str, httpx.AsyncClient],
        logs: LogCollector,
        findings: Findings,
    ) -> None:
        self.loop = loop
        self.clients = clients
        self.logs = logs
        self.findings = findings

    def send(
        self,
        case: Case[Any],
        draft: Draft,
        *,
        peer: str,
        auth: tuple[str, str | None],
        envelope: dict[str, str],
        ascii_json: bool,
    ) -> httpx.Response | None:
        headers = [(name.encode(), latin1(value)) for name, value in draft.headers]
        auth_name, auth_value = auth
        if auth_value is not None:
            headers.append((b"Authorization", latin1(auth_value)))
        headers.extend((name.encode(), latin1(value)) for name, value in envelope.items())
        content = draft.raw_body
        if draft.body is not NO_BODY:
            content = encode_json(draft.body, ascii_json)
        sent = Sent(draft.operation, draft.method, draft.url(), peer, auth_name, headers, content)
        return self._send(case, sent, draft.params)

    def _send(self, case: Case[Any], sent: Sent, params: Any) -> httpx.Response | None:
        client = self.clients[sent.peer]
        # Built here, outside the app: a value httpx itself cannot put on the wire is not a finding.
        request = client.build_request(sent.method, sent.url, params=params, headers=sent.headers, content=sent.content)
        sent.url = str(request.url)
        mark = self.logs.mark()
        try:
            response = asyncio.run_coroutine_threadsafe(client.send(request), self.loop).result(timeout=60)
        except Exception as exc:
            # The app raised instead of answering: a real server would close the connection or answer 500.
            self.findings.statuses[sent.operation][0] += 1
            self._fail(Failure("escaped_exception", sent.operation, 0, describe_exception(exc)), sent)
            return None
        self.findings.statuses[sent.operation][response.status_code] += 1
        self._judge(case, sent, response, self.logs.since(mark))
        return response

    def _fail(self, failure: Failure, sent: Sent) -> None:
        self.findings.add(failure, sent.render())

    def _judge(self, case: Case[Any], sent: Sent, response: httpx.Response, records: list[logging.LogRecord]) -> None:
        op, status = sent.operation, response.status_code
        if status >= 500 and not (status == RETRYABLE_UNAVAILABLE and "retry-after" in response.headers):
            causes = [LogCollector.summary(record) for record in records] or [normalize(response.text)]
            for cause in dict.fromkeys(causes):
                self._fail(Failure("server_error", op, status, cause), sent)
        elif records:
            # An error logged while answering normally: something failed and was swallowed.
            for cause in dict.fromkeys(LogCollector.summary(record) for record in records):
                self._fail(Failure("background_error", op, status, cause), sent)
        if status >= 400:
            self._check_error_body(sent, response)
        if status == 429 and "retry-after" not in response.headers:
            self._fail(Failure("envelope", op, status, "429 without Retry-After"), sent)
        self._check_envelope(sent, response)
        self._check_schema(case, sent, response)

    def _check_error_body(self, sent: Sent, response: httpx.Response) -> None:
        op, status = sent.operation, response.status_code
        if any(marker in response.text for marker in LEAK_MARKERS):
            self._fail(Failure("leak", op, status, f"internal detail in the body: {normalize(response.text)}"), sent)
        if op == "GET /ready" and status == RETRYABLE_UNAVAILABLE:
            return  # the contract gives /ready its own body: {"status": "not ready", "checks": {...}}
        try:
            body = response.json()
        except ValueError:
            self._fail(Failure("error_shape", op, status, f"not JSON: {normalize(response.text)}"), sent)
            return
        if not (isinstance(body, dict) and isinstance(body.get("detail"), str) and isinstance(body.get("code"), str)):
            shape = {key: type(value).__name__ for key, value in body.items()} if isinstance(body, dict) else body
            self._fail(Failure("error_shape", op, status, f"not {{detail: str, code: str}}: {shape}"), sent)

    def _check_envelope(self, sent: Sent, response: httpx.Response) -> None:
        op, status = sent.operation, response.status_code
        missing = [name for name in ENVELOPE_HEADERS if not response.headers.get(name)]
        if missing:
            # One finding for all operations: the envelope is one layer, whichever route the request took.
            self._fail(Failure("envelope", "(any operation)", status, f"response without {', '.join(missing)}"), sent)
        incoming = [value for name, value in sent.headers if name.lower() == b"x-request-id"]
        plain = len(incoming) == 1 and PLAIN_REQUEST_ID.match(incoming[0].decode("latin-1"))
        echoed = response.headers.get("x-request-id")
        if plain and echoed is not None and echoed != incoming[0].decode("latin-1"):
            self._fail(Failure("envelope", op, status, "a plain X-Request-ID was not echoed"), sent)

    def _check_schema(self, case: Case[Any], sent: Sent, response: httpx.Response) -> None:
        # Wrapped by hand: schemathesis' own conversion re-validates the request headers with `requests`, which
        # refuses the hostile ones sent on purpose. Only the response matters to these checks.
        wrapped = schemathesis.Response(
            status_code=response.status_code,
            headers={name: response.headers.get_list(name) for name in response.headers},
            content=response.content,
            request=requests.Request(sent.method, sent.url).prepare(),
            elapsed=response.elapsed.total_seconds(),
            verify=True,
            message=response.reason_phrase,
            encoding=response.encoding,
        )
        try:
            case.validate_response(wrapped, checks=[response_schema_conformance, content_type_conformance])
        except FailureGroup as group:
            for failure in group.exceptions:
                title = getattr(failure, "title", type(failure).__name__)
                message = normalize(getattr(failure, "message", "") or "")
                if isinstance(failure, JsonSchemaError):
                    # One cause per place in the schema, whatever value tripped it; the value goes in the example.
                    where = "/".join(map(str, failure.instance_path)) or "(root)"
                    rule = "/".join(map(str, failure.schema_path))
                    summary = f"{title}: /{where} breaks schema rule {rule}"
                    example = f"{sent.render()}\n      answer {response.status_code}: {_clip(response.text, 300)}"
                    self.findings.add(Failure("schema", sent.operation, response.status_code, summary), example)
                else:
                    self._fail(Failure("schema", sent.operation, response.status_code, f"{title}: {message}"), sent)
