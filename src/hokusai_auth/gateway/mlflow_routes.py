"""MLflow's route table, as static data, and matching paths against route templates.

The gateway decides whether a request to MLflow only reads by the route MLflow will serve it with, never by a
suffix or prefix of the path: MLflow's artifact routes take any path (``/api/2.0/mlflow-artifacts/mpu/create/
<path>``), so ``.../artifacts/runs/search`` is an upload, not a search. It cannot ask MLflow (an optional
dependency, and another process), so the table below is MLflow's own, copied from ``BUILT_FROM``;
``tests/gateway/test_mlflow_routes.py`` fails when it differs from what the installed MLflow serves (its message
prints the lines to add or remove). Paths are relative to MLflow's root, without any ``--static-prefix``.

A request reads when its method is GET, HEAD or OPTIONS, or when its method and path equal, character for
character, a ``reads`` route below. Every other request needs a write scope: an unknown route, a trailing slash,
a doubled slash or another case is not a read. Routes that read with another method take no parameters (checked
when the table is loaded), so no path parameter can make a write look like a read. The non-GET reads are the
searches and queries (``runs/search``, ``traces/metrics``, ``traces/calculate-filter-correlation``, ...),
``registered-models/get-latest-versions`` and ``traces/batchGetInfos`` (gets over POST),
``artifacts/presigned-download-url`` (a time-limited link to download one artifact, which the key may read
anyway), MLflow's misspelt, unimplemented ``/api/2.0mlflow/experiments/search-datasets``, and ``/graphql``:
MLflow's schema has queries, and two "mutations" that only search (runs, datasets) plus an echo; the test fails
if an MLflow upgrade adds another. Writes include every upload (``mlflow-artifacts`` PUT and ``mpu/*``,
``upload-artifact``), ``gateway-proxy`` and ``/gateway/...`` (they spend an LLM provider's money), the scorer,
evaluation and issue-detection ``invoke`` routes, and ``ui-telemetry``.

Templates: a literal segment matches itself exactly (case included); ``{name}`` matches one non-empty segment
(with the literal text around it, as in ``{endpoint_name}:generateContent``); ``{name:path}`` matches one or
more segments. The same syntax names the prediction API's routes (``GatewayConfig.prediction_routes``), and
templates are what usage records as endpoint labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

BUILT_FROM = "mlflow 3.17.2"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")


@dataclass(frozen=True, slots=True)
class Route:
    methods: frozenset[str]
    template: str
    reads: bool  # none of its methods changes anything (GET and HEAD never do)


# methods         access template
_TABLE = """
GET               reads  /
GET               reads  /ajax-api/2.0/mlflow-artifacts/artifacts
GET,PUT,DELETE    writes /ajax-api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}
POST              writes /ajax-api/2.0/mlflow-artifacts/mpu/abort/{artifact_path:path}
POST              writes /ajax-api/2.0/mlflow-artifacts/mpu/complete/{artifact_path:path}
POST              writes /ajax-api/2.0/mlflow-artifacts/mpu/create/{artifact_path:path}
GET               reads  /ajax-api/2.0/mlflow-artifacts/presigned/{artifact_path:path}
GET               reads  /ajax-api/2.0/mlflow/artifacts/list
POST              reads  /ajax-api/2.0/mlflow/artifacts/presigned-download-url
POST              writes /ajax-api/2.0/mlflow/artifacts/presigned-upload-url
POST              writes /ajax-api/2.0/mlflow/experiments/create
POST              writes /ajax-api/2.0/mlflow/experiments/delete
POST              writes /ajax-api/2.0/mlflow/experiments/delete-experiment-tag
GET               reads  /ajax-api/2.0/mlflow/experiments/get
GET               reads  /ajax-api/2.0/mlflow/experiments/get-by-name
POST              writes /ajax-api/2.0/mlflow/experiments/restore
GET,POST          reads  /ajax-api/2.0/mlflow/experiments/search
POST              reads  /ajax-api/2.0/mlflow/experiments/search-datasets
POST              writes /ajax-api/2.0/mlflow/experiments/set-experiment-tag
POST              writes /ajax-api/2.0/mlflow/experiments/update
GET,POST          writes /ajax-api/2.0/mlflow/gateway-proxy
GET               reads  /ajax-api/2.0/mlflow/get-online-trace-details
GET               reads  /ajax-api/2.0/mlflow/get-trace-artifact
POST              writes /ajax-api/2.0/mlflow/logged-models
POST              reads  /ajax-api/2.0/mlflow/logged-models/search
GET,PATCH,DELETE  writes /ajax-api/2.0/mlflow/logged-models/{model_id}
GET               reads  /ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/directories
GET               reads  /ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files
POST              writes /ajax-api/2.0/mlflow/logged-models/{model_id}/params
PATCH             writes /ajax-api/2.0/mlflow/logged-models/{model_id}/tags
DELETE            writes /ajax-api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}
GET               reads  /ajax-api/2.0/mlflow/metrics/get-history
GET               reads  /ajax-api/2.0/mlflow/metrics/get-history-bulk
GET               reads  /ajax-api/2.0/mlflow/metrics/get-history-bulk-interval
POST              writes /ajax-api/2.0/mlflow/model-versions/create
DELETE            writes /ajax-api/2.0/mlflow/model-versions/delete
DELETE            writes /ajax-api/2.0/mlflow/model-versions/delete-tag
GET               reads  /ajax-api/2.0/mlflow/model-versions/get
GET               reads  /ajax-api/2.0/mlflow/model-versions/get-download-uri
GET               reads  /ajax-api/2.0/mlflow/model-versions/search
POST              writes /ajax-api/2.0/mlflow/model-versions/set-tag
POST              writes /ajax-api/2.0/mlflow/model-versions/transition-stage
PATCH             writes /ajax-api/2.0/mlflow/model-versions/update
GET,POST,DELETE   writes /ajax-api/2.0/mlflow/registered-models/alias
POST              writes /ajax-api/2.0/mlflow/registered-models/create
DELETE            writes /ajax-api/2.0/mlflow/registered-models/delete
DELETE            writes /ajax-api/2.0/mlflow/registered-models/delete-tag
GET               reads  /ajax-api/2.0/mlflow/registered-models/get
GET,POST          reads  /ajax-api/2.0/mlflow/registered-models/get-latest-versions
POST              writes /ajax-api/2.0/mlflow/registered-models/rename
GET               reads  /ajax-api/2.0/mlflow/registered-models/search
POST              writes /ajax-api/2.0/mlflow/registered-models/set-tag
PATCH             writes /ajax-api/2.0/mlflow/registered-models/update
POST              writes /ajax-api/2.0/mlflow/runs/create
POST              writes /ajax-api/2.0/mlflow/runs/create-promptlab-run
POST              writes /ajax-api/2.0/mlflow/runs/delete
POST              writes /ajax-api/2.0/mlflow/runs/delete-tag
GET               reads  /ajax-api/2.0/mlflow/runs/get
POST              writes /ajax-api/2.0/mlflow/runs/log-batch
POST              writes /ajax-api/2.0/mlflow/runs/log-inputs
POST              writes /ajax-api/2.0/mlflow/runs/log-metric
POST              writes /ajax-api/2.0/mlflow/runs/log-model
POST              writes /ajax-api/2.0/mlflow/runs/log-parameter
POST              writes /ajax-api/2.0/mlflow/runs/outputs
POST              writes /ajax-api/2.0/mlflow/runs/restore
POST              reads  /ajax-api/2.0/mlflow/runs/search
POST              writes /ajax-api/2.0/mlflow/runs/set-tag
POST              writes /ajax-api/2.0/mlflow/runs/update
GET,POST          writes /ajax-api/2.0/mlflow/traces
POST              writes /ajax-api/2.0/mlflow/traces/delete-traces
POST              writes /ajax-api/2.0/mlflow/traces/link-prompts
POST              writes /ajax-api/2.0/mlflow/traces/link-to-run
PATCH             writes /ajax-api/2.0/mlflow/traces/{request_id}
GET               reads  /ajax-api/2.0/mlflow/traces/{request_id}/info
PATCH,DELETE      writes /ajax-api/2.0/mlflow/traces/{request_id}/tags
GET               reads  /ajax-api/2.0/mlflow/unified-traces
POST              writes /ajax-api/2.0/mlflow/upload-artifact
GET,POST          writes /ajax-api/2.0/mlflow/webhooks
GET,PATCH,DELETE  writes /ajax-api/2.0/mlflow/webhooks/{webhook_id}
POST              writes /ajax-api/2.0/mlflow/webhooks/{webhook_id}/test
POST              reads  /ajax-api/2.0mlflow/experiments/search-datasets
POST              writes /ajax-api/3.0/jobs/
PATCH             writes /ajax-api/3.0/jobs/cancel/{job_id}
POST              reads  /ajax-api/3.0/jobs/search
GET               reads  /ajax-api/3.0/jobs/{job_id}
GET,PUT           writes /ajax-api/3.0/mlflow/assistant/config
POST              writes /ajax-api/3.0/mlflow/assistant/message
GET               reads  /ajax-api/3.0/mlflow/assistant/providers
GET               reads  /ajax-api/3.0/mlflow/assistant/providers/{provider}/health
GET               reads  /ajax-api/3.0/mlflow/assistant/providers/{provider}/models
PATCH             writes /ajax-api/3.0/mlflow/assistant/sessions/{session_id}
POST              writes /ajax-api/3.0/mlflow/assistant/sessions/{session_id}/permission
GET               reads  /ajax-api/3.0/mlflow/assistant/sessions/{session_id}/stream
POST              writes /ajax-api/3.0/mlflow/assistant/sessions/{session_id}/tool-result
POST              writes /ajax-api/3.0/mlflow/assistant/skills/install
POST              writes /ajax-api/3.0/mlflow/datasets/create
GET,POST          reads  /ajax-api/3.0/mlflow/datasets/search
GET,DELETE        writes /ajax-api/3.0/mlflow/datasets/{dataset_id}
POST              writes /ajax-api/3.0/mlflow/datasets/{dataset_id}/add-experiments
GET               reads  /ajax-api/3.0/mlflow/datasets/{dataset_id}/experiment-ids
GET,POST,DELETE   writes /ajax-api/3.0/mlflow/datasets/{dataset_id}/records
POST              writes /ajax-api/3.0/mlflow/datasets/{dataset_id}/remove-experiments
PATCH             writes /ajax-api/3.0/mlflow/datasets/{dataset_id}/tags
DELETE            writes /ajax-api/3.0/mlflow/datasets/{dataset_id}/tags/{key}
POST              writes /ajax-api/3.0/mlflow/demo/delete
POST              writes /ajax-api/3.0/mlflow/demo/generate
POST              writes /ajax-api/3.0/mlflow/gateway/budgets/create
DELETE            writes /ajax-api/3.0/mlflow/gateway/budgets/delete
GET               reads  /ajax-api/3.0/mlflow/gateway/budgets/get
GET               reads  /ajax-api/3.0/mlflow/gateway/budgets/list
POST              writes /ajax-api/3.0/mlflow/gateway/budgets/update
GET               reads  /ajax-api/3.0/mlflow/gateway/budgets/windows
POST              writes /ajax-api/3.0/mlflow/gateway/endpoints/bindings/create
DELETE            writes /ajax-api/3.0/mlflow/gateway/endpoints/bindings/delete
GET               reads  /ajax-api/3.0/mlflow/gateway/endpoints/bindings/list
POST              writes /ajax-api/3.0/mlflow/gateway/endpoints/create
DELETE            writes /ajax-api/3.0/mlflow/gateway/endpoints/delete
DELETE            writes /ajax-api/3.0/mlflow/gateway/endpoints/delete-tag
GET               reads  /ajax-api/3.0/mlflow/gateway/endpoints/get
GET               reads  /ajax-api/3.0/mlflow/gateway/endpoints/list
POST              writes /ajax-api/3.0/mlflow/gateway/endpoints/models/attach
POST              writes /ajax-api/3.0/mlflow/gateway/endpoints/models/detach
POST              writes /ajax-api/3.0/mlflow/gateway/endpoints/set-tag
POST              writes /ajax-api/3.0/mlflow/gateway/endpoints/update
POST              writes /ajax-api/3.0/mlflow/gateway/guardrails/add-to-endpoint
POST              writes /ajax-api/3.0/mlflow/gateway/guardrails/create
DELETE            writes /ajax-api/3.0/mlflow/gateway/guardrails/delete
GET               reads  /ajax-api/3.0/mlflow/gateway/guardrails/get
GET               reads  /ajax-api/3.0/mlflow/gateway/guardrails/list
GET               reads  /ajax-api/3.0/mlflow/gateway/guardrails/list-for-endpoint
DELETE            writes /ajax-api/3.0/mlflow/gateway/guardrails/remove-from-endpoint
PATCH             writes /ajax-api/3.0/mlflow/gateway/guardrails/update-config
POST              writes /ajax-api/3.0/mlflow/gateway/model-definitions/create
DELETE            writes /ajax-api/3.0/mlflow/gateway/model-definitions/delete
GET               reads  /ajax-api/3.0/mlflow/gateway/model-definitions/get
GET               reads  /ajax-api/3.0/mlflow/gateway/model-definitions/list
POST              writes /ajax-api/3.0/mlflow/gateway/model-definitions/update
GET               reads  /ajax-api/3.0/mlflow/gateway/provider-config
GET               reads  /ajax-api/3.0/mlflow/gateway/secrets/config
POST              writes /ajax-api/3.0/mlflow/gateway/secrets/create
DELETE            writes /ajax-api/3.0/mlflow/gateway/secrets/delete
GET               reads  /ajax-api/3.0/mlflow/gateway/secrets/get
GET               reads  /ajax-api/3.0/mlflow/gateway/secrets/list
POST              writes /ajax-api/3.0/mlflow/gateway/secrets/update
GET               reads  /ajax-api/3.0/mlflow/gateway/supported-models
GET               reads  /ajax-api/3.0/mlflow/gateway/supported-providers
POST              writes /ajax-api/3.0/mlflow/genai/evaluate/invoke
GET               reads  /ajax-api/3.0/mlflow/get-trace-artifact
POST              writes /ajax-api/3.0/mlflow/issues
POST              writes /ajax-api/3.0/mlflow/issues/invoke
POST              reads  /ajax-api/3.0/mlflow/issues/search
GET,PATCH         writes /ajax-api/3.0/mlflow/issues/{issue_id}
PATCH             writes /ajax-api/3.0/mlflow/jobs/cancel/{job_id}
GET               reads  /ajax-api/3.0/mlflow/jobs/{job_id}
POST              writes /ajax-api/3.0/mlflow/label-schemas/create
DELETE            writes /ajax-api/3.0/mlflow/label-schemas/delete
GET               reads  /ajax-api/3.0/mlflow/label-schemas/get
GET               reads  /ajax-api/3.0/mlflow/label-schemas/get-by-name
GET               reads  /ajax-api/3.0/mlflow/label-schemas/list
PATCH             writes /ajax-api/3.0/mlflow/label-schemas/update
GET,POST          writes /ajax-api/3.0/mlflow/mcp-servers
GET               reads  /ajax-api/3.0/mlflow/mcp-servers/endpoints
GET,PATCH,DELETE  writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}
POST              writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/aliases
GET,DELETE        writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/aliases/{alias:path}
GET,POST          writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/endpoints
GET,PATCH,DELETE  writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/endpoints/{endpoint_id}
POST              writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/tags
DELETE            writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/tags/{key:path}
GET,POST          writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/versions
GET,PATCH,DELETE  writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/versions/{version:path}
POST              writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/versions/{version:path}/tags
DELETE            writes /ajax-api/3.0/mlflow/mcp-servers/{name:path}/versions/{version:path}/tags/{key:path}
POST              writes /ajax-api/3.0/mlflow/prompt-optimization/jobs
GET,POST          reads  /ajax-api/3.0/mlflow/prompt-optimization/jobs/search
GET,DELETE        writes /ajax-api/3.0/mlflow/prompt-optimization/jobs/{job_id}
POST              writes /ajax-api/3.0/mlflow/prompt-optimization/jobs/{job_id}/cancel
POST              writes /ajax-api/3.0/mlflow/review-queues/create
POST              writes /ajax-api/3.0/mlflow/review-queues/delete
GET               reads  /ajax-api/3.0/mlflow/review-queues/get
GET               reads  /ajax-api/3.0/mlflow/review-queues/get-by-name
POST              writes /ajax-api/3.0/mlflow/review-queues/get-or-create-user
POST              writes /ajax-api/3.0/mlflow/review-queues/items/add
GET               reads  /ajax-api/3.0/mlflow/review-queues/items/list
POST              writes /ajax-api/3.0/mlflow/review-queues/items/remove
POST              writes /ajax-api/3.0/mlflow/review-queues/items/set-status
GET               reads  /ajax-api/3.0/mlflow/review-queues/list
POST              writes /ajax-api/3.0/mlflow/review-queues/update
POST              writes /ajax-api/3.0/mlflow/scorer/invoke
DELETE            writes /ajax-api/3.0/mlflow/scorers/delete
GET               reads  /ajax-api/3.0/mlflow/scorers/get
GET               reads  /ajax-api/3.0/mlflow/scorers/list
PUT               writes /ajax-api/3.0/mlflow/scorers/online-config
GET               reads  /ajax-api/3.0/mlflow/scorers/online-configs
POST              writes /ajax-api/3.0/mlflow/scorers/register
GET               reads  /ajax-api/3.0/mlflow/scorers/versions
GET               reads  /ajax-api/3.0/mlflow/server-info
POST              writes /ajax-api/3.0/mlflow/traces
GET               reads  /ajax-api/3.0/mlflow/traces/batchGet
POST              reads  /ajax-api/3.0/mlflow/traces/batchGetInfos
POST              reads  /ajax-api/3.0/mlflow/traces/calculate-filter-correlation
POST              writes /ajax-api/3.0/mlflow/traces/delete-traces
GET               reads  /ajax-api/3.0/mlflow/traces/get
POST              reads  /ajax-api/3.0/mlflow/traces/metrics
POST              reads  /ajax-api/3.0/mlflow/traces/search
GET               reads  /ajax-api/3.0/mlflow/traces/{trace_id}
POST              writes /ajax-api/3.0/mlflow/traces/{trace_id}/assessments
GET,PATCH,DELETE  writes /ajax-api/3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}
PATCH,DELETE      writes /ajax-api/3.0/mlflow/traces/{trace_id}/tags
GET,POST          writes /ajax-api/3.0/mlflow/ui-telemetry
GET,POST          writes /ajax-api/3.0/mlflow/workspaces
GET,PATCH,DELETE  writes /ajax-api/3.0/mlflow/workspaces/{workspace_name}
GET               reads  /api/2.0/mlflow-artifacts/artifacts
GET,PUT,DELETE    writes /api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}
POST              writes /api/2.0/mlflow-artifacts/mpu/abort/{artifact_path:path}
POST              writes /api/2.0/mlflow-artifacts/mpu/complete/{artifact_path:path}
POST              writes /api/2.0/mlflow-artifacts/mpu/create/{artifact_path:path}
GET               reads  /api/2.0/mlflow-artifacts/presigned/{artifact_path:path}
GET               reads  /api/2.0/mlflow/artifacts/list
POST              reads  /api/2.0/mlflow/artifacts/presigned-download-url
POST              writes /api/2.0/mlflow/artifacts/presigned-upload-url
POST              writes /api/2.0/mlflow/experiments/create
POST              writes /api/2.0/mlflow/experiments/delete
POST              writes /api/2.0/mlflow/experiments/delete-experiment-tag
GET               reads  /api/2.0/mlflow/experiments/get
GET               reads  /api/2.0/mlflow/experiments/get-by-name
POST              writes /api/2.0/mlflow/experiments/restore
GET,POST          reads  /api/2.0/mlflow/experiments/search
POST              writes /api/2.0/mlflow/experiments/set-experiment-tag
POST              writes /api/2.0/mlflow/experiments/update
GET               reads  /api/2.0/mlflow/get-online-trace-details
POST              writes /api/2.0/mlflow/logged-models
POST              reads  /api/2.0/mlflow/logged-models/search
GET,PATCH,DELETE  writes /api/2.0/mlflow/logged-models/{model_id}
GET               reads  /api/2.0/mlflow/logged-models/{model_id}/artifacts/directories
POST              writes /api/2.0/mlflow/logged-models/{model_id}/params
PATCH             writes /api/2.0/mlflow/logged-models/{model_id}/tags
DELETE            writes /api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}
GET               reads  /api/2.0/mlflow/metrics/get-history
GET               reads  /api/2.0/mlflow/metrics/get-history-bulk-interval
POST              writes /api/2.0/mlflow/model-versions/create
DELETE            writes /api/2.0/mlflow/model-versions/delete
DELETE            writes /api/2.0/mlflow/model-versions/delete-tag
GET               reads  /api/2.0/mlflow/model-versions/get
GET               reads  /api/2.0/mlflow/model-versions/get-download-uri
GET               reads  /api/2.0/mlflow/model-versions/search
POST              writes /api/2.0/mlflow/model-versions/set-tag
POST              writes /api/2.0/mlflow/model-versions/transition-stage
PATCH             writes /api/2.0/mlflow/model-versions/update
GET,POST,DELETE   writes /api/2.0/mlflow/registered-models/alias
POST              writes /api/2.0/mlflow/registered-models/create
DELETE            writes /api/2.0/mlflow/registered-models/delete
DELETE            writes /api/2.0/mlflow/registered-models/delete-tag
GET               reads  /api/2.0/mlflow/registered-models/get
GET,POST          reads  /api/2.0/mlflow/registered-models/get-latest-versions
POST              writes /api/2.0/mlflow/registered-models/rename
GET               reads  /api/2.0/mlflow/registered-models/search
POST              writes /api/2.0/mlflow/registered-models/set-tag
PATCH             writes /api/2.0/mlflow/registered-models/update
POST              writes /api/2.0/mlflow/runs/create
POST              writes /api/2.0/mlflow/runs/delete
POST              writes /api/2.0/mlflow/runs/delete-tag
GET               reads  /api/2.0/mlflow/runs/get
POST              writes /api/2.0/mlflow/runs/log-batch
POST              writes /api/2.0/mlflow/runs/log-inputs
POST              writes /api/2.0/mlflow/runs/log-metric
POST              writes /api/2.0/mlflow/runs/log-model
POST              writes /api/2.0/mlflow/runs/log-parameter
POST              writes /api/2.0/mlflow/runs/outputs
POST              writes /api/2.0/mlflow/runs/restore
POST              reads  /api/2.0/mlflow/runs/search
POST              writes /api/2.0/mlflow/runs/set-tag
POST              writes /api/2.0/mlflow/runs/update
GET,POST          writes /api/2.0/mlflow/traces
POST              writes /api/2.0/mlflow/traces/delete-traces
POST              writes /api/2.0/mlflow/traces/link-prompts
POST              writes /api/2.0/mlflow/traces/link-to-run
PATCH             writes /api/2.0/mlflow/traces/{request_id}
GET               reads  /api/2.0/mlflow/traces/{request_id}/info
PATCH,DELETE      writes /api/2.0/mlflow/traces/{request_id}/tags
GET               reads  /api/2.0/mlflow/unified-traces
GET,POST          writes /api/2.0/mlflow/webhooks
GET,PATCH,DELETE  writes /api/2.0/mlflow/webhooks/{webhook_id}
POST              writes /api/2.0/mlflow/webhooks/{webhook_id}/test
POST              reads  /api/2.0mlflow/experiments/search-datasets
POST              writes /api/3.0/mlflow/datasets/create
GET,POST          reads  /api/3.0/mlflow/datasets/search
GET,DELETE        writes /api/3.0/mlflow/datasets/{dataset_id}
POST              writes /api/3.0/mlflow/datasets/{dataset_id}/add-experiments
GET               reads  /api/3.0/mlflow/datasets/{dataset_id}/experiment-ids
GET,POST,DELETE   writes /api/3.0/mlflow/datasets/{dataset_id}/records
POST              writes /api/3.0/mlflow/datasets/{dataset_id}/remove-experiments
PATCH             writes /api/3.0/mlflow/datasets/{dataset_id}/tags
DELETE            writes /api/3.0/mlflow/datasets/{dataset_id}/tags/{key}
POST              writes /api/3.0/mlflow/gateway/budgets/create
DELETE            writes /api/3.0/mlflow/gateway/budgets/delete
GET               reads  /api/3.0/mlflow/gateway/budgets/get
GET               reads  /api/3.0/mlflow/gateway/budgets/list
POST              writes /api/3.0/mlflow/gateway/budgets/update
GET               reads  /api/3.0/mlflow/gateway/budgets/windows
POST              writes /api/3.0/mlflow/gateway/endpoints/bindings/create
DELETE            writes /api/3.0/mlflow/gateway/endpoints/bindings/delete
GET               reads  /api/3.0/mlflow/gateway/endpoints/bindings/list
POST              writes /api/3.0/mlflow/gateway/endpoints/create
DELETE            writes /api/3.0/mlflow/gateway/endpoints/delete
DELETE            writes /api/3.0/mlflow/gateway/endpoints/delete-tag
GET               reads  /api/3.0/mlflow/gateway/endpoints/get
GET               reads  /api/3.0/mlflow/gateway/endpoints/list
POST              writes /api/3.0/mlflow/gateway/endpoints/models/attach
POST              writes /api/3.0/mlflow/gateway/endpoints/models/detach
POST              writes /api/3.0/mlflow/gateway/endpoints/set-tag
POST              writes /api/3.0/mlflow/gateway/endpoints/update
POST              writes /api/3.0/mlflow/gateway/guardrails/add-to-endpoint
POST              writes /api/3.0/mlflow/gateway/guardrails/create
DELETE            writes /api/3.0/mlflow/gateway/guardrails/delete
GET               reads  /api/3.0/mlflow/gateway/guardrails/get
GET               reads  /api/3.0/mlflow/gateway/guardrails/list
GET               reads  /api/3.0/mlflow/gateway/guardrails/list-for-endpoint
DELETE            writes /api/3.0/mlflow/gateway/guardrails/remove-from-endpoint
PATCH             writes /api/3.0/mlflow/gateway/guardrails/update-config
POST              writes /api/3.0/mlflow/gateway/model-definitions/create
DELETE            writes /api/3.0/mlflow/gateway/model-definitions/delete
GET               reads  /api/3.0/mlflow/gateway/model-definitions/get
GET               reads  /api/3.0/mlflow/gateway/model-definitions/list
POST              writes /api/3.0/mlflow/gateway/model-definitions/update
POST              writes /api/3.0/mlflow/gateway/secrets/create
DELETE            writes /api/3.0/mlflow/gateway/secrets/delete
GET               reads  /api/3.0/mlflow/gateway/secrets/get
GET               reads  /api/3.0/mlflow/gateway/secrets/list
POST              writes /api/3.0/mlflow/gateway/secrets/update
POST              writes /api/3.0/mlflow/issues
POST              reads  /api/3.0/mlflow/issues/search
GET,PATCH         writes /api/3.0/mlflow/issues/{issue_id}
POST              writes /api/3.0/mlflow/label-schemas/create
DELETE            writes /api/3.0/mlflow/label-schemas/delete
GET               reads  /api/3.0/mlflow/label-schemas/get
GET               reads  /api/3.0/mlflow/label-schemas/get-by-name
GET               reads  /api/3.0/mlflow/label-schemas/list
PATCH             writes /api/3.0/mlflow/label-schemas/update
GET,POST          writes /api/3.0/mlflow/mcp-servers
GET               reads  /api/3.0/mlflow/mcp-servers/endpoints
GET,PATCH,DELETE  writes /api/3.0/mlflow/mcp-servers/{name:path}
POST              writes /api/3.0/mlflow/mcp-servers/{name:path}/aliases
GET,DELETE        writes /api/3.0/mlflow/mcp-servers/{name:path}/aliases/{alias:path}
GET,POST          writes /api/3.0/mlflow/mcp-servers/{name:path}/endpoints
GET,PATCH,DELETE  writes /api/3.0/mlflow/mcp-servers/{name:path}/endpoints/{endpoint_id}
POST              writes /api/3.0/mlflow/mcp-servers/{name:path}/tags
DELETE            writes /api/3.0/mlflow/mcp-servers/{name:path}/tags/{key:path}
GET,POST          writes /api/3.0/mlflow/mcp-servers/{name:path}/versions
GET,PATCH,DELETE  writes /api/3.0/mlflow/mcp-servers/{name:path}/versions/{version:path}
POST              writes /api/3.0/mlflow/mcp-servers/{name:path}/versions/{version:path}/tags
DELETE            writes /api/3.0/mlflow/mcp-servers/{name:path}/versions/{version:path}/tags/{key:path}
POST              writes /api/3.0/mlflow/prompt-optimization/jobs
GET,POST          reads  /api/3.0/mlflow/prompt-optimization/jobs/search
GET,DELETE        writes /api/3.0/mlflow/prompt-optimization/jobs/{job_id}
POST              writes /api/3.0/mlflow/prompt-optimization/jobs/{job_id}/cancel
POST              writes /api/3.0/mlflow/review-queues/create
POST              writes /api/3.0/mlflow/review-queues/delete
GET               reads  /api/3.0/mlflow/review-queues/get
GET               reads  /api/3.0/mlflow/review-queues/get-by-name
POST              writes /api/3.0/mlflow/review-queues/get-or-create-user
POST              writes /api/3.0/mlflow/review-queues/items/add
GET               reads  /api/3.0/mlflow/review-queues/items/list
POST              writes /api/3.0/mlflow/review-queues/items/remove
POST              writes /api/3.0/mlflow/review-queues/items/set-status
GET               reads  /api/3.0/mlflow/review-queues/list
POST              writes /api/3.0/mlflow/review-queues/update
DELETE            writes /api/3.0/mlflow/scorers/delete
GET               reads  /api/3.0/mlflow/scorers/get
GET               reads  /api/3.0/mlflow/scorers/list
PUT               writes /api/3.0/mlflow/scorers/online-config
GET               reads  /api/3.0/mlflow/scorers/online-configs
POST              writes /api/3.0/mlflow/scorers/register
GET               reads  /api/3.0/mlflow/scorers/versions
GET               reads  /api/3.0/mlflow/server-info
POST              writes /api/3.0/mlflow/traces
GET               reads  /api/3.0/mlflow/traces/batchGet
POST              reads  /api/3.0/mlflow/traces/batchGetInfos
POST              reads  /api/3.0/mlflow/traces/calculate-filter-correlation
POST              writes /api/3.0/mlflow/traces/delete-traces
GET               reads  /api/3.0/mlflow/traces/get
POST              reads  /api/3.0/mlflow/traces/metrics
POST              reads  /api/3.0/mlflow/traces/search
GET               reads  /api/3.0/mlflow/traces/{trace_id}
POST              writes /api/3.0/mlflow/traces/{trace_id}/assessments
GET,PATCH,DELETE  writes /api/3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}
PATCH,DELETE      writes /api/3.0/mlflow/traces/{trace_id}/tags
GET,POST          writes /api/3.0/mlflow/workspaces
GET,PATCH,DELETE  writes /api/3.0/mlflow/workspaces/{workspace_name}
GET               reads  /build/{filename:path}
POST              writes /gateway/anthropic/v1/messages
POST              writes /gateway/gemini/v1beta/models/{endpoint_name}:generateContent
POST              writes /gateway/gemini/v1beta/models/{endpoint_name}:streamGenerateContent
POST              writes /gateway/mlflow/v1/chat/completions
GET               reads  /gateway/mlflow/v1/models
POST              writes /gateway/openai/v1/chat/completions
POST              writes /gateway/openai/v1/embeddings
POST              writes /gateway/openai/v1/responses
POST              writes /gateway/openai/v1/responses/compact
POST              writes /gateway/proxy/{endpoint_name}/{path:path}
POST              writes /gateway/typesafe/v1/systemone
POST              writes /gateway/{endpoint_name}/mlflow/invocations
GET               reads  /get-artifact
GET,POST          reads  /graphql
GET               reads  /health
GET               reads  /model-versions/get-artifact
GET               reads  /static-files/{path:path}
POST              writes /v1/traces
GET               reads  /version
"""


@dataclass(frozen=True, slots=True)
class _One:
    """A one-segment parameter, with the literal text the template puts around it."""

    prefix: str
    suffix: str

    def fits(self, segment: str) -> bool:
        return (
            len(segment) > len(self.prefix) + len(self.suffix)
            and segment.startswith(self.prefix)
            and segment.endswith(self.suffix)
        )


_Segment = str | _One
_Block = tuple[_Segment, ...]  # segments between two path parameters


@dataclass(frozen=True, slots=True)
class _Template:
    text: str
    blocks: tuple[_Block, ...]  # a path parameter sits between each two blocks
    rank: tuple[int, int, str]  # the most specific first: more literal segments, then fewer path parameters

    def matches(self, segments: list[str]) -> bool:
        first, last = self.blocks[0], self.blocks[-1]
        if len(self.blocks) == 1:
            return len(segments) == len(first) and _fits(first, segments, 0)
        end = len(segments) - len(last)  # the last block ends the path
        if not (_fits(first, segments, 0) and _fits(last, segments, end)):
            return False
        at = len(first)
        for block in self.blocks[1:-1]:
            # Leftmost is enough: a later fit only leaves less room for the blocks after it. Linear in the path.
            start = at + 1  # the path parameter before the block takes one segment at least
            while start + len(block) < end and not _fits(block, segments, start):
                start += 1
            if start + len(block) >= end:
                return False
            at = start + len(block)
        return end > at


def _fits(block: _Block, segments: list[str], at: int) -> bool:
    if at < 0 or at + len(block) > len(segments):
        return False
    for offset, part in enumerate(block):
        segment = segments[at + offset]
        if not (part == segment if isinstance(part, str) else part.fits(segment)):
            return False
    return True


def _compile(template: str) -> _Template:
    if not template.startswith("/"):
        raise ValueError(f"route template {template!r} must start with '/'")
    blocks: list[list[_Segment]] = [[]]
    for segment in template[1:].split("/"):
        parameters = list(_PARAMETER.finditer(segment))
        if not parameters:
            if "{" in segment or "}" in segment:
                raise ValueError(f"route template {template!r}: malformed parameter in {segment!r}")
            blocks[-1].append(segment)
        elif len(parameters) > 1:
            raise ValueError(f"route template {template!r}: one parameter per segment")
        elif parameters[0].group(2) == "path":
            if parameters[0].group(0) != segment or (len(blocks) > 1 and not blocks[-1]):
                raise ValueError(f"route template {template!r}: a path parameter is a whole segment, between literals")
            blocks.append([])
        elif parameters[0].group(2) is not None:
            raise ValueError(f"route template {template!r}: unknown converter in {segment!r}")
        else:
            found = parameters[0]
            blocks[-1].append(_One(segment[: found.start()], segment[found.end() :]))
    literals = sum(isinstance(part, str) for block in blocks for part in block)
    return _Template(template, tuple(tuple(block) for block in blocks), (-literals, len(blocks), template))


class RouteTemplates:
    """Which template of a set a path matches: the most specific one, or None."""

    def __init__(self, templates: Iterable[str]) -> None:
        self._exact: dict[str, str] = {}
        self._by_lead: dict[tuple[str, ...], list[_Template]] = {}
        for text in templates:
            compiled = _compile(text)
            if len(compiled.blocks) == 1 and all(isinstance(part, str) for part in compiled.blocks[0]):
                self._exact[text] = text
                continue
            lead: list[str] = []
            for part in compiled.blocks[0]:
                if not isinstance(part, str):
                    break
                lead.append(part)
            self._by_lead.setdefault(tuple(lead), []).append(compiled)
        for candidates in self._by_lead.values():
            candidates.sort(key=lambda candidate: candidate.rank)
        self._longest_lead = max((len(lead) for lead in self._by_lead), default=0)

    def match(self, path: str) -> str | None:
        exact = self._exact.get(path)
        if exact is not None or not path.startswith("/") or not self._by_lead:
            return exact
        segments = path[1:].split("/")
        best: _Template | None = None
        for size in range(min(len(segments), self._longest_lead) + 1):
            for candidate in self._by_lead.get(tuple(segments[:size]), ()):  # sorted by rank
                if best is not None and candidate.rank >= best.rank:
                    break
                if candidate.matches(segments):
                    best = candidate
                    break
        return None if best is None else best.text


def _load(table: str) -> tuple[Route, ...]:
    routes: list[Route] = []
    for line in table.strip().splitlines():
        methods_text, access, template = line.split()
        methods = frozenset(methods_text.split(","))
        if not methods <= METHODS or access not in ("reads", "writes"):
            raise ValueError(f"MLflow route table: bad line {line!r}")
        reads = access == "reads"
        if not reads and methods <= READ_METHODS:
            raise ValueError(f"MLflow route table: {template} has only read methods but is marked writes")
        if reads and not methods <= READ_METHODS and "{" in template:
            # The read check is an exact comparison: a parameter would let a write path pass as this route.
            raise ValueError(f"MLflow route table: {template} reads with {methods_text} but takes parameters")
        routes.append(Route(methods, template, reads))
    if len({route.template for route in routes}) != len(routes):
        raise ValueError("MLflow route table: a template appears twice")
    return tuple(routes)


ROUTES = _load(_TABLE)
TEMPLATES = RouteTemplates(route.template for route in ROUTES)
_READ_ONLY = frozenset(
    (method, route.template) for route in ROUTES if route.reads for method in route.methods - READ_METHODS
)


def is_read(method: str, path: str) -> bool:
    """Whether serving this request only reads. ``path`` is percent-decoded, relative to MLflow's root."""
    return method in READ_METHODS or (method, path) in _READ_ONLY


def template_of(path: str) -> str | None:
    """The template of the MLflow route that serves ``path`` (any method), or None for a path MLflow does not serve."""
    return TEMPLATES.match(path)
