"""What a request needs of a key's scopes. A key with no scopes may do everything within its service.

MLflow: reading needs any MLflow-ish scope (or none at all); writing needs ``mlflow:write`` or ``model:write``.
MLflow uses POST for some reads (searches), which are listed here so read-only keys can search.
Prediction: ``predict``.
"""

from __future__ import annotations

WRITE_SCOPES = ("mlflow:write", "model:write")
READ_SCOPES = ("read", "mlflow:read", "model:read", *WRITE_SCOPES)
PREDICT_SCOPES = ("predict",)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_POSTS = (
    "/runs/search",
    "/experiments/search",
    "/registered-models/search",
    "/model-versions/search",
    "/logged-models/search",
    "/traces/search",
    "/experiments/search-datasets",
    "/metrics/get-history-bulk-interval",
    "/graphql",
)


def is_write(method: str, path: str) -> bool:
    if method in READ_METHODS:
        return False
    return not (method == "POST" and path.rstrip("/").endswith(READ_ONLY_POSTS))


def needed_scopes(upstream: str, method: str, path: str) -> tuple[str, ...]:
    if upstream == "prediction":
        return PREDICT_SCOPES
    return WRITE_SCOPES if is_write(method, path) else READ_SCOPES
