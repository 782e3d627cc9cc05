"""The schema the fuzzer works from: the app's own /openapi.json, plus what the published schema leaves out.

- The ``/api/v1/auth/keys`` copies of key management are hidden from the published schema (they are aliases), but
  they are endpoints all the same: they are added back under their own operation ids.
- Request fields whose meaning the schema does not say (a cursor, a ``YYYY-MM`` period, a date, a service id, a
  key) get a custom string ``format`` naming a boundary strategy, so schemathesis itself draws them from there.
  Only request schemas are touched; response schemas stay exactly as published, since they are what is checked.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import String

from hokusai._keys import BASE62_ALPHABET, RANDOM_LENGTH, checksum
from hokusai._vocabulary import KEY_TAGS, SERVICE_ALIASES, Service
from hokusai_auth.tables import metadata
from tests.fuzz import boundaries

KEYS_PREFIX = "/api/v1/keys"
ALIAS_PREFIX = "/api/v1/auth/keys"
ALIAS_SUFFIX = "_auth_alias"

# Request field (query parameter, path parameter or body property) -> the custom format it is drawn from.
FIELD_FORMATS = {
    "since": "hokusai-time",
    "until": "hokusai-time",
    "expires_at": "hokusai-time",
    "cursor": "hokusai-cursor",
    "period": "hokusai-period",
    "start_date": "hokusai-date",
    "end_date": "hokusai-date",
    "service_id": "hokusai-service",
    "key_id": "hokusai-key-id",
    "api_key": "hokusai-api-key",
    "X-API-Key": "hokusai-api-key",
    "client_ip": "hokusai-ip",
    "allowed_ips": "hokusai-network",
    "user_id": "hokusai-text",
    "actor": "hokusai-text",
    "action": "hokusai-text",
}


def column_lengths() -> set[int]:
    """Every VARCHAR width in the database: values one past them are what overflowed on PostgreSQL."""
    return {
        column.type.length
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, String) and column.type.length
    }


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def schema_lengths(spec: dict[str, Any]) -> set[int]:
    return {node["maxLength"] for node in _walk(spec) if isinstance(node.get("maxLength"), int)}


def boundary_lengths(spec: dict[str, Any]) -> tuple[int, ...]:
    return tuple(sorted(column_lengths() | schema_lengths(spec)))


def well_formed_keys() -> st.SearchStrategy[str]:
    """Keys with a correct checksum that were never issued: they pass the shape check and reach storage."""

    def build(tag: str, random_part: str) -> str:
        body = f"hk_{tag}_{random_part}"
        return body + checksum(body)

    alphabet = st.sampled_from(BASE62_ALPHABET)
    random_part = st.lists(alphabet, min_size=RANDOM_LENGTH, max_size=RANDOM_LENGTH).map("".join)
    return st.builds(build, st.sampled_from(sorted(KEY_TAGS.values())), random_part)


def boundary_only() -> dict[str, st.SearchStrategy[str]]:
    """The formats whose interesting values are few and specific (the ends of the calendar), without the plain
    text the registered formats mix in: what a probe of one such input draws from."""
    return {
        "hokusai-time": st.builds(boundaries.render_moment, boundaries.moments(), st.integers(0, 5)),
        "hokusai-cursor": boundaries.cursors(),
        "hokusai-period": boundaries.periods(),
        "hokusai-date": boundaries.dates(),
        "hokusai-ip": st.one_of(boundaries.ip_texts(), boundaries.scoped_ipv6()),
    }


def register_formats(lengths: tuple[int, ...]) -> dict[str, st.SearchStrategy[str]]:
    """Register the boundary strategies as string formats (schemathesis keeps them in a process-wide registry;
    registering again replaces them, so this is idempotent). Returns them by format name."""
    text = boundaries.short_text()
    services = st.sampled_from([*(service.value for service in Service), *SERVICE_ALIASES, "PLATFORM", " website "])
    formats: dict[str, st.SearchStrategy[str]] = {
        "hokusai-time": boundaries.time_texts(),
        "hokusai-cursor": boundaries.cursors(),
        "hokusai-period": st.one_of(boundaries.periods(), boundaries.periods(), text),
        "hokusai-date": st.one_of(boundaries.dates(), boundaries.dates(), text),
        "hokusai-service": st.one_of(services, services, text),
        "hokusai-key-id": st.one_of(st.uuids().map(str), text),
        "hokusai-api-key": st.one_of(well_formed_keys(), text),
        "hokusai-ip": st.one_of(boundaries.ip_texts(), boundaries.scoped_ipv6(), text),
        "hokusai-network": boundaries.networks(),
        "hokusai-text": text,
    }
    for name, strategy in formats.items():
        schemathesis.openapi.format(name, strategy)
    return formats


def _string_branch(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The part of a field's schema that describes its string form (itself, or its ``anyOf`` string branch)."""
    if schema.get("type") == "string" and "enum" not in schema:
        return schema
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _string_branch(schema["items"])
    for branch in schema.get("anyOf", ()):
        found = _string_branch(branch)
        if found is not None:
            return found
    return None


