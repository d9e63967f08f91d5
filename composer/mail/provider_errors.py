"""The server replies people hit most, turned into what to do, naming the provider when
it is known (providers.py): an app password for Gmail, OAuth2 for Microsoft, a secure
connection, an address of one's own, later, a plainer message.

explain() only finds the words; failures.classify() keeps the kind, the code and therefore
whether the Outbox tries again, and puts the server's own reply after the explanation.
"""

from __future__ import annotations

import enum
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from composer.mail.errors import reply_text
from composer.mail.providers import Provider


class Stage(enum.Enum):
    """Which command the reply answered."""

    GREETING = "greeting"
    STARTTLS = "STARTTLS"
    AUTH = "AUTH"
    MAIL = "MAIL FROM"
    RCPT = "RCPT TO"
    DATA = "DATA"  # DATA itself, or the message after it
    OTHER = "other"


@dataclass(frozen=True)
class Reply:
    """One reply of the server, as explain() looks at it."""

    code: int
    text: str  # without the code; may start with an enhanced code (RFC 3463)
    stage: Stage
    sender: str = ""  # the address MAIL FROM gave, for a refusal of it

    @property
    def enhanced(self) -> str:
        """``5.7.8`` when the text starts with an enhanced status code, else ``""``."""
        match = _ENHANCED.match(self.text.lstrip())
        return match.group(1) if match else ""

    def says(self, *words: str) -> bool:
        lowered = self.text.lower()
        return any(word in lowered for word in words)


_ENHANCED = re.compile(r"([245]\.\d{1,3}\.\d{1,3})\b")


def replies_of(error: BaseException, fallback: Stage) -> list[Reply]:
    """The replies an smtplib error carries (one per recipient for a refusal of all of
    them), each with the command it answered; fallback when the error does not tell."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return [
            Reply(code, reply_text(text), Stage.RCPT) for code, text in error.recipients.values()
        ]
    if not isinstance(error, smtplib.SMTPResponseException):
        return []
    sender = str(error.sender) if isinstance(error, smtplib.SMTPSenderRefused) else ""
    return [Reply(error.smtp_code, reply_text(error.smtp_error), _stage(error, fallback), sender)]


def _stage(error: smtplib.SMTPResponseException, fallback: Stage) -> Stage:
    if isinstance(error, smtplib.SMTPConnectError):
        return Stage.GREETING
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return Stage.AUTH
    if isinstance(error, smtplib.SMTPSenderRefused):
        return Stage.MAIL
    if isinstance(error, smtplib.SMTPDataError):  # MessageRefused too
        return Stage.DATA
    return fallback


@dataclass(frozen=True)
class Who:
    """The server the reply came from: its provider's name when known, and its host."""

    host: str
    provider: Provider | None

    @property
    def name(self) -> str:
        """``Gmail (smtp.gmail.com)``, or the host alone."""
        if self.provider is None:
            return self.host
        return f"{self.provider.name} ({self.host})"

    @property
    def short(self) -> str:
        return self.provider.name if self.provider else "the server"

    def is_(self, *keys: str) -> bool:
        return self.provider is not None and self.provider.key in keys


def explain(reply: Reply, who: Who) -> str | None:
    """What the reply means and what to do, in sentences, or None to keep the usual words."""
    for rule in _RULES:
        if rule.applies(reply, who):
            return rule.words(reply, who)
    return None


@dataclass(frozen=True)
class _Rule:
    applies: Callable[[Reply, Who], bool]
    words: Callable[[Reply, Who], str]


_OUTBOX = "Nothing was sent; the Outbox tries again by itself, or send it again later."


# --- logging in --------------------------------------------------------------------------


def _google_login(_reply: Reply, who: Who) -> str:
    return (
        f"Could not log in to {who.name}: Google does not take your Google Account's own "
        "password from mail programs. In Accounts, choose Sign in with Google as the login; or "
        "turn on 2-Step Verification for the account, create an app password at "
        "https://myaccount.google.com/apppasswords, and enter it as this account's password."
    )


