"""The OAuth2 test servers themselves: the authorization server, driven by authlib as the app
drives it, the browser, and the SMTP servers' XOAUTH2 and OAUTHBEARER, each shown to refuse
what it must."""

from __future__ import annotations

import base64
import http.server
import json
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from composer.mail.certificates import verifying_context
from tests.browser import follow, follow_later, visit
from tests.oauth_server import (
    DESKTOP_CLIENT_ID,
    DESKTOP_CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
    OAuthServer,
)
from tests.servers import (
    HOST,
    USERNAME,
    SmtpServer,
    implicit_tls_server,
    running,
    server_tls_context,
    starttls_server,
)

SCOPE = "https://mail.google.com/"
# Nothing listens there: the tests that stop at the redirect read it from the Location.
REDIRECT = f"http://{HOST}:9/"
VERIFIER = "a-code-verifier-of-the-43-to-128-characters-rfc-7636-asks-for"
Client = Callable[..., OAuth2Client]


@pytest.fixture
def client() -> Iterator[Client]:
    """Makes authlib clients as the app does (the public one unless told), closed after."""
    made: list[OAuth2Client] = []

    def make(
        client_id: str = PUBLIC_CLIENT_ID, secret: str = "", redirect_uri: str = REDIRECT
    ) -> OAuth2Client:
        session = OAuth2Client(
            client_id=client_id,
            client_secret=secret or None,
            token_endpoint_auth_method="client_secret_post" if secret else "none",
            revocation_endpoint_auth_method="client_secret_post" if secret else "none",
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            verify=verifying_context(),
            trust_env=False,
        )
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def _redirect(server: OAuthServer, session: OAuth2Client, **params: str) -> dict[str, str]:
    """The query the authorization server redirects to, the browser's part of a sign-in."""
    url, _ = session.create_authorization_url(server.authorization_endpoint, **params)
    page = visit(url)
    assert page.status == 302, page.body
    return {key: values[0] for key, values in parse_qs(urlsplit(page.location).query).items()}


def _sign_in(server: OAuthServer, session: OAuth2Client) -> dict[str, Any]:
    url, state = session.create_authorization_url(
        server.authorization_endpoint, code_verifier=VERIFIER
    )
    location = visit(url).location
    assert parse_qs(urlsplit(location).query)["state"] == [state]
    tokens: dict[str, Any] = session.fetch_token(
        server.token_endpoint, authorization_response=location, code_verifier=VERIFIER
    )
    return tokens


def _refused(call: Callable[[], object]) -> str:
    with pytest.raises(OAuthError) as caught:
        call()
    error: str = caught.value.error
    return error


@pytest.mark.parametrize(
    ("client_id", "secret"), [(PUBLIC_CLIENT_ID, ""), (DESKTOP_CLIENT_ID, DESKTOP_CLIENT_SECRET)]
)
def test_code_flow_with_pkce_issues_tokens_to_the_user(
    oauth_server: OAuthServer, client: Client, client_id: str, secret: str
) -> None:
    tokens = _sign_in(oauth_server, client(client_id, secret))

    assert oauth_server.check_access_token(tokens["access_token"]) == USERNAME
    assert oauth_server.refresh_tokens_issued == [tokens["refresh_token"]]
    assert oauth_server.token_requests == ["authorization_code"]
    asked = oauth_server.authorizations[0]
    assert (asked["code_challenge_method"], asked["scope"]) == ("S256", SCOPE)
    assert oauth_server.check_access_token("not-a-token") is None


def test_a_wrong_code_verifier_is_refused(oauth_server: OAuthServer, client: Client) -> None:
    session = client()
    query = _redirect(oauth_server, session, code_verifier=VERIFIER)
    fetch = session.fetch_token

    error = _refused(
        lambda: fetch(oauth_server.token_endpoint, code=query["code"], code_verifier="x" * 43)
    )

    assert error == "invalid_grant"
    assert oauth_server.token_errors == ["invalid_grant"]
    assert not oauth_server.access_tokens_issued


@pytest.mark.parametrize("params", [{}, {"code_challenge": VERIFIER}], ids=["none", "plain"])
def test_authorization_without_s256_is_refused(
    oauth_server: OAuthServer, client: Client, params: dict[str, str]
) -> None:
    session = OAuth2Client(PUBLIC_CLIENT_ID, redirect_uri=REDIRECT, trust_env=False)
    with session:  # no code_challenge_method: authlib sends the verifier in plain, if any
        query = _redirect(oauth_server, session, **params)

    assert query["error"] == "invalid_request"
    assert "code" not in query


