"""Where the SDK and CLI find their settings: arguments, then ``setup()``/``configure()``, then the environment,
then a profile of ``~/.hokusai/config``, then defaults.

The config file is INI with one section per profile (``[default]`` first); ``HOKUSAI_PROFILE`` or ``--profile``
selects another. It may hold secrets (an API key, an admin token, a session's tokens), so it is written with mode
0600 inside a 0700 directory, atomically, and a file others can read is reported. Every resolved value remembers
where it came from, so ``hokusai auth whoami`` can say which credential is in use and why.
"""

from __future__ import annotations

import configparser
import os
import stat
import tempfile
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hokusai._errors import ConfigurationError
from hokusai._models import Session

DEFAULT_PROFILE = "default"
DEFAULT_AUTH_SERVICE_URL = "http://127.0.0.1:8000"  # the embedded default of `hokusai-auth serve`
DEFAULT_TIMEOUT = 10.0

# setting -> environment variable. The file uses the setting names as keys.
ENVIRONMENT: dict[str, str] = {
    "api_key": "HOKUSAI_API_KEY",
    "admin_token": "HOKUSAI_ADMIN_TOKEN",
    "auth_service_url": "HOKUSAI_AUTH_SERVICE_URL",
    "api_endpoint": "HOKUSAI_API_ENDPOINT",
}
# Also read, after the HOKUSAI_ name: the service's own name for the same secret (`hokusai-auth serve` accepts
# both, and the README exports ADMIN_TOKEN), so one export serves the server and the CLI.
ALSO_FROM_ENVIRONMENT: dict[str, tuple[str, ...]] = {"admin_token": ("ADMIN_TOKEN",)}
SETTINGS: tuple[str, ...] = tuple(ENVIRONMENT)
# A wallet sign-in's session (`hokusai auth login --wallet`), kept in the profile only (no environment variable):
# the refresh token is single-use and rotates on every refresh, so it must live in one place that is rewritten.
# ``session_url`` is the service that issued it: the session is used with that service only.
SESSION_SETTINGS: tuple[str, ...] = (
    "access_token", "access_token_expires_at", "refresh_token", "user_id", "wallet_address", "session_url",
)  # fmt: skip
SECRET_SETTINGS = frozenset({"api_key", "admin_token", "access_token", "refresh_token"})


def config_path() -> Path:
    """``HOKUSAI_CONFIG_FILE`` if set, else ``~/.hokusai/config``."""
    override = os.environ.get("HOKUSAI_CONFIG_FILE")
    return Path(override).expanduser() if override else Path.home() / ".hokusai" / "config"


def _parser() -> configparser.ConfigParser:
    # No interpolation: a '%' in a token must stay a '%'.
    return configparser.ConfigParser(interpolation=None, default_section="__no_defaults__")


