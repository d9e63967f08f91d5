"""Servers whose TLS cannot be trusted, on 127.0.0.1: each stops before anything is sent,
says exactly why and shows the certificate; a certificate the user trusted is the only other
one accepted, and a changed one is stopped before the login."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from composer.mail.accounts import Account, Security
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import build_message
from composer.mail.transport import SmtpTransport
from tests.certificates import ServerCertificate, issue
from tests.servers import (
    HOST,
    PASSWORD,
    SmtpServer,
    account_for,
    implicit_tls_server,
    running,
    starttls_server,
)

MODES = [Security.STARTTLS, Security.SSL_TLS]


def tls_server(security: Security, context: ssl.SSLContext) -> SmtpServer:
    if security is Security.STARTTLS:
        return starttls_server(context)
    return implicit_tls_server(context)


@contextlib.contextmanager
def serving(
    certificate: ServerCertificate, security: Security, **context_options: bool
) -> Iterator[SmtpServer]:
    with running(tls_server(security, certificate.context(**context_options))) as server:
        yield server


def outcome(server: SmtpServer, security: Security, **changes: str) -> SendError | None:
    """Send one message through server; the SendError, or None if it was sent."""
    account = account_for(server, security, **changes)
    draft = Draft(to="bob@example.net", subject="Hi", body="Hi\n")
    message = build_message(draft, account.sender())
    try:
        SmtpTransport(account, PASSWORD).send(message)
    except SendError as error:
        return error
    return None


def failure(server: SmtpServer, security: Security, **changes: str) -> SendError:
    error = outcome(server, security, **changes)
    assert error is not None, "sent, but should have been stopped"
    return error


def assert_nothing_sent_over_tls(server: SmtpServer, security: Security) -> None:
    """No login, no message, and no command at all once TLS stood (or failed)."""
    assert server.auth_attempts == []
    assert server.received == []
    # Before STARTTLS the client says EHLO, on each of its connections; after it, nothing.
    if security is Security.STARTTLS:
        assert set(server.commands) <= {"EHLO"}
        assert len(server.commands) == server.sessions
    else:
        assert server.commands == []


# --- verification failures, described -----------------------------------------------------


@pytest.mark.parametrize("security", MODES)
def test_an_expired_certificate_is_refused_saying_when_it_expired(tls_ca, security):
    certificate = issue(HOST, ca=tls_ca, valid_days=(-60, -2))
    with serving(certificate, security) as server:
        error = failure(server, security)

    assert error.kind is ErrorKind.CERTIFICATE
    assert "127.0.0.1" in error.message
    assert "expired on" in error.message
    assert error.certificate is not None
    assert error.certificate.fingerprint == certificate.fingerprint
    assert error.certificate.fingerprint[:2].upper() in error.message
    assert "Test Connection" in error.message
    assert not error.retryable
    assert_nothing_sent_over_tls(server, security)


@pytest.mark.parametrize("security", MODES)
def test_a_certificate_for_another_name_says_which_name(tls_ca, security):
    with serving(issue("mail.other.test", ca=tls_ca), security) as server:
        error = failure(server, security)

    assert error.kind is ErrorKind.CERTIFICATE
    assert "issued for mail.other.test, not for 127.0.0.1" in error.message
    assert error.certificate is not None
    assert error.certificate.names == ("mail.other.test",)
    assert_nothing_sent_over_tls(server, security)


@pytest.mark.parametrize("security", MODES)
def test_a_self_signed_certificate_is_refused_with_its_details(security):
    certificate = issue(HOST, common_name="mail.home.test")
    with serving(certificate, security) as server:
        error = failure(server, security)

    assert error.kind is ErrorKind.CERTIFICATE
    assert "self-signed" in error.message
    assert "CN=mail.home.test" in error.message
    info = error.certificate
    assert info is not None
    assert (info.subject, info.issuer) == ("CN=mail.home.test", "CN=mail.home.test")
    assert info.not_before < info.not_after
    assert not info.weak
    described = info.describe()
    assert "Issued to: CN=mail.home.test" in described
    assert info.fingerprint.upper()[:2] + ":" in described
    assert_nothing_sent_over_tls(server, security)


@pytest.mark.parametrize("security", MODES)
def test_a_certificate_from_an_unknown_authority_says_so(security):
    stranger = trustme.CA()
    with serving(issue(HOST, ca=stranger), security) as server:
        error = failure(server, security)

    assert error.kind is ErrorKind.CERTIFICATE
    assert "issued by an authority this computer does not know" in error.message
    assert error.certificate is not None
    assert "trustme" in error.certificate.issuer
    assert_nothing_sent_over_tls(server, security)


@pytest.mark.parametrize("security", MODES)
def test_a_weak_key_is_refused_and_not_offered_for_trust(tls_ca, security):
    # Issued by the trusted CA for the right name: only the 1024-bit key is wrong, and
    # OpenSSL's default security level refuses it.
    with serving(issue(HOST, ca=tls_ca, rsa_bits=1024), security, weak_ok=True) as server:
        error = failure(server, security)

    assert error.kind is ErrorKind.CERTIFICATE
    assert "RSA 1024 bits" in error.message
    assert "too weak" in error.message
    assert "review the certificate" not in error.message
    assert error.certificate is not None
    assert error.certificate.weak
    assert_nothing_sent_over_tls(server, security)


@pytest.mark.parametrize("security", MODES)
def test_a_weak_key_is_refused_even_when_trusted_by_fingerprint(security):
    certificate = issue(HOST, rsa_bits=1024)
    with serving(certificate, security, weak_ok=True) as server:
        error = failure(server, security, trusted_certificate=certificate.fingerprint)

    assert error.kind is ErrorKind.CERTIFICATE
    assert "too weak" in error.message
    assert_nothing_sent_over_tls(server, security)


def test_check_reports_the_certificate_for_review():
    certificate = issue(HOST)
    with serving(certificate, Security.STARTTLS) as server:
        account = account_for(server, Security.STARTTLS)
        with pytest.raises(SendError) as caught:
            SmtpTransport(account, PASSWORD).check()

    assert caught.value.kind is ErrorKind.CERTIFICATE
    assert caught.value.certificate is not None
    assert caught.value.certificate.fingerprint == certificate.fingerprint
    assert server.auth_attempts == []


# --- trusted by fingerprint -----------------------------------------------------------------


@pytest.mark.parametrize("security", MODES)
def test_a_trusted_self_signed_certificate_sends(security):
    certificate = issue(HOST, common_name="mail.home.test")
    with serving(certificate, security) as server:
        error = outcome(server, security, trusted_certificate=certificate.fingerprint)

    assert error is None
    assert server.auth_attempts == [("ann", PASSWORD)]
    assert len(server.received) == 1


@pytest.mark.parametrize("security", MODES)
def test_a_trusted_certificate_for_another_name_sends(security):
    # A pin is exactly one certificate: it replaces the host name check as well.
    certificate = issue("mail.internal.test")
    with serving(certificate, security) as server:
        error = outcome(server, security, trusted_certificate=certificate.fingerprint)

    assert error is None
    assert len(server.received) == 1


@pytest.mark.parametrize("security", MODES)
@pytest.mark.parametrize("now_presented", ["self-signed", "issued by a trusted authority"])
def test_a_changed_certificate_is_stopped_before_the_login(tls_ca, security, now_presented):
    trusted = issue(HOST)
    # Even a certificate that would verify is not accepted in place of the one trusted.
    other = issue(HOST) if now_presented == "self-signed" else issue(HOST, ca=tls_ca)
    with serving(other, security) as server:
        error = failure(server, security, trusted_certificate=trusted.fingerprint)

    assert error.kind is ErrorKind.CERTIFICATE_CHANGED
    assert "different certificate than the one you trusted" in error.message
    assert "intercepting" in error.message
    spaced_trusted = ":".join(trusted.fingerprint.upper()[i : i + 2] for i in range(0, 64, 2))
    spaced_other = ":".join(other.fingerprint.upper()[i : i + 2] for i in range(0, 64, 2))
    assert spaced_trusted in error.message
    assert spaced_other in error.message
    assert error.certificate is not None
    assert error.certificate.fingerprint == other.fingerprint
    assert not error.retryable
    # Checked before anything went over TLS: not even the EHLO after STARTTLS, and no password.
    assert_nothing_sent_over_tls(server, security)
    assert server.sessions == (1 if security is Security.STARTTLS else 0)


# --- TLS versions -----------------------------------------------------------------------------


@pytest.fixture
def lax_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """ssl.create_default_context() as an older runtime or a lax system makes it: TLS 1.0 and
    up, at OpenSSL's security level 0, so that only Composer's own minimum stands in the way.

    Python 3.10+ already starts every client context at TLS 1.2, even under an OpenSSL
    configuration saying MinProtocol = TLSv1 (it sets its minimum after reading it), so with
    the real defaults these tests would pass with no minimum of Composer's at all.
    """
    real = ssl.create_default_context

    def lax(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = real(*args, **kwargs)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        return context

    monkeypatch.setattr(ssl, "create_default_context", lax)


def test_lax_defaults_would_speak_tls_1_0(lax_defaults):
    """The two tests below are only worth something if the lax context would take TLS 1.1."""
    assert ssl.create_default_context().minimum_version is ssl.TLSVersion.TLSv1


def test_every_context_asks_for_tls_1_2_or_newer(lax_defaults):
    from composer.mail.certificates import unverified_context, verifying_context

    for context in (verifying_context(), unverified_context()):
        assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert verifying_context().verify_mode is ssl.CERT_REQUIRED
    assert verifying_context().check_hostname


class OldTlsServer:
    """Speaks TLS 1.1 at most, with blocking OpenSSL as mail servers do (asyncio's TLS, as
    aiosmtpd's, drops the connection without the protocol-version alert). STARTTLS or TLS
    from the first byte; records each line read after the handshake."""

    def __init__(self, certificate: ServerCertificate, security: Security) -> None:
        self.host = HOST
        self.lines: list[bytes] = []
        self.handshake_errors: list[str] = []
        self._context = certificate.context(old_tls_only=True)
        self._security = security
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # stopped
            with connection:
                connection.settimeout(10)
                try:
                    self._talk(connection)
                except (OSError, ValueError) as error:
                    self.handshake_errors.append(str(error))

    def _talk(self, connection: socket.socket) -> None:
        if self._security is Security.STARTTLS:
            connection.sendall(b"220 mail.test ESMTP\r\n")
            with connection.makefile("rb") as reader:
                for line in reader:
                    if line[:4].upper() == b"EHLO":
                        connection.sendall(b"250-mail.test\r\n250 STARTTLS\r\n")
                    elif line[:8].upper() == b"STARTTLS":
                        connection.sendall(b"220 Go ahead\r\n")
                        break
                    else:
                        return
        with self._context.wrap_socket(connection, server_side=True) as secured:
            secured.sendall(b"220 mail.test ESMTP\r\n")
            with secured.makefile("rb") as reader:
                for line in reader:
                    self.lines.append(line.rstrip(b"\r\n"))
                    secured.sendall(b"250-mail.test\r\n250 AUTH PLAIN\r\n")

    def stop(self) -> None:
        self._listener.close()
        with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1):
            pass
        self._thread.join(10)


@contextlib.contextmanager
def old_tls(certificate: ServerCertificate, security: Security) -> Iterator[OldTlsServer]:
    server = OldTlsServer(certificate, security)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("security", MODES)
@pytest.mark.parametrize("trusted", [False, True])
def test_a_server_offering_only_tls_1_1_is_refused(tls_ca, lax_defaults, security, trusted):
    certificate = issue(HOST, ca=tls_ca)
    pin = {"trusted_certificate": certificate.fingerprint} if trusted else {}
    with old_tls(certificate, security) as server:
        account = account_for(server, security, **pin)
        with pytest.raises(SendError) as caught:
            SmtpTransport(account, PASSWORD).check()

    error = caught.value
    assert error.kind is ErrorKind.TLS_FAILED
    assert "TLS 1.1 or older" in error.message
    assert "TLS 1.2" in error.message
    assert server.lines == []  # not a word over the old protocol
    assert server.handshake_errors


def test_the_tls_1_1_server_really_speaks_tls_1_1(tls_ca):
    """The test above is only worth something if its server accepts an older client."""
    with old_tls(issue(HOST, ca=tls_ca), Security.SSL_TLS) as server:
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.set_ciphers("DEFAULT:@SECLEVEL=0")
        client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
        with pytest.warns(DeprecationWarning, match="TLSv1"):
            client.minimum_version = ssl.TLSVersion.TLSv1
        raw = socket.create_connection((server.host, server.port), 10)
        with client.wrap_socket(raw) as secured:
            assert secured.version() in ("TLSv1", "TLSv1.1")
            assert secured.recv(3) == b"220"


# --- STARTTLS stripping -----------------------------------------------------------------------


class StarttlsRefuser:
    """Offers STARTTLS and AUTH, then answers STARTTLS with 454: a downgrade attempt, or a
    server whose TLS is broken. Records every line it reads."""

    def __init__(self) -> None:
        self.host = HOST
        self.lines: list[bytes] = []
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection, connection.makefile("rwb") as stream:
            stream.write(b"220 mail.test ESMTP\r\n")
            stream.flush()
            for line in stream:
                self.lines.append(line.rstrip(b"\r\n"))
                verb = line[:4].upper()
                if verb == b"EHLO":
                    reply = b"250-mail.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"
                elif verb == b"STAR":
                    reply = b"454 4.7.0 TLS not available due to temporary reason\r\n"
                elif verb == b"QUIT":
                    stream.write(b"221 Bye\r\n")
                    stream.flush()
                    return
                else:
                    reply = b"530 5.7.0 Must issue a STARTTLS command first\r\n"
                stream.write(reply)
                stream.flush()

    def stop(self) -> None:
        self._listener.close()
        self._thread.join(10)


def test_starttls_refused_with_454_stops_before_the_login():
    server = StarttlsRefuser()
    try:
        account = account_for(server, Security.STARTTLS)
        message = build_message(Draft(to="bob@example.net", subject="Hi"), account.sender())
        with pytest.raises(SendError) as caught:
            SmtpTransport(account, PASSWORD).send(message)
    finally:
        server.stop()

    error = caught.value
    assert error.kind is ErrorKind.STARTTLS_UNAVAILABLE
    assert "454 4.7.0 TLS not available" in error.message
    assert "before sending anything" in error.message
    assert error.retryable  # 454 is "not now"; nothing went out in the clear meanwhile
    verbs = [line.split(b" ")[0].upper() for line in server.lines]
    assert verbs[:2] == [b"EHLO", b"STARTTLS"]
    assert not any(line.upper().startswith(b"AUTH") for line in server.lines)
    assert not any(PASSWORD.encode() in line for line in server.lines)


# --- the setting -----------------------------------------------------------------------------


def test_a_trusted_certificate_is_kept_with_the_account():
    pin = "ab" * 32
    account = Account(email="ann@example.org", trusted_certificate=pin)

    assert Account.from_json(account.to_json()).trusted_certificate == pin
    assert account.to_json()["trusted_certificate"] == pin


@pytest.mark.parametrize(
    ("stored", "read"),
    [("AB:" * 31 + "AB", "ab" * 32), ("not a fingerprint", ""), ("ab" * 20, ""), ("", "")],
)
def test_a_trusted_certificate_that_is_no_fingerprint_is_verified_as_usual(stored, read):
    data = {**Account(email="ann@example.org").to_json(), "trusted_certificate": stored}

    assert Account.from_json(data).trusted_certificate == read
