"""Streaming a request to an upstream and its answer back.

Bodies are streamed with their Content-Length, never re-chunked: MLflow stores an empty artifact when an upload
arrives chunked. A client that itself sends a chunked body has it spooled (in memory up to 8 MiB, then on disk)
so it can be sent with a length. Responses are streamed back as they arrive. An upstream that refuses the
connection answers 502, one that does not answer in time 504, both as JSON saying which upstream.

The 502 carries ``Retry-After: 5``. MLflow's client retries a 502 seven times by default, with an exponential
backoff that adds up to about four minutes of silence; urllib3 sleeps Retry-After's seconds instead, so a stopped
MLflow is reported after about 35 s while a restart is still ridden out (bench/mlflow_outage.py: MLflow answered
again 9-19 s after it was stopped, and the client got its answer). The 504 has no Retry-After: the gateway cannot
tell a hung upstream from a slow request, and each try already lasts the upstream timeout.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import httpx

from hokusai._vocabulary import GATEWAY_MLFLOW_ERROR_CODES, ErrorCode
from hokusai_auth.gateway.credentials import HOP_BY_HOP
from hokusai_auth.gateway.routing import Target
from hokusai_auth.web.asgi import ClientGone, Receive, Scope, Send, declared_length, header_values, send_json

logger = logging.getLogger("hokusai_auth.gateway.forward")
SPOOL_IN_MEMORY = 8 * 1024 * 1024
CHUNK = 64 * 1024
UNREACHABLE_RETRY_AFTER_S = 5  # seconds a client should wait before retrying an upstream that refused (see above)


class Forwarder:
    def __init__(
        self, upstreams: dict[str, str], *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.upstreams = {name: httpx.URL(url.rstrip("/")) for name, url in upstreams.items()}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=500, max_keepalive_connections=100),
            follow_redirects=False,
            transport=transport,
        )

    async def close(self) -> None:
        await self._client.aclose()

    def host_of(self, upstream: str) -> bytes:
        return self.upstreams[upstream].netloc

    async def forward(
        self, scope: Scope, receive: Receive, send: Send, target: Target,
        headers: list[tuple[bytes, bytes]], query: bytes,
    ) -> int:  # fmt: skip
        """Proxy one request; the status sent to the client."""
        base = self.upstreams[target.upstream]
        path = base.raw_path.rstrip(b"/") + target.raw_path
        url = base.copy_with(raw_path=path + (b"?" + query if query else b""))
        content, length = await _request_body(scope, receive)
        if length is not None:
            headers = [*headers, (b"content-length", str(length).encode())]
        request = self._client.build_request(scope["method"], url, headers=headers, content=content)
        try:
            response = await self._client.send(request, stream=True)
        except ClientGone:
            return 499
        except httpx.TimeoutException:
            return await _error(
                send, 504, f"The {target.upstream} upstream did not answer in time", ErrorCode.UPSTREAM_TIMEOUT
            )
        except httpx.TransportError as exc:
            logger.warning("upstream %s unreachable: %s", target.upstream, type(exc).__name__)
            return await _error(
                send, 502, f"The {target.upstream} upstream is unreachable", ErrorCode.UPSTREAM_UNREACHABLE,
                headers=[(b"retry-after", b"%d" % UNREACHABLE_RETRY_AFTER_S)],
            )  # fmt: skip
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP],
                }
            )
            async for chunk in response.aiter_raw(CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
        return response.status_code


async def _request_body(scope: Scope, receive: Receive) -> tuple[Any, int | None]:
    """(content for httpx, the Content-Length to send or None for no body)."""
    declared = declared_length(scope)
    chunked = any(b"chunked" in value.lower() for value in header_values(scope, b"transfer-encoding"))
    if declared is not None and not chunked:
        return _stream(receive), declared
    if not chunked:
        message = await receive()  # a request without a body still delivers one (empty) body message
        body = message.get("body", b"")
        return (body, len(body)) if body else (None, None)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by the generator
    size = 0
    async for chunk in _stream(receive):
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    return _replay(spool), size


async def _stream(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _replay(spool: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


async def _error(
    send: Send, status: int, message: str, code: ErrorCode, headers: list[tuple[bytes, bytes]] | None = None
) -> int:
    error_code = GATEWAY_MLFLOW_ERROR_CODES[status]
    body = {"detail": message, "code": code, "error_code": error_code, "message": f"Hokusai gateway: {message}"}
    return await send_json(send, status, body, headers or ())
