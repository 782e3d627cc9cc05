"""Usage labels of proxied requests: route templates from a bounded set, whatever paths clients invent."""

from __future__ import annotations

import random
import re
import string

import pytest

from hokusai_auth.gateway.config import DEFAULT_PREDICTION_ROUTES, GatewayConfig
from hokusai_auth.gateway.mlflow_routes import ROUTES, RouteTemplates
from hokusai_auth.gateway.usage import OTHER, EndpointLabels

MLFLOW_TEMPLATES = {route.template for route in ROUTES}
MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/2.0/mlflow-artifacts", "/api/3.0/mlflow",
                   "/ajax-api/3.0/mlflow", "/api/2.0/mlflow-artifacts/artifacts", "/gateway", "")  # fmt: skip
ALPHABET = string.ascii_letters + string.digits + "-_.~:@{}%+ é/"


def fill(template: str, rng: random.Random) -> str:
    """The template with random values for its parameters (hex, so they never spell a literal segment)."""

    def value(segments: int) -> str:
        return "/".join(f"{rng.getrandbits(64):x}" for _ in range(segments))

    path = re.sub(r"\{\w+:path\}", lambda _: value(rng.randint(1, 4)), template)
    return re.sub(r"\{\w+\}", lambda _: value(1), path)


def random_path(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:  # junk
        return "/" + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60)))
    if kind == 1:  # junk under MLflow's own prefixes
        tail = "/".join("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12))) for _ in range(3))
        return rng.choice(MLFLOW_PREFIXES) + "/" + tail
    if kind == 2:  # a real route with random ids, sometimes with something appended
        path = fill(rng.choice(sorted(MLFLOW_TEMPLATES)), rng)
        return path + rng.choice(("", "/", "/x", "/runs/search", "//"))
    path = fill(rng.choice(DEFAULT_PREDICTION_ROUTES), rng)
    return path + rng.choice(("", "/", "/7"))


def test_a_thousand_random_paths_make_at_most_the_templates_and_other() -> None:
    rng = random.Random(20250711)
    labels = EndpointLabels(DEFAULT_PREDICTION_ROUTES)
    paths = [random_path(rng) for _ in range(1000)]
    mlflow = {labels("mlflow", path) for path in paths}
    prediction = {labels("prediction", path) for path in paths}
    assert mlflow <= MLFLOW_TEMPLATES | {OTHER}
    assert prediction <= set(DEFAULT_PREDICTION_ROUTES) | {OTHER}
    assert OTHER in mlflow
    assert OTHER in prediction


def test_invented_ids_and_artifact_paths_share_one_label() -> None:
    rng = random.Random(7)
    labels = EndpointLabels(DEFAULT_PREDICTION_ROUTES)
    invented = {labels("mlflow", f"/api/2.0/mlflow/{rng.getrandbits(64):x}/get") for _ in range(30)}
    artifacts = {labels("mlflow", f"/api/2.0/mlflow-artifacts/artifacts/{rng.getrandbits(64):x}/a/b.txt")
                 for _ in range(30)}  # fmt: skip
    models = {labels("prediction", f"/v1/models/{rng.getrandbits(64):x}/predict") for _ in range(30)}
    assert invented == {OTHER}
    assert artifacts == {"/api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}"}
    assert models == {"/v1/models/{model}/predict"}


def test_every_mlflow_route_is_labelled_with_its_template() -> None:
    rng = random.Random(11)
    labels = EndpointLabels(())
    wrong = [(template, path) for template in sorted(MLFLOW_TEMPLATES)
             if labels("mlflow", path := fill(template, rng)) != template]  # fmt: skip
    assert wrong == []


@pytest.mark.parametrize(
    ("upstream", "path", "label"),
    [
        ("mlflow", "/api/2.0/mlflow/runs/get", "/api/2.0/mlflow/runs/get"),
        ("mlflow", "/api/2.0/mlflow/runs/get/", OTHER),
        ("mlflow", "/API/2.0/mlflow/runs/get", OTHER),
        ("mlflow", "/api/2.0/mlflow/logged-models/search", "/api/2.0/mlflow/logged-models/search"),
        ("mlflow", "/api/2.0/mlflow/logged-models/m-1", "/api/2.0/mlflow/logged-models/{model_id}"),
        ("mlflow", "/api/2.0/mlflow-artifacts/mpu/create/1/x/artifacts/runs/search",
         "/api/2.0/mlflow-artifacts/mpu/create/{artifact_path:path}"),
        ("mlflow", "/ajax-api/3.0/mlflow/mcp-servers/a/b/versions/2/tags/k",
         "/ajax-api/3.0/mlflow/mcp-servers/{name:path}/versions/{version:path}/tags/{key:path}"),
        ("mlflow", "/gateway/gemini/v1beta/models/chat:generateContent",
         "/gateway/gemini/v1beta/models/{endpoint_name}:generateContent"),
        ("mlflow", "/", "/"),
        ("mlflow", "", OTHER),
        ("prediction", "/predict", "/predict"),
        ("prediction", "/models/7/predict", "/models/{model}/predict"),
        ("prediction", "/models/7/8/predict", OTHER),
        ("prediction", "/api/2.0/mlflow/runs/get", OTHER),
        ("elsewhere", "/predict", OTHER),
    ],
)  # fmt: skip
def test_labels(upstream: str, path: str, label: str) -> None:
    assert EndpointLabels(DEFAULT_PREDICTION_ROUTES)(upstream, path) == label


def test_prediction_routes_are_configurable_and_survive_the_trip_to_workers() -> None:
    upstream = "http://predict.internal"
    default = GatewayConfig(prediction_upstream=upstream)
    assert default.prediction_routes == DEFAULT_PREDICTION_ROUTES
    assert "HOKUSAI_GATEWAY_PREDICTION_ROUTES" not in default.to_env()
    for routes in (("/score", "/v2/models/{name}/infer", "/files/{path:path}"), ()):
        config = GatewayConfig(prediction_upstream=upstream, prediction_routes=routes)
        assert GatewayConfig.from_env(config.to_env()) == config
    env = {"HOKUSAI_GATEWAY_PREDICTION_UPSTREAM": "http://p", "HOKUSAI_GATEWAY_PREDICTION_ROUTES": " /a , /b/{id} ,"}
    assert GatewayConfig.from_env(env).prediction_routes == ("/a", "/b/{id}")
    configured = EndpointLabels(GatewayConfig.from_env(env).prediction_routes)
    assert configured("prediction", "/b/42") == "/b/{id}"
    assert configured("prediction", "/predict") == OTHER


@pytest.mark.parametrize(
    "route", ["predict", "/a,b", "/a/{", "/a/{x}{y}", "/a/{x:int}", "/{a:path}/{b:path}", "/" + "a" * 200]
)
def test_malformed_prediction_routes_are_refused_at_start(route: str) -> None:
    with pytest.raises(ValueError, match="route"):
        GatewayConfig(prediction_upstream="http://p", prediction_routes=(route,))


def test_templates_match_whole_segments_only() -> None:
    templates = RouteTemplates(["/runs/search", "/a/{id}", "/files/{path:path}", "/m/{name}:run"])
    assert templates.match("/x/runs/search") is None
    assert templates.match("/runs/search/x") is None
    assert templates.match("/a/") is None, "a parameter is never empty"
    assert templates.match("/a/1/2") is None
    assert templates.match("/files/") == "/files/{path:path}"
    assert templates.match("/files/a//b") == "/files/{path:path}"
    assert templates.match("/m/x:run") == "/m/{name}:run"
    assert templates.match("/m/:run") is None
    assert templates.match("/m/x:runs") is None
