"""The gateway's configuration: its own options (from the command line, passed to workers through the
environment as HOKUSAI_GATEWAY_*) and, for in-process validation, the auth service's settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hokusai_auth.settings import Settings

PREFIX = "HOKUSAI_GATEWAY_"


@dataclass(frozen=True)
class GatewayConfig:
    mlflow_upstream: str | None = None
    prediction_upstream: str | None = None
    auth_service_url: str | None = None  # None: validate in-process against the auth service's database
    mlflow_static_prefix: str = ""
    upstream_timeout: float = 60.0
    auth_cache_ttl: float = 2.0
    service_token: str | None = field(default=None, repr=False)  # for usage reports over HTTP

    def __post_init__(self) -> None:
        if not self.mlflow_upstream and not self.prediction_upstream:
            raise ValueError("give at least one upstream: --mlflow-upstream and/or --prediction-upstream")
        if self.mlflow_static_prefix and not self.mlflow_static_prefix.startswith("/"):
            raise ValueError("--mlflow-static-prefix must start with '/'")

    def to_env(self) -> dict[str, str]:
        values = {
            "MLFLOW_UPSTREAM": self.mlflow_upstream,
            "PREDICTION_UPSTREAM": self.prediction_upstream,
            "AUTH_SERVICE_URL": self.auth_service_url,
            "MLFLOW_STATIC_PREFIX": self.mlflow_static_prefix,
            "UPSTREAM_TIMEOUT": str(self.upstream_timeout),
            "AUTH_CACHE_TTL": str(self.auth_cache_ttl),
        }
        return {PREFIX + name: value for name, value in values.items() if value}

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
        )


def service_settings() -> Settings:
    """The auth service's settings, from the same environment variables the service reads."""
    return Settings()
