"""The MLflow-backed parts of the SDK (``pip install 'hokusai-ml-platform[mlflow]'``): ``ModelRegistry`` and
``ExperimentManager``.

Importing this package does not import MLflow; a registry or manager does when it first needs it, and without
the extra raises ``ConfigurationError`` ("MLflow is not installed: pip install 'hokusai-ml-platform[mlflow]'").
Mock mode (``HOKUSAI_MOCK_MODE=true``) works without MLflow. Where the key and the tracking URI come from:
docs/third-party-developers.md; what is in use: ``hokusai.config.get_mlflow_status()``.
"""

from __future__ import annotations

from hokusai.core._entries import ModelEntry
from hokusai.core._experiments import ExperimentManager, ExperimentRun
from hokusai.core._mock import mock_store, reset_mock_store
from hokusai.core._registry import ModelRegistry

__all__ = ["ExperimentManager", "ExperimentRun", "ModelEntry", "ModelRegistry", "mock_store", "reset_mock_store"]
