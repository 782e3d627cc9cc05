"""Print, as JSON, the routes the installed MLflow serves and the fields of its GraphQL schema.

Run in a process of its own (``python -m tests.gateway.installed_mlflow_routes``) with no MLFLOW_* variables:
importing MLflow's server builds its apps from the environment (``--static-prefix`` among others), and the route
table in ``hokusai_auth.gateway.mlflow_routes`` is relative to MLflow's root. Routes are written in the table's
syntax: ``{name}`` for one segment, ``{name:path}`` for several.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}  # added by Flask and Starlette to every route; reads by rule
_FLASK_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_STARLETTE_CONVERTER = re.compile(r"\{(\w+):(?!path\})\w+\}")


def _from_flask(rule: str) -> str:
    return _FLASK_PARAMETER.sub(lambda m: f"{{{m[2]}:path}}" if m[1] == "path" else f"{{{m[2]}}}", rule)


def _from_starlette(path: str) -> str:
    return _STARLETTE_CONVERTER.sub(lambda m: f"{{{m[1]}}}", path)  # {id:int} is one segment too


def _starlette_routes(routes: list[Any], prefix: str, found: set[tuple[str, str]]) -> None:
    for route in routes:
        context = getattr(route, "include_context", None)
        if context is not None:  # FastAPI >= 0.16x keeps included routers as routers
            _starlette_routes(context.included_router.routes, prefix + context.prefix, found)
        elif type(route).__name__ == "Mount" and route.path == "":
            continue  # the Flask app, mounted at the root: read from its own url_map
        elif hasattr(route, "methods") and hasattr(route, "path"):
            for method in set(route.methods or ()) - AUTOMATIC_METHODS:
                found.add((method, _from_starlette(prefix + route.path)))
        else:  # a kind of route this reader does not know would otherwise be silently left out
            raise SystemExit(f"unknown route in MLflow's FastAPI app: {route!r}")


def main() -> None:
    warnings.simplefilter("ignore")
    import mlflow
    from mlflow.server import app as flask_app
    from mlflow.server.fastapi_app import app as fastapi_app
    from mlflow.server.graphql.graphql_schema_extensions import schema

    found: set[tuple[str, str]] = set()
    for rule in flask_app.url_map.iter_rules():
        for method in set(rule.methods or ()) - AUTOMATIC_METHODS:
            found.add((method, _from_flask(rule.rule)))
    _starlette_routes(list(fastapi_app.routes), "", found)
    graphql = schema.graphql_schema
    print(
        json.dumps(
            {
                "version": mlflow.__version__,
                "routes": sorted(found),
                "graphql_queries": sorted(graphql.query_type.fields) if graphql.query_type else [],
                "graphql_mutations": sorted(graphql.mutation_type.fields) if graphql.mutation_type else [],
                "graphql_subscriptions": sorted(graphql.subscription_type.fields) if graphql.subscription_type else [],
            }
        )
    )


if __name__ == "__main__":
    main()