def test_a_code_works_once(oauth_server: OAuthServer, client: Client) -> None:
    session = client()
    query = _redirect(oauth_server, session, code_verifier=VERIFIER)
    token = oauth_server.token_endpoint
    session.fetch_token(token, code=query["code"], code_verifier=VERIFIER)

    again = _refused(lambda: session.fetch_token(token, code=query["code"], code_verifier=VERIFIER))

    assert again == "invalid_grant"


def test_any_loopback_port_is_a_redirect_uri(oauth_server: OAuthServer, client: Client) -> None:
    for port in (9, 65535):
        session = client(redirect_uri=f"http://{HOST}:{port}/callback")
        assert "code" in _redirect(oauth_server, session, code_verifier=VERIFIER)


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://127.0.0.1:9/", "http://localhost:9/", "http://example.org:9/", "http://127.0.0.1:x/"],
)
def test_other_redirect_uris_are_refused_without_a_redirect(
    oauth_server: OAuthServer, client: Client, redirect_uri: str
) -> None:
    url, _ = client(redirect_uri=redirect_uri).create_authorization_url(
        oauth_server.authorization_endpoint, code_verifier=VERIFIER
    )
    page = visit(url)

    assert (page.status, page.location) == (400, "")
    assert "redirect URI" in page.body


def test_the_token_request_must_name_the_same_redirect_uri(
    oauth_server: OAuthServer, client: Client
) -> None:
    query = _redirect(oauth_server, client(), code_verifier=VERIFIER)
    other = client(redirect_uri=f"http://{HOST}:10/")

    error = _refused(
        lambda: other.fetch_token(
            oauth_server.token_endpoint, code=query["code"], code_verifier=VERIFIER
        )
    )

    assert error == "invalid_request"  # oauthlib's MismatchingRedirectURIError


@pytest.mark.parametrize("secret", ["", "wrong"])
def test_the_desktop_client_must_show_its_secret(
    oauth_server: OAuthServer, client: Client, secret: str
) -> None:
    session = client(DESKTOP_CLIENT_ID, secret)
    query = _redirect(oauth_server, session, code_verifier=VERIFIER)

    error = _refused(
        lambda: session.fetch_token(
            oauth_server.token_endpoint, code=query["code"], code_verifier=VERIFIER
        )
    )

    assert error == "invalid_client"


def test_refresh_rotates_and_spends_the_old_token(
    oauth_server: OAuthServer, client: Client
) -> None:
    session = client()
    first = _sign_in(oauth_server, session)["refresh_token"]
    token = oauth_server.token_endpoint

    second = session.refresh_token(token, refresh_token=first)

    assert second["refresh_token"] not in ("", first)
    assert oauth_server.check_access_token(second["access_token"]) == USERNAME
    assert _refused(lambda: session.refresh_token(token, refresh_token=first)) == "invalid_grant"
    assert oauth_server.token_requests == ["authorization_code", "refresh_token", "refresh_token"]


def test_refresh_without_rotation_keeps_the_token(
    oauth_server: OAuthServer, client: Client
) -> None:
    oauth_server.rotate_refresh_tokens = False
    session = client(DESKTOP_CLIENT_ID, DESKTOP_CLIENT_SECRET)
    first = _sign_in(oauth_server, session)["refresh_token"]

    for _ in range(2):
        again = session.refresh_token(oauth_server.token_endpoint, refresh_token=first)
        assert again["refresh_token"] == first
    assert oauth_server.refresh_tokens_issued == [first]


@pytest.mark.parametrize(
    ("client_id", "secret"), [(PUBLIC_CLIENT_ID, ""), (DESKTOP_CLIENT_ID, DESKTOP_CLIENT_SECRET)]
)
def test_revoking_the_refresh_token_ends_the_grant(
    oauth_server: OAuthServer, client: Client, client_id: str, secret: str
) -> None:
    session = client(client_id, secret)
    tokens = _sign_in(oauth_server, session)
    refresh = tokens["refresh_token"]

    answer = session.revoke_token(
        oauth_server.revocation_endpoint, refresh, token_type_hint="refresh_token"
    )

    assert answer.status_code == 200
    assert oauth_server.revocations == [refresh]
    assert oauth_server.check_access_token(tokens["access_token"]) is None
    token = oauth_server.token_endpoint
    assert _refused(lambda: session.refresh_token(token, refresh_token=refresh)) == "invalid_grant"


