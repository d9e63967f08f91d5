"""Sending with a sign-in: OAUTHBEARER or XOAUTH2 to a real aiosmtpd server that checks each
access token with a real authorization server, both on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import trustme

from composer.mail.access_tokens import AccessTokens
from composer.mail.accounts import Account, Security
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.oauth import SignIn, oauth_secret_key
from composer.mail.oauth_registry import OAuthRegistry
from composer.mail.oauth_settings import OAuthSettings
from composer.mail.secrets import SecretStore
from composer.mail.transcript import Transcript
from tests.browser import follow_later
from tests.oauth_server import DESKTOP_CLIENT_ID, DESKTOP_CLIENT_SECRET
from tests.oauth_server import OAuthServer as AuthorizationServer
from tests.servers import (
    USERNAME,
    SmtpServer,
    account_for,
    server_tls_context,
    starttls_server,
)

DRAFT = Draft(to="bob@example.net", subject="Hi", body="Hello\n")


def registry(server: AuthorizationServer) -> OAuthRegistry:
    return OAuthRegistry(
        OAuthSettings.from_json(
            {
                "servers": {
                    "google": {
                        "authorization_endpoint": server.authorization_endpoint,
                        "token_endpoint": server.token_endpoint,
                        "revocation_endpoint": server.revocation_endpoint,
                    }
                },
                "clients": {
                    "google": {
                        "client_id": DESKTOP_CLIENT_ID,
                        "client_secret": DESKTOP_CLIENT_SECRET,
                    }
                },
            }
        ),
        {},
        {},
    )


@pytest.fixture
def tokens(oauth_server: AuthorizationServer) -> AccessTokens:
    return AccessTokens(SecretStore(), lambda: registry(oauth_server))


def signed_in(oauth_server: AuthorizationServer, account: Account) -> str:
    """Sign account in as the browser would; its refresh token into the keyring."""
    known = registry(oauth_server)
    server, client = known.server("google"), known.client("google")
    assert server is not None
    assert client is not None
    sign_in = SignIn(server, client, login_hint=account.email, timeout=30)
    follow_later(sign_in.url)
    refresh_token = sign_in.finish().refresh_token
    SecretStore().set(oauth_secret_key(account.id), refresh_token)
    return refresh_token


@pytest.fixture
def server_offering(
    tls_ca: trustme.CA, oauth_server: AuthorizationServer
) -> Iterator[dict[str, SmtpServer]]:
    servers: dict[str, SmtpServer] = {}

    def start(*mechanisms: str) -> SmtpServer:
        server = starttls_server(
            server_tls_context(tls_ca), oauth=oauth_server, mechanisms=mechanisms
        )
        servers[" ".join(mechanisms)] = server.start()
        return server

    yield start  # type: ignore[misc]
    for server in servers.values():
        server.stop()


def oauth_account(server: SmtpServer) -> Account:
    return account_for(server, Security.STARTTLS, email="ann@gmail.com", oauth="google")


@pytest.mark.parametrize(
    ("offered", "used"),
    [
        (("XOAUTH2",), "XOAUTH2"),
        (("OAUTHBEARER",), "OAUTHBEARER"),
        (("PLAIN", "XOAUTH2", "OAUTHBEARER"), "OAUTHBEARER"),
    ],
)
def test_a_signed_in_account_sends_with_the_mechanism_offered(
    server_offering, oauth_server, tokens, offered, used
) -> None:
    server = server_offering(*offered)
    account = oauth_account(server)
    signed_in(oauth_server, account)
    result = Delivery(account, SecretStore(), None, access_tokens=tokens).send(DRAFT)
    assert result.accepted == ("bob@example.net",)
    assert [(a.mechanism, a.user, a.accepted) for a in server.sasl_attempts] == [
        (used, USERNAME, True)
    ]
    assert server.received[0]["Subject"] == "Hi"
    assert server.auth_attempts == []  # no password login was tried


def test_a_refused_access_token_is_replaced_once_without_asking(
    server_offering, oauth_server, tokens
) -> None:
    server = server_offering("XOAUTH2")
    account = oauth_account(server)
    signed_in(oauth_server, account)
    Delivery(account, SecretStore(), None, access_tokens=tokens).send(DRAFT)
    oauth_server.expire_access_tokens()  # Composer still thinks its token is good
    Delivery(account, SecretStore(), None, access_tokens=tokens).send(DRAFT)
    assert [a.accepted for a in server.sasl_attempts] == [True, False, True]
    assert oauth_server.token_requests == ["authorization_code", "refresh_token", "refresh_token"]
    assert len(server.received) == 2


def test_a_token_refused_twice_is_reported_after_one_retry(
    server_offering, oauth_server, tokens
) -> None:
    server = server_offering("OAUTHBEARER")
    # Tokens are issued to "ann"; the account logs in as someone else.
    account = oauth_account(server)
    signed_in(oauth_server, account)
    other = account_for(
        server,
        Security.STARTTLS,
        username="bo",
        email="ann@gmail.com",
        oauth="google",
        id=account.id,
    )
    with pytest.raises(SendError) as caught:
        Delivery(other, SecretStore(), None, access_tokens=tokens).send(DRAFT)
    assert caught.value.kind is ErrorKind.AUTH_FAILED
    assert "also with a new access token" in caught.value.message
    assert "535" in caught.value.message
    assert [a.accepted for a in server.sasl_attempts] == [False, False]
    assert server.received == []


def test_a_withdrawn_grant_asks_to_sign_in_again_and_sends_nothing(
    server_offering, oauth_server, tokens
) -> None:
    server = server_offering("XOAUTH2", "OAUTHBEARER")
    account = oauth_account(server)
    signed_in(oauth_server, account)
    oauth_server.revoke_all(USERNAME)
    with pytest.raises(SendError) as caught:
        Delivery(account, SecretStore(), None, access_tokens=tokens).send(DRAFT)
    assert caught.value.kind is ErrorKind.SIGN_IN_NEEDED
    assert not caught.value.retryable
    assert server.received == []


def test_the_transcript_shows_neither_the_token_nor_its_base64(
    server_offering, oauth_server, tokens
) -> None:
    server = server_offering("XOAUTH2")
    account = oauth_account(server)
    refresh_token = signed_in(oauth_server, account)
    oauth_server.expire_access_tokens()
    transcript = Transcript()
    Delivery(account, SecretStore(), None, access_tokens=tokens, transcript=transcript).check()
    text = transcript.text()
    assert "AUTH XOAUTH2 <hidden>" in text
    for secret in [*oauth_server.access_tokens_issued, refresh_token]:
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode()[:20] not in text
    for attempt in server.sasl_attempts:
        payload = f"user={attempt.user}\x01auth=Bearer {attempt.token}\x01\x01"
        assert base64.b64encode(payload.encode()).decode() not in text


def test_a_server_without_token_logins_is_worded(server_offering, oauth_server, tokens) -> None:
    server = server_offering("PLAIN", "LOGIN")
    account = oauth_account(server)
    signed_in(oauth_server, account)
    with pytest.raises(SendError, match="does not take a sign-in with an access token") as caught:
        Delivery(account, SecretStore(), None, access_tokens=tokens).send(DRAFT)
    assert caught.value.kind is ErrorKind.AUTH_FAILED
    assert oauth_server.token_requests == ["authorization_code"]  # no token was fetched


def test_no_token_goes_unencrypted_to_another_computer(tokens) -> None:
    account = Account(
        name="Ann",
        email="ann@gmail.com",
        host="smtp.gmail.com",
        port=25,
        security=Security.NONE,
        oauth="google",
    )
    with pytest.raises(SendError) as caught:
        Delivery(account, SecretStore(), None, access_tokens=tokens).send(DRAFT)
    assert caught.value.kind is ErrorKind.INSECURE
