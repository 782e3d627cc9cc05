"""The ASGI entry point uvicorn workers import: ``uvicorn --factory hokusai_auth.asgi:app_from_env``.

Each worker builds its settings from the environment (and the data directory the parent prepared), so every
worker of ``serve --workers N`` runs the same configuration.
"""

from __future__ import annotations

from fastapi import FastAPI

from hokusai_auth import bootstrap, logs
from hokusai_auth.app import create_app
from hokusai_auth.settings import Settings


def app_from_env() -> FastAPI:
    settings, _ = bootstrap.prepare(Settings())
    logs.configure(settings.log_level, settings.log_format)
    return create_app(settings, freeze_gc=True)
