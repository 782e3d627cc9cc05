"""What a request needs of a key's scopes. A key with no scopes may do everything within its service.

MLflow: reading needs any MLflow-ish scope (or none at all); writing needs ``mlflow:write`` or ``model:write``.
Whether a request reads is decided by MLflow's route table (``mlflow_routes``): GET, HEAD and OPTIONS, and the few
routes MLflow serves over POST that only read (searches), matched exactly. Everything else is a write, including
any route the table does not know.
Prediction: ``predict``.
"""

from __future__ import annotations

from hokusai._vocabulary import MLFLOW_READ_SCOPES, MLFLOW_WRITE_SCOPES, PREDICT_SCOPES
from hokusai_auth.gateway import mlflow_routes
from hokusai_auth.gateway.routing import Upstream


def needed_scopes(upstream: Upstream, method: str, path: str) -> tuple[str, ...]:
    """The scopes of which a key needs one. ``path`` is the path at the upstream, percent-decoded, relative to its
    own root (for MLflow: without its ``--static-prefix``)."""
    if upstream == Upstream.PREDICTION:
        return PREDICT_SCOPES
    return MLFLOW_READ_SCOPES if mlflow_routes.is_read(method, path) else MLFLOW_WRITE_SCOPES