def read_profiles(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Every profile in the config file (an absent file has none)."""
    path = path or config_path()
    parser = _parser()
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        return {}
    except (OSError, configparser.Error) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.__class__.__name__}") from None
    return {section: dict(parser.items(section)) for section in parser.sections()}


class InsecureConfigWarning(UserWarning):
    """The config file holds a secret and its permissions let other users read it."""


def is_readable_by_others(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


_write_lock = threading.Lock()


def write_profile(profile: str, values: Mapping[str, str | None], path: Path | None = None) -> Path:
    """Set ``values`` in ``profile`` (``None`` removes a setting), keeping every other profile. Atomic; 0600."""
    path = path or config_path()
    with _write_lock:
        profiles = read_profiles(path)
        section = profiles.setdefault(profile, {})
        for name, value in values.items():
            if value is None:
                section.pop(name, None)
            else:
                section[name] = value
        parser = _parser()
        # [default] first, as people expect to find it.
        for name in sorted(profiles, key=lambda p: (p != DEFAULT_PROFILE, p)):
            parser[name] = profiles[name]
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".config-", dir=path.parent)  # created 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                parser.write(handle)
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return path


@dataclass(frozen=True)
class Config:
    """The resolved settings. ``sources`` says where each came from, for people (never the value)."""

    profile: str = DEFAULT_PROFILE
    api_key: str | None = None
    admin_token: str | None = None
    auth_service_url: str = DEFAULT_AUTH_SERVICE_URL
    api_endpoint: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    sources: Mapping[str, str] = field(default_factory=dict)
    config_file: Path = field(default_factory=config_path)
    # The profile's signed-in session, when it was issued by auth_service_url (see SESSION_SETTINGS).
    session: Session | None = None

    def __repr__(self) -> str:
        # Secrets never reach a repr, a log line or a traceback.
        shown = {name: _mask(name, getattr(self, name)) for name in SETTINGS}
        signed_in = f", session=<user {self.session.user_id}>" if self.session else ""
        return f"Config(profile={self.profile!r}, {', '.join(f'{k}={v!r}' for k, v in shown.items())}{signed_in})"

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")

    def require(self, name: str, *, give: str | None = "argument") -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(missing_message(name, self.profile, give=give))
        return str(value)


def _mask(name: str, value: str | None) -> str | None:
    if value is None or name not in SECRET_SETTINGS:
        return value
    return value[:11] + "***" if value.startswith("hk_") else "***"


def environment_names(name: str) -> str:
    """'HOKUSAI_ADMIN_TOKEN (or ADMIN_TOKEN)': the variables a setting is read from, for messages."""
    also = ALSO_FROM_ENVIRONMENT.get(name, ())
    return ENVIRONMENT[name] + (f" (or {', '.join(also)})" if also else "")


def missing_message(name: str, profile: str, *, give: str | None = "argument") -> str:
    """No ``name`` anywhere: say every way to give one. ``give`` is the first way: ``"argument"`` (the SDK's
    ``name=...``), a CLI flag such as ``"--key"``, or ``None`` when there is none (a secret is never a flag)."""
    what = {
        "api_key": "API key",
        "admin_token": "admin token",
        "auth_service_url": "auth service URL",
        "api_endpoint": "Hokusai API endpoint",
    }[name]
    ways = [f"pass {name}=..." if give == "argument" else f"pass {give}"] if give else []
    ways.append(f"set {environment_names(name)}")
    login = {"api_key": " --api-key", "admin_token": " --admin-token"}.get(name, "")
    profile_flag = f" --profile {profile}" if profile != DEFAULT_PROFILE else ""
    return f"no {what} configured: {', '.join(ways)}, or run `hokusai auth login{login}{profile_flag}`"


# What setup()/configure() were given in this process. Below explicit arguments, above the environment.
_configured: dict[str, Any] = {}
_configured_lock = threading.Lock()


def configure(**settings: Any) -> None:
    """Set process-wide SDK settings (``api_key``, ``admin_token``, ``auth_service_url``, ``api_endpoint``,
    ``profile``, ``timeout``); ``None`` forgets a value set earlier. Nothing is checked or contacted here."""
    allowed = {*SETTINGS, "profile", "timeout"}
    unknown = set(settings) - allowed
    if unknown:
        raise ConfigurationError(
            f"unknown setting(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(allowed))}"
        )
    with _configured_lock:
        for name, value in settings.items():
            if value is None:
                _configured.pop(name, None)
            else:
                _configured[name] = value


def reset() -> None:
    """Forget everything given to ``setup()``/``configure()`` (for tests and long-lived processes)."""
    with _configured_lock:
        _configured.clear()


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def resolve(profile: str | None = None, *, profile_must_exist: bool = True, **arguments: Any) -> Config:
    """The settings in effect: each from the first of argument, setup()/configure(), environment, profile.

    A profile asked for by name (argument, configure() or HOKUSAI_PROFILE) must exist in the file, so a typo in
    ``--profile`` is an error instead of silently using no credentials; ``login`` creates one and passes
    ``profile_must_exist=False``."""
    with _configured_lock:
        configured = dict(_configured)
    chosen = _clean(profile) or configured.get("profile") or _clean(os.environ.get("HOKUSAI_PROFILE"))
    profile_name = chosen or DEFAULT_PROFILE
    path = config_path()
    profiles = read_profiles(path)
    if chosen and chosen != DEFAULT_PROFILE and profile_must_exist and chosen not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(f"profile '{chosen}' not found in {path} (profiles there: {known})")
    from_file = profiles.get(profile_name, {})
    if SECRET_SETTINGS & from_file.keys() and is_readable_by_others(path):
        warnings.warn(f"{path} holds credentials and other users can read it: run chmod 600 {path}",
                      InsecureConfigWarning, stacklevel=2)  # fmt: skip

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in SETTINGS:
        variables = (ENVIRONMENT[name], *ALSO_FROM_ENVIRONMENT.get(name, ()))
        candidates = (
            (_clean(arguments.get(name)), "the argument"),
            (_clean(configured.get(name)), "setup()"),
            *((_clean(os.environ.get(variable)), f"environment ({variable})") for variable in variables),
            (_clean(from_file.get(name)), f"profile '{profile_name}' in {path}"),
        )
        for value, source in candidates:
            if value is not None:
                values[name] = value
                sources[name] = source
                break
    if "admin_token" in values:
        # The service takes a comma-separated list (to rotate tokens); any one of them is a valid credential.
        tokens = [token.strip() for token in values["admin_token"].split(",") if token.strip()]
        values["admin_token"] = tokens[0] if tokens else values["admin_token"]
    if "auth_service_url" in values:
        values["auth_service_url"] = normalize_url(values["auth_service_url"])
    if values.get("api_endpoint"):
        values["api_endpoint"] = normalize_url(values["api_endpoint"])
    timeout = arguments.get("timeout") or configured.get("timeout") or DEFAULT_TIMEOUT
    values["session"] = stored_session(from_file, values.get("auth_service_url", DEFAULT_AUTH_SERVICE_URL))
    if values["session"] is not None:
        sources["session"] = f"profile '{profile_name}' in {path}"
    return replace(Config(), profile=profile_name, timeout=float(timeout), sources=sources, config_file=path, **values)


def stored_session(section: Mapping[str, str], service_url: str) -> Session | None:
    """The session a profile holds, if it was issued by ``service_url`` (a session is never sent elsewhere)."""
    access, refresh, user = (section.get(name) for name in ("access_token", "refresh_token", "user_id"))
    if not (access and refresh and user):
        return None
    try:
        if normalize_url(section.get("session_url", "")) != service_url:
            return None
    except ConfigurationError:
        return None
    try:
        expires_at: datetime | None = datetime.fromisoformat(section.get("access_token_expires_at", ""))
    except ValueError:
        expires_at = None  # unknown: the service says when it has expired
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return Session(access, refresh, user, section.get("wallet_address") or None, expires_at=expires_at)


def session_settings(session: Session | None, service_url: str) -> dict[str, str | None]:
    """What ``write_profile`` stores for ``session`` (``None``: remove the stored session)."""
    if session is None:
        return dict.fromkeys(SESSION_SETTINGS)
    return {
        "access_token": session.access_token,
        "access_token_expires_at": session.expires_at.isoformat() if session.expires_at else "",
        "refresh_token": session.refresh_token,
        "user_id": session.user_id,
        "wallet_address": session.wallet_address,
        "session_url": service_url,
    }


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"'{url}' is not an http:// or https:// URL")
    return url
