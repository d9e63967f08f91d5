"""SMTP accounts and the JSON file that keeps them (never their passwords)."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import ipaddress
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from composer.mail.addresses import new_address, parse_address, parse_list
from composer.mail.discovery_settings import DiscoverySettings
from composer.mail.files import FileRefused, broken_copy_path, read_regular_file, write_atomically
from composer.mail.oauth_settings import OAuthSettings
from composer.mail.text import has_line_break

if TYPE_CHECKING:
    from email.headerregistry import Address

log = logging.getLogger(__name__)

# 2: no account size limit by default. Version 1 stored its default, 25 MB, in every
# account, so a version 1 file's 25 MB reads as no limit.
SETTINGS_VERSION = 2
# The undo-send delay people get until they choose another, as Gmail's shortest.
DEFAULT_UNDO_SEND_SECONDS = 5
UNDO_SEND_CHOICES = (0, 5, 10, 20, 30)
SANDBOX_ID = "sandbox"
DEFAULT_TIMEOUT = 30
# The account's own limit, 0 for none: the server's SIZE decides unless the user sets one.
DEFAULT_SIZE_LIMIT = 0
_VERSION_1_SIZE_LIMIT = 25 * 1000 * 1000
# Settings take a few kB; a file far larger is not one Composer wrote, and is not read whole.
SETTINGS_SIZE_LIMIT = 4 * 1024 * 1024


class Security(enum.Enum):
    """How the connection to the SMTP server is protected."""

    SSL_TLS = "ssl"
    STARTTLS = "starttls"
    NONE = "none"

    @property
    def default_port(self) -> int:
        return {Security.SSL_TLS: 465, Security.STARTTLS: 587, Security.NONE: 25}[self]

    @property
    def label(self) -> str:
        return {
            Security.SSL_TLS: "SSL/TLS",
            Security.STARTTLS: "STARTTLS",
            Security.NONE: "None (unencrypted)",
        }[self]


def _new_id() -> str:
    # uuid brings the platform module; only a new account needs it.
    import uuid

    return uuid.uuid4().hex


@dataclass(frozen=True)
class Account:
    """One way of sending mail; change with ``dataclasses.replace``."""

    id: str = field(default_factory=_new_id)
    name: str = ""
    display_name: str = ""
    email: str = ""
    host: str = ""
    port: int = 465
    security: Security = Security.SSL_TLS
    username: str = ""
    timeout: int = DEFAULT_TIMEOUT
    size_limit: int = DEFAULT_SIZE_LIMIT
    reply_to: str = ""
    default_cc: str = ""
    default_bcc: str = ""
    # Inserted below "-- " in new messages; HTML when signature_html is set.
    signature: str = ""
    signature_html: bool = False
    # The SHA-256 fingerprint (64 lowercase hex digits) of the one certificate the user chose
    # to trust for this server, "" for the usual verification. Not a secret: it is public.
    trusted_certificate: str = ""
    # Where a copy of each sent message goes (IMAP APPEND to the Sent folder); "" for none.
    imap_host: str = ""
    imap_port: int = 993
    imap_security: Security = Security.SSL_TLS
    imap_username: str = ""  # "" for the SMTP user name
    sent_folder: str = ""  # "" for the folder the server marks \Sent
    # None: the provider's way (no copy where it files submissions itself); else as set.
    copy_to_sent: bool | None = None
    # The authorization server the account signs in with ("google", "microsoft", ...), its
    # refresh token in the keyring; "" for a login with the password.
    oauth: str = ""

    @property
    def is_sandbox(self) -> bool:
        return self.id == SANDBOX_ID

    @property
    def label(self) -> str:
        """How the From picker shows it: ``Name <address>``."""
        name = self.display_name or self.name
        return f"{name} <{self.email}>" if name else self.email

    def sender(self) -> Address:
        """The From address; the account's checks guarantee it parses."""
        address = parse_address(self.email)
        if address is None:
            raise ValueError(f"invalid email address {self.email!r}")
        return new_address(self.display_name, address.username, address.domain)

    def problems(self) -> list[str]:
        """What must be fixed before this account can be saved, in plain words."""
        found: list[str] = []
        if not self.name.strip():
            found.append("an account name")
        if parse_address(self.email) is None:
            found.append("a valid email address")
        if not self.host.strip() and not self.is_sandbox:
            found.append("the SMTP host")
        elif has_unusable_character(self.host):
            found.append("an SMTP host without spaces or control characters")
        if has_unusable_character(self.imap_host):
            found.append("an IMAP host without spaces or control characters")
        if has_line_break(self.sent_folder):
            found.append("a Sent folder name without line breaks")
        if self.reply_to and parse_address(self.reply_to) is None:
            found.append("a valid Reply-To address")
        if parse_list(self.default_cc).invalid or parse_list(self.default_bcc).invalid:
            found.append("valid addresses in Always Cc and Always Bcc")
        if has_line_break(self.display_name):
            found.append("a name without line breaks")
        return found

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["security"] = self.security.value
        data["imap_security"] = self.imap_security.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        """Read one account; raises ValueError/TypeError/KeyError when it is malformed."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["security"] = Security(values.get("security", Security.SSL_TLS.value))
        values.update(_imap_values(values))
        for name in ("port", "timeout", "size_limit"):
            if name in values and (not isinstance(values[name], int) or values[name] < 0):
                raise ValueError(f"{name} must be a whole number")
        if not isinstance(values.get("signature_html", False), bool):
            raise TypeError("signature_html must be true or false")
        text_fields = ("id", "name", "display_name", "email", "host", "username", "reply_to")
        texts = (*text_fields, "default_cc", "default_bcc", "signature", "trusted_certificate")
        for name in (*texts, "oauth"):
            if name in values and not isinstance(values[name], str):
                raise TypeError(f"{name} must be text")
        if values.get("trusted_certificate"):
            # Here: the certificates module brings ssl, which a window does not need at start.
            from composer.mail.certificates import normal_fingerprint

            pin = normal_fingerprint(values["trusted_certificate"])
            if not pin:
                # Verifying as usual instead fails safe: the user is shown the certificate.
                log.warning("ignoring a trusted certificate that is no SHA-256 fingerprint")
            values["trusted_certificate"] = pin
        if not values.get("id"):
            raise ValueError("account without id")
        account = cls(**values)
        if account.trusted_certificate and account.security is Security.NONE:
            log.warning(
                "account %s uses no encryption: forgetting its trusted certificate", account.id
            )
            account = without_unused_certificate(account)
        # A name or host can be filled in later in Accounts; these would break every send.
        if parse_address(account.email) is None or has_line_break(account.display_name):
            raise ValueError("account without a usable email address and name")
        return account


# Only its IMAP fields are read; an id given, so that making it needs no uuid at import.
_IMAP_DEFAULTS = Account(id="")


def _imap_values(values: dict[str, Any]) -> dict[str, Any]:
    """The Sent-copy fields of values, each one that cannot be used replaced by its default
    (logged): a bad IMAP setting must not cost the account, which still sends."""
    good: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], bool]] = {
        "imap_host": lambda v: isinstance(v, str) and not has_unusable_character(v),
        "imap_port": lambda v: type(v) is int and 0 < v < 65536,
        "imap_security": lambda v: v in {s.value for s in Security},
        "imap_username": lambda v: isinstance(v, str),
        "sent_folder": lambda v: isinstance(v, str) and not has_line_break(v),
        "copy_to_sent": lambda v: v is None or isinstance(v, bool),
    }
    for name, usable in checks.items():
        if name not in values:
            continue
        value = values[name]
        if usable(value):
            good[name] = Security(value) if name == "imap_security" else value
        else:
            log.warning("account setting %s is not usable; using its default", name)
            good[name] = getattr(_IMAP_DEFAULTS, name)
    return good


def without_unused_certificate(account: Account) -> Account:
    """account, trusting no certificate if it uses no encryption (none would be checked).

    A fingerprint kept with Security None would be trusted again, unseen, the day the account
    is switched back to encryption: the user decides again then, shown the certificate.
    """
    if account.security is Security.NONE and account.trusted_certificate:
        return dataclasses.replace(account, trusted_certificate="")
    return account


def sandbox_account() -> Account:
    """The built-in account that delivers into a local Maildir through the embedded server."""
    return Account(
        id=SANDBOX_ID,
        name="Local sandbox",
        display_name="Local sandbox",
        email="me@sandbox.localhost",
        host="127.0.0.1",
        port=0,
        security=Security.NONE,
        size_limit=0,
    )


def has_unusable_character(host: str) -> bool:
    """True when host, once stripped, holds whitespace or a control character.

    No server is named so, and the name lookup reads a NUL as the end of the name:
    "smtp.example.org\\0.localhost" would be looked up as smtp.example.org.
    """
    import unicodedata  # here: its tables are not needed before the first window

    return any(
        char.isspace() or unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in host.strip()
    )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost names: hosts that should be this computer.

    Only a first screen: a name can resolve anywhere, so whether a password may go over an
    unencrypted connection is decided by is_loopback_address() once it is connected.
    """
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def names_this_computer(host: str) -> bool:
    """True only for a loopback address written out (127.0.0.0/8, ::1) or exactly localhost.

    What the account form goes by before warning of an unencrypted connection, which carries
    the whole message, not only the password: any other name, even "evil.localhost" or
    "localhost." (looked up as given, not from the hosts file), can resolve anywhere.
    """
    name = host.strip()
    if name.lower() == "localhost":
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return is_loopback_address((name, 0))


