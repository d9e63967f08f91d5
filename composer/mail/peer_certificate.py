"""The certificate a server presents, read without trusting it and without sending anything."""

from __future__ import annotations

import ssl

from composer.mail.certificates import unverified_context
from composer.mail.smtp_client import CancellableSMTP, Canceller, address_literal


def presented_certificate(
    canceller: Canceller, host: str, port: int, timeout: float, *, starttls: bool
) -> bytes:
    """The DER certificate host:port presents, over a connection of its own that is closed
    right after the TLS handshake: not a byte goes over TLS, so nothing can be learned from
    it but the certificate. Raises OSError or an smtplib error when it cannot be read.

    A handshake that failed verification gives no access to the certificate, and the user
    needs to see it to decide. With starttls, the plaintext greeting, EHLO and STARTTLS
    come first, as on the connection that failed.
    """
    context = unverified_context()
    try:
        if not starttls:
            sock = canceller.connect(host, port, timeout, None)
            with sock, context.wrap_socket(sock, server_hostname=host) as secured:
                return _der(secured)
        smtp = CancellableSMTP(canceller, timeout)
        smtp._host = host
        try:
            code, reply = smtp.connect(host, port)
            if code != 220:
                raise OSError(f"no greeting: {code} {reply!r}")
            smtp.local_hostname = address_literal(smtp.sock)
            smtp.ehlo_or_helo_if_needed()
            smtp.starttls(context=context)
            assert isinstance(smtp.sock, ssl.SSLSocket)
            return _der(smtp.sock)
        finally:
            smtp.close()  # no QUIT: nothing goes over this TLS connection
    finally:
        canceller.close()


def _der(sock: ssl.SSLSocket) -> bytes:
    der = sock.getpeercert(binary_form=True)
    if not der:
        raise OSError("the server presented no certificate")
    return der
