"""Finding an address's submission (and IMAP) server: each source in turn, the first that
answers wins, and nothing it says is trusted blindly."""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable

from composer.mail.accounts import Security
from composer.mail.addresses import parse_address
from composer.mail.autoconfig import ConfigRefused, Discovery, FoundServer, parse_config
from composer.mail.discovery_settings import DiscoverySettings
from composer.mail.dns_lookup import Lookup
from composer.mail.errors import ErrorKind, SendError
from composer.mail.fetch import FetchRefused, fetch
from composer.mail.probe import ProbeFailed, probe
from composer.mail.providers import (
    Provider,
    provider_for_domain,
    provider_for_host,
    provider_for_mx,
)

log = logging.getLogger(__name__)

# Second-level labels under which registrable domains sit one level deeper (co.uk, com.au…):
# enough to name an MX's organisation for the ISPDB without a public suffix list.
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or"})
_SRV_SMTP = (("_submissions._tcp", Security.SSL_TLS), ("_submission._tcp", Security.STARTTLS))
_SRV_IMAP = (("_imaps._tcp", Security.SSL_TLS), ("_imap._tcp", Security.STARTTLS))


class _Search:
    """One discovery: the address, the clock, and what each source is asked."""

    def __init__(
        self,
        address: str,
        domain: str,
        settings: DiscoverySettings,
        cancelled: Callable[[], bool],
    ) -> None:
        self.address = address  # as typed: the login most servers take
        self.local = address.rpartition("@")[0]
        self.domain = domain  # in ASCII, for URLs and DNS
        self.settings = settings
        self.cancelled = cancelled
        self.lookup = Lookup(settings)
        self._deadline = time.monotonic() + settings.total_timeout

    def time_left(self) -> float:
        """Seconds for the next step; raises SendError when cancelled or out of time."""
        if self.cancelled():
            raise SendError(ErrorKind.CANCELLED, "Looking for the settings was cancelled.")
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise SendError(
                ErrorKind.TIMEOUT,
                f"Looking for the settings of {self.domain} took longer than "
                f"{self.settings.total_timeout:g} seconds. Check your connection and try "
                "again, or enter the SMTP host, port and security yourself.",
            )
        return min(self.settings.fetch_timeout, remaining)

    def url(self, template: str, domain: str | None = None) -> str:
        return template.replace("{domain}", domain or self.domain).replace(
            "{address}", urllib.parse.quote(self.address, safe="@")
        )

    def document(self, url: str) -> tuple[FoundServer | None, FoundServer | None]:
        """The servers of the autoconfig document at url, (None, None) when it cannot be used."""
        try:
            body = fetch(
                url,
                lookup=self.lookup,
                timeout=self.time_left(),
                limit=self.settings.max_document,
                cancelled=self.cancelled,
            )
            smtp, imap = parse_config(body, self.address)
        except (FetchRefused, ConfigRefused) as error:
            log.info("autoconfig source skipped: %s: %s", url, error)
            return None, None
        if smtp is None:
            log.info("autoconfig source skipped: %s offers no SMTP server with TLS", url)
        return smtp, imap

    def username(self, provider: Provider | None, protocol: str = "smtp") -> str:
        """The login provider's table says it takes for protocol ("the full email address",
        "the name before @ for IMAP"...); the address when it says nothing else."""
        login = provider.login.lower() if provider is not None else ""
        before = "name before @"
        if login.startswith(before) or f"{before} for {protocol}" in login:
            return self.local
        return self.address


def discover(address: str, settings: DiscoverySettings, cancelled: Callable[[], bool]) -> Discovery:
    """The servers for address; raises SendError with a sentence when nothing is found
    (or the search was cancelled, or ran out of time)."""
    parsed = parse_address(address.strip())
    if parsed is None or not parsed.domain:
        raise SendError(ErrorKind.BAD_HOST, "Enter your email address first, like ann@example.org.")
    try:
        # DNS and certificates know a domain by its ASCII form: bücher.de is xn--bcher-kva.de.
        domain = parsed.domain.lower().encode("idna").decode("ascii")
    except UnicodeError as error:
        raise SendError(
            ErrorKind.BAD_HOST, f"“{parsed.domain}” is not a domain name that can be looked up."
        ) from error
    search = _Search(f"{parsed.username}@{parsed.domain.lower()}", domain, settings, cancelled)
    for source in (_known, _autoconfig, _ispdb, _services, _exchangers, _probing):
        search.time_left()
        found = source(search)
        if found is not None:
            log.info("settings for %s found in %s", search.domain, found.source)
            return found
    search.time_left()
    raise SendError(
        ErrorKind.UNREACHABLE,
        f"Composer could not find the settings for {search.domain}: no configuration was "
        "published for it, Thunderbird's ISPDB does not know it, and no secure SMTP server "
        f"answered at {' or '.join(search.url(h) for h in settings.probe_hosts)}. Ask your "
        "provider for the SMTP host, port and security, and enter them below.",
    )


