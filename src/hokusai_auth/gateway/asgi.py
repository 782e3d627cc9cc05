"""Entry point for gateway worker processes: ``uvicorn --factory hokusai_auth.gateway.asgi:app_from_env``."""

from __future__ import annotations

import gc

from hokusai_auth import logs
from hokusai_auth.gateway.app import GatewayApp
from hokusai_auth.gateway.config import GatewayConfig, service_settings


class _FrozenAfterStartup(GatewayApp):
    async def startup(self) -> None:
        await super().startup()
        gc.collect()  # see hokusai_auth.app.create_app: full collections over long-lived objects stall the loop
        gc.freeze()


def app_from_env() -> GatewayApp:
    settings = service_settings()
    logs.configure(settings.log_level, settings.log_format)
    return _FrozenAfterStartup(GatewayConfig.from_env(), settings=settings)
