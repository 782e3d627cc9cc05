"""Which upstream a request path goes to, and the path it has there.

MLflow is reachable at its own paths (what MLflow clients call when the tracking URI is the gateway's root),
under ``/mlflow/`` (the UI and the incident report's ``/mlflow/ajax-api/...``) and under ``/api/mlflow/``; the
mount prefix is removed unless MLflow itself runs with ``--static-prefix`` (then paths pass unchanged). The
prediction API is mounted at ``/prediction/``.
"""

from __future__ import annotations

from dataclasses import dataclass

MLFLOW_OWN_PREFIXES = (
    "/api/2.0/mlflow/",
    "/ajax-api/2.0/mlflow/",
    "/api/2.0/mlflow-artifacts/",
    "/ajax-api/2.0/mlflow-artifacts/",
    "/api/3.0/mlflow/",
    "/ajax-api/3.0/mlflow/",
)
MLFLOW_MOUNTS = ("/api/mlflow", "/mlflow")  # longest first
PREDICTION_MOUNT = "/prediction"


@dataclass(frozen=True, slots=True)
class Target:
    upstream: str  # "mlflow" or "prediction"
    path: str  # the path at the upstream
    service_id: str  # the Hokusai service a key must belong to
    open: bool = False  # health endpoints pass without a key
    mount: str = ""  # the gateway prefix removed from the path
    prefix: str = ""  # the upstream prefix put in its place

    def upstream_raw_path(self, raw_path: bytes) -> bytes:
        """The path to request upstream, from the client's raw (still percent-encoded) path."""
        rest = raw_path[len(self.mount) :] or b"/"
        return self.prefix.encode() + rest


@dataclass(frozen=True)
class RoutingTable:
    mlflow: bool
    prediction: bool
    mlflow_static_prefix: str = ""  # e.g. "/mlflow" when MLflow runs with --static-prefix /mlflow

    def resolve(self, path: str) -> Target | None:
        if self.mlflow:
            prefix = self.mlflow_static_prefix
            if path.startswith(MLFLOW_OWN_PREFIXES):
                return Target("mlflow", prefix + path, "platform", prefix=prefix)
            for mount in MLFLOW_MOUNTS:
                if path == mount or path.startswith(mount + "/"):
                    rest = path[len(mount) :] or "/"
                    return Target("mlflow", prefix + rest, "platform", rest == "/health", mount, prefix)
        if self.prediction and (path == PREDICTION_MOUNT or path.startswith(PREDICTION_MOUNT + "/")):
            rest = path[len(PREDICTION_MOUNT) :] or "/"
            return Target("prediction", rest, "prediction", rest == "/health", PREDICTION_MOUNT)
        return None