def _annotate(name: str, schema: dict[str, Any]) -> None:
    fmt = FIELD_FORMATS.get(name)
    branch = _string_branch(schema) if fmt else None
    if branch is not None:
        branch["format"] = fmt


def _reachable(spec: dict[str, Any], part: str) -> set[str]:
    """Names of the component schemas reachable from every operation's ``part`` (requestBody or responses)."""
    components = spec.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    pending = [op[part] for item in spec["paths"].values() for op in item.values() if part in op]
    while pending:
        for node in _walk(pending.pop()):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    pending.append(components[name])
    return seen


def fuzz_spec(published: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(published)
    paths = spec["paths"]
    for path, item in list(paths.items()):
        if path.startswith(KEYS_PREFIX):
            alias = copy.deepcopy(item)
            for operation in alias.values():
                operation["operationId"] += ALIAS_SUFFIX
            paths[ALIAS_PREFIX + path.removeprefix(KEYS_PREFIX)] = alias
    for item in paths.values():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                _annotate(parameter["name"], parameter["schema"])
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for name, prop in media.get("schema", {}).get("properties", {}).items():
                    _annotate(name, prop)
    components = spec.get("components", {}).get("schemas", {})
    # A component shared with a response keeps its formats: the response is checked against it.
    for name in _reachable(spec, "requestBody") - _reachable(spec, "responses"):
        for prop_name, prop in components[name].get("properties", {}).items():
            _annotate(prop_name, prop)
    return spec


@dataclass(frozen=True)
class Target:
    """One input of one operation, probed alone: the operation's other optional inputs are left out, so the
    boundary value is what the service has to cope with, not whichever other field it rejects first."""

    op_id: str
    location: str  # query, path or body
    name: str
    format: str | None  # one of the registered boundary formats, or None for plain text
    array: bool
    required: tuple[str, ...]  # the body fields that must be there for the request to get past the schema


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref:
        resolved: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _is_array(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" or any(branch.get("type") == "array" for branch in schema.get("anyOf", ()))


def probe_targets(spec: dict[str, Any]) -> list[Target]:
    """Every string input of every operation (parameters and top-level body fields)."""
    targets = []
    for item in spec["paths"].values():
        for operation in item.values():
            op_id = operation["operationId"]
            for parameter in operation.get("parameters", ()):
                branch = _string_branch(parameter["schema"])
                if branch is not None and parameter["in"] in ("query", "path"):
                    targets.append(Target(op_id, parameter["in"], parameter["name"], branch.get("format"), False, ()))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                body = _resolve(spec, media.get("schema", {}))
                required = tuple(body.get("required", ()))
                for name, prop in body.get("properties", {}).items():
                    branch = _string_branch(prop)
                    if branch is not None:
                        targets.append(Target(op_id, "body", name, branch.get("format"), _is_array(prop), required))
    return targets


@dataclass(frozen=True)
class FuzzSchema:
    schema: OpenApiSchema
    lengths: tuple[int, ...]
    formats: dict[str, st.SearchStrategy[str]]
    targets: list[Target]


def load(published: dict[str, Any]) -> FuzzSchema:
    """The schemathesis schema to fuzz, the length limits strings are pushed against, the boundary strategies by
    format name (for probes), and the inputs to probe one at a time (each once: the alias mount's copies of an
    input are the same input; a probe picks either mount)."""
    lengths = boundary_lengths(published)
    formats = register_formats(lengths) | boundary_only()
    spec = fuzz_spec(published)
    targets = [target for target in probe_targets(spec) if not target.op_id.endswith(ALIAS_SUFFIX)]
    return FuzzSchema(schemathesis.openapi.from_dict(spec), lengths, formats, targets)


def input_counts(spec: dict[str, Any]) -> dict[str, int]:
    """Operation id -> how many inputs it has (parameters and top-level body fields): how much there is to try."""
    components = spec.get("components", {}).get("schemas", {})
    counts = {}
    for item in spec["paths"].values():
        for operation in item.values():
            fields = 0
            for media in operation.get("requestBody", {}).get("content", {}).values():
                body = media.get("schema", {})
                ref = body.get("$ref", "")
                body = components.get(ref.rsplit("/", 1)[-1], body) if ref else body
                fields = max(fields, len(body.get("properties", {})))
            counts[operation["operationId"]] = len(operation.get("parameters", ())) + fields
    return counts
