"""The gateway's configuration: its own options (from the command line, passed to workers through the
environment as HOKUSAI_GATEWAY_*) and, for in-process validation, the auth service's settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hokusai_auth.gateway.mlflow_routes import RouteTemplates
from hokusai_auth.settings import Settings

PREFIX = "HOKUSAI_GATEWAY_"
# The prediction API's routes, for usage labels (any other path is labelled "other"). The default covers the
# shapes this project documents and tests: a bare /predict (docs/embedding.md), a versioned /v1/predict or
# /api/v1/predict (docs/usage.md), one model per path (/models/7/predict, /v1/models/7/predict), and an MLflow model
# server's /invocations. Health checks pass without a key and are never recorded, so they need no label.
DEFAULT_PREDICTION_ROUTES = (
    "/predict",
    "/v1/predict",
    "/api/v1/predict",
    "/models/{model}/predict",
    "/v1/models/{model}/predict",
    "/invocations",
)
ROUTE_MAX = 200  # a usage label; usage stores at most 255 characters


@dataclass(frozen=True)
class GatewayConfig:
    mlflow_upstream: str | None = None
    prediction_upstream: str | None = None
    auth_service_url: str | None = None  # None: validate in-process against the auth service's database
    mlflow_static_prefix: str = ""
    upstream_timeout: float = 60.0
    auth_cache_ttl: float = 2.0
    service_token: str | None = field(default=None, repr=False)  # for usage reports over HTTP
    prediction_routes: tuple[str, ...] = DEFAULT_PREDICTION_ROUTES  # templates: "/models/{model}/predict"

    def __post_init__(self) -> None:
        if not self.mlflow_upstream and not self.prediction_upstream:
            raise ValueError("give at least one upstream: --mlflow-upstream and/or --prediction-upstream")
        if self.mlflow_static_prefix and not self.mlflow_static_prefix.startswith("/"):
            raise ValueError("--mlflow-static-prefix must start with '/'")
        for route in self.prediction_routes:
            if "," in route or len(route) > ROUTE_MAX:
                raise ValueError(f"prediction route {route!r}: at most {ROUTE_MAX} characters, no commas")
        RouteTemplates(self.prediction_routes)  # a malformed template fails here, with its name

    def to_env(self) -> dict[str, str]:
        values = {
            "MLFLOW_UPSTREAM": self.mlflow_upstream,
            "PREDICTION_UPSTREAM": self.prediction_upstream,
            "AUTH_SERVICE_URL": self.auth_service_url,
            "MLFLOW_STATIC_PREFIX": self.mlflow_static_prefix,
            "UPSTREAM_TIMEOUT": str(self.upstream_timeout),
            "AUTH_CACHE_TTL": str(self.auth_cache_ttl),
        }
        env = {PREFIX + name: value for name, value in values.items() if value}
        if self.prediction_routes != DEFAULT_PREDICTION_ROUTES:  # "" (no routes) differs from absent (default)
            env[PREFIX + "PREDICTION_ROUTES"] = ",".join(self.prediction_routes)
        return env

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> GatewayConfig:
        env = dict(os.environ) if env is None else env

        def get(name: str) -> str | None:
            return env.get(PREFIX + name) or None

        return cls(
            mlflow_upstream=get("MLFLOW_UPSTREAM"),
            prediction_upstream=get("PREDICTION_UPSTREAM"),
            auth_service_url=get("AUTH_SERVICE_URL"),
            mlflow_static_prefix=(get("MLFLOW_STATIC_PREFIX") or "").rstrip("/"),
            upstream_timeout=float(get("UPSTREAM_TIMEOUT") or 60.0),
            auth_cache_ttl=float(get("AUTH_CACHE_TTL") or 2.0),
            service_token=get("SERVICE_TOKEN"),
            prediction_routes=parse_prediction_routes(env.get(PREFIX + "PREDICTION_ROUTES")),
        )


def parse_prediction_routes(value: str | None) -> tuple[str, ...]:
    """HOKUSAI_GATEWAY_PREDICTION_ROUTES: comma-separated templates; unset means the default, empty means none."""
    if value is None:
        return DEFAULT_PREDICTION_ROUTES
    return tuple(route.strip() for route in value.split(",") if route.strip())


def service_settings() -> Settings:
    """The auth service's settings, from the same environment variables the service reads."""
    return Settings()
