"""The embedded default: with nothing configured, run on a SQLite file with secrets generated on first start.

The generated ADMIN_TOKEN and SECRET_KEY live in ``<data dir>/secrets.json`` (mode 0600) so that restarts and
every worker process of ``serve --workers N`` share them. In production (HOKUSAI_ENV=production) nothing is
generated: a missing or weak secret stops start-up with a message that says what to set.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import SecretStr

from hokusai_auth.settings import Settings

SECRETS_FILE = "secrets.json"
DATABASE_FILE = "hokusai.db"
MIN_SECRET_LENGTH = 32
_KNOWN_WEAK = {"changeme", "change-me", "secret", "password", "admin", "test", "default", "your_admin_token"}


class ConfigurationError(Exception):
    """Start-up refused: the message says what to set."""


@dataclass(frozen=True)
class FirstStart:
    """Returned when this start generated the credentials, so the caller can print them once."""

    admin_token: str
    secrets_path: Path


def default_data_dir() -> Path:
    return Path(user_data_dir("hokusai-auth", appauthor=False))


def is_weak(secret: str) -> bool:
    return (
        len(secret) < MIN_SECRET_LENGTH
        or secret.lower() in _KNOWN_WEAK
        or len(set(secret)) < 10  # "aaaa...": long but guessable
    )


def prepare(settings: Settings) -> tuple[Settings, FirstStart | None]:
    """Fill in the embedded defaults; refuse weak or missing secrets in production."""
    if settings.production:
        _check_production(settings)
        return settings, None

    data_dir = settings.data_dir or default_data_dir()
    updates: dict[str, object] = {"data_dir": data_dir}
    first_start: FirstStart | None = None
    if not settings.admin_tokens or settings.secret_key is None:
        stored, generated = _load_or_create_secrets(data_dir)
        if not settings.admin_tokens:
            updates["admin_tokens"] = (SecretStr(stored["admin_token"]),)
            if generated:
                first_start = FirstStart(stored["admin_token"], data_dir / SECRETS_FILE)
        if settings.secret_key is None:
            updates["secret_key"] = SecretStr(stored["secret_key"])
    if settings.database_url is None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        database = data_dir / DATABASE_FILE
        # Created private before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        updates["database_url"] = f"sqlite:///{database}"
    return settings.model_copy(update=updates), first_start


def _check_production(settings: Settings) -> None:
    problems: list[str] = []
    if not settings.admin_tokens:
        problems.append("ADMIN_TOKEN is not set")
    elif any(is_weak(token) for token in settings.admin_token_values()):
        problems.append(f"ADMIN_TOKEN must be at least {MIN_SECRET_LENGTH} random characters")
    if any(is_weak(token) for token in settings.service_token_values()):
        problems.append(f"every SERVICE_TOKENS entry must be at least {MIN_SECRET_LENGTH} random characters")
    if settings.secret_key is None:
        problems.append("SECRET_KEY is not set")
    elif is_weak(settings.secret_key.get_secret_value()):
        problems.append(f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} random characters")
    if settings.database_url is None:
        problems.append("DATABASE_URL is not set")
    if problems:
        raise ConfigurationError(
            "Refusing to start in production (HOKUSAI_ENV=production): "
            + "; ".join(problems)
            + ". Generate values with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


def _load_or_create_secrets(data_dir: Path) -> tuple[dict[str, str], bool]:
    path = data_dir / SECRETS_FILE
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    values = {"admin_token": secrets.token_urlsafe(32), "secret_key": secrets.token_urlsafe(48)}
    if path.exists():
        return _read_secrets(path), False
    # Write a private temp file, then link it into place: link() is atomic and fails if the name exists, so
    # when several workers start at once exactly one wins and the others never see a half-written file.
    tmp = data_dir / f".{SECRETS_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(values, handle)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_secrets(path), False
    finally:
        tmp.unlink(missing_ok=True)
    return values, True


def _read_secrets(path: Path) -> dict[str, str]:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigurationError(f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")
    try:
        values = json.loads(path.read_text())
    except ValueError as exc:  # a half-written file from a crashed first start
        raise ConfigurationError(f"{path} is not valid JSON; remove it to generate new credentials") from exc
    if not isinstance(values, dict) or not {"admin_token", "secret_key"} <= values.keys():
        raise ConfigurationError(f"{path} lacks admin_token or secret_key; remove it to generate new ones")
    return {"admin_token": str(values["admin_token"]), "secret_key": str(values["secret_key"])}
