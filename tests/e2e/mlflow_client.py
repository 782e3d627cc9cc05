"""Runs the official MLflow client against a tracking URI (the gateway), as a third-party developer would.

python mlflow_client.py <action>; configuration from MLFLOW_TRACKING_URI / MLFLOW_TRACKING_TOKEN (or
MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD). Prints one JSON object.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path


def log_run(artifact_mb: int) -> dict[str, object]:
    import mlflow

    mlflow.set_experiment("hokusai-e2e")
    with tempfile.TemporaryDirectory() as directory:
        artifact = Path(directory) / "weights.bin"
        artifact.write_bytes(os.urandom(artifact_mb * 1024 * 1024))
        digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
        with mlflow.start_run() as run:
            mlflow.log_param("learning_rate", 0.01)
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_artifact(str(artifact))
        downloaded = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="weights.bin",
                                                              dst_path=str(Path(directory) / "down")))  # fmt: skip
        same = hashlib.sha256(downloaded.read_bytes()).hexdigest() == digest
    fetched = mlflow.get_run(run.info.run_id)
    return {
        "run_id": run.info.run_id,
        "artifact_identical": same,
        "artifact_size": artifact_mb * 1024 * 1024,
        "metric": fetched.data.metrics.get("loss"),
        "param": fetched.data.params.get("learning_rate"),
    }


def register_model() -> dict[str, object]:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]  # scikit-learn ships no types

    rng = np.random.default_rng(0)
    features = rng.normal(size=(50, 3))
    model = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    mlflow.set_experiment("hokusai-e2e")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="hokusai-e2e-model")
    loaded = mlflow.sklearn.load_model(info.model_uri)
    return {"version": info.registered_model_version, "predicts": int(loaded.predict(features[:1])[0]) in (0, 1)}


def search() -> dict[str, object]:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return {"ok": True, "experiments": len(mlflow.search_experiments())}
    except MlflowException as exc:
        return {"ok": False, "error": str(exc)[:500]}


def create_run() -> dict[str, object]:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.set_experiment("hokusai-e2e")
        with mlflow.start_run():
            pass
    except MlflowException as exc:
        return {"ok": False, "error": str(exc)[:500]}
    return {"ok": True}


if __name__ == "__main__":
    action = sys.argv[1]
    result = {"log-run": lambda: log_run(int(sys.argv[2])), "register": register_model, "search": search,
              "create-run": create_run}[action]()  # fmt: skip
    print(json.dumps(result))