def test_another_client_cannot_revoke_a_token(oauth_server: OAuthServer, client: Client) -> None:
    tokens = _sign_in(oauth_server, client())
    other = client(DESKTOP_CLIENT_ID, DESKTOP_CLIENT_SECRET)

    other.revoke_token(oauth_server.revocation_endpoint, tokens["refresh_token"])

    assert oauth_server.check_access_token(tokens["access_token"]) == USERNAME


def test_revoke_all_withdraws_the_users_grants(oauth_server: OAuthServer, client: Client) -> None:
    session = client()
    tokens = _sign_in(oauth_server, session)

    oauth_server.revoke_all(USERNAME)

    assert oauth_server.check_access_token(tokens["access_token"]) is None
    refresh = tokens["refresh_token"]
    token = oauth_server.token_endpoint
    assert _refused(lambda: session.refresh_token(token, refresh_token=refresh)) == "invalid_grant"


def test_access_tokens_expire(oauth_server: OAuthServer, client: Client) -> None:
    oauth_server.access_lifetime = 2
    session = client()
    tokens = _sign_in(oauth_server, session)
    assert tokens["expires_in"] == 2
    assert oauth_server.check_access_token(tokens["access_token"]) == USERNAME

    oauth_server.expire_access_tokens()

    assert oauth_server.check_access_token(tokens["access_token"]) is None
    fresh = session.refresh_token(oauth_server.token_endpoint, tokens["refresh_token"])
    assert oauth_server.check_access_token(fresh["access_token"]) == USERNAME
    oauth_server.access_lifetime = 0
    spent = session.refresh_token(oauth_server.token_endpoint, fresh["refresh_token"])
    assert oauth_server.check_access_token(spent["access_token"]) is None


def test_a_denied_authorization_redirects_with_access_denied(
    oauth_server: OAuthServer, client: Client
) -> None:
    oauth_server.deny = True

    query = _redirect(oauth_server, client(), code_verifier=VERIFIER, state="the-state")

    assert (query["error"], query["state"]) == ("access_denied", "the-state")
    assert "code" not in query


class _Listener(http.server.HTTPServer):
    """A stand-in for the app's loopback listener: records the paths asked for."""

    def __init__(self) -> None:
        super().__init__((HOST, 0), _ListenerPage)
        self.paths: list[str] = []
        self.uri = f"http://{HOST}:{self.server_address[1]}/"


class _ListenerPage(http.server.BaseHTTPRequestHandler):
    server: _Listener

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        body = b"You can close this tab."
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[_Listener]:
    server = _Listener()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_browser_follows_the_redirect_to_the_listener(
    oauth_server: OAuthServer, client: Client, listener: _Listener
) -> None:
    session = client(redirect_uri=listener.uri)
    url, state = session.create_authorization_url(
        oauth_server.authorization_endpoint, code_verifier=VERIFIER
    )

    page = follow_later(url).result(timeout=20)

    assert (page.status, page.body) == (200, "You can close this tab.")
    assert page.visited[0] == url
    assert page.url.startswith(listener.uri)
    assert parse_qs(urlsplit(listener.paths[0]).query)["state"] == [state]
    assert follow(listener.uri + "?state=forged").visited == (listener.uri + "?state=forged",)


def test_the_browser_trusts_only_the_test_ca() -> None:
    stranger = OAuthServer(server_tls_context(trustme.CA())).start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            visit(stranger.authorization_endpoint)
    finally:
        stranger.stop()


# SMTP: what a client sends, as composer/mail/sasl.py writes it.
def _initial(mechanism: str, user: str, token: str, port: int) -> str:
    if mechanism == "XOAUTH2":
        return f"user={user}\x01auth=Bearer {token}\x01\x01"
    return f"n,a={user},\x01host={HOST}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def _log_in(
    server: SmtpServer, mechanism: str, token: str, user: str = USERNAME, after: str | None = None
) -> tuple[int, list[bytes]]:
    """AUTH with smtplib, after STARTTLS: the final reply's code, and the challenges the
    server sent after the initial response (answered with after, or what sasl.py sends)."""
    challenges: list[bytes] = []
    ending = ("" if mechanism == "XOAUTH2" else "\x01") if after is None else after

    def respond(challenge: bytes | None = None) -> str:
        if challenge is None:
            return _initial(mechanism, user, token, server.port)
        challenges.append(challenge)
        return ending

    with smtplib.SMTP(HOST, server.port, local_hostname="localhost", timeout=10) as smtp:
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()
        try:
            code = smtp.auth(mechanism, respond)[0]
        except smtplib.SMTPAuthenticationError as error:
            code = error.smtp_code
        smtp.noop()  # the connection is still in step
    return code, challenges


