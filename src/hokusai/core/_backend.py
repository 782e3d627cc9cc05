"""What the registry and the experiment manager need from a store of models and runs: MLflow for real
(``mlflow_backend``) or the in-memory one of mock mode (``mock``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from hokusai.core._entries import ModelEntry, RunInfo
from hokusai.core._flavours import Flavour

RunStatus = Literal["FINISHED", "FAILED", "KILLED"]


class Backend(Protocol):
    def check(self) -> None:
        """Raise the typed error if the store cannot be used now (the connectivity probe)."""

    def register(
        self,
        model: object,
        flavour: Flavour,
        name: str,
        model_type: str | None,
        tags: Mapping[str, str],
        experiment_name: str,
        log_model_options: Mapping[str, Any],
    ) -> ModelEntry:
        """Log ``model`` in a new run of ``experiment_name`` and register it as a new version of ``name``."""

    def create_run(self, experiment_name: str, run_name: str | None, tags: Mapping[str, str]) -> RunInfo: ...

    def log(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        step: int | None = None,
    ) -> None: ...

    def end_run(self, run_id: str, status: RunStatus) -> None: ...
