"""Auto-configuration against real HTTPS, DNS and SMTP servers on 127.0.0.1."""

from __future__ import annotations

import ssl
import time

import pytest
import trustme

from composer.mail.accounts import Security
from composer.mail.autoconfig import Discovery, DiscoverySettings, FoundServer
from composer.mail.discovery import discover
from composer.mail.errors import ErrorKind, SendError
from composer.mail.ports import free_port
from tests.config_servers import DnsServer, DocumentServer, autoconfig_xml
from tests.servers import (
    SilentServer,
    implicit_tls_server,
    running,
    server_tls_context,
    starttls_server,
)

ADDRESS = "ann@example.test"
AUTOCONFIG = "/autoconfig/example.test/mail/config-v1.1.xml"
WELL_KNOWN = "/example.test/.well-known/autoconfig/mail/config-v1.1.xml"
ISPDB = "/ispdb/example.test"


def settings_for(documents: DocumentServer, dns: DnsServer, **changes: object) -> DiscoverySettings:
    """Every source at 127.0.0.1, as settings.json would say; probes go to a closed port."""
    settings = DiscoverySettings(
        autoconfig_urls=(
            documents.url("/autoconfig/{domain}/mail/config-v1.1.xml?emailaddress={address}"),
            documents.url("/{domain}/.well-known/autoconfig/mail/config-v1.1.xml"),
        ),
        ispdb_url=documents.url("/ispdb/{domain}"),
        dns_server=dns.address,
        probe_ports=((free_port(), "ssl"),),
        fetch_timeout=2.0,
        total_timeout=20.0,
    )
    return settings._replace(**changes)


@pytest.fixture
def settings(documents: DocumentServer, dns: DnsServer) -> DiscoverySettings:
    return settings_for(documents, dns)


def never() -> bool:
    return False


def find(settings: DiscoverySettings, address: str = ADDRESS) -> Discovery:
    return discover(address, settings, never)