def is_loopback_address(peer: object) -> bool:
    """True when peer, a socket address as getpeername() gives it, is this computer.

    127.0.0.0/8, ::1, and IPv4 loopback written as IPv6 (::ffff:127.0.0.1); not 0.0.0.0
    or ::, which are no address at all.
    """
    if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
        return False  # not an IP socket
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


@dataclass(frozen=True)
class AccountSettings:
    """Everything the settings file holds about accounts."""

    accounts: tuple[Account, ...] = ()
    default_id: str = ""
    last_used_id: str = ""
    # How long a sent message waits, with Undo in the status bar, before it goes; 0: at once.
    undo_send_seconds: int = field(default_factory=lambda: DEFAULT_UNDO_SEND_SECONDS)
    # Settings ▸ Debug Log: the log keeps the SMTP conversation too (secrets hidden).
    debug_log: bool = False
    # Where auto-configuration looks ("discovery" in the file).
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    # Authorization servers and client registrations for signing in ("oauth" in the file).
    oauth: OAuthSettings = field(default_factory=OAuthSettings)

    def find(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)


class LoadResult(NamedTuple):
    """What was read, and what the user should be told about what could not be."""

    settings: AccountSettings
    warnings: tuple[str, ...] = ()


class SettingsFileKept(OSError):
    """save() did not write: the file holds what Composer could not read, and no copy of it
    could be kept. str(error) says so in words."""


