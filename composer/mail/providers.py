"""Facts about mail providers people use, in one table."""

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
    key: str
    name: str
    domains: tuple[str, ...]  # address domains
    mx_suffixes: tuple[str, ...]  # MX host suffixes that identify it
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
        mx_suffixes=(),
        smtp=ServerFacts("smtp.gmail.com", 465, Security.SSL_TLS),
        imap=ServerFacts("imap.gmail.com", 993, Security.SSL_TLS),
        files_sent_itself=True,
        login="full address",
        password="an app password (2-Step Verification on)",  # noqa: S106 (in words, not a password)
        oauth="google",
    ),
    Provider(
        key="google-workspace",
        name="Google Workspace",
        domains=(),
        mx_suffixes=("google.com", "googlemail.com"),
        smtp=ServerFacts("smtp.gmail.com", 465, Security.SSL_TLS),
        imap=ServerFacts("imap.gmail.com", 993, Security.SSL_TLS),
        files_sent_itself=True,
        login="full address",
        password="an app password (2-Step Verification on)",  # noqa: S106 (in words, not a password)
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
        password="the account's password, where the organisation still allows it",  # noqa: S106 (in words, not a password)
        oauth="microsoft",
    ),
)


def _suffix_of(host: str, suffix: str) -> bool:
    return host == suffix or host.endswith("." + suffix)


def _normal(name: str) -> str:
    return name.strip().rstrip(".").lower()


def provider_for_domain(domain: str) -> Provider | None:
    domain = _normal(domain)
    return next((p for p in PROVIDERS if domain in p.domains), None)


def provider_for_mx(mx_host: str) -> Provider | None:
    host = _normal(mx_host)
    return next((p for p in PROVIDERS if any(_suffix_of(host, s) for s in p.mx_suffixes)), None)


def provider_for_host(smtp_host: str) -> Provider | None:
    host = _normal(smtp_host)
    return next((p for p in PROVIDERS if p.smtp.host == host), None)
