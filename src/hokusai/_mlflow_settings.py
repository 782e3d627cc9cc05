"""Which MLflow the SDK's model registry talks to, and with which credential. Pure: no MLflow import, no I/O
beyond reading the environment and the config file.

API key, the first of:
  1. the ``api_key`` argument (``ModelRegistry(api_key=...)``, ``ExperimentManager(api_key=...)``);
  2. ``hokusai.setup(api_key=...)`` / ``hokusai.configure(api_key=...)``;
  3. ``HOKUSAI_API_KEY``;
  4. the selected profile of ``~/.hokusai/config`` (``hokusai auth login``);
  5. ``MLFLOW_TRACKING_TOKEN``, when it holds a Hokusai key (someone following the plain-MLflow instructions).
  Any key found is checked offline (prefix, length, checksum) and refused with a ``ConfigurationError`` that
  names its source and the problem.

Tracking URI, the first of:
  1. the ``tracking_uri`` argument;
  2. ``<api_endpoint>/mlflow`` for an ``api_endpoint`` argument (explicit arguments beat the environment);
  3. ``MLFLOW_TRACKING_URI``;
  4. ``<api_endpoint>/mlflow`` for an endpoint from ``setup(api_endpoint=...)``, ``HOKUSAI_API_ENDPOINT`` or the
     profile (the gateway serves MLflow under ``/mlflow``);
  5. ``DEFAULT_REGISTRY_URL`` (Hokusai's hosted registry) when an API key is configured;
  6. ``LOCAL_TRACKING_URI`` (a SQLite store in the current directory) — only when no credential at all is
     configured.

A key is never dropped: it goes to MLflow as ``MLFLOW_TRACKING_TOKEN`` and, while one is configured, the SDK
never falls back to a local store (the 2025-07 incident: a silent local fallback lost the token and the
models). MLflow credentials that are not a Hokusai key (a foreign ``MLFLOW_TRACKING_TOKEN``, or
``MLFLOW_TRACKING_USERNAME``/``PASSWORD``) are passed through untouched, but only to a tracking URI someone chose.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hokusai._config import Config, resolve
from hokusai._errors import ConfigurationError
from hokusai._keys import KEY_PREFIX_PATTERN, check_format, masked_prefix
from hokusai._vocabulary import MLFLOW_MOUNT, MLFLOW_MOUNTS

DEFAULT_REGISTRY_URL = "https://registry.hokus.ai/mlflow"
LOCAL_TRACKING_URI = "sqlite:///mlflow.db"  # MLflow 3's own default store, in the current directory
MOCK_TRACKING_URI = "mock://in-memory"
MOCK_MODE_ENV = "HOKUSAI_MOCK_MODE"
OPTIONAL_MLFLOW_ENV = "HOKUSAI_OPTIONAL_MLFLOW"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})

AuthMethod = Literal["hokusai_api_key", "mlflow_credentials", "none", "mock"]


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in TRUE_WORDS


# The MLFLOW_TRACKING_TOKEN value this process put into the environment (see core.tracking). Remembered so a
# later resolution does not mistake the SDK's own token for one the user set.
_installed_token: str | None = None
_installed_lock = threading.Lock()


def installed_token() -> str | None:
    with _installed_lock:
        return _installed_token


def set_installed_token(token: str | None) -> None:
    global _installed_token  # noqa: PLW0603 - one process-wide fact, like the environment it mirrors
    with _installed_lock:
        _installed_token = token


@dataclass(frozen=True, repr=False)
class MlflowSettings:
    """The resolved MLflow connection. ``api_key`` never appears in a repr; ``safe_tracking_uri`` is what may be
    shown (a key or password inside the URI is masked)."""

    tracking_uri: str
    tracking_uri_source: str
    auth_method: AuthMethod
    api_key: str | None = field(default=None, repr=False)
    api_key_source: str | None = None
    mock_mode: bool = False
    optional_mlflow: bool = False
    timeout: float = 10.0

    def __repr__(self) -> str:
        shown = {
            "tracking_uri": self.safe_tracking_uri,
            "tracking_uri_source": self.tracking_uri_source,
            "auth_method": self.auth_method,
            "api_key": self.api_key_prefix,
            "api_key_source": self.api_key_source,
            "mock_mode": self.mock_mode,
            "optional_mlflow": self.optional_mlflow,
        }
        return f"MlflowSettings({', '.join(f'{name}={value!r}' for name, value in shown.items())})"

    @property
    def is_local(self) -> bool:
        """True when nothing leaves this machine: a local store (file path, ``file:``, ``sqlite:``) or mock mode."""
        if self.mock_mode:
            return True
        if self.tracking_uri in ("databricks", "databricks-uc", "uc"):  # MLflow's bare words for hosted stores
            return False
        scheme = urlsplit(self.tracking_uri).scheme.lower()
        return len(scheme) <= 1 or scheme in ("file", "sqlite")  # no scheme, or a Windows drive letter: a path

    @property
    def is_http(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))

    @property
    def api_key_prefix(self) -> str | None:
        return masked_prefix(self.api_key) if self.api_key else None

    @property
    def safe_tracking_uri(self) -> str:
        return safe_uri(self.tracking_uri)

    def redact(self, text: str) -> str:
        """``text`` with the key (and the URI's secrets) replaced by what may be shown."""
        if self.api_key:
            text = text.replace(self.api_key, self.api_key_prefix or "***")
        return text.replace(self.tracking_uri, self.safe_tracking_uri) if self.is_http else text


def safe_uri(uri: str) -> str:
    """``uri`` without a password in its user part or an ``api_key`` in its query (the gateway accepts both)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return uri
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}" if ":" in user else f"***@{host}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k.lower() == "api_key" else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mlflow_url(api_endpoint: str) -> str:
    """The gateway's MLflow mount for a Hokusai API endpoint (unchanged if it already names one)."""
    endpoint = api_endpoint.rstrip("/")
    return endpoint if endpoint.endswith(MLFLOW_MOUNTS) else endpoint + MLFLOW_MOUNT


def _normalize(uri: str) -> str:
    uri = uri.strip()
    return uri.rstrip("/") if uri.startswith(("http://", "https://")) else uri


def _foreign_mlflow_credentials() -> bool:
    """MLflow credentials in the environment that the SDK did not put there."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    basic = os.environ.get("MLFLOW_TRACKING_USERNAME") and os.environ.get("MLFLOW_TRACKING_PASSWORD")
    return bool((token and token != installed_token()) or basic)


def _key_from_mlflow_token() -> str | None:
    token = (os.environ.get("MLFLOW_TRACKING_TOKEN") or "").strip()
    if token and token != installed_token() and KEY_PREFIX_PATTERN.match(token):
        return token
    return None


def resolve_mlflow_settings(
    tracking_uri: str | None = None, api_key: str | None = None, api_endpoint: str | None = None,
    *, profile: str | None = None,
) -> MlflowSettings:  # fmt: skip
    """The MLflow connection the SDK would use for these arguments (see the module docstring for the order)."""
    config = resolve(profile, api_key=api_key, api_endpoint=api_endpoint)
    key, key_source = config.api_key, (config.source("api_key") if config.api_key else None)
    if key is None and (adopted := _key_from_mlflow_token()):
        key, key_source = adopted, "environment (MLFLOW_TRACKING_TOKEN)"
    if key is not None:
        problem = check_format(key).problem
        if problem:
            raise ConfigurationError(f"the API key from {key_source} is unusable: {problem}")
        _refuse_shadowing_basic_auth(key)
    mock = env_flag(MOCK_MODE_ENV)
    optional = env_flag(OPTIONAL_MLFLOW_ENV)
    if mock:
        return MlflowSettings(MOCK_TRACKING_URI, f"mock mode ({MOCK_MODE_ENV})", "mock", key, key_source, True,
                              optional, config.timeout)  # fmt: skip
    uri, uri_source = _tracking_uri(tracking_uri, api_endpoint, config, has_key=key is not None)
    method: AuthMethod
    if key is not None:
        method = "hokusai_api_key"
    elif _foreign_mlflow_credentials():
        if uri_source.startswith("default"):
            # A credential meant for some MLflow must not be sent to Hokusai's registry, nor silently ignored.
            raise ConfigurationError(
                "MLflow credentials are set (MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD) but no "
                "tracking URI: set MLFLOW_TRACKING_URI, or use a Hokusai API key (HOKUSAI_API_KEY)"
            )
        method = "mlflow_credentials"
    else:
        method = "none"
    return MlflowSettings(uri, uri_source, method, key, key_source, False, optional, config.timeout)


def _tracking_uri(
    argument: str | None, endpoint_argument: str | None, config: Config, *, has_key: bool
) -> tuple[str, str]:
    if argument and argument.strip():
        return _normalize(argument), "argument"
    if endpoint_argument and config.api_endpoint:
        return mlflow_url(config.api_endpoint), "api_endpoint argument"
    from_env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if from_env:
        return _normalize(from_env), "environment (MLFLOW_TRACKING_URI)"
    if config.api_endpoint:
        return mlflow_url(config.api_endpoint), f"api_endpoint from {config.source('api_endpoint')}"
    if has_key:
        return DEFAULT_REGISTRY_URL, "default (Hokusai registry, an API key is configured)"
    return LOCAL_TRACKING_URI, "default (local store, no API key configured)"


def _refuse_shadowing_basic_auth(key: str) -> None:
    # MLflow sends MLFLOW_TRACKING_USERNAME/PASSWORD instead of MLFLOW_TRACKING_TOKEN when both are set, which
    # would silently replace the key with some other password.
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if os.environ.get("MLFLOW_TRACKING_USERNAME") and password and password.strip() != key:
        raise ConfigurationError(
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD are set: MLflow would send them instead of "
            "your Hokusai API key; unset them (or set the password to the key)"
        )
