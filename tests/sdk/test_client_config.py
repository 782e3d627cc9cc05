"""Where the SDK takes its settings from: arguments, setup(), the environment, profiles; and setup()'s checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import hokusai
from hokusai import AuthenticationError, ConfigurationError
from hokusai._config import InsecureConfigWarning, read_profiles, resolve, write_profile
from tests.sdk.conftest import LiveService

KEY = "hk_test_" + "a" * 38  # well-shaped, wrong checksum


def well_formed(body: str) -> str:
    from hokusai._keys import checksum

    return body + checksum(body)


def test_argument_beats_setup_beats_environment_beats_profile(sdk_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile("default", {"api_key": "from-file", "auth_service_url": "http://file:1"}, sdk_env)
    config = resolve()
    assert (config.api_key, config.auth_service_url) == ("from-file", "http://file:1")
    assert config.source("api_key") == f"profile 'default' in {sdk_env}"
    monkeypatch.setenv("HOKUSAI_API_KEY", "from-env")
    assert resolve().api_key == "from-env"
    assert resolve().source("api_key") == "environment (HOKUSAI_API_KEY)"
    hokusai.configure(api_key="from-setup")
    assert resolve().api_key == "from-setup"
    assert resolve(api_key="from-argument").api_key == "from-argument"
    assert resolve().auth_service_url == "http://file:1", "each setting resolves on its own"


def test_profiles_are_selected_by_name_or_environment(sdk_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile("default", {"auth_service_url": "http://default:1"}, sdk_env)
    write_profile("staging", {"auth_service_url": "http://staging:1"}, sdk_env)
    assert resolve().auth_service_url == "http://default:1"
    assert resolve("staging").auth_service_url == "http://staging:1"
    monkeypatch.setenv("HOKUSAI_PROFILE", "staging")
    assert resolve().auth_service_url == "http://staging:1"
    with pytest.raises(ConfigurationError, match="profile 'prod' not found"):
        resolve("prod")
    assert resolve("prod", profile_must_exist=False).profile == "prod"


def test_without_any_configuration_the_local_service_is_assumed(sdk_env: Path) -> None:
    config = resolve()
    assert (config.auth_service_url, config.api_key, config.admin_token) == ("http://127.0.0.1:8000", None, None)
    with pytest.raises(ConfigurationError, match="HOKUSAI_API_KEY"):
        config.require("api_key")


def test_the_config_file_is_private_and_keeps_other_profiles(sdk_env: Path) -> None:
    write_profile("default", {"admin_token": "t1", "auth_service_url": "http://a:1"}, sdk_env)
    write_profile("ci", {"api_key": KEY}, sdk_env)
    write_profile("default", {"admin_token": None}, sdk_env)
    assert read_profiles(sdk_env) == {"default": {"auth_service_url": "http://a:1"}, "ci": {"api_key": KEY}}
    assert stat.S_IMODE(sdk_env.stat().st_mode) == 0o600
    assert sdk_env.read_text().startswith("[default]")
    os.chmod(sdk_env, 0o644)
    with pytest.warns(InsecureConfigWarning, match="chmod 600"):
        resolve("ci")


def test_secrets_stay_out_of_the_config_repr(sdk_env: Path) -> None:
    shown = repr(resolve(api_key=KEY, admin_token="super-secret-admin-token"))
    assert KEY not in shown
    assert "super-secret-admin-token" not in shown
    assert "hk_test_aaa***" in shown


def test_setup_refuses_a_malformed_key_and_remembers_nothing(sdk_env: Path) -> None:
    with pytest.raises(ConfigurationError, match="checksum does not match"):
        hokusai.setup(api_key=KEY)
    assert resolve().api_key is None
    good = well_formed("hk_test_" + "c" * 32)
    assert (
        hokusai.setup(api_key=good, api_endpoint="https://api.example.test/").api_endpoint == "https://api.example.test"
    )
    assert resolve().api_key == good
    assert hokusai.current_config().source("api_key") == "setup()"


def test_setup_can_ask_the_service(live_service: LiveService, sdk_env: Path) -> None:
    created = live_service.create_key()
    config = hokusai.setup(api_key=created["api_key"], auth_service_url=live_service.url,
                           validate_with_auth_service=True)  # fmt: skip
    assert config.api_key == created["api_key"]
    hokusai.config.reset()
    unknown = well_formed("hk_live_" + "d" * 32)
    with pytest.raises(AuthenticationError, match="Invalid API key"):
        hokusai.setup(api_key=unknown, auth_service_url=live_service.url, validate_with_auth_service=True)
    assert resolve().api_key is None, "a refused key is not remembered"


def test_urls_must_be_http(sdk_env: Path) -> None:
    with pytest.raises(ConfigurationError, match="not an http"):
        resolve(auth_service_url="ftp://example")


def test_secrets_stay_out_of_every_client_repr(sdk_env: Path) -> None:
    from hokusai._client import AsyncAuthClient, AuthClient

    for client_type in (AuthClient, AsyncAuthClient):
        client = client_type("http://127.0.0.1:1", admin_token="admin-secret-1", service_token="svc-2")
        for shown in (repr(client), repr(client.credentials), str(client.credentials), repr(vars(client))):
            assert "admin-secret-1" not in shown
            assert "svc-2" not in shown
        assert repr(client.credentials) == "Credentials(admin_token=<set>, service_token=<set>)"
