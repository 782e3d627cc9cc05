"""Whether MLflow (the ``[mlflow]`` extra of ``hokusai-ml-platform``) is installed. The SDK's other modules never
import MLflow; the ``hokusai.core`` modules import it inside the functions that use it, after this check, so a
missing extra is one clear error instead of an ImportError from somewhere deep."""

from __future__ import annotations

import importlib.util

from hokusai._errors import ConfigurationError

INSTALL_HINT = "MLflow is not installed: pip install 'hokusai-ml-platform[mlflow]'"


def mlflow_installed() -> bool:
    try:
        return importlib.util.find_spec("mlflow") is not None
    except ValueError:  # a half-imported or stubbed module without a spec
        return False


def require_mlflow() -> None:
    if not mlflow_installed():
        raise ConfigurationError(INSTALL_HINT)


def mlflow_major_version() -> int:
    import mlflow

    return int(mlflow.__version__.split(".", 1)[0])
