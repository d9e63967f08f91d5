"""The mail providers people use most, and what each one's servers need, in one table.

Where the facts come from, checked in December 2026 (+: read while writing this table;
the others are the providers' own pages for the same facts, for whoever checks them next):
- Gmail / Google Workspace: smtp.gmail.com 465 SSL/TLS or 587 STARTTLS, imap.gmail.com 993,
  full address; an app password needs 2-Step Verification:
  https://support.google.com/mail/answer/7126229 (settings), + https://doc.invoicecrowd.com/en/
  how-to-set-up-gmail-smtp-via-app-passwords (Google's app-password steps, quoted),
  https://support.google.com/accounts/answer/185833. Gmail files SMTP submissions in Sent
  itself: + https://github.com/nodemailer/wildduck/wiki/Gmail-sending.
- Outlook.com: smtp-mail.outlook.com 587 STARTTLS, outlook.office365.com 993, full address,
  OAuth2 only: + https://support.microsoft.com/en-us/office/pop-imap-and-smtp-settings-
  8361e398-8af4-4e97-b147-6c6c4ac95353. Files sent mail itself (duplicates when a client
  appends another): + https://github.com/nextcloud/mail/issues/4831,
  + https://github.com/Foundry376/Mailspring/issues/937.
- Microsoft 365: smtp.office365.com 587 STARTTLS, SMTP AUTH per mailbox ("Authenticated SMTP"),
  535 5.7.139 while it is off: + https://docs.bookyourpto.com/features/smtp-troubleshoot,
  https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/authenticated-
  client-smtp-submission. Basic authentication for SMTP AUTH off by default for existing
  tenants at the end of December 2026, admins can turn it back on; afterwards "550 5.7.30
  Basic authentication is not supported for Client Submission":
  + https://www.captaindns.com/en/blog/microsoft-exchange-basic-auth-smtp-end,
  + https://kingsmtp.com/cloud-smtp/microsoft-exchange-online-smtp-basic-auth-retirement-2026.
  MX <tenant>.mail.protection.outlook.com.
- iCloud: smtp.mail.me.com 587 STARTTLS with the full address; imap.mail.me.com 993 with the
  name before @; app-specific password: + https://www.lifewire.com/what-are-icloud-mail-imap-
  settings-1170502, + https://clean.email/blog/email-settings/icloud-email-settings,
  https://support.apple.com/102525, https://support.apple.com/102654.
- Yahoo: smtp.mail.yahoo.com 465 SSL/TLS or 587, imap.mail.yahoo.com 993, app password:
  + https://xenocept.com/docs/email-setup/yahoo.html, https://help.yahoo.com/kb/SLN4075.html.
- AOL: smtp.aol.com 465, imap.aol.com 993, full address, app password (AOL runs on Yahoo's
  systems): https://help.aol.com/articles/how-do-i-use-other-email-applications-to-send-and-
  receive-my-aol-mail.
- Fastmail: smtp.fastmail.com 465 SSL/TLS (not STARTTLS), imap.fastmail.com 993, full address,
  app password required: + https://www.fastmail.com/help/technical/servernamesandports.html,
  + https://fastmail.help/hc/en-us/articles/1500000279921. MX *.messagingengine.com.
- GMX: mail.gmx.net 465/587, imap.gmx.net 993, full address; POP3/IMAP access must be switched
  on in the web settings: https://hilfe.gmx.net/pop-imap/imap/imap-serverdaten.html;
  gmx.com: mail.gmx.com 587, imap.gmx.com 993: https://support.gmx.com/pop-imap/imap/server.html.
- web.de: smtp.web.de 587 STARTTLS, imap.web.de 993; POP3/IMAP access must be switched on:
  https://hilfe.web.de/pop-imap/imap/imap-serverdaten.html.
- Proton Mail Bridge: the Bridge password, not the Proton one: + https://proton.me/support/
  protonmail-bridge-faq; a self-signed certificate on 127.0.0.1: + https://proton.me/support/
  macos-certificate-warning; Bridge's default ports are SMTP 1025 and IMAP 1143 (STARTTLS);
  Bridge files what it sends in Sent itself: + https://github.com/ProtonMail/proton-bridge/
  issues/430.
Where a provider does not say whether SMTP submissions land in Sent, files_sent_itself is
False: a second copy in Sent is a nuisance, a missing one is lost mail.
"""

