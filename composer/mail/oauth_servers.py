"""The OAuth2 authorization servers Composer knows, and the client registrations it signs in
with: facts of the providers, not of any one account.

Sources (December 2026):
- Google: https://developers.google.com/identity/protocols/oauth2/native-app (endpoints,
  loopback redirect on 127.0.0.1 at any port, PKCE S256, access_type=offline for a refresh
  token, the desktop "client secret" is no secret), https://developers.google.com/workspace/
  gmail/imap/xoauth2-protocol (scope https://mail.google.com/, XOAUTH2 and OAUTHBEARER).
- Microsoft: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
  (the /common endpoints take work, school and personal accounts; public clients send no
  secret; offline_access for a refresh token), https://learn.microsoft.com/exchange/
  client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-
  using-oauth (scope https://outlook.office.com/SMTP.Send, XOAUTH2); https://learn.microsoft.com/
  entra/identity-platform/reply-url (http://localhost for desktop apps, the port ignored).
  Microsoft offers no RFC 7009 revocation endpoint: a refresh token is withdrawn from the
  account's security page, so removing such an account only deletes it here.
"""

# Token endpoints are addresses, not secrets.
# ruff: noqa: S106

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OAuthServer:
    """One authorization server: where to sign in, where tokens come from, what to ask for."""

    key: str  # "google", "microsoft", or the key of one configured in settings
    name: str  # for sentences: "Sign in with {name}"
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str  # "" where the provider offers none
    scopes: tuple[str, ...]
    # Further parameters of the authorization request (Google's for a refresh token).
    extra_params: tuple[tuple[str, str], ...] = ()
    # The name the redirect URI gives the listener on 127.0.0.1. Microsoft Entra registers
    # only http://localhost for desktop apps (its portal refuses 127.0.0.1; any port
    # matches), so its redirect says localhost; the browser reaches 127.0.0.1 by that name.
    redirect_host: str = "127.0.0.1"


@dataclass(frozen=True)
class OAuthClient:
    """A client registration: Composer cannot ship one it does not own (see the README)."""

    client_id: str
    # Google's desktop clients have one; it is not a secret for an installed program (RFC
    # 8252 §8.5), but it is sent only to the token endpoint all the same.
    client_secret: str = ""


OAUTH_SERVERS: dict[str, OAuthServer] = {
    "google": OAuthServer(
        key="google",
        name="Google",
        authorization_endpoint="https://accounts.google.com/o/oauth2/v2/auth",
        token_endpoint="https://oauth2.googleapis.com/token",
        revocation_endpoint="https://oauth2.googleapis.com/revoke",
        scopes=("https://mail.google.com/",),
        # A refresh token comes only with access_type=offline, and again after the first
        # sign-in only when consent is asked for once more.
        extra_params=(("access_type", "offline"), ("prompt", "consent")),
    ),
    "microsoft": OAuthServer(
        key="microsoft",
        name="Microsoft",
        authorization_endpoint="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_endpoint="https://login.microsoftonline.com/common/oauth2/v2.0/token",
        revocation_endpoint="",
        scopes=("https://outlook.office.com/SMTP.Send", "offline_access"),
        redirect_host="localhost",
    ),
}
