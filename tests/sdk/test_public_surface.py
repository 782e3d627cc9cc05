"""The SDK's public surface is ``hokusai/__init__.py`` (its ``__all__``), plus ``hokusai.config`` and
``hokusai.core`` as the contract names them, ``hokusai.cli`` (the command) and ``hokusai.tokens`` (offline token
verification for other services). Every other module is private by name, so what a user may rely on is what they
can see."""

from __future__ import annotations

import inspect
import pkgutil
import subprocess
import sys

import hokusai
from hokusai import _errors

PUBLIC_MODULES = {"hokusai", "hokusai.config", "hokusai.core", "hokusai.cli", "hokusai.tokens"}


def test_every_other_module_is_private_by_name() -> None:
    public = [
        info.name
        for info in pkgutil.walk_packages(hokusai.__path__, "hokusai.")
        if info.name not in PUBLIC_MODULES and not any(part.startswith("_") for part in info.name.split(".")[1:])
    ]
    assert public == []


def test_the_surface_has_the_clients_setup_and_every_error() -> None:
    exported = set(hokusai.__all__)
    assert {"AuthClient", "AsyncAuthClient", "RetryPolicy", "setup", "configure", "check_format"} <= exported
    errors = {name for name, value in vars(_errors).items() if inspect.isclass(value)}
    errors = {name for name in errors if issubclass(getattr(_errors, name), hokusai.HokusaiError)}
    assert errors <= exported
    for name in hokusai.__all__:
        assert getattr(hokusai, name) is not None, name
    assert set(dir(hokusai)) >= exported


def test_the_contracts_import_paths() -> None:
    from hokusai import AsyncAuthClient, AuthClient, setup
    from hokusai.config import get_mlflow_status
    from hokusai.core import ExperimentManager, ModelRegistry

    names = [AuthClient, AsyncAuthClient, ModelRegistry, ExperimentManager, setup, get_mlflow_status]
    assert [item.__module__.split(".")[0] for item in names] == ["hokusai"] * len(names)


def test_importing_hokusai_leaves_the_http_client_until_it_is_used() -> None:
    probe = (
        "import sys, hokusai; before = 'httpx' in sys.modules; hokusai.AuthClient;print(before, 'httpx' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.split() == ["False", "True"]
