"""The gateway as an ASGI app: authenticate, rewrite, forward, report.

Open without a key: the gateway's own /health and /ready, the upstreams' health paths, and CORS preflights
(OPTIONS), which carry no credentials by design. Everything else needs a Hokusai key for the upstream's service
(``platform`` for MLflow, ``prediction`` for the prediction API) with a fitting scope.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Protocol

import httpx
import orjson
import redis.asyncio as aioredis

from hokusai._vocabulary import ErrorCode
from hokusai_auth import bootstrap
from hokusai_auth.cluster.subscription import Subscription
from hokusai_auth.gateway.config import GatewayConfig, service_settings
from hokusai_auth.gateway.credentials import upstream_headers
from hokusai_auth.gateway.forward import Forwarder
from hokusai_auth.gateway.local_auth import LocalAuthenticator
from hokusai_auth.gateway.refusal import refusal
from hokusai_auth.gateway.remote_auth import RemoteAuthenticator
from hokusai_auth.gateway.routing import InvalidPath, RoutingTable, Target, Upstream, encode, normalize
from hokusai_auth.gateway.scopes import needed_scopes
from hokusai_auth.gateway.usage import EndpointLabels, LocalUsage, RemoteUsage, UsageSink
from hokusai_auth.ops.metrics import Metrics
from hokusai_auth.runtime import open_validation
from hokusai_auth.settings import Settings
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.validation.validator import Verdict
from hokusai_auth.web.asgi import Receive, Scope, Send, header, send_json
from hokusai_auth.web.client_ip import client_ip, forwarded_proto
from hokusai_auth.web.credentials import find_key, without_credentials
from hokusai_auth.web.middleware import EnvelopeMiddleware

NOT_FOUND = {
    "detail": "Not Found",
    "code": ErrorCode.NOT_FOUND,
    "message": "Hokusai gateway: no upstream serves this path",
}
INVALID_PATH = {"detail": "Paths with '.' or '..' segments are not accepted", "code": ErrorCode.INVALID_PATH}
logger = logging.getLogger("hokusai_auth.gateway")


class Authenticator(Protocol):
    async def authenticate(self, key: str | None, check: CheckRequest) -> Verdict: ...

    async def close(self) -> None: ...


@dataclass
class _Running:
    """What exists between startup and shutdown."""

    settings: Settings
    forwarder: Forwarder
    auth: Authenticator
    usage: UsageSink | None
    ready: Callable[[], Awaitable[bool]]
    exits: AsyncExitStack


class GatewayApp:
    def __init__(
        self,
        config: GatewayConfig,
        *,
        settings: Settings | None = None,
        auth_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._settings = settings or service_settings()
        self._auth_transport = auth_transport
        self.routes = RoutingTable(
            mlflow=bool(config.mlflow_upstream),
            prediction=bool(config.prediction_upstream),
            mlflow_static_prefix=config.mlflow_static_prefix,
        )
        self.labels = EndpointLabels(config.prediction_routes)
        self.running: _Running | None = None
        self.metrics = Metrics()
        # The same envelope as the auth service: request checks, request id, security headers on the gateway's
        # own answers, metrics and the access log. No body limit: uploads stream through to the upstream.
        self._enveloped = EnvelopeMiddleware(
            self._handle,
            metrics=self.metrics,
            trusted_proxies=self._settings.trusted_proxies,
            access_log_enabled=self._settings.access_log,
            logger_name="hokusai_auth.gateway.access",
        )

    # ------------------------------------------------------------------------------------------- lifecycle

    async def startup(self) -> None:
        exits = AsyncExitStack()
        try:
            upstreams: dict[str, str] = {
                name: url
                for name, url in (
                    (Upstream.MLFLOW, self.config.mlflow_upstream),
                    (Upstream.PREDICTION, self.config.prediction_upstream),
                )
                if url
            }
            forwarder = Forwarder(upstreams, timeout=self.config.upstream_timeout)
            exits.push_async_callback(forwarder.close)
            if self.config.auth_service_url:
                self.running = await self._start_remote(exits, forwarder, self.config.auth_service_url)
            else:
                self.running = await self._start_local(exits, forwarder)
        except BaseException:
            await exits.aclose()
            raise

    async def _start_local(self, exits: AsyncExitStack, forwarder: Forwarder) -> _Running:
        settings, _ = bootstrap.prepare(self._settings)
        runtime = await exits.enter_async_context(open_validation(settings))
        auth = LocalAuthenticator(runtime.validator)
        return _Running(settings, forwarder, auth, LocalUsage(runtime.usage), runtime.database.ping, exits)

    async def _start_remote(self, exits: AsyncExitStack, forwarder: Forwarder, url: str) -> _Running:
        settings = self._settings
        remote = RemoteAuthenticator(url, cache_ttl=self.config.auth_cache_ttl, transport=self._auth_transport)
        remote.start()
        exits.push_async_callback(remote.close)
        usage: UsageSink | None = None
        if self.config.service_token:
            reporter = RemoteUsage(url, self.config.service_token)
            reporter.start()
            exits.push_async_callback(reporter.close)
            usage = reporter
        else:
            logger.warning("no HOKUSAI_GATEWAY_SERVICE_TOKEN: usage of proxied requests is not reported")
        if settings.redis_url:  # revocations pushed by the auth service reach this gateway's cache at once
            redis_url = settings.redis_url
            subscription = Subscription(
                lambda: aioredis.Redis.from_url(redis_url),
                f"{settings.redis_prefix}:invalidate",
                lambda data: remote.forget_key(str(orjson.loads(data).get("key_id"))),
            )
            subscription.start()
            exits.push_async_callback(subscription.stop)

        async def ready() -> bool:
            try:
                async with httpx.AsyncClient(base_url=url, timeout=2, transport=self._auth_transport) as client:
                    return (await client.get("/health")).status_code == 200
            except httpx.HTTPError:
                return False

        return _Running(settings, forwarder, remote, usage, ready, exits)

    async def shutdown(self) -> None:
        if self.running is not None:
            await self.running.exits.aclose()
            self.running = None
        self._enveloped.access_log.flush()

    # ------------------------------------------------------------------------------------------- requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._enveloped(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == "/health":
            scope["hokusai.route"] = path
            await send_json(send, 200, {"status": "ok"})
            return
        if path == "/ready":
            scope["hokusai.route"] = path
            ok = self.running is not None and await self.running.ready()
            body = {"status": "ready" if ok else "not ready", "checks": {"auth": ok}}
            await send_json(send, 200 if ok else 503, body)
            return
        if path == "/metrics":
            scope["hokusai.route"] = path
            payload = self.metrics.render()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]})  # fmt: skip
            await send({"type": "http.response.body", "body": payload})
            return
        try:
            raw_path = normalize(scope.get("raw_path") or encode(path))
        except InvalidPath:
            await send_json(send, 400, INVALID_PATH)
            return
        target = self.routes.resolve(raw_path)
        if target is None:
            await send_json(send, 404, NOT_FOUND)
            return
        await self._proxy(scope, receive, send, target)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, target: Target) -> None:
        running = self.running
        if running is None:
            raise RuntimeError("the gateway was not started: run it with its ASGI lifespan")
        label = self.labels(target.upstream, target.route_path)
        scope["hokusai.route"] = f"{target.upstream}:{label}"  # bounded: metrics and logs name routes, not paths
        proxies = running.settings.trusted_proxies
        address = client_ip(scope, proxies)
        headers = upstream_headers(scope["headers"])
        headers += [
            (b"host", running.forwarder.host_of(target.upstream)),
            (b"x-forwarded-for", str(address).encode() if address else b"unknown"),
            (b"x-forwarded-proto", forwarded_proto(scope, proxies).encode()),
            (b"x-request-id", scope["hokusai.request_id"].encode()),
        ]
        original_host = header(scope, b"host")
        if original_host:
            headers.append((b"x-forwarded-host", original_host.encode("latin-1")))
        query = without_credentials(scope.get("query_string", b""))
        if scope["method"] == "OPTIONS" or target.open:
            scope["hokusai.proxied"] = True
            await running.forwarder.forward(scope, receive, send, target, headers, query)
            return

        check = CheckRequest(
            service_id=target.service_id,
            any_scope=needed_scopes(target.upstream, scope["method"], target.route_path),
            client_ip=address,
        )
        verdict = await running.auth.authenticate(find_key(scope, basic=True), check)
        if not verdict.valid:
            status, refusal_headers, body = refusal(verdict, basic_realm=target.upstream is Upstream.MLFLOW)
            await send_json(send, status, body, refusal_headers)
            return

        key = verdict.state
        if key is None:
            raise RuntimeError("a valid verdict names its key")
        headers += [
            (b"x-hokusai-user-id", key.user_id.encode()),
            (b"x-hokusai-api-key-id", key.key_id_text.encode()),
        ]
        scope["hokusai.proxied"] = True
        started = time.perf_counter()
        status = await running.forwarder.forward(scope, receive, send, target, headers, query)
        if running.usage is not None:
            elapsed_ms = round((time.perf_counter() - started) * 1000)
            status = status if status >= 100 else 499
            running.usage.record(key.key_id_text, target.service_id, label, status, elapsed_ms)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("gateway failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