# The "password" of each provider is words about which password it takes, never one.
# ruff: noqa: S105, S106

from __future__ import annotations

from dataclasses import dataclass

from composer.mail.accounts import Security, is_loopback


@dataclass(frozen=True)
class ServerFacts:
    host: str
    port: int
    security: Security


@dataclass(frozen=True)
class Provider:
    key: str  # "gmail", "microsoft365", ...: stable, for settings and code
    name: str  # "Gmail", "Microsoft 365", ...: for sentences
    # Address domains; "yahoo.*" stands for the country variants (yahoo.fr, yahoo.co.uk).
    domains: tuple[str, ...]
    mx_suffixes: tuple[str, ...]  # MX host suffixes that identify it (google.com, ...)
    smtp: ServerFacts
    imap: ServerFacts | None
    files_sent_itself: bool  # SMTP submissions land in Sent by themselves
    login: str  # the user name it takes, in words
    password: str  # the password it takes, in words
    oauth: str  # "google", "microsoft" or ""
    notes: str = ""  # anything else a user setting it up must know


_SSL, _STARTTLS = Security.SSL_TLS, Security.STARTTLS

_GOOGLE_SMTP = ServerFacts("smtp.gmail.com", 465, _SSL)
_GOOGLE_IMAP = ServerFacts("imap.gmail.com", 993, _SSL)
_GOOGLE_PASSWORD = (
    "an app password (Google Account ▸ Security ▸ 2-Step Verification ▸ App passwords, "
    "https://myaccount.google.com/apppasswords); 2-Step Verification must be on"
)
_MICROSOFT_IMAP = ServerFacts("outlook.office365.com", 993, _SSL)
_FULL_ADDRESS = "the full email address"

