"""Which authorization server and client registration an account signs in with."""

from __future__ import annotations

import json

import pytest

from composer.mail.accounts import Account
from composer.mail.oauth_registry import OAuthRegistry
from composer.mail.oauth_servers import OAUTH_SERVERS, OAuthClient
from composer.mail.oauth_settings import OAuthSettings


def gmail(**changes: object) -> Account:
    values: dict[str, object] = {"name": "Ann", "email": "ann@gmail.com", "host": "smtp.gmail.com"}
    values.update(changes)
    return Account(**values)  # type: ignore[arg-type]


def test_known_providers_name_their_server_but_offer_nothing_without_a_client() -> None:
    registry = OAuthRegistry(OAuthSettings(), environ={}, built_in={})
    assert registry.key_for(gmail()) == "google"
    assert registry.key_for(gmail(email="bo@contoso.com", host="smtp.office365.com")) == "microsoft"
    assert registry.key_for(gmail(email="c@example.org", host="mail.example.org")) == ""
    assert registry.offered(gmail()) == ""
    assert "client ID" in registry.why_not(gmail())
    assert registry.why_not(gmail(email="c@example.org", host="mail.example.org")) == ""


def test_environment_beats_settings_which_beat_the_built_in_file() -> None:
    built_in = {"google": OAuthClient("from-file", "s0")}
    settings = OAuthSettings(clients={"google": OAuthClient("from-settings", "s1")})
    environ = {"COMPOSER_GOOGLE_CLIENT_ID": "from-env", "COMPOSER_GOOGLE_CLIENT_SECRET": "s2"}
    assert OAuthRegistry(settings, environ, built_in).client("google") == OAuthClient(
        "from-env", "s2"
    )
    assert OAuthRegistry(settings, {}, built_in).client("google") == OAuthClient(
        "from-settings", "s1"
    )
    assert OAuthRegistry(OAuthSettings(), {}, built_in).client("google") == OAuthClient(
        "from-file", "s0"
    )
    assert OAuthRegistry(OAuthSettings(), {}, built_in).offered(gmail()) == "google"


def test_settings_move_a_built_in_server_and_keep_what_they_do_not_name() -> None:
    data = {"servers": {"google": {"token_endpoint": "https://127.0.0.1:9/token"}}}
    server = OAuthRegistry(OAuthSettings.from_json(data), {}, {}).server("google")
    assert server is not None
    assert server.token_endpoint == "https://127.0.0.1:9/token"
    assert server.authorization_endpoint == OAUTH_SERVERS["google"].authorization_endpoint
    assert server.revocation_endpoint == OAUTH_SERVERS["google"].revocation_endpoint
    assert server.scopes == OAUTH_SERVERS["google"].scopes


def test_a_server_of_the_settings_own_serves_the_hosts_it_names() -> None:
    data = {
        "servers": {
            "corp": {
                "name": "Corp",
                "authorization_endpoint": "https://id.example.org/auth",
                "token_endpoint": "https://id.example.org/token",
                "scopes": ["smtp"],
                "hosts": ["Mail.Example.org."],
            }
        },
        "clients": {"corp": {"client_id": "composer"}},
    }
    settings = OAuthSettings.from_json(json.loads(json.dumps(data)))
    registry = OAuthRegistry(settings, {}, {})
    account = gmail(email="c@example.org", host="mail.example.org")
    assert registry.offered(account) == "corp"
    server = registry.server("corp")
    assert server is not None
    assert server.name == "Corp"
    assert server.revocation_endpoint == ""
    assert OAuthSettings.from_json(settings.to_json()) == settings


@pytest.mark.parametrize(
    "server",
    [
        {"token_endpoint": "http://id.example.org/token"},  # codes and tokens in clear
        {"scopes": "smtp"},
        {"name": 5},
        "not an object",
    ],
)
def test_a_malformed_server_is_left_out(server: object) -> None:
    settings = OAuthSettings.from_json({"servers": {"google": server}})
    assert settings.servers == {}


def test_a_malformed_client_is_left_out() -> None:
    settings = OAuthSettings.from_json(
        {"clients": {"google": {"client_id": ""}, "microsoft": {"client_id": 3}, "x": "y"}}
    )
    assert settings.clients == {}


def test_an_account_that_signs_in_keeps_its_server_in_the_settings_file() -> None:
    account = gmail(oauth="google")
    assert Account.from_json(account.to_json()).oauth == "google"
    with pytest.raises(TypeError):
        Account.from_json({**account.to_json(), "oauth": 1})
