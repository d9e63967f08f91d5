"""Where auto-configuration looks, and how long and how much it may read: the "discovery"
part of settings.json."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

# {domain} and {address} are filled in (the address URL-quoted). Only https:// is ever used.
AUTOCONFIG_URLS = (
    "https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={address}",
    "https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
)
ISPDB_URL = "https://autoconfig.thunderbird.net/v1.1/{domain}"
PROBE_HOSTS = ("smtp.{domain}", "mail.{domain}")
# Implicit TLS first, as RFC 8314 asks; never a port without TLS.
PROBE_PORTS = ((465, "ssl"), (587, "starttls"))
_SECURITIES = frozenset({"ssl", "starttls"})


class DiscoverySettings(NamedTuple):
    """Immutable; change with ``_replace``."""

    autoconfig_urls: tuple[str, ...] = AUTOCONFIG_URLS
    ispdb_url: str = ISPDB_URL
    # "HOST:PORT" or "HOST" (port 53) of the DNS server to ask; "" for the system's.
    dns_server: str = ""
    probe_hosts: tuple[str, ...] = PROBE_HOSTS
    # (port, "ssl" or "starttls"), in the order tried.
    probe_ports: tuple[tuple[int, str], ...] = PROBE_PORTS
    fetch_timeout: float = 5.0  # seconds for each fetch, DNS query or probe
    total_timeout: float = 30.0  # seconds for the whole search
    max_document: int = 256 * 1024  # bytes of one configuration document

    def dns_address(self) -> tuple[str, int] | None:
        """The configured DNS server as (address, port), or None for the system's."""
        text = self.dns_server.strip()
        if not text:
            return None
        if text.startswith("["):  # [IPv6]:port
            host, _, port = text[1:].partition("]")
            port = port.removeprefix(":")
        elif text.count(":") == 1:
            host, _, port = text.partition(":")
        else:  # a bare IPv4 or IPv6 address
            host, port = text, ""
        return host, int(port) if port.isdigit() else 53

    def to_json(self) -> dict[str, Any]:
        return {
            "autoconfig_urls": list(self.autoconfig_urls),
            "ispdb_url": self.ispdb_url,
            "dns_server": self.dns_server,
            "probe_hosts": list(self.probe_hosts),
            "probe_ports": [{"port": p, "security": s} for p, s in self.probe_ports],
            "fetch_timeout": self.fetch_timeout,
            "total_timeout": self.total_timeout,
            "max_document": self.max_document,
        }

    @classmethod
    def from_json(cls, data: object) -> DiscoverySettings:
        """What data holds; anything missing or malformed keeps its default (and is logged)."""
        if not isinstance(data, dict):
            return cls()
        default = cls()
        return cls(
            autoconfig_urls=_texts(data, "autoconfig_urls", default.autoconfig_urls),
            ispdb_url=_text(data, "ispdb_url", default.ispdb_url),
            dns_server=_text(data, "dns_server", default.dns_server),
            probe_hosts=_texts(data, "probe_hosts", default.probe_hosts),
            probe_ports=_ports(data.get("probe_ports"), default.probe_ports),
            fetch_timeout=_number(data, "fetch_timeout", default.fetch_timeout),
            total_timeout=_number(data, "total_timeout", default.total_timeout),
            max_document=int(_number(data, "max_document", default.max_document)),
        )


def _text(data: dict[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if isinstance(value, str):
        return value
    log.warning("discovery setting %s is not text; using the default", key)
    return default


def _texts(data: dict[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = data.get(key, default)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    log.warning("discovery setting %s is not a list of text; using the default", key)
    return default


def _number(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    log.warning("discovery setting %s is not a positive number; using the default", key)
    return default


def _ports(value: object, default: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
    if value is None:
        return default
    found: list[tuple[int, str]] = []
    for item in value if isinstance(value, list) else [None]:
        port = item.get("port") if isinstance(item, dict) else None
        security = item.get("security") if isinstance(item, dict) else None
        if not (isinstance(port, int) and 0 < port < 65536 and security in _SECURITIES):
            log.warning("discovery setting probe_ports is malformed; using the default")
            return default
        found.append((port, str(security)))
    return tuple(found)
