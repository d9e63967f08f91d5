"""DNS for auto-configuration (SRV, MX, addresses) through dnspython, bounded in time."""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass

import dns.exception
import dns.resolver

from composer.mail.discovery_settings import DiscoverySettings

log = logging.getLogger(__name__)

_MAX_RECORDS = 20  # of one answer: a domain needs a handful, a hostile one sends hundreds


@dataclass(frozen=True)
class Service:
    """One SRV record (RFC 2782): where a service is offered."""

    host: str
    port: int
    priority: int
    weight: int


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class Lookup:
    """Asks the DNS server of the settings (or the system's) and connects to what it says.

    With a DNS server configured, host names are resolved through it too, so that every name
    discovery meets is looked up in one place; TLS still checks the certificate against the
    name, never the address.
    """

    def __init__(self, settings: DiscoverySettings) -> None:
        self._timeout = settings.fetch_timeout
        server = settings.dns_address()
        self._own = server is not None
        self._resolver: dns.resolver.Resolver | None
        if server is not None:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [server[0]]
            self._resolver.port = server[1]
        else:
            try:
                self._resolver = dns.resolver.Resolver()
            except dns.exception.DNSException as error:  # no /etc/resolv.conf, say
                log.warning("no DNS configuration for SRV and MX lookups: %s", error)
                self._resolver = None
        if self._resolver is not None:
            self._resolver.lifetime = self._timeout
            self._resolver.timeout = min(2.0, self._timeout)

    def _answer(self, name: str, rdtype: str, timeout: float) -> list[object]:
        if self._resolver is None:
            return []
        try:
            answer = self._resolver.resolve(name, rdtype, lifetime=max(0.1, timeout), search=False)
        except dns.exception.DNSException as error:
            log.info("DNS %s %s: %s", rdtype, name, type(error).__name__)
            return []
        return list(answer)[:_MAX_RECORDS]

    def services(self, name: str, timeout: float) -> list[Service]:
        """The SRV records of name, best first; "." (no such service, RFC 2782) left out."""
        found = []
        for record in self._answer(name, "SRV", timeout):
            target = str(getattr(record, "target", "")).rstrip(".").lower()
            port = int(getattr(record, "port", 0))
            if target and 0 < port < 65536:
                found.append(
                    Service(
                        target,
                        port,
                        int(getattr(record, "priority", 0)),
                        int(getattr(record, "weight", 0)),
                    )
                )
        return sorted(found, key=lambda s: (s.priority, -s.weight))

    def mail_exchangers(self, domain: str, timeout: float) -> list[str]:
        """The MX hosts of domain, most preferred first."""
        records = self._answer(domain, "MX", timeout)
        ranked = sorted(records, key=lambda r: int(getattr(r, "preference", 0)))
        hosts = (str(getattr(r, "exchange", "")).rstrip(".").lower() for r in ranked)
        return [host for host in hosts if host]

    def addresses(self, host: str, timeout: float) -> list[str]:
        """host's IPv4 and IPv6 addresses (through the configured DNS server when there is
        one, else the system's resolver, hosts file included)."""
        if is_address(host):
            return [host.strip("[]")]
        if self._own:
            found = [str(r) for r in self._answer(host, "A", timeout)]
            return found + [str(r) for r in self._answer(host, "AAAA", timeout)]
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError as error:
            log.info("no address for %s: %s", host, error)
            return []
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP connection to host (by the addresses found as above); raises OSError."""
        addresses = self.addresses(host, timeout)
        if not addresses:
            raise OSError(f"{host} has no address")
        last: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout=timeout)
            except OSError as error:
                last = error
        assert last is not None
        raise last
