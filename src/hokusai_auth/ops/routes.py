"""/health (liveness, no I/O), /ready (dependencies answer), /metrics (Prometheus text)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from hokusai_auth.components import provided
from hokusai_auth.errors import RETRY_AFTER_UNAVAILABLE_S
from hokusai_auth.ops.readiness import ReadinessProbes

router = APIRouter(tags=["operations"])


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
async def ready(probes: Annotated[ReadinessProbes, Depends(provided(ReadinessProbes))]) -> JSONResponse:
    checks = await probes.run()
    degraded = [name for name in probes.optional if not checks[name]]
    required_ok = all(checks[name] for name in probes.required)
    body: dict[str, Any] = {"status": "ready" if required_ok else "not ready", "checks": checks}
    if degraded:
        body["degraded"] = degraded
    if required_ok:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)})


@router.get("/metrics", operation_id="metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
