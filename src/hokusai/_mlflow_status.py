"""What ``hokusai.config.get_mlflow_status()`` reports: the MLflow connection of the last ``ModelRegistry`` or
``ExperimentManager`` set up in this process, or, before there is one, what one would use now.

Never imports MLflow and never shows a key (only its masked prefix and where it came from).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from hokusai._errors import HokusaiError
from hokusai._mlflow_settings import (
    MOCK_MODE_ENV,
    OPTIONAL_MLFLOW_ENV,
    MlflowSettings,
    env_flag,
    resolve_mlflow_settings,
)


@dataclass
class _Current:
    settings: MlflowSettings
    reachable: bool | None = None  # None: not checked yet (mock mode and local stores are never checked)
    last_error: str | None = None


_current: _Current | None = None
_lock = threading.Lock()


def record_configured(settings: MlflowSettings) -> None:
    """A registry or experiment manager was set up with ``settings``; it is now what the status describes."""
    global _current  # noqa: PLW0603 - the process-wide "last configured" the status reports
    with _lock:
        _current = _Current(settings)


def record_reachability(settings: MlflowSettings, reachable: bool, error: str | None = None) -> None:
    """The outcome of talking to MLflow for ``settings`` (ignored if another connection was set up since)."""
    with _lock:
        if _current is not None and _current.settings == settings:
            _current.reachable = reachable
            _current.last_error = settings.redact(error) if error else None


def forget() -> None:
    """Back to "nothing configured yet" (for tests)."""
    global _current  # noqa: PLW0603
    with _lock:
        _current = None


def get_mlflow_status() -> dict[str, Any]:
    """``{configured, tracking_uri, is_local, auth_method, mock_mode, optional_mlflow, ...}``.

    ``configured`` is True once a ``ModelRegistry`` or ``ExperimentManager`` has been set up in this process;
    before that the other fields say what one would use. ``reachable`` is None until MLflow was contacted.
    A configuration problem (a malformed key, ...) is reported in ``error`` instead of raised."""
    with _lock:
        current = None if _current is None else _Current(_current.settings, _current.reachable, _current.last_error)
    if current is None:
        try:
            current = _Current(resolve_mlflow_settings())
        except HokusaiError as exc:
            return {
                "configured": False,
                "tracking_uri": None,
                "is_local": None,
                "auth_method": None,
                "mock_mode": env_flag(MOCK_MODE_ENV),
                "optional_mlflow": env_flag(OPTIONAL_MLFLOW_ENV),
                "error": str(exc),
            }
        configured = False
    else:
        configured = True
    settings = current.settings
    return {
        "configured": configured,
        "tracking_uri": settings.safe_tracking_uri,
        "tracking_uri_source": settings.tracking_uri_source,
        "is_local": settings.is_local,
        "auth_method": settings.auth_method,
        "api_key_source": settings.api_key_source,
        "api_key_prefix": settings.api_key_prefix,
        "mock_mode": settings.mock_mode,
        "optional_mlflow": settings.optional_mlflow,
        "reachable": current.reachable,
        "last_error": current.last_error,
    }
