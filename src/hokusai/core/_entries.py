"""What the registry and the experiment manager hand back: plain records, the same in mock mode and for real."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelEntry:
    """A model handed to ``ModelRegistry.register_baseline``.

    ``registered`` is False only under ``HOKUSAI_OPTIONAL_MLFLOW=true`` when MLflow could not be reached; then
    ``version``, ``run_id`` and ``model_uri`` are None and ``reason`` says why. ``mock`` is True in
    ``HOKUSAI_MOCK_MODE``, where nothing left the process. ``model_uri`` (``models:/<name>/<version>``) loads the
    model back with MLflow, e.g. ``mlflow.sklearn.load_model(entry.model_uri)``."""

    name: str
    version: int | None
    run_id: str | None
    model_uri: str | None
    tracking_uri: str
    model_type: str | None
    flavour: str
    tags: Mapping[str, str] = field(default_factory=dict)
    registered: bool = True
    mock: bool = False
    source_uri: str | None = None  # where MLflow stored the logged model (models:/m-..., runs:/...)
    reason: str | None = None


@dataclass(frozen=True)
class RunInfo:
    """The ids of a run as the backend created it."""

    run_id: str
    experiment_id: str
