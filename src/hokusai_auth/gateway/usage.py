"""Reporting one usage record per proxied request, never on the request path.

In-process gateways add records to the usage buffer (written in batches by the usage flusher). Gateways that
talk to the auth service over HTTP post them to ``/api/v1/usage/{key_id}`` with a service token, from a queue
drained in the background, each with an idempotency key so a retried post counts once.

Endpoints are recorded as labels from a bounded set, so that no client can grow the usage tables by inventing
paths: the template of the route that serves the path (MLflow's route table, the prediction API's configured
routes), or ``other``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Iterable
from typing import NewType, Protocol

import httpx

from hokusai_auth.background import Periodic
from hokusai_auth.gateway import mlflow_routes
from hokusai_auth.gateway.mlflow_routes import RouteTemplates
from hokusai_auth.gateway.routing import Upstream
from hokusai_auth.usage.service import UsageService

logger = logging.getLogger("hokusai_auth.gateway.usage")
QUEUE_MAX = 50_000
# Only EndpointLabels makes these, so a raw path cannot reach usage as a label by mistake (mypy says so).
EndpointLabel = NewType("EndpointLabel", str)
OTHER = EndpointLabel("other")


class EndpointLabels:
    """The usage label of a proxied request: ``/api/2.0/mlflow/runs/get``,
    ``/api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}``, ``/models/{model}/predict``, or ``other``."""

    def __init__(self, prediction_routes: Iterable[str]) -> None:
        self._templates: dict[str, RouteTemplates] = {
            Upstream.MLFLOW: mlflow_routes.TEMPLATES,
            Upstream.PREDICTION: RouteTemplates(prediction_routes),
        }

    def __call__(self, upstream: str, path: str) -> EndpointLabel:
        """``path`` as for ``needed_scopes``: at the upstream, percent-decoded, without MLflow's static prefix."""
        templates = self._templates.get(upstream)
        template = None if templates is None else templates.match(path)
        return OTHER if template is None else EndpointLabel(template)


class UsageSink(Protocol):
    def record(
        self, key_id: str, service_id: str, endpoint: EndpointLabel, status: int, response_time_ms: int
    ) -> None: ...

    async def close(self) -> None: ...


class LocalUsage:
    def __init__(self, usage: UsageService) -> None:
        self._usage = usage

    def record(self, key_id: str, service_id: str, endpoint: EndpointLabel, status: int, response_time_ms: int) -> None:
        self._usage.record(
            uuid.UUID(key_id), service_id=service_id, endpoint=endpoint, status_code=status,
            response_time_ms=response_time_ms,
        )  # fmt: skip

    async def flush(self) -> int:
        """Write what is buffered now (the usage flusher does it every few seconds and at shutdown)."""
        return await self._usage.flush()

    async def close(self) -> None:
        return None


class RemoteUsage:
    def __init__(self, auth_service_url: str, service_token: str, *, interval: float = 1.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=auth_service_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}", "User-Agent": "hokusai-gateway"},
            timeout=5.0,
        )
        self._queue: deque[tuple[str, dict[str, object]]] = deque()
        self._loop = Periodic("gateway-usage", self.drain, lambda: interval, final=self.drain)
        self._dropping = False  # the queue overflowed since it was last drained (said once in the log)

    def start(self) -> None:
        self._loop.start()

    def record(self, key_id: str, service_id: str, endpoint: EndpointLabel, status: int, response_time_ms: int) -> None:
        if len(self._queue) >= QUEUE_MAX:
            self._queue.popleft()  # the auth service has been away for a long while: keep the newest
            if not self._dropping:
                self._dropping = True
                logger.warning("usage queue full (%d records): the oldest are dropped until it drains", QUEUE_MAX)
        body = {"service_id": service_id, "endpoint": endpoint, "status_code": status,
                "response_time_ms": response_time_ms, "idempotency_key": uuid.uuid4().hex}  # fmt: skip
        self._queue.append((key_id, body))

    async def drain(self) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(32, len(self._queue)))]
            results = await asyncio.gather(*(self._post(key_id, body) for key_id, body in batch))
            failed = [item for item, ok in zip(batch, results, strict=True) if not ok]
            if failed:
                self._queue.extendleft(reversed(failed))  # same idempotency keys: a repeat counts once
                return
        self._dropping = False

    async def _post(self, key_id: str, body: dict[str, object]) -> bool:
        try:
            response = await self._client.post(f"/api/v1/usage/{key_id}", json=body)
        except httpx.HTTPError:
            return False
        if response.status_code >= 500:
            return False
        if response.status_code != 200:  # 401 (bad service token), 404 (key gone): retrying will not help
            logger.warning("usage report refused: %s %s", response.status_code, response.text[:200])
        return True

    async def close(self) -> None:
        await self._loop.stop()
        await self._client.aclose()
