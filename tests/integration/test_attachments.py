"""Attachments, formatted bodies and inline images: built, sent to a real server, parsed back."""

from __future__ import annotations

import email.policy
import os
import random
import tempfile
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from composer.mail.accounts import Security
from composer.mail.draft import Attachment, Draft, InlineImage
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, build_message
from composer.mail.sizes import format_size
from composer.mail.transport import SmtpTransport
from tests.servers import PASSWORD, SmtpServer, account_for

SENDER = Address("Ann Lee", "ann", "example.org")
REPORT_NAME = "Übersicht März 2026 – Bericht.pdf"
BODY = "Hallo Bob,\n\nanbei der Bericht – schöne Grüße.\n\nAnn\n"
HTML = '<p>Hallo <b>Bob</b>, <a href="https://example.org/">hier</a> – Grüße</p>\n'
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A PDF-like file with a non-ASCII name."""
    path = tmp_path / REPORT_NAME
    path.write_bytes(b"%PDF-1.7\n" + random.Random(1).randbytes(40_000) + b"\n%%EOF\n")
    return path


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    """Every byte value, then a few hundred kB of random bytes."""
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) + random.Random(2).randbytes(300_000))
    return path


def draft_with(*attachments: Attachment, **fields: object) -> Draft:
    values: dict[str, object] = {
        "to": "Bob <bob@example.net>",
        "subject": "Bericht",
        "body": BODY,
        "attachments": attachments,
    }
    values.update(fields)
    return Draft(**values)  # type: ignore[arg-type]


def build(*attachments: Attachment, **fields: object) -> OutgoingMessage:
    return build_message(draft_with(*attachments, **fields), SENDER)


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def send(server: SmtpServer, outgoing: OutgoingMessage) -> None:
    account = account_for(server, Security.STARTTLS)
    SmtpTransport(account, PASSWORD).send(outgoing)


def text_of(part: EmailMessage) -> str:
    return str(part.get_content()).replace("\r\n", "\n")


def test_two_attachments_arrive_with_identical_bytes_and_names(smtp_server, report, binary):
    send(smtp_server, build(Attachment(report), Attachment(binary)))

    [raw] = smtp_server.raw
    message = parse(raw)
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert text_of(body) == BODY
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == [REPORT_NAME, "data.bin"]
    assert [a.get_content() for a in attachments] == [report.read_bytes(), binary.read_bytes()]
    assert [a.get_content_type() for a in attachments] == [
        "application/pdf",
        "application/octet-stream",
    ]


@pytest.mark.parametrize(
    ("name", "given"),
    [
        ("saved.eml", ""),
        ("forwarded", "message/rfc822"),
        ("x", "multipart/mixed"),
    ],
)
def test_a_message_file_arrives_byte_for_byte_as_a_plain_file(smtp_server, tmp_path, name, given):
    # message/* and multipart/* parts may not be base64 (RFC 2046), and the email package
    # would take such a part for a message of its own.
    saved = tmp_path / name
    saved.write_bytes(b"From: ann@example.org\r\nSubject: Old\r\n\r\nHello\r\n")

    send(smtp_server, build(Attachment(saved, content_type=given)))

    [attachment] = parse(smtp_server.raw[0]).iter_attachments()
    assert attachment.get_content_type() == "application/octet-stream"
    assert attachment.get_filename() == name
    assert attachment.get_content() == saved.read_bytes()


@pytest.mark.parametrize("recipient", ["bob@example.net", "jürgen@exämple.org"])
def test_non_ascii_file_name_is_rfc2231_encoded_for_every_parser(plain_server, report, recipient):
    # A non-ASCII recipient makes the message go out as SMTPUTF8; the name stays RFC 2231.
    account = account_for(plain_server, Security.NONE, username="")
    outgoing = build_message(draft_with(Attachment(report), to=recipient), account.sender())

    SmtpTransport(account, None).send(outgoing)

    [raw] = plain_server.raw
    assert b"filename*=utf-8''%C3%9Cbersicht%20M%C3%A4rz%202026%20%E2%80%93%20Bericht.pdf" in raw
    assert b"name*=utf-8''%C3%9Cbersicht" in raw  # on Content-Type, for clients that read that
    assert REPORT_NAME.encode() not in raw
    # The legacy API (compat32), as older clients parse, gets the same name.
    legacy = BytesParser().parsebytes(raw)
    parts = [p for p in legacy.walk() if p.get_content_disposition() == "attachment"]
    assert [p.get_filename() for p in parts] == [REPORT_NAME]
    assert parts[0].get_param("name") is not None
    assert _decoded(parts[0]) == report.read_bytes()


def _decoded(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def test_long_non_ascii_file_name_folds_and_round_trips(tmp_path):
    name = "Jahresabschluss – Übersicht der Maßnahmen für 2026, endgültige Fassung (ÄÖÜ) " * 2
    path = tmp_path / "report.pdf"
    path.write_bytes(b"x")

    outgoing = build(Attachment(path, filename=name.strip() + ".pdf"))

    data = outgoing.as_bytes()
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    [attachment] = parse(data).iter_attachments()
    assert attachment.get_filename() == name.strip() + ".pdf"
    [legacy] = [p for p in BytesParser().parsebytes(data).walk() if p.get_filename()]
    assert legacy.get_filename() == name.strip() + ".pdf"


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("report.pdf", "", "application/pdf"),
        ("photo.JPG", "", "image/jpeg"),
        ("notes.txt", "", "text/plain"),
        ("archive.tar.gz", "", "application/gzip"),
        ("no-extension", "", "application/octet-stream"),
        ("data.unknownext", "", "application/octet-stream"),
        ("table.dat", "text/csv", "text/csv"),
        ("table.dat", "Application/Vnd.MS-Excel", "application/vnd.ms-excel"),
    ],
)
def test_content_type_comes_from_the_attachment_or_its_name(tmp_path, name, given, expected):
    path = tmp_path / name
    path.write_bytes(b"content")

    [attachment] = parse(build(Attachment(path, content_type=given)).as_bytes()).iter_attachments()

    assert attachment.get_content_type() == expected
    assert _decoded(attachment) == b"content"


@pytest.mark.parametrize("given", ["pdf", "text/plain\r\nBcc: eve@example.net", "a/b c"])
def test_an_invalid_content_type_is_refused(report, given):
    with pytest.raises(SendError) as caught:
        build(Attachment(report, content_type=given))

    assert caught.value.kind is ErrorKind.INVALID_MESSAGE


def test_the_name_recipients_see_can_differ_from_the_files(report):
    outgoing = build(Attachment(report, filename="Bericht März.pdf"))

    [attachment] = parse(outgoing.as_bytes()).iter_attachments()
    assert attachment.get_filename() == "Bericht März.pdf"


def test_control_characters_in_a_file_name_cannot_break_the_header(tmp_path):
    path = tmp_path / "evil\nBcc: eve@example.net\r.txt"
    path.write_bytes(b"x")

    data = build(Attachment(path)).as_bytes()

    [attachment] = parse(data).iter_attachments()
    assert attachment.get_filename() == "evil_Bcc: eve@example.net_.txt"
    assert b"\nBcc" not in data


def test_an_undecodable_file_name_is_sent_readable(tmp_path):
    path = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.txt"))
    path.write_bytes(b"x")

    [attachment] = parse(build(Attachment(path)).as_bytes()).iter_attachments()

    assert attachment.get_filename() == "caf\N{REPLACEMENT CHARACTER}.txt"


def test_building_does_not_read_the_file(tmp_path):
    path = tmp_path / "later.bin"
    path.write_bytes(b"old content")
    stat = path.stat()
    outgoing = build(Attachment(path))

    # Same size and time stamp, other bytes: only what is read while streaming can show this.
    path.write_bytes(b"new content")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    [attachment] = parse(outgoing.as_bytes()).iter_attachments()
    assert attachment.get_content() == b"new content"


def test_a_plain_message_is_text_plain_only():
    message = parse(build().as_bytes())

    assert message.get_content_type() == "text/plain"
    assert not message.is_multipart()
    assert text_of(message) == BODY


def test_formatted_message_arrives_as_alternative_with_plain_part_first(smtp_server):
    send(smtp_server, build(html=HTML))

    [message] = smtp_server.received
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert text_of(plain) == BODY
    assert html.get_content_type() == "text/html"
    assert text_of(html) == HTML
    assert html.get_content_charset() == "utf-8"
    assert "MIME-Version" not in plain
    assert "MIME-Version" not in html


def test_inline_image_arrives_as_related_and_is_referenced_by_the_html(smtp_server):
    html = '<p>Look: <img src="cid:chart.1@composer"></p>\n'
    image = InlineImage("chart.1@composer", PNG, "image/png", "Diagramm ä.png")

    send(smtp_server, build(html=html, inline_images=(image,)))

    [message] = smtp_server.received
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.iter_parts()
    assert text_of(plain) == BODY
    assert related.get_content_type() == "multipart/related"
    html_part, image_part = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert image_part["Content-ID"] == "<chart.1@composer>"
    assert "cid:chart.1@composer" in text_of(html_part)
    assert image_part.get_content_disposition() == "inline"
    assert image_part.get_filename() == "Diagramm ä.png"
    assert image_part.get_content_type() == "image/png"
    assert image_part.get_content() == PNG


@pytest.mark.parametrize("cid", ["", "two words@x", "<a>b>@x", "ünï@x", "a@x\r\nBcc: e@x"])
def test_an_invalid_image_reference_is_refused(cid):
    image = InlineImage(cid, PNG)

    with pytest.raises(SendError) as caught:
        build(html="<p>x</p>", inline_images=(image,))

    assert caught.value.kind is ErrorKind.INVALID_MESSAGE


def test_formatted_message_with_image_and_attachments_nests_as_mixed(report, binary):
    image = InlineImage("<logo@composer>", PNG)

    message = parse(
        build(
            Attachment(report),
            Attachment(binary),
            html='<img src="cid:logo@composer">',
            inline_images=(image,),
        ).as_bytes()
    )

    assert message.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "application/pdf",
        "application/octet-stream",
    ]
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    assert [p["Content-ID"] for p in related.iter_parts()] == [None, "<logo@composer>"]
    assert [a.get_filename() for a in message.iter_attachments()] == [REPORT_NAME, "data.bin"]


def test_bcc_stays_out_of_a_message_with_attachments(report):
    outgoing = build(Attachment(report), bcc="Secret <dave@example.net>")

    assert b"dave" not in outgoing.as_bytes()
    assert "dave@example.net" in outgoing.envelope.recipients


def file_error(draft: Draft) -> SendError:
    with pytest.raises(SendError) as caught:
        build_message(draft, SENDER)
    assert caught.value.kind is ErrorKind.FILE
    return caught.value


def assert_names_file_and_says_what_to_do(error: SendError, name: str) -> None:
    assert name in error.message
    assert "unchanged" in error.message
    assert "attach the file again or remove it" in error.message


def test_a_missing_file_is_refused_when_building(tmp_path):
    error = file_error(draft_with(Attachment(tmp_path / "Gone – weg.pdf")))

    assert_names_file_and_says_what_to_do(error, "Gone – weg.pdf")
    assert "no longer exists" in error.message


def test_a_folder_is_refused_when_building(tmp_path):
    folder = tmp_path / "Fotos"
    folder.mkdir()

    error = file_error(draft_with(Attachment(folder)))

    assert_names_file_and_says_what_to_do(error, "Fotos")
    assert "folder" in error.message


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    error = file_error(draft_with(Attachment(fifo)))

    assert_names_file_and_says_what_to_do(error, "pipe")
    assert "not a regular file" in error.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_refused_when_building(report):
    report.chmod(0)
    try:
        error = file_error(draft_with(Attachment(report)))
    finally:
        report.chmod(0o600)

    assert_names_file_and_says_what_to_do(error, REPORT_NAME)
    assert "permission denied" in error.message


def test_a_file_that_vanished_before_sending_stops_before_connecting(smtp_server, report, binary):
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = build_message(draft_with(Attachment(binary), Attachment(report)), account.sender())
    report.unlink()

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).send(outgoing)

    assert caught.value.kind is ErrorKind.FILE
    assert_names_file_and_says_what_to_do(caught.value, REPORT_NAME)
    assert smtp_server.auth_attempts == []
    assert smtp_server.envelopes == []
    assert smtp_server.received == []


def test_a_pipe_put_in_place_of_the_file_is_refused_without_blocking(smtp_server, report):
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = build_message(draft_with(Attachment(report)), account.sender())
    report.unlink()
    os.mkfifo(report)

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).send(outgoing)

    assert caught.value.kind is ErrorKind.FILE
    assert "not a regular file" in caught.value.message
    with pytest.raises(SendError):
        outgoing.as_bytes()
    assert smtp_server.received == []


def test_a_file_that_changed_before_sending_is_refused(smtp_server, report):
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = build_message(draft_with(Attachment(report)), account.sender())
    with report.open("ab") as file:
        file.write(b"more")

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).send(outgoing)

    assert caught.value.kind is ErrorKind.FILE
    assert_names_file_and_says_what_to_do(caught.value, REPORT_NAME)
    assert smtp_server.received == []


def test_attachment_over_the_servers_size_limit_is_not_sent(smtp_server, binary):
    smtp_server.size_limit = 100_000
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = build_message(draft_with(Attachment(binary)), account.sender())
    size = outgoing.size()
    assert size > 400_000

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).send(outgoing)

    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert format_size(size) in caught.value.message
    assert format_size(100_000) in caught.value.message
    assert smtp_server.envelopes == []
    assert smtp_server.received == []


def test_attachment_over_the_accounts_size_limit_is_not_sent(smtp_server, binary):
    account = account_for(smtp_server, Security.STARTTLS, size_limit=300_000)
    outgoing = build_message(draft_with(Attachment(binary)), account.sender())

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).send(outgoing)

    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert format_size(outgoing.size()) in caught.value.message
    assert format_size(300_000) in caught.value.message
    assert smtp_server.auth_attempts == []


def test_size_limits_count_the_base64_size_on_the_wire(smtp_server, tmp_path):
    # 300 kB of file, about 410 kB on the wire: a limit between the two must refuse it.
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(300_000))
    account = account_for(smtp_server, Security.STARTTLS, size_limit=400_000)

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).send(
            build_message(draft_with(Attachment(path)), account.sender())
        )

    assert caught.value.kind is ErrorKind.TOO_LARGE


def test_a_name_in_quotes_or_brackets_is_escaped_not_dropped(tmp_path: Path) -> None:
    # What the parsers below cannot show: the quotes and brackets are on the wire.
    path = tmp_path / "file.bin"
    path.write_bytes(b"x")
    data = build(Attachment(path, filename='"a"'), Attachment(path, filename="<b>")).as_bytes()

    assert b'filename="\\"a\\""' in data
    assert b'filename="<b>"' in data


def _expected_name(name: str) -> str:
    """What recipients should see for name: control characters and line breaks as "_"."""
    breaks = "\x7f\x85\u2028\u2029"
    shown = "".join("_" if ord(c) < 32 or c in breaks else c for c in name)
    return shown.strip() or "attachment"


@settings(max_examples=200, deadline=None)
@given(name=st.text(min_size=1, max_size=150), utf8=st.booleans())
def test_any_file_name_arrives_as_given_in_both_parsers(name, utf8):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.bin"
        path.write_bytes(b"\x00\xff")
        to = "jürgen@exämple.org" if utf8 else "bob@example.net"
        data = build(Attachment(path, filename=name), to=to).as_bytes()

    expected = _expected_name(name)
    # Python's parser (email.utils.unquote, once more after the header's own quoting is
    # undone) drops the brackets of a "<…>" value and the quotes of a '"…"' one; the wire
    # holds them, escaped as RFC 2045 says: filename="\"a\"".
    wrapped = len(expected) > 1 and (expected[0], expected[-1]) in (("<", ">"), ('"', '"'))
    assume(not wrapped)
    [attachment] = parse(data).iter_attachments()
    assert attachment.get_filename() == expected
    assert _decoded(attachment) == b"\x00\xff"
    [legacy] = [p for p in BytesParser().parsebytes(data).walk() if p.get_filename()]
    assert legacy.get_filename() == expected
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
