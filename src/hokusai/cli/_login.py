"""``hokusai auth login`` / ``logout``: keep a service URL and a credential in a profile of ~/.hokusai/config.

``login --wallet KEYSTORE`` signs in with an Ethereum keystore file instead (the ``[wallet]`` extra) and keeps the
session: the refresh token, the access token and its expiry, the user and wallet, and the service that issued
it. ``login --web`` gets such a session with the browser instead (RFC 8628, like ``gh auth login --web``): it shows
a one-time code and a URL, the user approves the code on the dashboard where they are signed in, and the polling
command receives a session of its own, kept the same way. ``logout`` ends such a session at the service before
removing it.

The secret is never taken as a command-line value (shell history, ``ps``): it is asked for without echo, or read
from stdin when that is not a terminal (``echo "$TOKEN" | hokusai auth login --admin-token``). It is checked
with the service before it is saved, so a typo is caught now rather than at the next command.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import webbrowser
from collections.abc import Callable
from dataclasses import replace

import typer

from hokusai._client import AuthClient
from hokusai._config import (
    DEFAULT_PROFILE,
    SECRET_SETTINGS,
    Config,
    normalize_url,
    read_profiles,
    resolve,
    session_settings,
    stored_session,
    write_profile,
)
from hokusai._errors import (
    AuthenticationError,
    ConfigurationError,
    HokusaiError,
    ServiceUnavailableError,
    error_for,
)
from hokusai._keys import check_format
from hokusai._models import DeviceSignIn, Session
from hokusai._vocabulary import ErrorCode
from hokusai.cli import _output as output
from hokusai.cli._failures import fail


def _interactive() -> bool:
    return sys.stdin.isatty()


def _choose_kind(admin_token: bool, api_key: bool) -> str:
    if admin_token and api_key:
        raise fail("choose one of --admin-token and --api-key", 2)
    if admin_token:
        return "admin_token"
    if api_key:
        return "api_key"
    if not _interactive():
        raise fail("say what to store: --admin-token or --api-key", 2)
    answer = typer.prompt("Store an admin token or an API key? [admin/key]", default="key")
    return "admin_token" if answer.strip().lower().startswith("a") else "api_key"


def _read_secret(kind: str) -> str:
    label = "Admin token" if kind == "admin_token" else "API key"
    secret = typer.prompt(label, hide_input=True) if _interactive() else sys.stdin.readline()
    secret = secret.strip()
    if not secret:
        raise fail(f"no {label.lower()} given", 2)
    return secret


def _verify(client: AuthClient, kind: str, secret: str) -> str:
    """Check the credential; return what to tell the user about it."""
    if kind == "admin_token":
        try:
            client.list_keys(limit=1)
        except AuthenticationError as error:
            # Not the generic advice ("run login --admin-token"): that is what the user is doing.
            raise fail(
                f"{error.message}: {client.base_url} refused this admin token; nothing saved (the token is in the "
                "server's first-start banner, or admin_token in its secrets.json)",
                4,
            ) from None
        return "admin token accepted"
    result = client.validate_key(secret, cost=0)
    if not result.is_valid:
        body = {"detail": f"{result.error}: {result.detail}" if result.detail else result.error, "code": result.code}
        raise error_for(result.status, body, retry_after=result.retry_after)
    return f"API key {result.key_id} for {result.service_id} ({result.environment}) is valid"


def run_login(
    *, url: str | None, admin_token: bool, api_key: bool, verify: bool, profile: str | None,
    api_endpoint: str | None = None,
) -> None:  # fmt: skip
    current = resolve(profile, profile_must_exist=False, auth_service_url=url)
    service_url = current.auth_service_url
    if url is None and _interactive():
        service_url = typer.prompt("Auth service URL", default=service_url)
    service_url = normalize_url(service_url)
    endpoint = normalize_url(api_endpoint) if api_endpoint else None
    kind = _choose_kind(admin_token, api_key)
    secret = _read_secret(kind)
    if kind == "api_key":
        fmt = check_format(secret)
        if not fmt.valid:
            raise fail(f"{fmt.problem}; nothing saved", 1)
    if verify:
        settings = {"auth_service_url": service_url, kind: secret}
        with AuthClient(config=resolve(profile, profile_must_exist=False, **settings)) as client:
            output.note(_verify(client, kind, secret))
    name = current.profile
    values = {"auth_service_url": service_url, kind: secret} | ({"api_endpoint": endpoint} if endpoint else {})
    path = write_profile(name, values)
    where = f" (profile {name})" if name != DEFAULT_PROFILE else ""
    what = "admin token" if kind == "admin_token" else "API key"
    also = f" and the API endpoint {endpoint}" if endpoint else ""
    output.stdout().print(f"Saved the {what} for {service_url}{also} in {path}{where}.", markup=False)


def _read_password(keystore: str) -> str:
    if _interactive():
        return str(typer.prompt(f"Password for {keystore}", hide_input=True, default="", show_default=False))
    # A password may begin or end with spaces: only the line ending is not part of it.
    return sys.stdin.readline().rstrip("\r\n")


def _service_url(url: str | None, current: Config) -> str:
    service_url = current.auth_service_url
    if url is None and _interactive():
        service_url = typer.prompt("Auth service URL", default=service_url)
    return normalize_url(service_url)


def run_wallet_login(*, url: str | None, keystore: str, profile: str | None, api_endpoint: str | None) -> None:
    """Sign in with a keystore file and keep the session in the profile."""
    from hokusai._wallet import read_keystore, require_eth_account, sign_in_with_wallet, unlock_keystore

    require_eth_account()  # before asking for anything
    current = resolve(profile, profile_must_exist=False, auth_service_url=url)
    service_url = _service_url(url, current)
    endpoint = normalize_url(api_endpoint) if api_endpoint else None
    try:
        keystore_json = read_keystore(keystore)
    except ConfigurationError as error:
        raise fail(error.message, 2) from None
    wallet = unlock_keystore(keystore_json, _read_password(keystore), name=keystore)
    config = resolve(profile, profile_must_exist=False, auth_service_url=service_url)
    with AuthClient(config=replace(config, session=None)) as client:
        session = sign_in_with_wallet(client, wallet)
    _keep_session(config, session, endpoint)


def _keep_session(config: Config, session: Session, endpoint: str | None) -> None:
    """Store a new session in the profile (ending the one it replaces) and say who is signed in."""
    previous, service_url = config.session, config.auth_service_url
    if previous is not None:
        # The session this one replaces would otherwise stay open, unused, until it expires.
        with contextlib.suppress(HokusaiError), AuthClient(config=config, session=previous) as old:
            old.logout()
    values = {"auth_service_url": service_url, **session_settings(session, service_url)}
    path = write_profile(config.profile, values | ({"api_endpoint": endpoint} if endpoint else {}))
    where = f" (profile {config.profile})" if config.profile != DEFAULT_PROFILE else ""
    new = ", a new user" if session.is_new_user else ""
    who = f"{session.wallet_address} (user {session.user_id}{new})" if session.wallet_address else (
        f"user {session.user_id}")  # fmt: skip
    output.stdout().print(f"Signed in as {who} at {service_url}; the session is saved in {path}{where}.",
                          markup=False)  # fmt: skip
    output.note("It renews itself as you use it; `hokusai auth logout` ends it.")


# ----------------------------------------------------------------------------------------------- login --web


def run_web_login(*, url: str | None, profile: str | None, api_endpoint: str | None, open_browser: bool) -> None:
    """Sign in with the browser (RFC 8628 device sign-in) and keep the session in the profile."""
    current = resolve(profile, profile_must_exist=False, auth_service_url=url)
    service_url = _service_url(url, current)
    endpoint = normalize_url(api_endpoint) if api_endpoint else None
    config = resolve(profile, profile_must_exist=False, auth_service_url=service_url)
    with AuthClient(config=replace(config, session=None)) as client:
        started = client.start_device_sign_in(client_name=_client_name())
        _show_code(started, open_browser)
        try:
            session = _wait_for_approval(client, started)
        except KeyboardInterrupt:
            output.note("Cancelled: not signed in; nothing saved (the code expires unused).")
            raise typer.Exit(130) from None
    _keep_session(config, session, endpoint)


def _client_name() -> str:
    """What the approval page shows as the requester: this command and the machine it runs on."""
    host = "".join(character for character in socket.gethostname() if character.isprintable()).strip()
    return f"hokusai CLI on {host}"[:100] if host else "hokusai CLI"


def _show_code(started: DeviceSignIn, open_browser: bool) -> None:
    err = output.stderr()
    err.print(f"! First copy your one-time code: {started.user_code}", markup=False)
    err.print("Open this URL in a browser where you are signed in to the Hokusai dashboard: "
              f"{started.verification_uri_complete}", markup=False, soft_wrap=True)  # fmt: skip
    if open_browser and _can_open_a_browser():
        with contextlib.suppress(Exception):  # no browser is not an error: the URL is shown above
            webbrowser.open(started.verification_uri_complete)


def _can_open_a_browser() -> bool:
    """Whether ``webbrowser.open`` would open a window. Without a display (ssh, a container) it would start a text
    browser such as lynx in this terminal instead, and hold the command until it is closed: the URL is enough."""
    if sys.platform in ("darwin", "win32") or os.environ.get("BROWSER"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _wait_for_approval(client: AuthClient, started: DeviceSignIn) -> Session:
    """Poll every ``interval`` seconds (longer after a ``slow_down``) until the code is approved, denied or
    expired. A service that cannot be reached for a while is waited for, as long as the code lives."""
    deadline = time.monotonic() + started.expires_in
    interval = started.interval
    waiting = "Waiting for the code to be approved in the browser (Ctrl-C to stop)"
    err = output.stderr()
    if not err.is_terminal:
        output.note(waiting + "...")
    with err.status(waiting, spinner="dots") if err.is_terminal else contextlib.nullcontext() as status:

        def show(left: str) -> None:
            if status is not None:
                status.update(f"{waiting}; {left}")

        while True:
            _sleep(interval, deadline, show)
            try:
                result = client.poll_device_sign_in(started.device_code)
            except AuthenticationError as error:
                raise fail(_refusal(error), 4) from None
            except ServiceUnavailableError as error:
                if time.monotonic() >= deadline:
                    raise
                output.warn(f"{error.message}; still waiting")
                continue
            if isinstance(result, Session):
                return result
            interval = max(interval, result.interval)
            if time.monotonic() >= deadline:
                raise fail(_refusal(None), 4)


def _sleep(seconds: float, deadline: float, show: Callable[[str], None]) -> None:
    """Wait ``seconds``, showing every second how long the code has left."""
    until = time.monotonic() + seconds
    while (pause := until - time.monotonic()) > 0:
        left = max(0, int(deadline - time.monotonic()))
        show(f"the code expires in {left // 60}:{left % 60:02d}")
        time.sleep(min(1.0, pause))


def _refusal(error: AuthenticationError | None) -> str:
    if error is not None and error.code == ErrorCode.ACCESS_DENIED:
        return f"not signed in: {error.message[:1].lower()}{error.message[1:]}; nothing saved"
    return ("not signed in: the code expired before it was approved (codes live 10 minutes); nothing saved; "
            "run `hokusai auth login --web` again")  # fmt: skip


def _end_session(config: Config, stored: dict[str, str]) -> None:
    """End the profile's session at the service that issued it; say so when that cannot be done."""
    try:
        session_url = normalize_url(stored.get("session_url", ""))
    except ConfigurationError:
        return
    session = stored_session(stored, session_url)
    if session is None:
        return
    try:
        with AuthClient(config=replace(config, auth_service_url=session_url, session=session)) as client:
            client.logout()
        output.note(f"Ended the session of {session.wallet_address} at {session_url}.")
    except AuthenticationError:
        output.note(f"The session of {session.wallet_address} had already ended at {session_url}.")
    except HokusaiError as error:  # unreachable, or failing: the session lives on there
        output.warn(f"{error.message}: the session is removed here, but the service may accept it until it "
                    "expires")  # fmt: skip


def run_logout(profile: str | None) -> None:
    current = resolve(profile)
    stored = read_profiles(current.config_file).get(current.profile, {})
    if not SECRET_SETTINGS & stored.keys():
        output.stdout().print(f"Profile '{current.profile}' has no stored credentials in {current.config_file}; "
                              "nothing to remove.", markup=False)  # fmt: skip
        return
    if "refresh_token" in stored:
        _end_session(current, stored)
    path = write_profile(current.profile, {"admin_token": None, "api_key": None, **session_settings(None, "")})
    output.stdout().print(f"Removed the stored credentials of profile '{current.profile}' from {path}.", markup=False)