@pytest.fixture
def access_token(oauth_server: OAuthServer, client: Client) -> str:
    token: str = _sign_in(oauth_server, client())["access_token"]
    return token


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_a_good_token_logs_in(
    oauth_smtp_server: SmtpServer, access_token: str, mechanism: str
) -> None:
    assert _log_in(oauth_smtp_server, mechanism, access_token) == (235, [])

    assert oauth_smtp_server.logins == [mechanism]
    attempt = oauth_smtp_server.sasl_attempts[0]
    assert (attempt.mechanism, attempt.user, attempt.accepted) == (mechanism, USERNAME, True)


def test_oauthbearer_may_leave_the_user_to_the_token(
    oauth_smtp_server: SmtpServer, access_token: str
) -> None:
    assert _log_in(oauth_smtp_server, "OAUTHBEARER", access_token, user="")[0] == 235


@pytest.mark.parametrize(
    ("mechanism", "error"),
    [
        ("XOAUTH2", {"status": "401", "schemes": "bearer", "scope": SCOPE}),
        ("OAUTHBEARER", {"status": "invalid_token", "scope": SCOPE}),
    ],
)
@pytest.mark.parametrize("case", ["unknown", "expired", "another user's"])
def test_a_bad_token_gets_a_json_challenge_then_535(
    oauth_smtp_server: SmtpServer,
    oauth_server: OAuthServer,
    access_token: str,
    mechanism: str,
    error: dict[str, str],
    case: str,
) -> None:
    token, user = access_token, USERNAME
    if case == "unknown":
        token = "not-a-token"
    elif case == "expired":
        oauth_server.expire_access_tokens()
    else:
        user = "bob"

    code, challenges = _log_in(oauth_smtp_server, mechanism, token, user)

    assert code == 535
    assert [json.loads(challenge) for challenge in challenges] == [error]
    assert oauth_smtp_server.logins == []
    attempt = oauth_smtp_server.sasl_attempts[0]
    assert (attempt.user, attempt.token, attempt.accepted) == (user, token, False)


@pytest.mark.parametrize(("mechanism", "after"), [("XOAUTH2", "\x01"), ("OAUTHBEARER", "")])
def test_the_error_challenge_needs_the_clients_end_of_exchange(
    oauth_smtp_server: SmtpServer, mechanism: str, after: str
) -> None:
    assert _log_in(oauth_smtp_server, mechanism, "not-a-token", after=after)[0] == 501


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("payload", ["user=ann\x01\x01", "p=tls-unique,,\x01auth=Bearer t\x01\x01"])
def test_a_malformed_response_gets_501(oauth_smtp_server: SmtpServer, payload: str) -> None:
    with smtplib.SMTP(HOST, oauth_smtp_server.port, local_hostname="localhost", timeout=10) as smtp:
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()
        mechanism = "XOAUTH2" if payload.startswith("user") else "OAUTHBEARER"
        assert smtp.docmd("AUTH", f"{mechanism} {_b64(payload)}")[0] == 501


@pytest.mark.parametrize(
    ("mechanisms", "offered"),
    [
        (None, "OAUTHBEARER XOAUTH2"),
        (("XOAUTH2",), "XOAUTH2"),
        (("OAUTHBEARER",), "OAUTHBEARER"),
        (("PLAIN", "XOAUTH2"), "PLAIN XOAUTH2"),
    ],
)
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "implicit"])
def test_the_server_offers_the_mechanisms_asked_for(
    tls_ca: trustme.CA,
    oauth_server: OAuthServer,
    mechanisms: tuple[str, ...] | None,
    offered: str,
    implicit_tls: bool,
) -> None:
    make = implicit_tls_server if implicit_tls else starttls_server
    # smtplib's PLAIN takes only ASCII passwords.
    server = make(
        server_tls_context(tls_ca), oauth=oauth_server, mechanisms=mechanisms, password="s3cret"
    )
    with running(server):
        if implicit_tls:
            context = ssl.create_default_context()
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                HOST, server.port, local_hostname="localhost", timeout=10, context=context
            )
        else:
            smtp = smtplib.SMTP(HOST, server.port, local_hostname="localhost", timeout=10)
            smtp.starttls(context=ssl.create_default_context())
        with smtp:
            smtp.ehlo()
            assert smtp.esmtp_features["auth"].strip() == offered
            if "PLAIN" in offered:
                smtp.login(USERNAME, "s3cret")
    assert server.logins == (["PLAIN"] if "PLAIN" in offered else [])
