"""Logging in to an SMTP server: PLAIN or LOGIN with the password, or OAUTHBEARER or
XOAUTH2 with an access token (a token the server refuses is replaced once)."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from composer.mail.accounts import Account, Security
from composer.mail.errors import ErrorKind, SendError, server_reply
from composer.mail.progress import Progress, ProgressCallback, Stage
from composer.mail.sasl import after_error, initial_response, token_mechanism

log = logging.getLogger(__name__)

# An access token: a new one when asked for a fresh one (raises SendError).
TokenSource = Callable[[bool], str]


def log_in(
    smtp: smtplib.SMTP,
    account: Account,
    host: str,
    *,
    password: str | None,
    tokens: TokenSource | None,
    progress: ProgressCallback,
) -> None:
    """Log in as account: with its access token when it signs in, else with password."""
    if account.oauth:
        _with_token(smtp, account, host, tokens, progress)
        return
    if password is None:
        raise SendError(
            ErrorKind.PASSWORD_MISSING,
            f"No password is stored for {account.name}. Enter it in Accounts.",
        )
    if not smtp.has_extn("auth"):
        raise SendError(
            ErrorKind.AUTH_FAILED,
            f"{host} does not offer a login, but the account has a user name. Clear the "
            "user name in Accounts if this server needs none.",
        )
    offered = smtp.esmtp_features["auth"].upper().split()
    progress(Progress(Stage.AUTHENTICATING, host, detail=account.username))
    smtp.user, smtp.password = account.username, password
    # PLAIN and LOGIN carry any UTF-8 text; CRAM-MD5 is obsolete and ASCII-only.
    if "PLAIN" in offered:
        smtp.auth("PLAIN", smtp.auth_plain)
    elif "LOGIN" in offered:
        smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
    else:
        raise _no_login_method(host, offered, account.security)


def _with_token(
    smtp: smtplib.SMTP,
    account: Account,
    host: str,
    tokens: TokenSource | None,
    progress: ProgressCallback,
) -> None:
    """Log in with an access token; one the server refuses is replaced once."""
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    mechanism = token_mechanism(offered)
    if mechanism is None or tokens is None:
        raise SendError(
            ErrorKind.AUTH_FAILED,
            f"{host} does not take a sign-in with an access token (it offers "
            f"{' '.join(offered) or 'no login'}; signing in needs OAUTHBEARER or XOAUTH2). "
            "Check the server in Accounts, or log in with a password there.",
        )
    user = account.username or account.email
    progress(Progress(Stage.AUTHENTICATING, host, detail=user))
    for fresh in (False, True):
        token = tokens(fresh)
        first = initial_response(mechanism, user, token, host, account.port)

        def respond(challenge: bytes | None = None, first: str = first) -> str:
            # A challenge after the first response is the server's error report.
            return first if challenge is None else after_error(mechanism)

        try:
            smtp.auth(mechanism, respond)
            return
        except smtplib.SMTPAuthenticationError as error:
            if fresh:
                raise SendError(
                    ErrorKind.AUTH_FAILED,
                    f"{host} refused the sign-in of {account.name}, also with a new "
                    f"access token ({server_reply(error.smtp_code, error.smtp_error)}). "
                    "Sign in to the account again; if that does not help, the account may "
                    "not be allowed to send this way (in Microsoft 365, an administrator "
                    "turns on Authenticated SMTP for the mailbox).",
                    smtp_code=error.smtp_code,
                ) from error
            log.info("%s refused the access token (%s); fetching a new one", host, error.smtp_code)


def _no_login_method(host: str, offered: list[str], security: Security) -> SendError:
    if security is Security.NONE:
        advice = (
            "Many servers offer those only over an encrypted connection: choose SSL/TLS or "
            "STARTTLS in Accounts, or ask your provider."
        )
    else:
        advice = "Ask your provider for a server or port that accepts one of them."
    return SendError(
        ErrorKind.AUTH_FAILED,
        f"{host} offers only login methods Composer does not support "
        f"({' '.join(offered) or 'none named'}); Composer logs in with PLAIN or LOGIN. {advice}",
    )
