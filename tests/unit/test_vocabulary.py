"""One vocabulary: every failure code, environment, plan, service id, gateway scope and mount path is written once,
in ``hokusai/_vocabulary.py``; the rest of ``src`` imports or derives it. And what derives from it says so."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from hokusai import _vocabulary as vocabulary
from hokusai._vocabulary import Environment, ErrorCode, Failure, FailureKind, Plan, Service

SRC = Path(__file__).resolve().parents[2] / "src"
VOCABULARY = Path("hokusai/_vocabulary.py")
# Migrations are history: each spells the CHECK constraints as they were when it ran, and must not change when the
# vocabulary does (a new plan needs a new migration). tests/test_migrations.py checks they match the models.
HISTORY = Path("hokusai_auth/migrations/versions")
# The same word meaning something else, by design. Each entry must still occur (see below), so the list only shrinks.
OTHER_MEANINGS: dict[tuple[str, str], str] = {
    ("hokusai/cli/_output.py", "revoked"): "a key's state in listings (next to rotated, inactive, active)",
    ("hokusai/cli/_output.py", "expired"): "a key's state in listings (next to rotated, inactive, active)",
    ("hokusai_auth/bootstrap.py", "test"): "a secret too weak to accept",
}


def word_sets() -> dict[str, frozenset[str]]:
    """Every word of the vocabulary, by what it names."""
    paths = (*vocabulary.MLFLOW_API_PREFIXES, *vocabulary.MLFLOW_MOUNTS, vocabulary.PREDICTION_MOUNT)
    sets: dict[str, Iterable[str]] = {
        "failure codes": (failure.value for failure in Failure),
        "error codes": (code.value for code in ErrorCode),
        "environments": (*(env.value for env in Environment), *vocabulary.ENVIRONMENT_ALIASES),
        "key tags": vocabulary.KEY_TAGS.values(),
        "plans": (plan.value for plan in Plan),
        "services": (*(service.value for service in Service), *vocabulary.SERVICE_ALIASES),
        "scopes": (*vocabulary.MLFLOW_READ_SCOPES, *vocabulary.PREDICT_SCOPES),
        "MLflow error codes": vocabulary.GATEWAY_MLFLOW_ERROR_CODES.values(),
        "paths": (path.rstrip("/") for path in paths),
    }
    return {name: frozenset(words) for name, words in sets.items()}


SETS = word_sets()
WORDS = frozenset().union(*SETS.values())
# Words no sentence uses by accident (snake_case codes, mlflow:write, ml-platform, paths, MLflow's codes): written
# anywhere in a string, standing alone, they are a spelling. Plain words (production, free, read) are one when they
# are the whole string, or when two of one set stand in one string: an enumeration, like a CHECK constraint, a
# regex (hk_(live|test|dev)_) or a help text ("free, starter, pro or enterprise").
# (Failure codes are not among them: their plain words, expired and revoked, are listed together in sentences
# about keys; every other failure code is distinctive.)
ENUMERATIONS = ("environments", "key tags", "plans", "services", "scopes")
DISTINCTIVE = frozenset(word for word in WORDS if re.search(r"[_:/-]", word) or word.isupper())
_WORD = re.compile(
    r"(?<![\w:/.-])(" + "|".join(sorted(map(re.escape, WORDS), key=len, reverse=True)) + r")/?(?![\w:/-])"
)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes: prose may name the vocabulary (it explains it)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def spelled(text: str) -> set[str]:
    """The vocabulary words ``text`` (a string literal) spells."""
    if text.rstrip("/") in WORDS:
        return {text.rstrip("/")}
    standing = {match.group(1) for match in _WORD.finditer(text)}
    enumerated = {word for name in ENUMERATIONS if len(standing & SETS[name]) >= 2 for word in standing & SETS[name]}
    return (standing & DISTINCTIVE) | enumerated


def spellings(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, word, the string it is in) for every vocabulary word spelled in a string literal of ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in docstrings:
            continue
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str):
            for word in sorted(spelled(value)):
                yield node.lineno, word, value


def source_files() -> Iterator[Path]:
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative != VOCABULARY and not relative.is_relative_to(HISTORY):
            yield relative


def test_the_vocabulary_is_spelled_only_in_the_vocabulary() -> None:
    allowed = OTHER_MEANINGS
    found = [
        f"src/{relative}:{line}: {word!r} in {text!r}"
        for relative in source_files()
        for line, word, text in spellings(SRC / relative)
        if (relative.as_posix(), word) not in allowed
    ]
    assert not found, "import these from hokusai._vocabulary instead:\n" + "\n".join(found)


def test_exceptions_to_the_rule_are_still_needed() -> None:
    seen = {(relative.as_posix(), word) for relative in source_files() for _, word, _ in spellings(SRC / relative)}
    stale = sorted(set(OTHER_MEANINGS) - seen)
    assert not stale, f"no longer spelled there: remove from the exceptions: {stale}"


def test_the_rule_sees_what_it_must() -> None:
    spelled_once = {
        "production": {"production"},
        "/mlflow/": {"/mlflow"},
        "environment IN ('production', 'test', 'development')": {"production", "test", "development"},
        "hk_(live|test|dev)_": {"live", "test", "dev"},
        "free, starter, pro or enterprise [free]": {"free", "starter", "pro", "enterprise"},
        "{x}: rate_limited": {"rate_limited"},
        "--scope mlflow:write": {"mlflow:write"},
        "error_code UNAUTHENTICATED": {"UNAUTHENTICATED"},
    }
    for text, words in spelled_once.items():
        assert spelled(text) == words, text
    prose = [
        "Refusing to start in production (HOKUSAI_ENV=production)",
        "no free connection",
        "the key, or - to read it from stdin",
        "/api/2.0/mlflow/runs/get",
        "the prediction API",
        "test_client",
        "A wrong, expired, revoked or rotated key",
    ]
    for text in prose:
        assert spelled(text) == set(), text


def test_failure_table_is_the_contract() -> None:
    """docs/api.md's validate table, and the gateway's status per kind (docs/gateway.md)."""
    table = {failure.value: (failure.status, failure.error) for failure in Failure}
    assert table == {
        "missing_api_key": (401, "API key required"),
        "invalid_api_key": (401, "Invalid API key"),
        "expired": (401, "API key has expired"),
        "revoked": (401, "API key is inactive or has been revoked"),
        "wrong_service": (401, "Key not authorized for this service"),
        "environment_mismatch": (401, "API key environment mismatch"),
        "ip_not_allowed": (401, "IP address not in allowlist"),
        "insufficient_scope": (401, "Key does not have required scope"),
        "user_disabled": (401, "API key owner is disabled"),
        "rate_limited": (429, "Rate limit exceeded"),
        "quota_exceeded": (429, "Monthly prediction limit exceeded"),
        "service_unavailable": (503, "Service temporarily unavailable"),
    }
    permission = {failure.value for failure in Failure if failure.kind is FailureKind.PERMISSION}
    assert permission == {"wrong_service", "environment_mismatch", "ip_not_allowed", "insufficient_scope"}


def test_services_and_aliases() -> None:
    assert [service.value for service in Service] == ["prediction", "platform"]
    assert vocabulary.canonical_service(" ML-Platform ") is Service.PLATFORM
    assert vocabulary.canonical_service("prediction-api") is Service.PREDICTION
    assert vocabulary.canonical_service("platforms") is None
    assert vocabulary.choices(Environment) == "production, test or development"


def test_check_constraints_derive_from_the_vocabulary() -> None:
    from sqlalchemy import CheckConstraint

    from hokusai_auth.keys.models import APIKey

    constraints = APIKey.metadata.tables[APIKey.__tablename__].constraints
    checks = {str(constraint.sqltext) for constraint in constraints if isinstance(constraint, CheckConstraint)}
    assert "environment IN ('production', 'test', 'development')" in checks
    assert "billing_plan IN ('free', 'starter', 'pro', 'enterprise')" in checks


@pytest.mark.parametrize("field", ["environment", "billing_plan"])
def test_schemas_publish_the_enumeration_inline(field: str) -> None:
    from hokusai_auth.keys.schemas import APIKeyInfo, CreateKeyRequest

    enum = Environment if field == "environment" else Plan
    for model in (CreateKeyRequest, APIKeyInfo):
        schema = model.model_json_schema()["properties"][field]
        assert schema["enum"] == [member.value for member in enum]
        assert schema["type"] == "string"


def test_every_code_is_explained_in_the_troubleshooting_guide() -> None:
    """docs/troubleshooting.md promises every error code: a code added to the vocabulary must be explained there."""
    guide = (SRC.parent / "docs" / "troubleshooting.md").read_text()
    codes = (*vocabulary.Failure, *vocabulary.ErrorCode, *vocabulary.TokenFailure)
    missing = [code.value for code in codes if f"`{code.value}`" not in guide]
    assert not missing, f"explain these codes in docs/troubleshooting.md: {missing}"