def certificate_for(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


# --- each source in turn ---------------------------------------------------------------


def test_the_providers_own_configuration_comes_first(
    documents: DocumentServer, settings: DiscoverySettings
) -> None:
    documents.serve(AUTOCONFIG, autoconfig_xml(smtp=("smtp.own.test", 465, "SSL")))
    documents.serve(WELL_KNOWN, autoconfig_xml(smtp=("smtp.wellknown.test", 465, "SSL")))
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    found = find(settings)
    assert found.smtp == FoundServer("smtp.own.test", 465, Security.SSL_TLS, ADDRESS)
    assert found.imap == FoundServer("imap.example.test", 993, Security.SSL_TLS, ADDRESS)
    assert "provider's own configuration" in found.source
    assert documents.url(AUTOCONFIG) in found.source
    assert documents.requests == [AUTOCONFIG + "?emailaddress=ann@example.test"]


def test_the_well_known_address_is_next(
    documents: DocumentServer, settings: DiscoverySettings
) -> None:
    documents.serve(WELL_KNOWN, autoconfig_xml(smtp=("smtp.wellknown.test", 587, "STARTTLS")))
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    found = find(settings)
    assert found.smtp == FoundServer("smtp.wellknown.test", 587, Security.STARTTLS, ADDRESS)
    assert documents.url(WELL_KNOWN) in found.source


def test_the_ispdb_is_next(
    documents: DocumentServer, settings: DiscoverySettings, dns: DnsServer
) -> None:
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    dns.srv("_submissions._tcp.example.test", "smtp.srv.test", 465)
    found = find(settings)
    assert found.smtp.host == "smtp.ispdb.test"
    assert found.source.startswith("Thunderbird's ISPDB")


def test_srv_submissions_is_preferred_over_submission(
    settings: DiscoverySettings, dns: DnsServer
) -> None:
    dns.srv("_submission._tcp.example.test", "starttls.example.test", 587)
    dns.srv("_submissions._tcp.example.test", "tls2.example.test", 4650, priority=20)
    dns.srv("_submissions._tcp.example.test", "tls.example.test", 465, priority=10)
    dns.srv("_imaps._tcp.example.test", "imap.example.test", 993)
    dns.mx("example.test", "aspmx.l.google.com")
    found = find(settings)
    assert found.smtp == FoundServer("tls.example.test", 465, Security.SSL_TLS, ADDRESS)
    assert found.imap == FoundServer("imap.example.test", 993, Security.SSL_TLS, ADDRESS)
    assert found.source == "the DNS record _submissions._tcp.example.test"  # no caution


def test_a_server_outside_the_domain_named_by_dns_is_questioned(
    settings: DiscoverySettings, dns: DnsServer
) -> None:
    dns.srv("_submissions._tcp.example.test", "smtp.elsewhere.test", 465)
    found = find(settings)
    assert found.smtp.host == "smtp.elsewhere.test"
    assert "make sure smtp.elsewhere.test is your provider's server" in found.source


def test_srv_submission_gives_starttls(settings: DiscoverySettings, dns: DnsServer) -> None:
    dns.srv("_submission._tcp.example.test", "starttls.example.test", 587)
    dns.srv("_imap._tcp.example.test", "imap.example.test", 143)
    found = find(settings)
    assert found.smtp == FoundServer("starttls.example.test", 587, Security.STARTTLS, ADDRESS)
    assert found.imap == FoundServer("imap.example.test", 143, Security.STARTTLS, ADDRESS)


def test_an_srv_record_saying_no_service_is_ignored(
    settings: DiscoverySettings, dns: DnsServer
) -> None:
    dns.srv("_submissions._tcp.example.test", ".", 0)
    with pytest.raises(SendError):
        find(settings)


def test_the_mx_domain_is_looked_up_in_the_ispdb(
    documents: DocumentServer, settings: DiscoverySettings, dns: DnsServer
) -> None:
    dns.mx("example.test", "mx2.mailhost.test", preference=20)
    dns.mx("example.test", "mx1.eu.mailhost.test", preference=5)
    documents.serve("/ispdb/mailhost.test", autoconfig_xml(smtp=("smtp.mailhost.test", 465, "SSL")))
    found = find(settings)
    assert found.smtp.host == "smtp.mailhost.test"
    assert "ISPDB entry for mailhost.test" in found.source
    assert "mx1.eu.mailhost.test" in found.source
    assert "make sure smtp.mailhost.test is your provider's" in found.source


def test_a_known_providers_mx_finds_it_for_a_custom_domain(
    settings: DiscoverySettings, dns: DnsServer
) -> None:
    dns.mx("example.test", "aspmx.l.google.com")
    found = find(settings)
    assert found.provider is not None
    assert found.provider.key == "google-workspace"
    assert found.smtp == FoundServer("smtp.gmail.com", 465, Security.SSL_TLS, ADDRESS)
    assert found.imap is not None
    assert "Google Workspace" in found.source


def test_microsoft_365_by_its_mx(settings: DiscoverySettings, dns: DnsServer) -> None:
    dns.mx("example.test", "example-test.mail.protection.outlook.com")
    found = find(settings)
    assert found.provider is not None
    assert found.provider.key == "microsoft365"
    assert (found.smtp.host, found.smtp.port) == ("smtp.office365.com", 587)


def test_a_known_address_domain_needs_no_network(
    documents: DocumentServer, settings: DiscoverySettings, dns: DnsServer
) -> None:
    found = find(settings, "ann@gmail.com")
    assert found.smtp.host == "smtp.gmail.com"
    assert found.provider is not None
    assert found.provider.key == "gmail"
    assert documents.requests == []
    assert dns.asked == []


def test_a_probe_finds_implicit_tls_on_465(
    tls_ca: trustme.CA, documents: DocumentServer, dns: DnsServer
) -> None:
    dns.a("smtp.example.test")
    with running(implicit_tls_server(certificate_for(tls_ca, "smtp.example.test"))) as server:
        settings = settings_for(
            documents, dns, probe_ports=((server.port, "ssl"), (free_port(), "starttls"))
        )
        found = find(settings)
        assert server.wait_until(lambda: "QUIT" in server.commands, timeout=5)
    assert found.smtp == FoundServer("smtp.example.test", server.port, Security.SSL_TLS, ADDRESS)
    assert found.imap is None
    assert "smtp.example.test" in found.source
    assert server.auth_attempts == []
    assert server.received == []


def test_a_probe_finds_starttls_on_mail(
    tls_ca: trustme.CA, documents: DocumentServer, dns: DnsServer
) -> None:
    dns.a("mail.example.test")
    with running(starttls_server(certificate_for(tls_ca, "mail.example.test"))) as server:
        settings = settings_for(
            documents, dns, probe_ports=((free_port(), "ssl"), (server.port, "starttls"))
        )
        found = find(settings)
    assert found.smtp == FoundServer("mail.example.test", server.port, Security.STARTTLS, ADDRESS)
    assert server.commands.count("EHLO") == 2  # before and after STARTTLS


def test_a_probe_needs_a_certificate_for_the_name(
    tls_ca: trustme.CA, documents: DocumentServer, dns: DnsServer
) -> None:
    dns.a("smtp.example.test")
    with running(implicit_tls_server(certificate_for(tls_ca, "other.example.test"))) as server:
        settings = settings_for(documents, dns, probe_ports=((server.port, "ssl"),))
        with pytest.raises(SendError) as raised:
            find(settings)
    assert raised.value.kind is ErrorKind.UNREACHABLE


def test_a_probe_refuses_an_unknown_authority(documents: DocumentServer, dns: DnsServer) -> None:
    dns.a("smtp.example.test")
    with running(implicit_tls_server(certificate_for(trustme.CA(), "smtp.example.test"))) as server:
        settings = settings_for(documents, dns, probe_ports=((server.port, "ssl"),))
        with pytest.raises(SendError):
            find(settings)


# --- nothing found blindly ------------------------------------------------------------


def test_billion_laughs_is_skipped(documents: DocumentServer, settings: DiscoverySettings) -> None:
    from tests.unit.mail.test_autoconfig import BILLION_LAUGHS, EXTERNAL_ENTITY

    documents.serve(AUTOCONFIG, BILLION_LAUGHS)
    documents.serve(WELL_KNOWN, EXTERNAL_ENTITY)
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    assert find(settings).smtp.host == "smtp.ispdb.test"


def test_a_document_over_the_bound_is_skipped(
    documents: DocumentServer, settings: DiscoverySettings
) -> None:
    padding = b"<!--" + b"x" * 300_000 + b"-->"
    documents.serve(
        AUTOCONFIG, autoconfig_xml(smtp=("smtp.huge.test", 465, "SSL"), extra=padding.decode())
    )
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    assert find(settings).smtp.host == "smtp.ispdb.test"
    small = settings._replace(max_document=100_000_000)
    assert find(small).smtp.host == "smtp.huge.test"  # the same document, read when allowed


def test_plain_http_configuration_is_never_fetched(
    documents: DocumentServer, plain_documents: DocumentServer, dns: DnsServer
) -> None:
    plain_documents.serve(AUTOCONFIG, autoconfig_xml(smtp=("smtp.plain.test", 465, "SSL")))
    plain_documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.plain.test", 465, "SSL")))
    settings = settings_for(
        documents,
        dns,
        autoconfig_urls=(plain_documents.url("/autoconfig/{domain}/mail/config-v1.1.xml"),),
        ispdb_url=plain_documents.url("/ispdb/{domain}"),
    )
    with pytest.raises(SendError):
        find(settings)
    assert plain_documents.requests == []


def test_a_redirect_to_plain_http_is_refused(
    documents: DocumentServer, plain_documents: DocumentServer, settings: DiscoverySettings
) -> None:
    plain_documents.serve(AUTOCONFIG, autoconfig_xml(smtp=("smtp.plain.test", 465, "SSL")))
    documents.serve(AUTOCONFIG, b"", status=302, Location=plain_documents.url(AUTOCONFIG))
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    assert find(settings).smtp.host == "smtp.ispdb.test"
    assert plain_documents.requests == []


def test_a_redirect_within_https_is_followed(
    documents: DocumentServer, settings: DiscoverySettings
) -> None:
    documents.serve(AUTOCONFIG, b"", status=301, Location="/moved.xml")
    documents.serve("/moved.xml", autoconfig_xml(smtp=("smtp.moved.test", 465, "SSL")))
    assert find(settings).smtp.host == "smtp.moved.test"


def test_an_untrusted_certificate_is_ignored(dns: DnsServer, documents: DocumentServer) -> None:
    stranger = DocumentServer(server_tls_context(trustme.CA())).start()
    try:
        stranger.serve(AUTOCONFIG, autoconfig_xml(smtp=("smtp.stranger.test", 465, "SSL")))
        documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
        settings = settings_for(
            documents,
            dns,
            autoconfig_urls=(stranger.url("/autoconfig/{domain}/mail/config-v1.1.xml"),),
        )
        assert find(settings).smtp.host == "smtp.ispdb.test"
    finally:
        stranger.stop()


def test_a_configuration_offering_plain_smtp_only_is_skipped(
    documents: DocumentServer, settings: DiscoverySettings
) -> None:
    documents.serve(AUTOCONFIG, autoconfig_xml(smtp=("smtp.plain.test", 25, "plain")))
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    assert find(settings).smtp.host == "smtp.ispdb.test"


def test_a_silent_server_costs_only_its_timeout(
    documents: DocumentServer, dns: DnsServer, silent_server: SilentServer
) -> None:
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    settings = settings_for(
        documents,
        dns,
        autoconfig_urls=(f"https://127.0.0.1:{silent_server.port}/mail/config-v1.1.xml",),
        fetch_timeout=0.5,
    )
    started = time.monotonic()
    assert find(settings).smtp.host == "smtp.ispdb.test"
    assert time.monotonic() - started < 3


def test_the_whole_search_is_bounded(
    dns: DnsServer, documents: DocumentServer, silent_server: SilentServer
) -> None:
    silent = f"https://127.0.0.1:{silent_server.port}/{{domain}}"
    settings = settings_for(
        documents,
        dns,
        autoconfig_urls=(silent, silent, silent),
        fetch_timeout=1.0,
        total_timeout=1.5,
    )
    started = time.monotonic()
    with pytest.raises(SendError) as raised:
        find(settings)
    assert raised.value.kind is ErrorKind.TIMEOUT
    assert "example.test" in str(raised.value)
    assert time.monotonic() - started < 3


def test_cancel_stops_between_steps(documents: DocumentServer, settings: DiscoverySettings) -> None:
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.ispdb.test", 465, "SSL")))
    with pytest.raises(SendError) as raised:
        discover(ADDRESS, settings, lambda: len(documents.requests) >= 1)
    assert raised.value.kind is ErrorKind.CANCELLED
    assert len(documents.requests) == 1  # the ISPDB was never asked


def test_nothing_found_says_what_to_do(settings: DiscoverySettings) -> None:
    with pytest.raises(SendError) as raised:
        find(settings)
    message = str(raised.value)
    assert raised.value.kind is ErrorKind.UNREACHABLE
    assert "example.test" in message
    assert "smtp.example.test" in message
    assert "enter them" in message


def test_an_invalid_address_is_refused_at_once(settings: DiscoverySettings) -> None:
    with pytest.raises(SendError, match="email address"):
        find(settings, "not an address")


def test_settings_round_trip_through_the_file(settings: DiscoverySettings) -> None:
    assert DiscoverySettings.from_json(settings.to_json()) == settings
    assert (
        DiscoverySettings.from_json({"dns_server": 5, "probe_ports": [{"port": 1}]})
        == DiscoverySettings()
    )
    assert DiscoverySettings(dns_server="127.0.0.1:5353").dns_address() == ("127.0.0.1", 5353)
    assert DiscoverySettings(dns_server="::1").dns_address() == ("::1", 53)
    assert DiscoverySettings(dns_server="[::1]:5353").dns_address() == ("::1", 5353)


def test_an_international_domain_is_asked_for_in_ascii(
    documents: DocumentServer, settings: DiscoverySettings
) -> None:
    documents.serve(
        "/ispdb/xn--bcher-kva.test", autoconfig_xml(smtp=("smtp.xn--bcher-kva.test", 465, "SSL"))
    )
    found = find(settings, "ann@bücher.test")
    assert found.smtp.host == "smtp.xn--bcher-kva.test"
    assert found.smtp.username == "ann@bücher.test"  # the login as typed


def test_a_known_providers_login_is_taken_from_its_table(settings: DiscoverySettings) -> None:
    found = find(settings, "ann@icloud.com")
    assert found.smtp.username == "ann@icloud.com"
    assert found.imap is not None
    assert found.imap.username == "ann"  # iCloud's IMAP takes the name before @