def _found(
    smtp: FoundServer,
    imap: FoundServer | None,
    source: str,
    provider: Provider | None = None,
) -> Discovery:
    return Discovery(smtp, imap, source, provider or provider_for_host(smtp.host))


def _from_provider(search: _Search, provider: Provider, source: str) -> Discovery:
    user = search.username(provider)
    smtp = FoundServer(provider.smtp.host, provider.smtp.port, provider.smtp.security, user)
    imap = None
    if provider.imap is not None:
        facts, imap_user = provider.imap, search.username(provider, "imap")
        imap = FoundServer(facts.host, facts.port, facts.security, imap_user)
    return Discovery(smtp, imap, source, provider)


def _known(search: _Search) -> Discovery | None:
    provider = provider_for_domain(search.domain)
    if provider is None:
        return None
    return _from_provider(search, provider, f"Composer's list of known providers ({provider.name})")


def _autoconfig(search: _Search) -> Discovery | None:
    for template in search.settings.autoconfig_urls:
        url = search.url(template)
        smtp, imap = search.document(url)
        if smtp is not None:
            return _found(smtp, imap, f"the provider's own configuration at {url}")
    return None


def _ispdb(search: _Search) -> Discovery | None:
    url = search.url(search.settings.ispdb_url)
    smtp, imap = search.document(url)
    if smtp is None:
        return None
    return _found(smtp, imap, f"Thunderbird's ISPDB at {url}")


def _services(search: _Search) -> Discovery | None:
    smtp = _service(search, _SRV_SMTP)
    if smtp is None:
        return None
    server, name = smtp
    imap = _service(search, _SRV_IMAP)
    source = f"the DNS record {name}" + _unsigned(search, server.host)
    return _found(server, imap[0] if imap else None, source)


def _service(
    search: _Search, names: tuple[tuple[str, Security], ...]
) -> tuple[FoundServer, str] | None:
    for prefix, security in names:
        name = f"{prefix}.{search.domain}"
        for record in search.lookup.services(name, search.time_left()):
            return FoundServer(record.host, record.port, security, search.address), name
    return None


def _exchangers(search: _Search) -> Discovery | None:
    hosts = search.lookup.mail_exchangers(search.domain, search.time_left())
    if not hosts:
        return None
    mx = hosts[0]
    provider = provider_for_mx(mx)
    if provider is not None:
        return _from_provider(
            search,
            provider,
            f"Composer's list of known providers: mail for {search.domain} goes to "
            f"{provider.name} ({mx})",
        )
    organisation = _registrable(mx)
    if organisation == search.domain:
        return None  # asked of the ISPDB already
    url = search.url(search.settings.ispdb_url, organisation)
    smtp, imap = search.document(url)
    if smtp is None:
        return None
    return _found(
        smtp,
        imap,
        f"Thunderbird's ISPDB entry for {organisation}, where mail for {search.domain} "
        f"goes ({mx}), at {url}" + _unsigned(search, smtp.host),
    )


def _unsigned(search: _Search, host: str) -> str:
    """A caution when DNS, which anyone on the network can answer for, names a server
    outside the address's own domain."""
    if host == search.domain or host.endswith("." + search.domain):
        return ""
    return (
        f" (DNS answers can be forged: make sure {host} is your provider's server before "
        "you enter your password)"
    )


def _registrable(host: str) -> str:
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def _probing(search: _Search) -> Discovery | None:
    for template in search.settings.probe_hosts:
        host = search.url(template)
        if not search.lookup.addresses(host, search.time_left()):
            log.info("probe: %s has no address", host)
            continue
        for port, name in search.settings.probe_ports:
            security = Security.SSL_TLS if name == "ssl" else Security.STARTTLS
            try:
                probe(host, port, security, lookup=search.lookup, timeout=search.time_left())
            except ProbeFailed as error:
                log.info("probe: %s", error)
                continue
            smtp = FoundServer(host, port, security, search.address)
            return _found(smtp, None, f"a secure connection to {host} on port {port} that answered")
    return None