class AccountStore:
    """Reads and writes the settings file atomically; a broken file is kept, never lost.

    A damaged file is moved aside; one with unreadable accounts is copied aside before it
    is rewritten. When neither can be done, the file is left as it is and save() refuses to
    write over it until a copy can be kept (it tries again each time).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # Why the file at path must be copied before anything is written over it, if it must.
        self._unkept: str | None = None

    def load(self) -> LoadResult:
        self._unkept = None  # what is found now decides
        try:
            text = self._read_text()
        except FileNotFoundError:
            return LoadResult(AccountSettings())
        except FileRefused as refused:
            return self._set_aside(f"it {refused}")
        except (OSError, UnicodeDecodeError) as error:
            return self._set_aside(f"it could not be read ({error})")
        import json  # here: with no settings file yet, the first window needs no JSON

        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            return self._set_aside(f"it is not valid JSON ({error.msg} at line {error.lineno})")
        if not isinstance(data, dict) or not isinstance(data.get("accounts", []), list):
            return self._set_aside("it does not have the expected layout")
        version = data.get("version", SETTINGS_VERSION)
        if not isinstance(version, int) or version > SETTINGS_VERSION:
            return self._set_aside(f"it was written by a newer Composer (version {version})")

        settings, skipped = self._settings_from(data, version)
        if not skipped:
            return LoadResult(settings)
        lost = f"{skipped} account(s) in {self.path} could not be read and were left out."
        try:
            backup = self._copy_aside()
        except OSError as error:
            self._unkept = f"{skipped} account(s) in it could not be read"
            log.warning("could not keep a copy of %s: %s", self.path, error)
            return LoadResult(settings, (f"{lost} {_left_as_it_is('keep a copy of it', error)}",))
        with contextlib.suppress(OSError):
            self.save(settings)
        return LoadResult(settings, (f"{lost} The original file was kept as {backup}.",))

    def read(self) -> AccountSettings | None:
        """The file as it is now, or None unless all of it can be read; unlike load(), it
        moves and copies nothing (for merging a change into what another Composer wrote)."""
        import json

        try:
            data = json.loads(self._read_text())
        except (OSError, ValueError):  # FileRefused and UnicodeDecodeError are ValueErrors
            return None
        if not isinstance(data, dict) or not isinstance(data.get("accounts", []), list):
            return None
        version = data.get("version", SETTINGS_VERSION)
        if not isinstance(version, int) or version > SETTINGS_VERSION:
            return None
        settings, skipped = self._settings_from(data, version)
        return None if skipped else settings

    def _read_text(self) -> str:
        # Never waits on a named pipe or a device put in the file's place.
        return read_regular_file(self.path, SETTINGS_SIZE_LIMIT).decode("utf-8")

    def _settings_from(self, data: dict[str, Any], version: int) -> tuple[AccountSettings, int]:
        """The settings in data, and how many accounts in it could not be read."""
        accounts: list[Account] = []
        skipped = 0
        for item in data.get("accounts", []):
            try:
                if not isinstance(item, dict):
                    raise TypeError("not an object")
                if version < 2 and item.get("size_limit") == _VERSION_1_SIZE_LIMIT:
                    item = {**item, "size_limit": 0}
                account = Account.from_json(item)
            except (KeyError, TypeError, ValueError) as error:
                log.warning("skipping malformed account in %s: %s", self.path, error)
                skipped += 1
                continue
            if account.id != SANDBOX_ID and all(a.id != account.id for a in accounts):
                accounts.append(account)
        settings = AccountSettings(
            tuple(accounts),
            default_id=_text_or_empty(data.get("default_account")),
            last_used_id=_text_or_empty(data.get("last_used_account")),
            undo_send_seconds=_undo_seconds(data.get("undo_send_seconds")),
            debug_log=data.get("debug_log") is True,
            discovery=DiscoverySettings.from_json(data.get("discovery")),
            oauth=OAuthSettings.from_json(data.get("oauth")),
        )
        return settings, skipped

    def save(self, settings: AccountSettings) -> None:
        """Write the settings file atomically: a crash leaves the old or the new file, whole."""
        data = {
            "version": SETTINGS_VERSION,
            "default_account": settings.default_id,
            "last_used_account": settings.last_used_id,
            "undo_send_seconds": settings.undo_send_seconds,
            "debug_log": settings.debug_log,
            "accounts": [a.to_json() for a in settings.accounts if not a.is_sandbox],
        }
        if settings.discovery != DiscoverySettings():
            # Only when changed: a file without it follows the defaults of later versions.
            data["discovery"] = settings.discovery.to_json()
        if settings.oauth != OAuthSettings():
            data["oauth"] = settings.oauth.to_json()
        if self._unkept is not None:
            self._keep_before_writing(self._unkept)
        import json

        write_atomically(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def _keep_before_writing(self, why: str) -> None:
        if self.path.exists():  # else moved or deleted meanwhile: nothing left to lose
            try:
                backup = self._copy_aside()
            except OSError as error:
                raise SettingsFileKept(
                    f"{self.path} holds settings Composer could not read ({why}) and no copy "
                    f"of it could be kept ({error.strerror or error}), so Composer did not "
                    "write over it"
                ) from error
            log.warning("kept %s as %s before writing over it", self.path, backup)
        self._unkept = None

    def _copy_aside(self) -> Path:
        if not self.path.is_file():  # a copy of /dev/zero would never end
            raise OSError(errno.EINVAL, "it is not a regular file, so it cannot be copied")
        backup = broken_copy_path(self.path)
        shutil.copy2(self.path, backup)
        return backup

    def _set_aside(self, why: str) -> LoadResult:
        damaged = f"The settings file {self.path} is damaged: {why}."
        try:
            backup = broken_copy_path(self.path)
            os.replace(self.path, backup)
        except OSError as error:
            self._unkept = why
            log.warning("settings file %s damaged (%s), not moved: %s", self.path, why, error)
            warning = (
                f"{damaged} {_left_as_it_is('move it aside', error)} Composer started without "
                "the accounts in it; move the file elsewhere or repair it, then start "
                "Composer again."
            )
        else:
            log.warning("settings file %s set aside: %s", self.path, why)
            warning = (
                f"{damaged} It was moved to {backup} and Composer started without the "
                "accounts in it; add them again in Accounts."
            )
        return LoadResult(AccountSettings(), (warning,))


def _left_as_it_is(action: str, error: OSError) -> str:
    return (
        f"Composer could not {action} ({error.strerror or error}), so it left the file as it is "
        "and will not write over it until it can keep a copy."
    )


def _undo_seconds(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 60:
        return value
    return DEFAULT_UNDO_SEND_SECONDS


def _text_or_empty(value: object) -> str:
    return value if isinstance(value, str) else ""
