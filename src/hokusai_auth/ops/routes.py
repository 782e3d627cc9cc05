"""/health (liveness, no I/O), /ready (dependencies answer), /metrics (Prometheus text)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from hokusai_auth.deps import RuntimeDep
from hokusai_auth.errors import RETRY_AFTER_UNAVAILABLE_S

router = APIRouter(tags=["operations"])
READY_TIMEOUT_S = 2.0


class Readiness(BaseModel):
    status: str
    checks: dict[str, bool]
    degraded: list[str] | None = None  # optional dependencies (Redis) that are down: the service carries on


@router.get("/health", operation_id="health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    operation_id="ready",
    summary="Readiness: the database (and Redis, if used) answer",
    responses={
        200: {"model": Readiness, "description": "ready (perhaps degraded)"},
        503: {"model": Readiness, "description": "a required dependency is down; `checks` names it"},
    },
)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    checks: dict[str, bool] = {"database": await runtime.stack.database_ok(READY_TIMEOUT_S)}
    for name, probe in runtime.readiness_probes.items():
        checks[name] = await probe()
    degraded = [name for name, ok in checks.items() if not ok and name in runtime.optional_dependencies]
    required_ok = all(ok for name, ok in checks.items() if name not in runtime.optional_dependencies)
    body: dict[str, Any] = {"status": "ready" if required_ok else "not ready", "checks": checks}
    if degraded:
        body["degraded"] = degraded
    if required_ok:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)})


@router.get("/metrics", operation_id="metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
