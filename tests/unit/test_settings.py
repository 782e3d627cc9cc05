import json
import os
import stat
from pathlib import Path

import pytest

from hokusai_auth import bootstrap
from hokusai_auth.settings import Settings

STRONG = "Zq8v3LkP0wX9rT2mN6bY4cH7jD1fG5sA8eK0uI3oP6l"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("HOKUSAI_") or name in {
            "ADMIN_TOKEN",
            "SECRET_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "BCRYPT_ROUNDS",
            "CACHE_TTL",
            "TRUSTED_PROXIES",
        }:
            monkeypatch.delenv(name)
    return monkeypatch


def test_contract_names_and_defaults(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.bcrypt_rounds == 12
    assert settings.cache_ttl == 60
    assert settings.trusted_proxies == ()
    assert settings.redis_url is None
    clean_env.setenv("ADMIN_TOKEN", "one,two , three")
    clean_env.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32")
    clean_env.setenv("BCRYPT_ROUNDS", "10")
    settings = Settings()
    assert settings.admin_token_values() == ("one", "two", "three")
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "2001:db8::/32"]
    assert settings.bcrypt_rounds == 10


def test_hokusai_prefix_is_accepted_and_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "sqlite:///plain.db")
    clean_env.setenv("HOKUSAI_DATABASE_URL", "sqlite:///prefixed.db")
    clean_env.setenv("HOKUSAI_CACHE_TTL", "5")
    settings = Settings()
    assert settings.database_url == "sqlite:///prefixed.db"
    assert settings.cache_ttl == 5


def test_settings_are_not_read_at_import_time(clean_env: pytest.MonkeyPatch) -> None:
    import importlib

    import hokusai_auth.app

    clean_env.setenv("BCRYPT_ROUNDS", "not a number")
    importlib.reload(hokusai_auth.app)  # importing must not touch the environment


def test_first_start_generates_private_secrets_once(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings, first = bootstrap.prepare(Settings(data_dir=tmp_path))
    assert first is not None
    secrets_file = tmp_path / bootstrap.SECRETS_FILE
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / bootstrap.DATABASE_FILE).stat().st_mode) == 0o600
    stored = json.loads(secrets_file.read_text())
    assert settings.admin_token_values() == (stored["admin_token"],)
    assert settings.require_secret_key() == stored["secret_key"]
    assert settings.database_url == f"sqlite:///{tmp_path / bootstrap.DATABASE_FILE}"

    again, second = bootstrap.prepare(Settings(data_dir=tmp_path))
    assert second is None, "the admin token is printed only on the first start"
    assert again.admin_token_values() == settings.admin_token_values()


def test_configured_secrets_are_not_replaced(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ADMIN_TOKEN", STRONG)
    settings, first = bootstrap.prepare(Settings(data_dir=tmp_path, secret_key=STRONG))
    assert first is None
    assert settings.admin_token_values() == (STRONG,)
    assert settings.require_secret_key() == STRONG


def test_world_readable_secrets_file_is_refused(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bootstrap.prepare(Settings(data_dir=tmp_path))
    (tmp_path / bootstrap.SECRETS_FILE).chmod(0o644)
    with pytest.raises(bootstrap.ConfigurationError, match="chmod 600"):
        bootstrap.prepare(Settings(data_dir=tmp_path))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "ADMIN_TOKEN is not set"),
        ({"ADMIN_TOKEN": "changeme", "SECRET_KEY": STRONG, "DATABASE_URL": "sqlite:///x"}, "ADMIN_TOKEN must be"),
        ({"ADMIN_TOKEN": STRONG, "SECRET_KEY": "a" * 64, "DATABASE_URL": "sqlite:///x"}, "SECRET_KEY must be"),
        ({"ADMIN_TOKEN": STRONG, "DATABASE_URL": "sqlite:///x"}, "SECRET_KEY is not set"),
    ],
)
def test_production_refuses_missing_or_weak_secrets(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    clean_env.setenv("HOKUSAI_ENV", "production")
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(bootstrap.ConfigurationError, match=message):
        bootstrap.prepare(Settings(data_dir=tmp_path))
    assert not (tmp_path / bootstrap.SECRETS_FILE).exists(), "production never generates secrets"


def test_production_with_strong_secrets_starts(clean_env: pytest.MonkeyPatch) -> None:
    for name in ("ADMIN_TOKEN", "SECRET_KEY"):
        clean_env.setenv(name, STRONG)
    clean_env.setenv("DATABASE_URL", "postgresql://db/hokusai")
    clean_env.setenv("HOKUSAI_ENV", "production")
    settings, first = bootstrap.prepare(Settings())
    assert first is None
    assert settings.production
