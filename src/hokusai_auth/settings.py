"""Configuration from the environment. Built once at start-up (never at import time) and passed down.

Every setting is read under its contract name and under the same name with a ``HOKUSAI_`` prefix; the prefixed
form wins when both are set, so a deployment can namespace its variables without surprises.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hokusai._vocabulary import Environment
from hokusai_auth.limits import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_VALIDATE_BODY_BYTES
from hokusai_auth.mail.message import DEFAULT_MAIL_FROM, sender_address

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"HOKUSAI_{name}", name)


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", validate_by_name=True, validate_by_alias=True, frozen=True
    )

    # The deployment's environment, named like a key's.
    env: Environment = Field(
        Environment.DEVELOPMENT,
        validation_alias=AliasChoices("HOKUSAI_ENV"),
        description="production enforces strong secrets",
    )
    admin_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        (), validation_alias=_env("ADMIN_TOKEN"), description="admin bearer tokens, comma-separated for rotation"
    )
    service_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        (),
        validation_alias=_env("SERVICE_TOKENS"),
        description="bearer tokens of Hokusai services that report usage, comma-separated; the admin token works too",
    )
    secret_key: SecretStr | None = Field(None, validation_alias=_env("SECRET_KEY"))
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))
    redis_prefix: str = Field(
        "hk",
        validation_alias=_env("REDIS_PREFIX"),
        pattern=r"^[A-Za-z0-9_.:-]{1,40}$",
        description="namespace of every Redis key and channel, so several deployments can share one Redis",
    )
    bcrypt_rounds: int = Field(12, ge=4, le=31, validation_alias=_env("BCRYPT_ROUNDS"))
    cache_ttl: float = Field(60.0, ge=0, le=3600, validation_alias=_env("CACHE_TTL"))
    negative_cache_ttl: float = Field(5.0, ge=0, le=300, validation_alias=_env("NEGATIVE_CACHE_TTL"))
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode] = Field((), validation_alias=_env("TRUSTED_PROXIES"))
    data_dir: Path | None = Field(None, validation_alias=AliasChoices("HOKUSAI_DATA_DIR"))
    redis_timeout: float = Field(
        0.25,
        gt=0,
        le=10,
        validation_alias=_env("REDIS_TIMEOUT"),
        description="seconds before an unanswered Redis call counts as Redis being down",
    )
    rate_limit_failure_mode: Literal["open", "closed"] = Field(
        "open",
        validation_alias=_env("RATE_LIMIT_FAILURE_MODE"),
        description="Redis down: open = limit in-process per instance; closed = refuse with 503",
    )
    change_feed_interval: float = Field(
        0.5,
        gt=0,
        le=60,
        validation_alias=_env("CHANGE_FEED_INTERVAL"),
        description="seconds between polls for key changes made by other instances",
    )
    usage_flush_interval: float = Field(2.0, gt=0, le=60, validation_alias=_env("USAGE_FLUSH_INTERVAL"))
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES,
        ge=1024,
        le=1024**3,
        validation_alias=_env("MAX_BODY_BYTES"),
        description="largest request body the JSON APIs accept (413 beyond)",
    )
    max_validate_body_bytes: int = Field(
        DEFAULT_MAX_VALIDATE_BODY_BYTES,
        ge=1024,
        le=1024**3,
        validation_alias=_env("MAX_VALIDATE_BODY_BYTES"),
        description="largest body POST /api/v1/keys/validate accepts (413 beyond)",
    )
    auth_failure_burst: int = Field(
        10,
        ge=1,
        le=10_000,
        validation_alias=_env("AUTH_FAILURE_BURST"),
        description="refused admin/service tokens a client address may send in a burst before 429",
    )
    auth_failure_per_hour: int = Field(
        120,
        ge=1,
        le=1_000_000,
        validation_alias=_env("AUTH_FAILURE_PER_HOUR"),
        description="refused admin/service tokens per hour a client address may send once its burst is spent",
    )
    auth_failure_window: float = Field(
        60.0,
        gt=0,
        le=3600,
        validation_alias=_env("AUTH_FAILURE_WINDOW"),
        description="seconds of refused credentials from one address summed into one audit event",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        validation_alias=_env("PUBLIC_URL"),
        pattern=r"^https?://[^/?#\s]+$",
        description="the service's external origin (scheme://host[:port]): SIWE domain and URI, and the JWT issuer",
    )
    siwe_chain_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        (1,), validation_alias=_env("SIWE_CHAIN_IDS"), description="chain ids a sign-in may name, comma-separated"
    )
    access_token_ttl: int = Field(
        900, ge=1, le=86_400, validation_alias=_env("ACCESS_TOKEN_TTL"), description="seconds an access token lives"
    )
    refresh_token_ttl: int = Field(
        30 * 86_400,
        ge=60,
        le=365 * 86_400,
        validation_alias=_env("REFRESH_TOKEN_TTL"),
        description="seconds a session may go without a refresh before it ends",
    )
    sign_in_per_hour: int = Field(
        600,
        ge=1,
        le=1_000_000,
        validation_alias=_env("SIGN_IN_PER_HOUR"),
        description="SIWE challenges and verifications one client address may ask for per hour (burst: a tenth)",
    )
    registrations_per_hour: int = Field(
        10,
        ge=1,
        le=1_000_000,
        validation_alias=_env("REGISTRATIONS_PER_HOUR"),
        description="POST /register requests one client address may make per hour (429 beyond)",
    )
    registration_status_per_hour: int = Field(
        60,
        ge=1,
        le=1_000_000,
        validation_alias=_env("REGISTRATION_STATUS_PER_HOUR"),
        description="registration status checks (and, separately, email verifications) per client address per hour",
    )
    device_codes_per_hour: int = Field(
        30,
        ge=1,
        le=1_000_000,
        validation_alias=_env("DEVICE_CODES_PER_HOUR"),
        description="device sign-in codes (POST /auth/device/code) one client address may ask for per hour",
    )
    max_keys_per_user: int = Field(
        25, ge=1, le=10_000, validation_alias=_env("MAX_KEYS_PER_USER"), description="active keys a user may own"
    )
    smtp_url: SecretStr | None = Field(
        None,
        validation_alias=_env("SMTP_URL"),
        description="smtp://, smtp+starttls:// or smtps://[user:password@]host[:port]; unset: .eml files in the data "
        "directory's outbox/ (checked at start-up, mail/smtp.py; never logged: it may hold a password)",
    )
    mail_from: str = Field(
        DEFAULT_MAIL_FROM,
        min_length=3,
        max_length=320,
        validation_alias=_env("MAIL_FROM"),
        description="the From of every mail, e.g. 'Hokusai <no-reply@example.com>'",
    )
    mail_send_interval: float = Field(
        1.0,
        gt=0,
        le=60,
        validation_alias=_env("MAIL_SEND_INTERVAL"),
        description="seconds between looks at the mail outbox for messages due",
    )
    mail_max_attempts: int = Field(
        12,  # mail/sender.py DEFAULT_MAX_ATTEMPTS: about 2 h 25 min from the first attempt to the last
        ge=1,
        le=100,
        validation_alias=_env("MAIL_MAX_ATTEMPTS"),
        description="attempts to deliver a mail (waits of 5 s doubling up to 1 h between them) before it is failed",
    )
    access_log: bool = Field(True, validation_alias=_env("ACCESS_LOG"))
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        validation_alias=_env("LOG_FORMAT"),
        description="auto: readable lines when stderr is a terminal, JSON lines otherwise",
    )

    @field_validator("admin_tokens", "service_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        sender_address(value)
        return value

    @field_validator("public_url", mode="before")
    @classmethod
    def _strip_slash(cls, value: Any) -> Any:
        return value.rstrip("/") if isinstance(value, str) else value

    @field_validator("siwe_chain_ids", mode="before")
    @classmethod
    def _parse_chain_ids(cls, value: Any) -> Any:
        value = _split_csv(value)
        if isinstance(value, tuple) and not value:
            raise ValueError("at least one chain id")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: Any) -> Any:
        value = _split_csv(value)
        return tuple(ipaddress.ip_network(item, strict=False) for item in value)

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION

    def admin_token_values(self) -> tuple[str, ...]:
        return tuple(token.get_secret_value() for token in self.admin_tokens)

    def service_token_values(self) -> tuple[str, ...]:
        return tuple(token.get_secret_value() for token in self.service_tokens)

    def require_secret_key(self) -> str:
        if self.secret_key is None:
            raise RuntimeError("SECRET_KEY is not set; build settings with bootstrap.prepare()")
        return self.secret_key.get_secret_value()

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set; build settings with bootstrap.prepare()")
        return self.database_url
