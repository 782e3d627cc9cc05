"""``ExperimentManager``: MLflow runs (params, metrics, tags) with the same key and tracking URI resolution as
``ModelRegistry``.

    from hokusai.core import ExperimentManager

    experiments = ExperimentManager("churn")
    with experiments.start_run("baseline") as run:
        run.log_params({"C": 1.0})
        run.log_metrics({"accuracy": 0.91})

The run ends FINISHED when the block completes and FAILED when it raises. Every value is also kept on the run
object (``run.params``, ``run.metrics``, ``run.tags``). Under ``HOKUSAI_OPTIONAL_MLFLOW=true`` a run MLflow cannot
take is ``offline`` (``run_id`` None): it keeps the values locally and logs one warning instead of raising.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from hokusai._errors import HokusaiError, ServiceUnavailableError
from hokusai._version import __version__
from hokusai.core._backend import RunStatus
from hokusai.core._connection import Connection
from hokusai.core._entries import RunInfo

DEFAULT_EXPERIMENT = "hokusai-experiments"
logger = logging.getLogger("hokusai.core")


class ExperimentRun:
    """One run: log to it while its ``with`` block is open (or after, as MLflow allows)."""

    def __init__(self, connection: Connection, experiment_name: str, info: RunInfo | None, reason: str | None) -> None:
        self._connection = connection
        self.experiment_name = experiment_name
        self.run_id = info.run_id if info else None
        self.experiment_id = info.experiment_id if info else None
        self.offline_reason = reason
        self.params: dict[str, str] = {}
        self.metrics: dict[str, float] = {}  # the latest value of each
        self.tags: dict[str, str] = {}

    @property
    def offline(self) -> bool:
        """True when MLflow was unavailable under HOKUSAI_OPTIONAL_MLFLOW: values are kept here only."""
        return self.run_id is None

    def __repr__(self) -> str:
        return f"ExperimentRun(run_id={self.run_id!r}, experiment={self.experiment_name!r}, offline={self.offline})"

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        values = {key: str(value) for key, value in params.items()}
        self.params.update(values)
        self._send(lambda run_id: self._connection.backend.log(run_id, params=values))

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.log_metrics({key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        values = {key: float(value) for key, value in metrics.items()}
        self.metrics.update(values)
        self._send(lambda run_id: self._connection.backend.log(run_id, metrics=values, step=step))

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        values = {key: str(value) for key, value in tags.items()}
        self.tags.update(values)
        self._send(lambda run_id: self._connection.backend.log(run_id, tags=values))

    def _send(self, operation: Callable[[str], None]) -> None:
        run_id = self.run_id
        if run_id is None:
            return
        outcome = self._connection.attempt(f"logging to run {run_id}", lambda: operation(run_id), check=False)
        if isinstance(outcome, ServiceUnavailableError):
            # From now on this run only records locally; the warning was logged by attempt().
            self.run_id, self.offline_reason = None, str(outcome)

    def _end(self, status: RunStatus) -> None:
        run_id = self.run_id
        if run_id is not None:
            self._connection.attempt(
                f"ending run {run_id}", lambda: self._connection.backend.end_run(run_id, status), check=False
            )


class ExperimentManager:
    """Runs in one MLflow experiment (created on first use)."""

    def __init__(
        self,
        experiment_name: str = DEFAULT_EXPERIMENT,
        tracking_uri: str | None = None,
        api_key: str | None = None,
        api_endpoint: str | None = None,
    ) -> None:
        self._connection = Connection.open(tracking_uri, api_key, api_endpoint)
        self.experiment_name = experiment_name

    @property
    def tracking_uri(self) -> str:
        return self._connection.settings.safe_tracking_uri

    def __repr__(self) -> str:
        return f"ExperimentManager(experiment_name={self.experiment_name!r}, tracking_uri={self.tracking_uri!r})"

    @contextmanager
    def start_run(self, run_name: str | None = None, tags: Mapping[str, Any] | None = None) -> Iterator[ExperimentRun]:
        """A new run; FINISHED when the block completes, FAILED when it raises (the exception propagates)."""
        values = {**{key: str(value) for key, value in (tags or {}).items()}, "hokusai.sdk_version": __version__}
        connection = self._connection
        outcome = connection.attempt(
            f"starting a run in {self.experiment_name!r}",
            lambda: connection.backend.create_run(self.experiment_name, run_name, values),
        )
        if isinstance(outcome, ServiceUnavailableError):
            run = ExperimentRun(connection, self.experiment_name, None, str(outcome))
        else:
            run = ExperimentRun(connection, self.experiment_name, outcome, None)
        run.tags.update(values)
        try:
            yield run
        except BaseException:
            with suppress(HokusaiError):  # the caller's exception says more than a failure to mark the run
                run._end("FAILED")
            raise
        run._end("FINISHED")
