"""What Composer says about a server certificate it will not use, and what to do about it."""

from __future__ import annotations

import logging
import ssl

from composer.mail.certificates import (
    CertificateInfo,
    Problem,
    describe,
    fingerprint,
    problem_of,
    spaced,
)
from composer.mail.errors import ErrorKind, SendError

log = logging.getLogger(__name__)


def untrusted(
    host: str, error: ssl.SSLCertVerificationError, info: CertificateInfo | None
) -> SendError:
    """The SendError for a certificate that failed verification; info if it could be read."""
    problem = problem_of(error)
    reason = _certificate_problem(problem, host, info) or (
        error.verify_message or error.reason or str(error)
    )
    shown = f" {_issued(info)}" if info else ""
    if problem is Problem.WEAK or (info and info.weak):
        advice = (
            "Composer cannot trust it; ask the server's administrator for a certificate with "
            "a stronger key (RSA of 2048 bits or more, or an EC key)."
        )
    else:
        advice = (
            "If this is your own server, open Accounts ▸ Test Connection to review the "
            "certificate and trust it (or install its certificate authority); otherwise "
            "someone may be intercepting the connection."
        )
    return SendError(
        ErrorKind.CERTIFICATE,
        f"The certificate of {host} is not trusted: {reason}. Composer stopped before "
        f"sending anything.{shown} {advice}",
        certificate=info,
    )


def changed(host: str, trusted: str, info: CertificateInfo | None) -> SendError:
    """The SendError for a server whose certificate is not the one the account trusts."""
    shown = _issued(info) or "The certificate presented could not be read."
    return SendError(
        ErrorKind.CERTIFICATE_CHANGED,
        f"{host} presented a different certificate than the one you trusted for this "
        "account, so Composer stopped before sending anything (your password included). "
        "This can mean someone is intercepting the connection. If your provider changed "
        "the certificate, check it with them and trust the new one in Accounts ▸ Test "
        f"Connection. Trusted: SHA-256 {spaced(trusted)}. {shown}",
        certificate=info,
    )


def weak_pinned(host: str, info: CertificateInfo | None) -> SendError:
    """The SendError for a trusted certificate that is too weak (or unreadable) to rely on."""
    what = f"its key ({info.key}) is too weak to be safe" if info else "it could not be read"
    return SendError(
        ErrorKind.CERTIFICATE,
        f"The certificate of {host} is the one trusted for this account, but {what}, so "
        "Composer stopped before sending anything. Ask the server's administrator for a "
        "certificate with a stronger key.",
        certificate=info,
    )


def _certificate_problem(problem: Problem, host: str, info: CertificateInfo | None) -> str:
    if info is None:
        return problem.value if problem is not Problem.OTHER else ""
    if problem is Problem.EXPIRED:
        return f"it expired on {info.not_after:%Y-%m-%d}"
    if problem is Problem.NOT_YET_VALID:
        return f"it is valid only from {info.not_before:%Y-%m-%d}"
    if problem is Problem.WRONG_HOST:
        names = ", ".join(info.names) or info.subject
        return f"it was issued for {names}, not for {host}"
    if problem is Problem.WEAK and info.weak:
        return f"its key ({info.key}) is too weak to be safe"
    return problem.value if problem is not Problem.OTHER else ""


def _issued(info: CertificateInfo | None) -> str:
    if info is None:
        return ""
    return (
        f"Presented: issued to {info.subject} by {info.issuer}, valid "
        f"{info.not_before:%Y-%m-%d} to {info.not_after:%Y-%m-%d}, SHA-256 "
        f"{spaced(info.fingerprint)}."
    )


def check_pinned(sock: ssl.SSLSocket, host: str, trusted: str) -> None:
    """With trusted (a fingerprint), refuse any other certificate before a byte goes over
    TLS; raises SendError. Without one, the handshake itself verified the server."""
    if not trusted:
        return
    der = sock.getpeercert(binary_form=True) or b""
    info, presented = described(der), fingerprint(der)
    if presented != trusted:
        log.warning("%s presented certificate %s, trusted %s", host, presented, trusted)
        raise changed(host, trusted, info)
    if info is None or info.weak:
        raise weak_pinned(host, info)


def described(der: bytes) -> CertificateInfo | None:
    """What der says, or None when there is none or it cannot be read."""
    try:
        return describe(der) if der else None
    except ValueError:
        return None
