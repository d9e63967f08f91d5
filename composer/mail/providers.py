"""What Composer knows of the mail providers people use most: their servers and their ways."""

from __future__ import annotations

from dataclasses import dataclass

from composer.mail.accounts import Security


@dataclass(frozen=True)
class ServerFacts:
    host: str
    port: int
    security: Security


@dataclass(frozen=True)
class Provider:
    """One provider's facts, from its own documentation."""

    key: str
    name: str
    domains: tuple[str, ...]
    mx_suffixes: tuple[str, ...]
    smtp: ServerFacts
    imap: ServerFacts | None
    files_sent_itself: bool  # SMTP submissions land in Sent by themselves
    login: str
    password: str
    oauth: str


PROVIDERS = (
    Provider(
        key="gmail",
        name="Gmail",
        domains=("gmail.com", "googlemail.com"),
        mx_suffixes=("google.com", "googlemail.com"),
        smtp=ServerFacts("smtp.gmail.com", 465, Security.SSL_TLS),
        imap=ServerFacts("imap.gmail.com", 993, Security.SSL_TLS),
        files_sent_itself=True,
        login="full address",
        password="an app password (2-Step Verification on)",  # noqa: S106
        oauth="google",
    ),
    Provider(
        key="microsoft365",
        name="Microsoft 365",
        domains=(),
        mx_suffixes=("mail.protection.outlook.com",),
        smtp=ServerFacts("smtp.office365.com", 587, Security.STARTTLS),
        imap=ServerFacts("outlook.office365.com", 993, Security.SSL_TLS),
        files_sent_itself=True,
        login="full address",
        password="the account's password, where the organisation allows it",  # noqa: S106
        oauth="microsoft",
    ),
    Provider(
        key="outlook",
        name="Outlook.com",
        domains=("outlook.com", "hotmail.com", "live.com", "msn.com"),
        mx_suffixes=("olc.protection.outlook.com",),
        smtp=ServerFacts("smtp-mail.outlook.com", 587, Security.STARTTLS),
        imap=ServerFacts("outlook.office365.com", 993, Security.SSL_TLS),
        files_sent_itself=True,
        login="full address",
        password="OAuth2 only (Microsoft ended password logins)",  # noqa: S106
        oauth="microsoft",
    ),
)


def _matches(name: str, suffixes: tuple[str, ...]) -> bool:
    name = name.strip().lower().rstrip(".")
    return any(name == s or name.endswith("." + s) for s in suffixes)


def provider_for_domain(domain: str) -> Provider | None:
    return next((p for p in PROVIDERS if _matches(domain, p.domains)), None)


def provider_for_mx(mx_host: str) -> Provider | None:
    return next((p for p in PROVIDERS if _matches(mx_host, p.mx_suffixes)), None)


def provider_for_host(smtp_host: str) -> Provider | None:
    """The provider whose submission server smtp_host is, if Composer knows it."""
    name = smtp_host.strip().lower().rstrip(".")
    return next((p for p in PROVIDERS if p.smtp.host == name), None)
