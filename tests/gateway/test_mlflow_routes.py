"""Which MLflow requests a read-only key may make: MLflow's own routes that only read, matched exactly.

The table in ``hokusai_auth.gateway.mlflow_routes`` is compared with the routes the installed MLflow serves, so an
MLflow upgrade that adds, removes or changes a route fails here (MLflow is a dev dependency: under CI=true its
absence fails the run too).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hokusai._vocabulary import MLFLOW_READ_SCOPES as READ_SCOPES
from hokusai._vocabulary import MLFLOW_WRITE_SCOPES as WRITE_SCOPES
from hokusai_auth.gateway.app import GatewayApp
from hokusai_auth.gateway.config import GatewayConfig
from hokusai_auth.gateway.mlflow_routes import BUILT_FROM, READ_METHODS, ROUTES, Route
from hokusai_auth.gateway.routing import Upstream
from hokusai_auth.gateway.scopes import needed_scopes
from tests.conftest import Service, make_settings, unavailable
from tests.gateway.upstream import EchoUpstream
from tests.servers import serving

ROOT = Path(__file__).resolve().parents[2]
UPLOAD_AS_SEARCH = "/api/2.0/mlflow-artifacts/mpu/create/1/x/artifacts/runs/search"  # the reproduction
# /graphql is a read because every field MLflow's schema has only reads; a new field needs a look first.
GRAPHQL_READ_QUERIES = {"mlflowGetExperiment", "mlflowGetMetricHistoryBulkInterval", "mlflowGetRun",
                        "mlflowListArtifacts", "mlflowSearchModelVersions", "mlflowSearchRuns", "test"}  # fmt: skip
GRAPHQL_READ_MUTATIONS = {"mlflowSearchDatasets", "mlflowSearchRuns", "testMutation"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def example(template: str) -> str:
    """A path the template matches."""
    return re.sub(r"\{\w+\}", "7a", re.sub(r"\{\w+:path\}", "1/run 1/artifacts/model.pkl", template))


def non_get_reads() -> list[tuple[str, str]]:
    return sorted((m, r.template) for r in ROUTES if r.reads for m in r.methods if m not in READ_METHODS)


def line(method: str, template: str) -> str:
    return f"{method:<17} {'?':<6} {template}"


# ------------------------------------------------------------------------------------- the installed MLflow


@pytest.fixture(scope="module")
def installed() -> dict[str, Any]:
    if importlib.util.find_spec("mlflow") is None:
        unavailable("MLflow", "not installed: pip install -e '.[dev]'")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "_MLFLOW_"))}
    result = subprocess.run(
        [sys.executable, "-m", "tests.gateway.installed_mlflow_routes"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@pytest.mark.slow
def test_the_table_is_what_the_installed_mlflow_serves(installed: dict[str, Any]) -> None:
    served = {(method, template) for method, template in installed["routes"]}
    table = {(method, route.template) for route in ROUTES for method in route.methods}
    missing = sorted(served - table)
    gone = sorted(table - served)
    changes = [f"add:    {line(*route)}" for route in missing] + [f"remove: {line(*route)}" for route in gone]
    assert changes == [], (
        f"MLflow's routes changed (table from {BUILT_FROM}, installed mlflow {installed['version']}): update _TABLE "
        "in src/hokusai_auth/gateway/mlflow_routes.py, and BUILT_FROM; decide reads or writes for each new route "
        "(only routes that change nothing read)\n" + "\n".join(changes)
    )


@pytest.mark.slow
def test_graphql_only_reads_in_the_installed_mlflow(installed: dict[str, Any]) -> None:
    assert ("POST", "/graphql") in non_get_reads()
    assert set(installed["graphql_queries"]) <= GRAPHQL_READ_QUERIES
    assert set(installed["graphql_mutations"]) <= GRAPHQL_READ_MUTATIONS, "a GraphQL mutation that may write"
    assert installed["graphql_subscriptions"] == []


# ------------------------------------------------------------------------------------- decisions


def test_the_upload_that_looked_like_a_search_needs_a_write_scope() -> None:
    for prefix in ("/api/2.0", "/ajax-api/2.0"):
        for action in ("create", "complete", "abort"):
            path = f"{prefix}/mlflow-artifacts/mpu/{action}/1/x/artifacts/runs/search"
            assert needed_scopes(Upstream.MLFLOW, "POST", path) == WRITE_SCOPES, path
        upload = f"{prefix}/mlflow-artifacts/artifacts/1/x/artifacts/runs/search"
        assert needed_scopes(Upstream.MLFLOW, "PUT", upload) == WRITE_SCOPES
        assert needed_scopes(Upstream.MLFLOW, "DELETE", upload) == WRITE_SCOPES
        assert needed_scopes(Upstream.MLFLOW, "GET", upload) == READ_SCOPES


def test_every_route_reads_or_writes_as_the_table_says() -> None:
    wrong = []
    for route in ROUTES:
        path = example(route.template)
        for method in sorted(route.methods | ({"HEAD"} if "GET" in route.methods else set())):
            expected = READ_SCOPES if method in READ_METHODS or route.reads else WRITE_SCOPES
            if needed_scopes(Upstream.MLFLOW, method, path) != expected:
                wrong.append((method, path))
    assert not wrong
    # The searches a read-only MLflow client makes, named so that a table edit cannot drop them silently.
    for path in ("/api/2.0/mlflow/runs/search", "/api/2.0/mlflow/experiments/search", "/graphql",
                 "/api/2.0/mlflow/logged-models/search", "/api/3.0/mlflow/traces/search",
                 "/ajax-api/2.0/mlflow/experiments/search-datasets"):  # fmt: skip
        assert needed_scopes(Upstream.MLFLOW, "POST", path) == READ_SCOPES, path


def test_reads_over_post_take_no_parameters() -> None:
    """The read check compares whole paths: a parameter in a read route would let other paths pass as it."""
    assert non_get_reads()
    assert [template for _, template in non_get_reads() if "{" in template] == []


@pytest.mark.parametrize("method", [*WRITE_METHODS, "PROPFIND", "post", "get"])
def test_unknown_routes_need_a_write_scope(method: str) -> None:
    paths = ("/", "/unknown", "/api/2.0/mlflow/runs/frobnicate", "/api/2.0/mlflow/runs/search/more",
             "/api/2.0/mlflow/runs", "/api/9.0/mlflow/runs/search", "/mlflow/api/2.0/mlflow/runs/search")  # fmt: skip
    for path in paths:
        assert needed_scopes(Upstream.MLFLOW, method, path) == WRITE_SCOPES, (method, path)


def test_other_methods_of_read_routes_need_a_write_scope() -> None:
    for method, template in non_get_reads():
        for other in WRITE_METHODS:
            if other != method:
                assert needed_scopes(Upstream.MLFLOW, other, template) == WRITE_SCOPES, (other, template)


def _disguises(path: str) -> set[str]:
    segments = path.split("/")
    variants = {path + "/", "/" + path, path + "//", path.upper(), path.lower(), path.title(), path.swapcase(),
                path + "/x", path + ";", path + "%2F", path + "\x00", path + " ", " " + path, path + "?",
                path.replace("/", "\\"), path[:-1], path + path[-1]}  # fmt: skip
    for index in range(1, len(segments)):
        variants.add("/".join([*segments[:index], "", *segments[index:]]))  # a doubled slash at each place
        variants.add("/".join([*segments[:index], segments[index].upper(), *segments[index + 1 :]]))
    writes = [r for r in ROUTES if not r.reads]
    for route in writes:  # the search appended to every other route, and to its own parameters
        variants.add(example(route.template).rstrip("/") + path)
        variants.add(route.template.rstrip("/") + path)
    return variants - {template for _, template in non_get_reads()}


def test_suffixes_slashes_and_case_cannot_turn_a_write_into_a_read() -> None:
    for method, template in non_get_reads():
        disguised = _disguises(template)
        passed = [path for path in disguised if needed_scopes(Upstream.MLFLOW, method, path) != WRITE_SCOPES]
        assert passed == [], (method, passed[:5])


def test_prediction_always_needs_predict() -> None:
    for method in ("GET", "POST", "OPTIONS"):
        assert needed_scopes(Upstream.PREDICTION, method, "/api/2.0/mlflow/runs/search") == ("predict",)


def test_routes_are_data_a_reader_can_check() -> None:
    assert len(ROUTES) > 300
    assert Route(frozenset({"POST"}), "/api/2.0/mlflow/runs/search", True) in ROUTES
    assert Route(frozenset({"POST"}), "/api/2.0/mlflow-artifacts/mpu/create/{artifact_path:path}", False) in ROUTES


# ------------------------------------------------------------------------------------- through the gateway


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[tuple[str, EchoUpstream]]:
    upstream = EchoUpstream()
    async with serving(upstream) as upstream_url:
        app = GatewayApp(GatewayConfig(mlflow_upstream=upstream_url), settings=make_settings(database_url))
        async with serving(app) as url:
            yield url, upstream


async def test_a_read_key_cannot_upload_through_a_path_ending_in_a_search(
    service: Service, gateway: tuple[str, EchoUpstream]
) -> None:
    url, upstream = gateway
    reader = {"X-API-Key": (await service.create_key(scopes=["read"]))["api_key"]}
    writer = {"X-API-Key": (await service.create_key(scopes=["mlflow:write"]))["api_key"]}
    async with httpx.AsyncClient(base_url=url) as client:
        refused = await client.post(UPLOAD_AS_SEARCH, headers=reader, json={"path": "x", "num_parts": 1})
        assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
        assert refused.json()["required_scope"] == "mlflow:write"
        assert upstream.requests == [], "the upload never reached MLflow"
        assert (await client.post(UPLOAD_AS_SEARCH, headers=writer, json={})).status_code == 200


async def test_a_read_key_reaches_every_read_route(service: Service, gateway: tuple[str, EchoUpstream]) -> None:
    url, upstream = gateway
    reader = {"X-API-Key": (await service.create_key(scopes=["read"]))["api_key"]}
    reads = [*non_get_reads(), ("GET", "/api/2.0/mlflow/runs/get"), ("GET", "/api/2.0/mlflow-artifacts/artifacts/1/a")]
    async with httpx.AsyncClient(base_url=url) as client:
        for method, path in reads:
            response = await client.request(method, "/mlflow" + path, headers=reader, json={})
            assert response.status_code == 200, (method, path, response.text)
    assert [(seen["method"], seen["path"]) for seen in upstream.requests] == reads
