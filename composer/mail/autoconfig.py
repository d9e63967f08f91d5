"""Thunderbird's autoconfig documents (config-v1.1.xml), read without trusting them, and what
auto-configuration finds."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree

from composer.mail.accounts import Security, has_unusable_character
from composer.mail.discovery_settings import DiscoverySettings
from composer.mail.providers import Provider

__all__ = ["ConfigRefused", "Discovery", "DiscoverySettings", "FoundServer", "parse_config"]

log = logging.getLogger(__name__)

_SOCKET_TYPES = {"SSL": Security.SSL_TLS, "STARTTLS": Security.STARTTLS}
_MAX_HOST = 253
_MAX_USERNAME = 256


@dataclass(frozen=True)
class FoundServer:
    host: str
    port: int
    security: Security
    username: str


@dataclass(frozen=True)
class Discovery:
    """The servers found for an address, and where they came from."""

    smtp: FoundServer
    imap: FoundServer | None
    source: str  # where from, in words ("the provider's own configuration at https://…")
    provider: Provider | None


class ConfigRefused(Exception):
    """A document that cannot be used; str() says why, for the log."""


def parse_config(document: bytes, address: str) -> tuple[FoundServer | None, FoundServer | None]:
    """The SMTP and IMAP servers of a config-v1.1 document; servers offered without TLS are
    left out. Raises ConfigRefused for XML that is malformed, has a DTD or entities."""
    try:
        # No DTD at all: entities (billion laughs) and external ones are refused with it.
        root = defusedxml.ElementTree.fromstring(document, forbid_dtd=True)
    except defusedxml.DefusedXmlException as error:
        raise ConfigRefused(f"refused XML: {type(error).__name__}") from error
    except ET.ParseError as error:
        raise ConfigRefused(f"not well-formed XML: {error}") from error
    if root.tag != "clientConfig":
        raise ConfigRefused(f"not an autoconfig document (root element {root.tag[:40]!r})")
    smtp = _best(root.iter("outgoingServer"), "smtp", address)
    imap = _best(root.iter("incomingServer"), "imap", address)
    return smtp, imap


def _best(elements: object, kind: str, address: str) -> FoundServer | None:
    """The first server of kind with implicit TLS, else the first with STARTTLS (RFC 8314)."""
    found = []
    for element in elements:  # type: ignore[attr-defined]
        if element.get("type") != kind:
            continue
        server = _server(element, address)
        if server is not None:
            found.append(server)
    for security in (Security.SSL_TLS, Security.STARTTLS):
        best = next((s for s in found if s.security is security), None)
        if best is not None:
            return best
    return None


def _server(element: ET.Element, address: str) -> FoundServer | None:
    host = _filled(_child(element, "hostname"), address).lower().rstrip(".")
    port_text = _child(element, "port")
    security = _SOCKET_TYPES.get(_child(element, "socketType").upper())
    if security is None:
        log.info("autoconfig: %s server without TLS left out", element.get("type"))
        return None
    if not host or len(host) > _MAX_HOST or has_unusable_character(host):
        return None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    username = _filled(_child(element, "username"), address)
    if not username or len(username) > _MAX_USERNAME or not username.isprintable():
        username = address  # what most servers take, rather than what no login can be
    return FoundServer(host, int(port_text), security, username)


def _child(element: ET.Element, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _filled(text: str, address: str) -> str:
    """text with autoconfig's placeholders replaced by parts of address."""
    local, _, domain = address.rpartition("@")
    return (
        text.replace("%EMAILADDRESS%", address)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
    )
