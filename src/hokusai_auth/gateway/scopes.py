"""What a request needs of a key's scopes. A key with no scopes may do everything within its service.

MLflow: reading needs any MLflow-ish scope (or none at all); writing needs ``mlflow:write`` or ``model:write``.
Whether a request reads is decided by MLflow's route table (``mlflow_routes``): GET, HEAD and OPTIONS, and the few
routes MLflow serves over POST that only read (searches), matched exactly. Everything else is a write, including
any route the table does not know.
Prediction: ``predict``.
"""

from __future__ import annotations

from hokusai_auth.gateway import mlflow_routes

WRITE_SCOPES = ("mlflow:write", "model:write")
READ_SCOPES = ("read", "mlflow:read", "model:read", *WRITE_SCOPES)
PREDICT_SCOPES = ("predict",)


def needed_scopes(upstream: str, method: str, path: str) -> tuple[str, ...]:
    """The scopes of which a key needs one. ``path`` is the path at the upstream, percent-decoded, relative to its
    own root (for MLflow: without its ``--static-prefix``)."""
    if upstream == "prediction":
        return PREDICT_SCOPES
    return READ_SCOPES if mlflow_routes.is_read(method, path) else WRITE_SCOPES