def _outlook_oauth_only(_reply: Reply, who: Who) -> str:
    return (
        f"Could not log in to {who.name}: Outlook.com no longer takes passwords from mail "
        "programs, only a sign-in with Microsoft: choose Sign in with Microsoft as the login "
        "in Accounts."
    )


def _basic_auth_disabled(_reply: Reply, who: Who) -> str:
    # The codes are Microsoft's (Exchange's), whoever runs the server.
    return (
        f"Could not log in to {who.name}: logins with a password (basic authentication) are "
        "turned off for SMTP on this mailbox or in its organisation. Microsoft turns them "
        "off by default at the end of December 2026; the supported way is a sign-in with "
        "Microsoft: choose Sign in with Microsoft as the login in Accounts. Or your "
        "organisation's administrator can turn SMTP AUTH back on for your mailbox "
        "(Microsoft 365 admin center ▸ the user ▸ Mail ▸ Manage email apps ▸ Authenticated "
        "SMTP)."
    )


def _microsoft_wrong_password(_reply: Reply, who: Who) -> str:
    return (
        f"Could not log in to {who.name}: Microsoft did not take the user name and password. "
        "Check both in Accounts (the user name is your full email address). If they are "
        "right, SMTP AUTH is probably turned off for your mailbox: your organisation's "
        "administrator can turn it on (Authenticated SMTP), or choose Sign in with "
        "Microsoft as the login in Accounts."
    )


def _app_specific_password(_reply: Reply, who: Who) -> str:
    assert who.provider is not None
    return (
        f"Could not log in to {who.name}: {who.provider.name} does not take the password you "
        f"sign in to its website with, but {who.provider.password}. Create one and enter it "
        f"as this account's password in Accounts. The user name is {who.provider.login}."
    )


def _access_switched_off(_reply: Reply, who: Who) -> str:
    assert who.provider is not None
    return (
        f"Could not log in to {who.name}: check the password in Accounts. {who.provider.name} "
        f"takes {who.provider.password}."
    )


def _bridge_login(_reply: Reply, who: Who) -> str:
    return (
        f"Could not log in to {who.name}: Bridge takes its own Bridge password, not your "
        "Proton password. Copy it from the mailbox details in Bridge (with Bridge running "
        "and signed in) into Accounts."
    )


def _login_failed(reply: Reply, _who: Who) -> bool:
    return reply.stage is Stage.AUTH and reply.code in (534, 535)


def _google(reply: Reply, who: Who) -> bool:
    # 5.7.8 wrong credentials, 5.7.9 "application-specific password required", 5.7.14
    # "please log in with your web browser": the same remedy.
    google_code = reply.enhanced in ("5.7.8", "5.7.9", "5.7.14")
    return who.is_("gmail", "google-workspace") and _login_failed(reply, who) and google_code


def _basic_auth_off(reply: Reply, _who: Who) -> bool:
    # 5.7.139 while SMTP AUTH is off for the mailbox or the organisation; 5.7.30 ("Basic
    # authentication is not supported for Client Submission") once Microsoft retires it.
    return reply.code >= 500 and reply.enhanced in ("5.7.139", "5.7.30")


def _microsoft(reply: Reply, who: Who) -> bool:
    return who.is_("microsoft365") and _login_failed(reply, who)


# --- everything else ---------------------------------------------------------------------


def _secure_first(_reply: Reply, who: Who) -> str:
    return (
        f"{who.name} takes mail only over a secure connection, so nothing was sent. Choose "
        "SSL/TLS (usually port 465) or STARTTLS (usually port 587) for this account in "
        "Accounts."
    )


def _login_first(_reply: Reply, who: Who) -> str:
    return (
        f"{who.name} takes mail only from a logged-in user, so nothing was sent. Enter the "
        "user name and password in Accounts."
    )


def _not_your_address(reply: Reply, who: Who) -> str:
    at = who.short if who.provider else "this server"
    alias = (
        " (in Gmail: Settings ▸ Accounts ▸ Send mail as)"
        if who.is_("gmail", "google-workspace")
        else ""
    )
    nothing = "nobody got it" if reply.stage is Stage.DATA else "nothing was sent"
    address = (
        f"{reply.sender} (this account's From address)"
        if reply.sender
        else ("this account's From address")
    )
    return (
        f"{who.name} will not send mail from {address}, so {nothing}: it "
        f"must be your own address at {at}, or an alias {at} knows for your login{alias}. "
        "Check the email address and the user name in Accounts."
    )


