"""The real store: an MLflow tracking server (directly, or through the Hokusai gateway) or a local MLflow store.

Every operation runs with MLflow pointed at this connection (``tracking.activated``) and turns MLflow's
exceptions into the SDK's typed errors (``failures.from_exception``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from hokusai._mlflow_settings import MlflowSettings
from hokusai.core import _failures as failures
from hokusai.core import _tracking as tracking
from hokusai.core._backend import RunStatus
from hokusai.core._entries import ModelEntry, RunInfo
from hokusai.core._flavours import Flavour
from hokusai.core._mlflow import mlflow_major_version

if TYPE_CHECKING:
    from mlflow import MlflowClient

T = TypeVar("T")
MODEL_ARTIFACT = "model"


class MlflowBackend:
    def __init__(self, settings: MlflowSettings) -> None:
        self.settings = settings

    def check(self) -> None:
        tracking.probe(self.settings)

    @contextmanager
    def _session(self) -> Iterator[MlflowClient]:
        import requests
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        with tracking.activated(self.settings):
            try:
                yield MlflowClient(tracking_uri=self.settings.tracking_uri, registry_uri=self.settings.tracking_uri)
            except (MlflowException, requests.RequestException) as exc:
                raise failures.from_exception(exc, self.settings) from exc

    def _call(self, operation: Callable[[MlflowClient], T]) -> T:
        with self._session() as client:
            return operation(client)

    def _experiment_id(self, client: MlflowClient, name: str) -> str:
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return str(experiment.experiment_id)
        return str(client.create_experiment(name))

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
        import mlflow

        module: Any = importlib.import_module(flavour.module)
        # MLflow 3 names a logged model with `name`; MLflow 2 took an artifact path.
        where = "name" if mlflow_major_version() >= 3 else "artifact_path"
        options = {flavour.model_argument: model, where: MODEL_ARTIFACT, **log_model_options}
        with self._session() as client:
            experiment_id = self._experiment_id(client, experiment_name)
            # The fluent API is what log_model works with; nested, so a run the caller has open stays theirs.
            with mlflow.start_run(experiment_id=experiment_id, run_name=f"{name} baseline", tags=dict(tags),
                                  nested=mlflow.active_run() is not None) as run:  # fmt: skip
                info = module.log_model(**options)
                version = mlflow.register_model(info.model_uri, name, tags=dict(tags))
        return ModelEntry(
            name=name,
            version=int(version.version),
            run_id=run.info.run_id,
            model_uri=f"models:/{name}/{version.version}",
            tracking_uri=self.settings.safe_tracking_uri,
            model_type=model_type,
            flavour=flavour.name,
            tags=dict(tags),
            source_uri=str(info.model_uri),
        )

    def create_run(self, experiment_name: str, run_name: str | None, tags: Mapping[str, str]) -> RunInfo:
        def create(client: MlflowClient) -> RunInfo:
            experiment_id = self._experiment_id(client, experiment_name)
            run = client.create_run(experiment_id, tags=dict(tags), run_name=run_name)
            return RunInfo(run.info.run_id, experiment_id)

        return self._call(create)

    def log(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        step: int | None = None,
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        batch_metrics = [Metric(key, float(value), now, step or 0) for key, value in (metrics or {}).items()]
        batch_params = [Param(key, value) for key, value in (params or {}).items()]
        batch_tags = [RunTag(key, value) for key, value in (tags or {}).items()]
        self._call(lambda client: client.log_batch(run_id, batch_metrics, batch_params, batch_tags))

    def end_run(self, run_id: str, status: RunStatus) -> None:
        self._call(lambda client: client.set_terminated(run_id, status))
