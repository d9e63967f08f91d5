"""The known-providers table and how an address, an MX or a host finds its provider."""

from __future__ import annotations

import pytest

from composer.mail.accounts import Security
from composer.mail.providers import (
    PROVIDERS,
    provider_by_key,
    provider_for_domain,
    provider_for_host,
    provider_for_mx,
    provider_of,
)

KEYS = {
    "gmail",
    "google-workspace",
    "outlook",
    "microsoft365",
    "icloud",
    "yahoo",
    "aol",
    "fastmail",
    "gmx",
    "gmx-com",
    "webde",
    "proton-bridge",
}


def test_every_listed_provider_is_in_the_table_once():
    keys = [provider.key for provider in PROVIDERS]
    assert sorted(keys) == sorted(KEYS)
    assert all(provider_by_key(key).key == key for key in keys)


def test_no_domain_belongs_to_two_providers():
    domains = [d for provider in PROVIDERS for d in provider.domains]
    assert len(domains) == len(set(domains))


@pytest.mark.parametrize(
    ("domain", "key"),
    [
        ("gmail.com", "gmail"),
        ("GoogleMail.com.", "gmail"),
        ("outlook.com", "outlook"),
        ("hotmail.com", "outlook"),
        ("hotmail.fr", "outlook"),
        ("hotmail.co.uk", "outlook"),
        ("live.com", "outlook"),
        ("live.de", "outlook"),
        ("live.com.au", "outlook"),
        ("msn.com", "outlook"),
        ("icloud.com", "icloud"),
        ("me.com", "icloud"),
        ("mac.com", "icloud"),
        ("yahoo.com", "yahoo"),
        ("yahoo.co.uk", "yahoo"),
        ("yahoo.fr", "yahoo"),
        ("yahoo.com.br", "yahoo"),
        ("ymail.com", "yahoo"),
        ("rocketmail.com", "yahoo"),
        ("aol.com", "aol"),
        ("aim.com", "aol"),
        ("fastmail.com", "fastmail"),
        ("gmx.net", "gmx"),
        ("gmx.de", "gmx"),
        ("gmx.at", "gmx"),
        ("gmx.ch", "gmx"),
        ("gmx.com", "gmx-com"),
        ("web.de", "webde"),
        ("proton.me", "proton-bridge"),
        ("pm.me", "proton-bridge"),
    ],
)
def test_an_address_domain_finds_its_provider(domain, key):
    provider = provider_for_domain(domain)
    assert provider is not None
    assert provider.key == key


@pytest.mark.parametrize(
    "domain",
    [
        "example.org",
        "notgmail.com",
        "gmail.com.example.org",
        "yahoo.example.org",  # not a country's domain
        "hotmail.co.example",
        "yahoo.",
        "",
        "mail.gmx.net.evil",
    ],
)
def test_other_domains_are_nobodys(domain):
    assert provider_for_domain(domain) is None


@pytest.mark.parametrize(
    ("mx", "key"),
    [
        ("aspmx.l.google.com", "google-workspace"),
        ("ALT1.ASPMX.L.GOOGLE.COM.", "google-workspace"),
        ("aspmx2.googlemail.com", "google-workspace"),
        ("example-org.mail.protection.outlook.com", "microsoft365"),
        ("mx01.mail.icloud.com", "icloud"),
        ("in1-smtp.messagingengine.com", "fastmail"),
        ("mail.protonmail.ch", "proton-bridge"),
    ],
)
def test_a_mail_exchanger_finds_its_provider(mx, key):
    provider = provider_for_mx(mx)
    assert provider is not None
    assert provider.key == key


@pytest.mark.parametrize("mx", ["notgoogle.com", "mx.example.org", "google.com.evil.example"])
def test_a_mail_exchanger_matches_on_whole_labels(mx):
    assert provider_for_mx(mx) is None


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("smtp.gmail.com", "gmail"),
        ("SMTP.GMAIL.COM.", "gmail"),
        ("smtp.office365.com", "microsoft365"),
        ("smtp-mail.outlook.com", "outlook"),
        ("smtp.mail.me.com", "icloud"),
        ("smtp.mail.yahoo.com", "yahoo"),
        ("smtp.aol.com", "aol"),
        ("smtp.fastmail.com", "fastmail"),
        ("mail.gmx.net", "gmx"),
        ("smtp.web.de", "webde"),
        ("imap.gmail.com", "gmail"),
    ],
)
def test_an_accounts_host_finds_its_provider(host, key):
    provider = provider_for_host(host)
    assert provider is not None
    assert provider.key == key


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "smtp.example.org", ""])
def test_a_loopback_or_unknown_host_is_nobodys(host):
    assert provider_for_host(host) is None


@pytest.mark.parametrize(
    ("host", "email", "key"),
    [
        ("smtp.gmail.com", "ann@example.org", "gmail"),  # Workspace on a domain of its own
        ("127.0.0.1", "ann@gmail.com", "gmail"),  # a local relay or proxy
        ("127.0.0.1", "ann@proton.me", "proton-bridge"),
        ("smtp.mail.me.com", "ann@gmail.com", "icloud"),  # the host says it
        ("smtp.example.org", "ann@gmail.com", None),  # not Google's server
        ("127.0.0.1", "ann@example.org", None),
        ("127.0.0.1", "me@sandbox.localhost", None),
    ],
)
def test_an_account_is_known_by_its_host_then_its_address(host, email, key):
    provider = provider_of(host, email)
    assert (provider.key if provider else None) == key


def test_the_facts_hold_together():
    for provider in PROVIDERS:
        for facts in (provider.smtp, provider.imap):
            assert facts is not None
            assert facts.security is not Security.NONE  # no provider is used in the clear
            assert 0 < facts.port < 65536
        assert provider.login
        assert provider.password
        assert provider.oauth in ("", "google", "microsoft")
    assert {p.key for p in PROVIDERS if p.files_sent_itself} >= {
        "gmail",
        "google-workspace",
        "outlook",
        "microsoft365",
    }


def test_the_bridge_listens_on_loopback_and_says_to_trust_its_certificate():
    bridge = provider_by_key("proton-bridge")
    assert bridge.smtp.host == "127.0.0.1"
    assert (bridge.smtp.port, bridge.smtp.security) == (1025, Security.STARTTLS)
    assert bridge.imap is not None
    assert (bridge.imap.port, bridge.imap.security) == (1143, Security.STARTTLS)
    assert "Trust This Certificate" in bridge.notes


def test_icloud_imap_takes_the_name_before_the_at():
    assert "the name before @ for IMAP" in provider_by_key("icloud").login
