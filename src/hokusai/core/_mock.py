"""``HOKUSAI_MOCK_MODE=true``: models and runs kept in memory, nothing sent anywhere, MLflow not needed.

One store per process, shared by every registry and experiment manager (as one MLflow server would be), so
versions of a name count up across registries. ``mock_store()`` lets tests look inside; ``reset_mock_store()``
empties it. Entries say ``mock=True`` and ``get_mlflow_status()`` says ``mock_mode: True, auth_method: "mock"``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hokusai._errors import NotFoundError
from hokusai._mlflow_settings import MOCK_TRACKING_URI
from hokusai.core._backend import RunStatus
from hokusai.core._entries import ModelEntry, RunInfo
from hokusai.core._flavours import Flavour

logger = logging.getLogger("hokusai.core")


@dataclass
class MockRun:
    run_id: str
    experiment_id: str
    experiment_name: str
    run_name: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # key -> [(step, value)]
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "RUNNING"
    started_at: float = field(default_factory=time.time)


@dataclass
class MockVersion:
    entry: ModelEntry
    model: object = field(repr=False)


@dataclass
class MockStore:
    experiments: dict[str, str] = field(default_factory=dict)  # name -> id
    runs: dict[str, MockRun] = field(default_factory=dict)
    models: dict[str, list[MockVersion]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def experiment_id(self, name: str) -> str:
        return self.experiments.setdefault(name, str(len(self.experiments) + 1))

    def load_model(self, name: str, version: int | None = None) -> object:
        """The object registered as ``name`` (latest version unless ``version``)."""
        versions = self.models.get(name, [])
        for stored in reversed(versions):
            if version is None or stored.entry.version == version:
                return stored.model
        raise NotFoundError(f"mock registry has no model {name!r}" + (f" version {version}" if version else ""))


_store = MockStore()
_warned = False
_warn_lock = threading.Lock()


def mock_store() -> MockStore:
    return _store


def reset_mock_store() -> None:
    global _store  # noqa: PLW0603 - the one process-wide mock registry
    _store = MockStore()


def warn_once() -> None:
    global _warned  # noqa: PLW0603
    with _warn_lock:
        if _warned:
            return
        _warned = True
    logger.warning(
        "HOKUSAI_MOCK_MODE is on: MLflow operations are simulated in memory; no model is registered anywhere"
    )


class MockBackend:
    def check(self) -> None:
        return None

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
        run = self.create_run(experiment_name, f"{name} baseline", tags)
        store = _store
        with store.lock:
            versions = store.models.setdefault(name, [])
            version = len(versions) + 1
            entry = ModelEntry(
                name=name,
                version=version,
                run_id=run.run_id,
                model_uri=f"models:/{name}/{version}",
                tracking_uri=MOCK_TRACKING_URI,
                model_type=model_type,
                flavour=flavour.name,
                tags=dict(tags),
                mock=True,
                source_uri=f"runs:/{run.run_id}/model",
            )
            versions.append(MockVersion(entry, model))
        self.end_run(run.run_id, "FINISHED")
        return entry

    def create_run(self, experiment_name: str, run_name: str | None, tags: Mapping[str, str]) -> RunInfo:
        store = _store
        with store.lock:
            experiment_id = store.experiment_id(experiment_name)
            run = MockRun(uuid.uuid4().hex, experiment_id, experiment_name, run_name, tags=dict(tags))
            store.runs[run.run_id] = run
        return RunInfo(run.run_id, experiment_id)

    def log(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        step: int | None = None,
    ) -> None:
        store = _store
        with store.lock:
            run = store.runs[run_id]
            run.params.update(params or {})
            run.tags.update(tags or {})
            for key, value in (metrics or {}).items():
                history = run.metrics.setdefault(key, [])
                history.append((step if step is not None else len(history), float(value)))

    def end_run(self, run_id: str, status: RunStatus) -> None:
        store = _store
        with store.lock:
            store.runs[run_id].status = status
