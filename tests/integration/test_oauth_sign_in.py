"""Signing in, refreshing and withdrawing, against a real authorization server on 127.0.0.1
(oauthlib over HTTPS, the test CA trusted); the test follows the sign-in URL as the browser."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import urllib.parse
import warnings
from typing import Any

import pytest
import trustme

from composer.mail.access_tokens import AccessTokens
from composer.mail.accounts import Account
from composer.mail.errors import ErrorKind, SendError, SignInFailed, SignInNeeded
from composer.mail.oauth import SignIn, Tokens, oauth_secret_key, refresh, revoke
from composer.mail.oauth_registry import OAuthRegistry
from composer.mail.oauth_servers import OAuthClient, OAuthServer
from composer.mail.oauth_settings import OAuthSettings
from composer.mail.secrets import SecretStore
from tests.browser import follow_later, visit
from tests.keyrings import MemoryKeyring
from tests.oauth_server import (
    DESKTOP_CLIENT_ID,
    DESKTOP_CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
)
from tests.oauth_server import OAuthServer as AuthorizationServer
from tests.servers import USERNAME, server_tls_context

DESKTOP = OAuthClient(DESKTOP_CLIENT_ID, DESKTOP_CLIENT_SECRET)
PUBLIC = OAuthClient(PUBLIC_CLIENT_ID)


def facts(server: AuthorizationServer, **changes: object) -> OAuthServer:
    values: dict[str, object] = {
        "key": "google",
        "name": "Google",
        "authorization_endpoint": server.authorization_endpoint,
        "token_endpoint": server.token_endpoint,
        "revocation_endpoint": server.revocation_endpoint,
        "scopes": ("https://mail.google.com/",),
        "extra_params": (("access_type", "offline"),),
    }
    values.update(changes)
    return OAuthServer(**values)  # type: ignore[arg-type]


def signed_in(server: AuthorizationServer, client: OAuthClient = DESKTOP) -> Tokens:
    sign_in = SignIn(facts(server), client, login_hint="ann@gmail.com", timeout=30)
    browser = follow_later(sign_in.url)
    tokens = sign_in.finish()
    assert "close this tab" in browser.result(10).body
    return tokens


@pytest.mark.parametrize("client", [DESKTOP, PUBLIC], ids=["with-secret", "public"])
def test_signing_in_uses_pkce_s256_and_gives_both_tokens(
    oauth_server: AuthorizationServer, client: OAuthClient
) -> None:
    tokens = signed_in(oauth_server, client)
    assert oauth_server.check_access_token(tokens.access_token) == USERNAME
    assert tokens.refresh_token in oauth_server.refresh_tokens_issued
    asked = oauth_server.authorizations[-1]
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["code_challenge"]) == 43
    assert asked["login_hint"] == "ann@gmail.com"
    assert asked["access_type"] == "offline"
    assert urllib.parse.urlsplit(asked["redirect_uri"]).hostname == "127.0.0.1"
    assert oauth_server.token_requests == ["authorization_code"]
    assert tokens.fresh()
    assert tokens.access_token not in repr(tokens)


def test_a_declined_sign_in_is_worded(oauth_server: AuthorizationServer) -> None:
    oauth_server.deny = True
    sign_in = SignIn(facts(oauth_server), DESKTOP, timeout=30)
    browser = follow_later(sign_in.url)
    with pytest.raises(SignInFailed, match="declined in the browser"):
        sign_in.finish()
    assert browser.result(10).status == 200
    assert oauth_server.token_requests == []


def test_a_forged_redirect_is_refused_and_the_real_one_comes_too_late(
    oauth_server: AuthorizationServer,
) -> None:
    sign_in = SignIn(facts(oauth_server), DESKTOP, timeout=30)
    forged = visit(f"{sign_in.redirect_uri}?code=attacker&state=guessed")
    assert forged.status == 400
    with pytest.raises(SignInFailed, match="did not start"):
        sign_in.finish()
    assert oauth_server.token_requests == []  # the attacker's code was never traded


def test_cancel_while_the_browser_is_open(oauth_server: AuthorizationServer) -> None:
    sign_in = SignIn(facts(oauth_server), DESKTOP, timeout=30)
    sign_in.cancel()
    with pytest.raises(SignInFailed, match="cancelled"):
        sign_in.finish()


def test_a_refresh_gives_a_new_access_token_and_a_withdrawn_grant_needs_a_new_sign_in(
    oauth_server: AuthorizationServer,
) -> None:
    tokens = signed_in(oauth_server)
    renewed = refresh(facts(oauth_server), DESKTOP, tokens.refresh_token)
    assert renewed.access_token != tokens.access_token
    assert oauth_server.check_access_token(renewed.access_token) == USERNAME
    oauth_server.revoke_all(USERNAME)
    with pytest.raises(SignInNeeded):
        refresh(facts(oauth_server), DESKTOP, renewed.refresh_token)


def test_revoking_withdraws_the_grant_and_a_server_without_revocation_says_so(
    oauth_server: AuthorizationServer,
) -> None:
    tokens = signed_in(oauth_server)
    assert revoke(facts(oauth_server), DESKTOP, tokens.refresh_token) is True
    assert oauth_server.revocations == [tokens.refresh_token]
    with pytest.raises(SignInNeeded):
        refresh(facts(oauth_server), DESKTOP, tokens.refresh_token)
    none = facts(oauth_server, revocation_endpoint="")
    assert revoke(none, DESKTOP, tokens.refresh_token) is False


def test_a_wrong_client_is_told_to_check_its_registration(
    oauth_server: AuthorizationServer,
) -> None:
    tokens = signed_in(oauth_server)
    with pytest.raises(SignInFailed, match="client registration") as caught:
        refresh(facts(oauth_server), OAuthClient(DESKTOP_CLIENT_ID, "wrong"), tokens.refresh_token)
    assert not isinstance(caught.value, SignInNeeded)


def test_a_certificate_from_an_unknown_issuer_stops_the_request(
    oauth_server: AuthorizationServer,
) -> None:
    tokens = signed_in(oauth_server)
    stranger = AuthorizationServer(server_tls_context(trustme.CA())).start()
    try:
        with pytest.raises(
            SignInFailed, match=r"certificate of 127\.0\.0\.1 could not be verified"
        ):
            refresh(facts(stranger), DESKTOP, tokens.refresh_token)
    finally:
        stranger.stop()
    assert stranger.token_requests == []


def test_tls_below_1_2_is_refused_even_when_python_allows_it(
    oauth_server: AuthorizationServer, tls_ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = signed_in(oauth_server)
    real = ssl.create_default_context

    def lax(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        # Python's own default would speak TLS 1.0: only Composer's minimum refuses it.
        context = real(*args, **kwargs)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        return context

    old = lax(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(old)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    monkeypatch.setattr(ssl, "create_default_context", lax)
    legacy = AuthorizationServer(old).start()
    try:
        with pytest.raises(SignInFailed):
            refresh(facts(legacy), DESKTOP, tokens.refresh_token)
    finally:
        legacy.stop()
    assert legacy.token_requests == []


# Access tokens for sends


def account() -> Account:
    return Account(id="ann", name="Ann", email="ann@gmail.com", host="127.0.0.1", oauth="google")


def tokens_for(server: AuthorizationServer, secrets: SecretStore) -> AccessTokens:
    settings = OAuthSettings.from_json(
        {
            "servers": {
                "google": {
                    "authorization_endpoint": server.authorization_endpoint,
                    "token_endpoint": server.token_endpoint,
                    "revocation_endpoint": server.revocation_endpoint,
                }
            },
            "clients": {
                "google": {"client_id": DESKTOP_CLIENT_ID, "client_secret": DESKTOP_CLIENT_SECRET}
            },
        }
    )
    return AccessTokens(secrets, lambda: OAuthRegistry(settings, {}, {}))


def test_an_access_token_comes_from_the_keyrings_refresh_token_and_is_kept_in_memory(
    oauth_server: AuthorizationServer, memory_keyring: MemoryKeyring
) -> None:
    secrets = SecretStore()
    first = signed_in(oauth_server)
    secrets.set(oauth_secret_key(account().id), first.refresh_token)
    tokens = tokens_for(oauth_server, secrets)
    one = tokens.get(account())
    assert oauth_server.check_access_token(one) == USERNAME
    assert tokens.get(account()) == one  # held: no second request
    assert oauth_server.token_requests == ["authorization_code", "refresh_token"]
    # The server rotates refresh tokens: the keyring holds the newest, never an access token.
    stored = memory_keyring.passwords[("composer", oauth_secret_key(account().id))]
    assert stored == oauth_server.refresh_tokens_issued[-1] != first.refresh_token
    assert one not in memory_keyring.passwords.values()


def test_an_expired_access_token_is_refreshed_without_asking(
    oauth_server: AuthorizationServer,
) -> None:
    secrets = SecretStore()
    secrets.set(oauth_secret_key(account().id), signed_in(oauth_server).refresh_token)
    oauth_server.access_lifetime = 1  # under a minute: refreshed before every use
    tokens = tokens_for(oauth_server, secrets)
    one = tokens.get(account())
    two = tokens.get(account())
    assert one != two
    assert oauth_server.check_access_token(two) == USERNAME
    oauth_server.access_lifetime = 3600
    three = tokens.get(account())
    assert tokens.get(account(), fresh=True) != three  # a refused one is replaced


def test_a_withdrawn_grant_is_a_sign_in_needed_and_nothing_is_retried(
    oauth_server: AuthorizationServer,
) -> None:
    secrets = SecretStore()
    secrets.set(oauth_secret_key(account().id), signed_in(oauth_server).refresh_token)
    tokens = tokens_for(oauth_server, secrets)
    oauth_server.revoke_all(USERNAME)
    with pytest.raises(SendError) as caught:
        tokens.get(account())
    assert caught.value.kind is ErrorKind.SIGN_IN_NEEDED
    assert not caught.value.retryable
    assert "Sign in again" in caught.value.message


def test_no_stored_sign_in_needs_one(oauth_server: AuthorizationServer) -> None:
    with pytest.raises(SendError) as caught:
        tokens_for(oauth_server, SecretStore()).get(account())
    assert caught.value.kind is ErrorKind.SIGN_IN_NEEDED


def test_a_sign_in_not_yet_saved_serves_until_it_is(oauth_server: AuthorizationServer) -> None:
    tokens = tokens_for(oauth_server, SecretStore())
    fresh = signed_in(oauth_server)
    tokens.remember(account().id, fresh)
    assert tokens.get(account()) == fresh.access_token
    renewed = tokens.get(account(), fresh=True)  # from the held refresh token
    assert oauth_server.check_access_token(renewed) == USERNAME


def test_a_token_endpoint_that_cannot_be_reached_is_retryable(
    oauth_server: AuthorizationServer,
) -> None:
    secrets = SecretStore()
    secrets.set(oauth_secret_key(account().id), signed_in(oauth_server).refresh_token)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    moved = dataclasses.replace(account(), oauth="google")
    registry = OAuthRegistry(
        OAuthSettings.from_json(
            {
                "servers": {"google": {"token_endpoint": f"https://127.0.0.1:{port}/token"}},
                "clients": {"google": {"client_id": DESKTOP_CLIENT_ID}},
            }
        ),
        {},
        {},
    )
    tokens = AccessTokens(secrets, lambda: registry)
    with pytest.raises(SendError) as caught:
        tokens.get(moved)
    assert caught.value.kind is ErrorKind.UNREACHABLE
    assert caught.value.retryable


def test_microsofts_redirect_says_localhost_and_still_reaches_127_0_0_1(
    oauth_server: AuthorizationServer,
) -> None:
    # Entra registers desktop apps' redirect as http://localhost with any port, no path.
    microsoft = facts(oauth_server, key="microsoft", name="Microsoft", redirect_host="localhost")
    sign_in = SignIn(microsoft, PUBLIC, timeout=30)
    assert sign_in.redirect_uri.startswith("http://localhost:")
    assert not sign_in.redirect_uri.endswith("/")
    browser = follow_later(sign_in.url)
    tokens = sign_in.finish()
    assert oauth_server.check_access_token(tokens.access_token) == USERNAME
    assert oauth_server.authorizations[-1]["redirect_uri"] == sign_in.redirect_uri
    assert browser.result(10).status == 200
