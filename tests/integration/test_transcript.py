"""The SMTP transcript against real servers: the whole conversation, no secret, no message."""

from __future__ import annotations

import base64
import logging

import pytest

from composer.mail.accounts import Security
from composer.mail.draft import Draft
from composer.mail.errors import SendError
from composer.mail.message import build_message
from composer.mail.transcript import MAX_LINE_CHARS, Direction, Transcript
from composer.mail.transport import SmtpTransport
from tests.servers import (
    PASSWORD,
    USERNAME,
    SmtpServer,
    account_for,
    running,
    server_tls_context,
    starttls_server,
)

BODY = "The quarterly numbers, strictly private.\n"
SUBJECT = "Private subject line"


def secret_forms(username: str = USERNAME, password: str = PASSWORD) -> list[str]:
    """The password as it could leak: itself, PLAIN's base64 and LOGIN's base64."""
    plain = f"\0{username}\0{password}".encode()
    return [
        password,
        base64.b64encode(plain).decode(),
        base64.b64encode(password.encode()).decode(),
    ]


def leaks(text: str) -> list[str]:
    return [s for s in (*secret_forms(), BODY.strip(), SUBJECT) if s in text]


def checked(server: SmtpServer, security: Security = Security.STARTTLS) -> Transcript:
    transcript = Transcript()
    SmtpTransport(account_for(server, security), PASSWORD, transcript=transcript).check()
    return transcript


def test_a_check_records_the_whole_conversation_with_the_login_hidden(smtp_server):
    transcript = checked(smtp_server)

    lines = [(line.direction, line.text) for line in transcript.lines()]
    said = [text.lower() for direction, text in lines if direction is Direction.SENT]
    heard = [text for direction, text in lines if direction is Direction.RECEIVED]
    assert [s.split()[0] for s in said] == ["ehlo", "starttls", "ehlo", "auth", "quit"]
    assert "auth plain <hidden>" in said
    assert heard[0].startswith("220 ")
    assert any(text.startswith("250-") for text in heard)  # multi-line EHLO reply kept whole
    assert any(text.startswith("235 ") for text in heard)
    assert heard[-1].startswith("221 ")
    notes = [text for direction, text in lines if direction is Direction.NOTE]
    assert notes[0] == f"connecting to 127.0.0.1 port {smtp_server.port}"
    assert any(note.startswith("secured with TLSv1.") for note in notes)
    assert leaks(transcript.text()) == []


def test_a_check_over_implicit_tls_is_secured_before_the_greeting(smtps_server):
    transcript = checked(smtps_server, Security.SSL_TLS)

    texts = [line.text for line in transcript.lines()]
    assert texts[1].startswith("secured with TLSv1.")
    assert texts[2].startswith("220 ")
    assert "AUTH PLAIN <hidden>" in texts
    assert leaks(transcript.text()) == []


def test_a_login_in_several_rounds_hides_every_answer(tls_ca):
    server = starttls_server(server_tls_context(tls_ca), auth_exclude_mechanism=["PLAIN"])
    with running(server):
        transcript = checked(server)

    texts = [line.text for line in transcript.lines()]
    start = texts.index("AUTH LOGIN")
    assert texts[start + 1].startswith("334 ")  # the server's challenge may be shown
    assert texts[start + 2 : start + 5 : 2] == ["<hidden>", "<hidden>"]
    assert server.auth_attempts == [(USERNAME, PASSWORD)]
    assert base64.b64encode(USERNAME.encode()).decode() not in transcript.text()
    assert leaks(transcript.text()) == []


def test_a_failed_login_is_recorded_without_the_password(smtp_server):
    transcript = Transcript()
    account = account_for(smtp_server, Security.STARTTLS)

    with pytest.raises(SendError):
        SmtpTransport(account, "wrong-horse", transcript=transcript).check()

    assert any(line.text.startswith("535 ") for line in transcript.lines())
    assert "wrong-horse" not in transcript.text()
    assert base64.b64encode(f"\0{USERNAME}\0wrong-horse".encode()).decode() not in transcript.text()


def test_a_send_records_the_envelope_but_never_the_message(smtp_server):
    transcript = Transcript()
    account = account_for(smtp_server, Security.STARTTLS)
    draft = Draft(to="bob@example.net", subject=SUBJECT, body=BODY)
    message = build_message(draft, account.sender())

    SmtpTransport(account, PASSWORD, transcript=transcript).send(message)

    texts = [line.text for line in transcript.lines()]
    assert any(t.lower().startswith("mail from:<ann@example.org>") for t in texts)
    assert any(t.lower().startswith("rcpt to:<bob@example.net>") for t in texts)
    data = [t.lower() for t in texts].index("data")
    assert texts[data + 1].startswith("354 ")
    assert texts[data + 2] == f"<message body, {message.size():,} bytes, not shown>"
    assert texts[data + 3] == "."
    assert texts[data + 4].startswith("250 ")
    assert leaks(transcript.text()) == []
    assert smtp_server.received[0]["Subject"] == SUBJECT


def test_the_conversation_goes_to_the_debug_log(smtp_server, caplog):
    with caplog.at_level(logging.DEBUG, logger="composer.smtp"):
        send_plain = SmtpTransport(account_for(smtp_server, Security.STARTTLS), PASSWORD)
        send_plain.check()

    logged = [r.getMessage() for r in caplog.records if r.name == "composer.smtp"]
    prefix = f"127.0.0.1:{smtp_server.port}"
    assert all(line.startswith(prefix) for line in logged[1:])
    assert f"{prefix} C: AUTH PLAIN <hidden>" in logged
    assert leaks("\n".join(logged)) == []
    # A transport given no transcript keeps nothing in memory.
    assert send_plain.transcript.lines() == ()


def test_nothing_is_logged_above_debug_level(smtp_server, caplog):
    with caplog.at_level(logging.INFO, logger="composer.smtp"):
        checked(smtp_server)

    assert [r for r in caplog.records if r.name == "composer.smtp"] == []


def test_server_text_cannot_forge_lines_or_grow_without_bound():
    transcript = Transcript()

    transcript.add(Direction.RECEIVED, "250 ok\r\n2026-01-01 C: AUTH PLAIN c2VjcmV0\x1b[2J")
    transcript.add(Direction.RECEIVED, "x" * (MAX_LINE_CHARS * 5))

    first, second = (line.text for line in transcript.lines())
    assert first == "250 ok\\x0d\\x0a2026-01-01 C: AUTH PLAIN c2VjcmV0\\x1b[2J"
    assert len(second) < MAX_LINE_CHARS + 40
    assert len(transcript.text().splitlines()) == 2
