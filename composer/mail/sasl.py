"""What a client sends to log in with an access token: SASL XOAUTH2 (Google's and
Microsoft's) and OAUTHBEARER (RFC 7628), as text before base64."""

from __future__ import annotations

# Preferred first: the standard one, then the older one both big providers take.
TOKEN_MECHANISMS = ("OAUTHBEARER", "XOAUTH2")


def token_mechanism(offered: list[str]) -> str | None:
    """The mechanism to use of those a server offered (upper case), None if neither."""
    return next((m for m in TOKEN_MECHANISMS if m in offered), None)


def initial_response(mechanism: str, user: str, token: str, host: str, port: int) -> str:
    if mechanism == "XOAUTH2":
        return f"user={user}\x01auth=Bearer {token}\x01\x01"
    # RFC 7628 §3.1: a GS2 header naming the user (',' and '=' escaped, RFC 5801), then
    # key=value pairs, each ended by ^A, and a final ^A.
    name = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={name},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def after_error(mechanism: str) -> str:
    """The answer to the server's error challenge (334 with a JSON status): the exchange
    must end with it before the server says 535 (RFC 7628 §3.2.3)."""
    return "" if mechanism == "XOAUTH2" else "\x01"
