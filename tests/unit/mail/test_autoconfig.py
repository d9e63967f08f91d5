"""Reading autoconfig documents: TLS only, placeholders filled, hostile XML refused."""

from __future__ import annotations

import pytest

from composer.mail.accounts import Security
from composer.mail.autoconfig import ConfigRefused, FoundServer, parse_config
from tests.config_servers import autoconfig_xml

ADDRESS = "ann.lee@example.test"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<clientConfig><emailProvider><outgoingServer type="smtp"><hostname>&lol3;</hostname>
</outgoingServer></emailProvider></clientConfig>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY host SYSTEM "file:///etc/hostname">]>
<clientConfig><emailProvider><outgoingServer type="smtp"><hostname>&host;</hostname>
<port>465</port><socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig SYSTEM "https://127.0.0.1:9/evil.dtd">
<clientConfig/>"""


def test_servers_and_placeholders() -> None:
    smtp, imap = parse_config(autoconfig_xml(username="%EMAILLOCALPART%"), ADDRESS)
    assert smtp == FoundServer("smtp.example.test", 465, Security.SSL_TLS, "ann.lee")
    assert imap == FoundServer("imap.example.test", 993, Security.SSL_TLS, "ann.lee")


@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("%EMAILADDRESS%", ADDRESS),
        ("%EMAILLOCALPART%", "ann.lee"),
        ("%EMAILDOMAIN%", "example.test"),
        ("user-%EMAILLOCALPART%", "user-ann.lee"),
        ("", ADDRESS),
    ],
)
def test_username_placeholders(placeholder: str, expected: str) -> None:
    smtp, _imap = parse_config(autoconfig_xml(username=placeholder), ADDRESS)
    assert smtp is not None
    assert smtp.username == expected


def test_starttls_is_offered_too() -> None:
    smtp, _imap = parse_config(autoconfig_xml(smtp=("smtp.example.test", 587, "STARTTLS")), ADDRESS)
    assert smtp == FoundServer("smtp.example.test", 587, Security.STARTTLS, ADDRESS)


def test_implicit_tls_preferred_over_starttls_listed_first() -> None:
    second = """
    <outgoingServer type="smtp">
      <hostname>smtp.example.test</hostname><port>465</port><socketType>SSL</socketType>
    </outgoingServer>"""
    document = autoconfig_xml(smtp=("smtp.example.test", 587, "STARTTLS"))
    document = document.replace(b"</emailProvider>", second.encode() + b"</emailProvider>")
    smtp, _imap = parse_config(document, ADDRESS)
    assert smtp is not None
    assert (smtp.port, smtp.security) == (465, Security.SSL_TLS)


def test_plain_only_servers_are_left_out() -> None:
    smtp, imap = parse_config(
        autoconfig_xml(
            smtp=("smtp.example.test", 25, "plain"), imap=("imap.example.test", 143, "plain")
        ),
        ADDRESS,
    )
    assert smtp is None
    assert imap is None


@pytest.mark.parametrize("host", ["smtp example.test", "smtp.\texample.test", ""])
def test_unusable_host_names_are_left_out(host: str) -> None:
    smtp, _imap = parse_config(autoconfig_xml(smtp=(host, 465, "SSL")), ADDRESS)
    assert smtp is None


@pytest.mark.parametrize("port", ["0", "70000", "x"])
def test_unusable_ports_are_left_out(port: str) -> None:
    document = autoconfig_xml().replace(b"<port>465</port>", f"<port>{port}</port>".encode())
    assert parse_config(document, ADDRESS)[0] is None


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_hostile_xml_is_refused(document: bytes) -> None:
    with pytest.raises(ConfigRefused, match="refused XML"):
        parse_config(document, ADDRESS)


@pytest.mark.parametrize("document", [b"<clientConfig>", b"not xml", b"<html><body/></html>"])
def test_broken_or_foreign_documents_are_refused(document: bytes) -> None:
    with pytest.raises(ConfigRefused):
        parse_config(document, ADDRESS)


@pytest.mark.parametrize("username", ["ann\nRSET", "x" * 300])
def test_an_unusable_username_becomes_the_address(username: str) -> None:
    smtp, _imap = parse_config(autoconfig_xml(username=username), ADDRESS)
    assert smtp is not None
    assert smtp.username == ADDRESS
