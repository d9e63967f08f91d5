"""Server certificates: the TLS contexts Composer uses, and a certificate described in words.

Every connection is TLS 1.2 or newer. An account either verifies its server the usual way
(the system's authorities, and the host name), or trusts exactly one certificate the user
reviewed, by its SHA-256 fingerprint. A pinned certificate replaces the chain, host name and
validity checks (a self-hosted server's certificate often names no authority, an internal
name, and expires unnoticed; the user saw all three before trusting it). It is compared
before anything is sent over the connection, and a weak key is refused even then. Any other
certificate is refused, even one that would verify: nothing is re-trusted silently.
"""

from __future__ import annotations

import enum
import hashlib
import ssl
import string
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

# cryptography is loaded by describe(), the first time a certificate is shown to someone:
# its x509 module costs about a seventh of the window's start-up.

MINIMUM_TLS = ssl.TLSVersion.TLSv1_2
# What a certificate shows of a name Composer did not write: a subject can be any length.
_SHOWN_NAME = 200
# Below these, a key gives less than 112 bits of security (OpenSSL's level 2, NIST SP 800-57).
_MIN_RSA_BITS = 2048
_MIN_EC_BITS = 224


def verifying_context() -> ssl.SSLContext:
    """The system's authorities and the host name, TLS 1.2 or newer."""
    context = ssl.create_default_context()
    # Python has defaulted to 1.2 since 3.10; said here so that no OpenSSL configuration
    # or older runtime can lower it.
    context.minimum_version = MINIMUM_TLS
    return context


def unverified_context() -> ssl.SSLContext:
    """TLS 1.2 or newer without checking the certificate: only for comparing it to a pin
    (or reading it to show the user) before anything is sent."""
    context = ssl.create_default_context()
    context.minimum_version = MINIMUM_TLS
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, 64 lowercase hex digits."""
    return hashlib.sha256(der).hexdigest()


def normal_fingerprint(text: str) -> str:
    """text as fingerprint() writes it (colons and case ignored), or "" if it is none."""
    digits = text.replace(":", "").strip().lower()
    if len(digits) == 64 and all(c in string.hexdigits for c in digits):
        return digits
    return ""


def spaced(fingerprint: str) -> str:
    """``AB:CD:…``, as certificate viewers show a fingerprint."""
    upper = fingerprint.upper()
    return ":".join(upper[i : i + 2] for i in range(0, len(upper), 2))


class Problem(enum.Enum):
    """Why a certificate could not be verified, as the end of a sentence."""

    EXPIRED = "it has expired"
    NOT_YET_VALID = "it is not valid yet"
    SELF_SIGNED = "it is self-signed: no certificate authority vouches for it"
    UNKNOWN_ISSUER = "it was issued by an authority this computer does not know"
    WRONG_HOST = "it was issued for another name"
    WEAK = "its key or signature is too weak to be safe"
    OTHER = "it could not be verified"


# OpenSSL's X509_V_ERR_* codes, as SSLCertVerificationError.verify_code gives them.
_PROBLEMS = {
    9: Problem.NOT_YET_VALID,
    10: Problem.EXPIRED,
    18: Problem.SELF_SIGNED,
    19: Problem.SELF_SIGNED,
    2: Problem.UNKNOWN_ISSUER,
    20: Problem.UNKNOWN_ISSUER,
    21: Problem.UNKNOWN_ISSUER,
    62: Problem.WRONG_HOST,
    64: Problem.WRONG_HOST,  # an IP address that the certificate does not name
    66: Problem.WEAK,
    67: Problem.WEAK,
    68: Problem.WEAK,
}


def problem_of(error: ssl.SSLCertVerificationError) -> Problem:
    # The C module always sets verify_code; an error made in Python may lack it.
    return _PROBLEMS.get(getattr(error, "verify_code", None) or 0, Problem.OTHER)


@dataclass(frozen=True)
class CertificateInfo:
    """What a user needs to decide whether to trust a certificate."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    names: tuple[str, ...]  # the host names and addresses it is for
    key: str  # e.g. "RSA 2048 bits"
    weak: bool  # a key too small to be safe: never trusted, pinned or not
    fingerprint: str

    def describe(self) -> str:
        """Several lines of plain text (every value but the fingerprint comes from the server)."""
        names = ", ".join(self.names) or "(none)"
        return "\n".join(
            (
                f"Issued to: {self.subject}",
                f"Issued by: {self.issuer}",
                f"Valid from {self.not_before:%Y-%m-%d %H:%M} to "
                f"{self.not_after:%Y-%m-%d %H:%M} UTC",
                f"For the names: {names}",
                f"Key: {self.key}",
                f"SHA-256 fingerprint: {spaced(self.fingerprint)}",
            )
        )


def describe(der: bytes) -> CertificateInfo:
    """Read a DER certificate; raises ValueError when it cannot be parsed."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    key, weak = _key(cert)
    return CertificateInfo(
        subject=_shown(cert.subject.rfc4514_string()),
        issuer=_shown(cert.issuer.rfc4514_string()),
        not_before=cert.not_valid_before_utc.replace(tzinfo=None),
        not_after=cert.not_valid_after_utc.replace(tzinfo=None),
        names=_names(cert),
        key=key,
        weak=weak,
        fingerprint=fingerprint(der),
    )


def _key(cert: x509.Certificate) -> tuple[str, bool]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    try:
        public = cert.public_key()
    except (ValueError, TypeError):  # an algorithm cryptography does not know
        return "unknown", True
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA {public.key_size} bits", public.key_size < _MIN_RSA_BITS
    if isinstance(public, dsa.DSAPublicKey):
        return f"DSA {public.key_size} bits", True  # TLS 1.2 and 1.3 servers use no DSA
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"EC {public.curve.name}", public.key_size < _MIN_EC_BITS
    return type(public).__name__.removesuffix("PublicKey"), False  # Ed25519, Ed448


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    from cryptography import x509

    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, ValueError):
        return ()
    alternative = extension.value
    found = [*alternative.get_values_for_type(x509.DNSName)]
    found += [str(ip) for ip in alternative.get_values_for_type(x509.IPAddress)]
    return tuple(_shown(name) for name in found[:20])


def _shown(text: str) -> str:
    """text without control characters, and not longer than a line should be."""
    clean = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text)
    return clean if len(clean) <= _SHOWN_NAME else clean[: _SHOWN_NAME - 1] + "…"