def _not_now(reply: Reply, who: Who) -> str:
    if reply.code == 421:
        return (
            f"{who.name} is not taking mail from you right now and asked Composer to come "
            "back later (providers do this after many messages in a short time, or when "
            f"they are busy). {_OUTBOX}"
        )
    if reply.stage is Stage.DATA:
        return (
            f"{who.name} received the message but could not take it now, so nobody got it. "
            "Try again later: the Outbox tries again by itself."
        )
    return f"{who.name} could not take the message right now. {_OUTBOX}"


def _spam(_reply: Reply, who: Who) -> str:
    at = who.short if who.provider else "the server"
    return (
        f"{who.name} received the message and refused it as likely spam or against its "
        "policy, so nobody got it. Check that the From address is your own at "
        f"{at}, that the recipients expect mail from you, and that the message has no "
        "executable or archived attachments, link shorteners or many links; then send it "
        f"again, plainer, or ask {at} why."
    )


def _relay_denied(_reply: Reply, who: Who) -> str:
    return (
        f"{who.name} will not pass mail on to other servers for you, so nothing was sent. "
        "Enter the user name and password in Accounts (it passes mail on only for users who "
        "log in), and check the host: it should be your provider's submission server."
    )


def _secure(reply: Reply, _who: Who) -> bool:
    return reply.code == 530 and reply.enhanced == "5.7.0" and not _asks_login(reply)


def _asks_login(reply: Reply) -> bool:
    return reply.says("auth", "log in", "login") and not reply.says("tls", "secure", "encrypt")


def _from_refused(reply: Reply, _who: Who) -> bool:
    if reply.code not in (550, 553, 554) or reply.enhanced not in ("5.7.1", "5.7.60"):
        return False
    if reply.enhanced == "5.7.60" or reply.says("sendas", "send as", "not owned"):
        return True
    return reply.code != 554 and reply.stage is Stage.MAIL


def _spam_like(reply: Reply, _who: Who) -> bool:
    if reply.code != 554 or reply.enhanced != "5.7.1":
        return False
    return reply.stage is Stage.DATA or reply.says("spam")


def _relay(reply: Reply, _who: Who) -> bool:
    return reply.code in (550, 554) and reply.enhanced == "5.7.1" and reply.says("relay")


def _later(reply: Reply, _who: Who) -> bool:
    if reply.code == 421:
        return reply.enhanced == "4.7.0"
    return reply.code in (450, 451, 452) and reply.stage in (Stage.MAIL, Stage.RCPT, Stage.DATA)


_RULES: tuple[_Rule, ...] = (
    _Rule(_google, _google_login),
    # Outlook.com takes OAuth2 only: whatever its code, a refused login means that.
    _Rule(lambda r, w: _login_failed(r, w) and w.is_("outlook"), _outlook_oauth_only),
    _Rule(_basic_auth_off, _basic_auth_disabled),
    _Rule(_microsoft, _microsoft_wrong_password),
    _Rule(lambda r, w: _login_failed(r, w) and w.is_("proton-bridge"), _bridge_login),
    _Rule(
        lambda r, w: _login_failed(r, w) and w.is_("icloud", "yahoo", "aol", "fastmail"),
        _app_specific_password,
    ),
    _Rule(
        lambda r, w: _login_failed(r, w) and w.is_("gmx", "gmx-com", "webde"), _access_switched_off
    ),
    _Rule(_secure, _secure_first),
    # 5.7.57 is Microsoft's "client not authenticated to send mail".
    _Rule(lambda r, _w: r.code == 530 and r.enhanced in ("5.7.0", "5.7.57"), _login_first),
    _Rule(_relay, _relay_denied),
    _Rule(_from_refused, _not_your_address),
    _Rule(_spam_like, _spam),
    _Rule(_later, _not_now),
)
