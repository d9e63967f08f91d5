"""Certificates described in words, fingerprints, and why verification failed."""

from __future__ import annotations

import ssl

import pytest

from composer.mail.certificates import (
    Problem,
    describe,
    fingerprint,
    normal_fingerprint,
    problem_of,
    spaced,
)
from tests.certificates import issue


def verification_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    # As the ssl module raises them from C, which always sets these attributes.
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_code, error.verify_message = code, message
    return error


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (10, Problem.EXPIRED),
        (9, Problem.NOT_YET_VALID),
        (18, Problem.SELF_SIGNED),
        (19, Problem.SELF_SIGNED),
        (20, Problem.UNKNOWN_ISSUER),
        (62, Problem.WRONG_HOST),
        (64, Problem.WRONG_HOST),
        (66, Problem.WEAK),
        (7, Problem.OTHER),
    ],
)
def test_openssl_codes_name_the_problem(code, problem):
    assert problem_of(verification_error(code, "")) is problem


def test_an_error_without_a_code_is_some_other_problem():
    assert problem_of(ssl.SSLCertVerificationError(1, "made by hand")) is Problem.OTHER


def test_a_certificate_is_described_with_its_names_key_and_fingerprint():
    certificate = issue("mail.home.test", "127.0.0.1", rsa_bits=2048)

    info = describe(certificate.der)

    assert info.subject == info.issuer == "CN=mail.home.test"
    assert info.names == ("mail.home.test", "127.0.0.1")
    assert info.key == "RSA 2048 bits"
    assert not info.weak
    assert info.fingerprint == fingerprint(certificate.der) == certificate.fingerprint
    assert (info.not_after - info.not_before).days == 31


@pytest.mark.parametrize(("bits", "weak"), [(1024, True), (2048, False)])
def test_small_rsa_keys_are_weak(bits, weak):
    assert describe(issue(rsa_bits=bits).der).weak is weak


def test_names_written_to_deceive_are_shown_on_one_bounded_line():
    long_name = "mail." + "x" * 500 + ".test"
    info = describe(issue(long_name, common_name="bank\nIssued by: Trusted CA").der)

    assert "\n" not in info.subject
    assert "Issued by" in info.subject  # still there, but on the subject's own line
    assert len(info.names[0]) == 200
    assert info.names[0].endswith("…")


def test_garbage_is_no_certificate():
    with pytest.raises(ValueError, match="asn1"):
        describe(b"\x30\x03garbage")


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("AB" * 32, "ab" * 32),
        (" " + ":".join(["ab"] * 32) + " ", "ab" * 32),
        ("ab" * 31, ""),
        ("zz" * 32, ""),
        ("", ""),
    ],
)
def test_fingerprints_are_read_whatever_their_case_and_colons(text, normal):
    assert normal_fingerprint(text) == normal


def test_a_fingerprint_is_shown_as_certificate_viewers_do():
    assert spaced("0a1b2c") == "0A:1B:2C"
