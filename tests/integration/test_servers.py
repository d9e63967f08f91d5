"""The shared fixtures themselves: trusted CA, keyring, and the test servers."""

from __future__ import annotations

import gc
import os
import smtplib
import socket
import ssl

import keyring
import pytest

from tests.keyrings import MemoryKeyring
from tests.servers import HOST, PASSWORD, SilentServer, plaintext_server, running


def test_default_context_trusts_only_the_test_ca(trusted_ca_file, tls_ca):
    assert os.environ["SSL_CERT_FILE"] == str(trusted_ca_file)
    cas = ssl.create_default_context().get_ca_certs()

    assert len(cas) == 1
    assert trusted_ca_file.read_bytes() == tls_ca.cert_pem.bytes()
    assert not os.listdir(os.environ["SSL_CERT_DIR"])


def test_smtp_server_certificate_verifies_for_both_names(smtp_server):
    for name in ("127.0.0.1", "localhost"):
        with smtplib.SMTP(name, smtp_server.port, local_hostname="localhost", timeout=10) as smtp:
            smtp.starttls(context=ssl.create_default_context())
            assert smtp.ehlo()[0] == 250
            assert "auth" in smtp.esmtp_features


def test_untrusted_server_is_not_trusted(untrusted_server):
    with (
        smtplib.SMTP(HOST, untrusted_server.port, local_hostname="localhost", timeout=10) as smtp,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        smtp.starttls(context=ssl.create_default_context())


def test_smtps_server_offers_auth_over_implicit_tls(smtps_server):
    context = ssl.create_default_context()
    with smtplib.SMTP_SSL(
        HOST, smtps_server.port, local_hostname="localhost", timeout=10, context=context
    ) as smtp:
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features["auth"].split()


def test_starttls_server_requires_tls_before_mail(smtp_server):
    with smtplib.SMTP(HOST, smtp_server.port, local_hostname="localhost", timeout=10) as smtp:
        smtp.ehlo()
        assert "auth" not in smtp.esmtp_features
        code, _ = smtp.mail("ann@example.org")
        assert code == 530


def test_size_limit_applies_to_new_connections(plain_server):
    plain_server.size_limit = 12345

    with smtplib.SMTP(HOST, plain_server.port, local_hostname="localhost", timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == "12345"


def test_servers_record_logins_and_refuse_listed_recipients(plain_server):
    plain_server.refuse = {"nobody@example.net"}

    with smtplib.SMTP(HOST, plain_server.port, local_hostname="localhost", timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("ann", "wrong")
        refused = smtp.sendmail(
            "ann@example.org",
            ["bob@example.net", "nobody@example.net"],
            b"Subject: x\r\n\r\nhi\r\n",
        )

    # smtplib's login() tries PLAIN, then LOGIN.
    assert plain_server.auth_attempts == [("ann", "wrong"), ("ann", "wrong")]
    assert refused == {"nobody@example.net": (550, b"5.1.1 No such user")}
    assert plain_server.envelopes == [("ann@example.org", ("bob@example.net",))]
    assert plain_server.received[0]["Subject"] == "x"
    assert plain_server.raw[0].startswith(b"Subject: x\r\n")


def test_servers_answer_as_told_and_log_commands():
    server = plaintext_server(greeting="220 custom.test ready", hide_extensions={"8bitmime"})
    server.rcpt_replies["busy@example.net"] = "450 4.2.1 Mailbox busy"
    server.data_reply = "554 5.7.1 No thanks"
    with running(server), smtplib.SMTP(local_hostname="localhost", timeout=10) as smtp:
        code, greeting = smtp.connect(HOST, server.port)
        smtp.ehlo()
        offered = set(smtp.esmtp_features)
        smtp.mail("ann@example.org")
        rcpt = [smtp.rcpt(a)[0] for a in ("bob@example.net", "busy@example.net")]
        smtp.docmd("DATA")
        smtp.send(b"Subject: x\r\n\r\nhi\r\n.\r\n")
        final = smtp.getreply()

    assert (code, greeting) == (220, b"custom.test ready")
    assert "8bitmime" not in offered
    assert {"size", "smtputf8"} <= offered
    assert rcpt == [250, 450]
    assert final == (554, b"5.7.1 No thanks")
    assert server.received == []
    assert server.commands == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]


def test_a_stopped_server_no_longer_listens():
    with running(plaintext_server()) as server:
        port = server.port

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, port), 2).close()


def test_a_connection_made_as_the_server_stops_is_closed(recwarn):
    # A client connecting just as a test ends (an Outbox flush, say), after the server saw
    # its last connection close: the server accepts it while it stops, before any SMTP
    # protocol object knows of it.
    client = socket.socket()
    server = plaintext_server().start()
    drained = server._drained

    class ConnectAfterDrained:
        def wait_for(self, predicate, timeout):
            done = drained.wait_for(predicate, timeout)
            client.connect((HOST, server.port))
            return done

        def notify_all(self):
            drained.notify_all()

    server._drained = ConnectAfterDrained()
    server.stop()
    gc.collect()
    client.close()

    leaked = [w for w in recwarn if issubclass(w.category, ResourceWarning)]
    assert not leaked, [str(w.message) for w in leaked]


def test_silent_server_accepts_and_never_writes():
    server = SilentServer().start()
    try:
        client = socket.create_connection((server.host, server.port), 2)
        assert server.wait_for_connection(timeout=5)
        assert server.accepted == 1
        client.settimeout(0.2)
        with pytest.raises(TimeoutError):
            client.recv(1)
    finally:
        server.stop()
    # Stopping closed the server's end: the client now reads end-of-file.
    client.settimeout(5)
    assert client.recv(1) == b""
    client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, server.port), 2).close()


def test_silent_server_sees_a_client_close():
    server = SilentServer().start()
    try:
        client = socket.create_connection((server.host, server.port), 2)
        assert server.wait_for_connection(timeout=5)
        client.sendall(b"EHLO somebody\r\n")
        assert not server.wait_for_close(timeout=0.1)
        client.close()
        assert server.wait_for_close(timeout=5)
    finally:
        server.stop()


def test_memory_keyring_is_the_keyring(memory_keyring):
    assert isinstance(memory_keyring, MemoryKeyring)
    assert keyring.get_keyring() is memory_keyring
    keyring.set_password("svc", "user", PASSWORD)
    assert memory_keyring.passwords == {("svc", "user"): PASSWORD}


def test_no_keyring_fails_like_a_system_without_one(no_keyring):
    with pytest.raises(keyring.errors.NoKeyringError):
        keyring.get_password("svc", "user")