PROVIDERS: tuple[Provider, ...] = (
    Provider(
        key="gmail",
        name="Gmail",
        domains=("gmail.com", "googlemail.com"),
        mx_suffixes=(),  # gmail.com's MX is Google's, but so is every Workspace domain's
        smtp=_GOOGLE_SMTP,
        imap=_GOOGLE_IMAP,
        files_sent_itself=True,
        login=_FULL_ADDRESS,
        password=_GOOGLE_PASSWORD,
        oauth="google",
    ),
    Provider(
        key="google-workspace",
        name="Google Workspace",
        domains=(),
        mx_suffixes=("google.com", "googlemail.com"),
        smtp=_GOOGLE_SMTP,
        imap=_GOOGLE_IMAP,
        files_sent_itself=True,
        login=_FULL_ADDRESS,
        password=_GOOGLE_PASSWORD + "; the organisation's admin may have turned app passwords off",
        oauth="google",
    ),
    Provider(
        key="outlook",
        name="Outlook.com",
        domains=("outlook.*", "hotmail.*", "live.*", "msn.com", "passport.com"),
        mx_suffixes=("olc.protection.outlook.com",),
        smtp=ServerFacts("smtp-mail.outlook.com", 587, _STARTTLS),
        imap=_MICROSOFT_IMAP,
        files_sent_itself=True,
        login=_FULL_ADDRESS,
        password="OAuth2 (sign in with Microsoft); Outlook.com no longer takes passwords",
        oauth="microsoft",
    ),
    Provider(
        key="microsoft365",
        name="Microsoft 365",
        domains=(),
        mx_suffixes=("mail.protection.outlook.com",),
        smtp=ServerFacts("smtp.office365.com", 587, _STARTTLS),
        imap=_MICROSOFT_IMAP,
        files_sent_itself=True,
        login=_FULL_ADDRESS,
        password=(
            "OAuth2 (sign in with Microsoft); the account password only while the "
            "organisation allows SMTP AUTH for the mailbox, off by default from the end of "
            "December 2026"
        ),
        oauth="microsoft",
    ),
    Provider(
        key="icloud",
        name="iCloud Mail",
        domains=("icloud.com", "me.com", "mac.com"),
        mx_suffixes=("mail.icloud.com",),
        smtp=ServerFacts("smtp.mail.me.com", 587, _STARTTLS),
        imap=ServerFacts("imap.mail.me.com", 993, _SSL),
        files_sent_itself=False,
        login="the full email address for SMTP, and the name before @ for IMAP",
        password=(
            "an app-specific password (two-factor authentication on; https://account.apple.com "
            "▸ Sign-In and Security ▸ App-Specific Passwords)"
        ),
        oauth="",
    ),
    Provider(
        key="yahoo",
        name="Yahoo Mail",
        domains=("yahoo.*", "ymail.com", "rocketmail.com"),
        mx_suffixes=("yahoodns.net",),
        smtp=ServerFacts("smtp.mail.yahoo.com", 465, _SSL),
        imap=ServerFacts("imap.mail.yahoo.com", 993, _SSL),
        files_sent_itself=False,
        login=_FULL_ADDRESS,
        password=(
            "an app password (Account Security ▸ Generate app password, "
            "https://login.yahoo.com/account/security)"
        ),
        oauth="",
    ),
    Provider(
        key="aol",
        name="AOL Mail",
        domains=("aol.com", "aim.com"),
        mx_suffixes=(),  # AOL's MX is Yahoo's
        smtp=ServerFacts("smtp.aol.com", 465, _SSL),
        imap=ServerFacts("imap.aol.com", 993, _SSL),
        files_sent_itself=False,
        login=_FULL_ADDRESS,
        password=(
            "an app password (Account Security ▸ Generate app password, "
            "https://login.aol.com/account/security)"
        ),
        oauth="",
    ),
    Provider(
        key="fastmail",
        name="Fastmail",
        domains=("fastmail.com", "fastmail.fm"),
        mx_suffixes=("messagingengine.com",),
        smtp=ServerFacts("smtp.fastmail.com", 465, _SSL),
        imap=ServerFacts("imap.fastmail.com", 993, _SSL),
        files_sent_itself=False,
        login=_FULL_ADDRESS,
        password="an app password (Settings ▸ Privacy & Security ▸ Manage app passwords)",
        oauth="",
    ),
    Provider(
        key="gmx",
        name="GMX",
        domains=("gmx.net", "gmx.de", "gmx.at", "gmx.ch"),
        mx_suffixes=("gmx.net",),
        smtp=ServerFacts("mail.gmx.net", 465, _SSL),
        imap=ServerFacts("imap.gmx.net", 993, _SSL),
        files_sent_itself=False,
        login=_FULL_ADDRESS,
        password=(
            "the account password, once POP3/IMAP access is switched on in GMX's web "
            "settings (E-Mail ▸ Einstellungen ▸ POP3/IMAP Abruf)"
        ),
        oauth="",
    ),
    # gmx.com (GMX's international service) has servers of its own.
    Provider(
        key="gmx-com",
        name="GMX",
        domains=("gmx.com", "gmx.us", "gmx.co.uk"),
        mx_suffixes=("gmx.com",),
        smtp=ServerFacts("mail.gmx.com", 587, _STARTTLS),
        imap=ServerFacts("imap.gmx.com", 993, _SSL),
        files_sent_itself=False,
        login=_FULL_ADDRESS,
        password=(
            "the account password, once POP3/IMAP access is switched on in GMX's web "
            "settings (E-mail ▸ Settings ▸ POP3 & IMAP)"
        ),
        oauth="",
    ),
    Provider(
        key="webde",
        name="WEB.DE",
        domains=("web.de",),
        mx_suffixes=("web.de",),
        smtp=ServerFacts("smtp.web.de", 587, _STARTTLS),
        imap=ServerFacts("imap.web.de", 993, _SSL),
        files_sent_itself=False,
        login=_FULL_ADDRESS,
        password=(
            "the account password, once POP3/IMAP access is switched on in WEB.DE's web "
            "settings (E-Mail ▸ Einstellungen ▸ POP3/IMAP Abruf)"
        ),
        oauth="",
    ),
    Provider(
        key="proton-bridge",
        name="Proton Mail Bridge",
        domains=("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
        mx_suffixes=("protonmail.ch",),
        smtp=ServerFacts("127.0.0.1", 1025, _STARTTLS),
        imap=ServerFacts("127.0.0.1", 1143, _STARTTLS),
        files_sent_itself=True,
        login="the address Bridge shows in its mailbox details",
        password="the Bridge password from Bridge's mailbox details, not the Proton password",
        oauth="",
        notes=(
            "Bridge must be running. It secures the connection with a certificate of its "
            "own, which no authority signed: the first Test Connection shows it; choose "
            "Trust This Certificate in Accounts."
        ),
    ),
)

_BY_KEY = {provider.key: provider for provider in PROVIDERS}
# Second-level labels under which a country's domains live: yahoo.co.uk, hotmail.com.br.
_COUNTRY_SECOND_LEVELS = frozenset({"co", "com", "net", "org", "ne", "or", "ac"})


def provider_by_key(key: str) -> Provider | None:
    return _BY_KEY.get(key)


def provider_for_domain(domain: str) -> Provider | None:
    """The provider whose addresses end in domain (ann@hotmail.fr: Outlook.com), or None."""
    name = _normal(domain)
    for provider in PROVIDERS:
        if any(_domain_matches(name, pattern) for pattern in provider.domains):
            return provider
    return None


def provider_for_mx(mx_host: str) -> Provider | None:
    """The provider a domain's mail exchanger belongs to (aspmx.l.google.com: Google
    Workspace), or None. Matched on whole labels: notgoogle.com is nobody's."""
    name = _normal(mx_host)
    for provider in PROVIDERS:
        if any(name == s or name.endswith("." + s) for s in provider.mx_suffixes):
            return provider
    return None


def provider_for_host(smtp_host: str) -> Provider | None:
    """The provider whose server smtp_host is (smtp.gmail.com: Gmail), or None.

    A loopback address is nobody's in particular (Proton Mail Bridge listens there, and so
    does much else): see provider_of() for how an account on 127.0.0.1 is known.
    """
    name = _normal(smtp_host)
    if not name or is_loopback(name):
        return None
    for provider in PROVIDERS:
        hosts = [provider.smtp.host] + ([provider.imap.host] if provider.imap else [])
        if name in hosts or name in _OTHER_HOSTS.get(provider.key, ()):
            return provider
    return None


def provider_of(host: str, email: str) -> Provider | None:
    """Which provider an account sends through: by its SMTP host when the host is one of
    the table's, otherwise by its address's domain when the host is no one else's.

    So ann@gmail.com through smtp.gmail.com is Gmail, and so is ann@proton.me through
    127.0.0.1 (Bridge); ann@gmail.com through smtp.example.org is nobody in the table,
    since that server is not Google's.
    """
    by_host = provider_for_host(host)
    if by_host is not None:
        return by_host
    by_domain = provider_for_domain(email.rpartition("@")[2])
    if by_domain is None:
        return None
    if is_loopback(host) or _normal(host) in (by_domain.smtp.host, ""):
        return by_domain
    return None


# Servers of a provider other than those it tells people to use.
_OTHER_HOSTS: dict[str, tuple[str, ...]] = {
    "gmail": ("smtp.googlemail.com", "imap.googlemail.com"),
    "outlook": ("smtp.live.com", "smtp-mail.live.com"),
    "yahoo": ("smtp.mail.yahoo.co.uk",),
}


def _domain_matches(domain: str, pattern: str) -> bool:
    if not pattern.endswith(".*"):
        return domain == pattern
    stem = pattern[:-1]  # "yahoo."
    if not domain.startswith(stem):
        return False
    labels = domain[len(stem) :].split(".")
    if not all(label.isascii() and label.isalpha() for label in labels):
        return False
    if len(labels) == 1:
        return True
    return len(labels) == 2 and labels[0] in _COUNTRY_SECOND_LEVELS and len(labels[1]) == 2


def _normal(name: str) -> str:
    return name.strip().strip("[]").lower().rstrip(".")
