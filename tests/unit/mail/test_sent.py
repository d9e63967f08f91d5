"""The Sent folder: exact bytes, what the server said (made safe), junk files skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address
from pathlib import Path

import pytest

from composer.mail.draft import Attachment, Draft
from composer.mail.message import OutgoingMessage, build_message
from composer.mail.progress import SendResult
from composer.mail.sent import SentFolder, json_headers, json_value
from composer.mail.store import MessageFolder, StoreError, new_key, split_composer_headers

SENDER = Address("Ann Lee", "ann", "example.org")


def build(tmp_path: Path, **fields: object) -> OutgoingMessage:
    values: dict[str, object] = {"to": "bob@example.net", "subject": "Hello", "body": "Hi\n"}
    values.update(fields)
    return build_message(Draft(**values), SENDER)  # type: ignore[arg-type]


def result_for(message: OutgoingMessage, **fields: object) -> SendResult:
    values: dict[str, object] = {
        "host": "smtp.example.org",
        "message_id": message.message_id,
        "accepted": message.envelope.recipients,
        "reply": "250 2.0.0 Ok: queued as 4F2A",
        "sent_at": "Tue, 04 Mar 2025 10:00:00 +0000",
    }
    values.update(fields)
    return SendResult(**values)  # type: ignore[arg-type]


@pytest.fixture
def sent(tmp_path: Path) -> SentFolder:
    return SentFolder(MessageFolder(tmp_path / "Sent"))


def test_record_keeps_the_exact_bytes_of_a_message_with_attachments(
    tmp_path: Path, sent: SentFolder
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 4000)  # 1 MB, many 64 KiB pieces
    message = build(
        tmp_path,
        subject="Grüße .dot",
        body=".leading dot\n" * 10,
        attachments=(Attachment(big), Attachment(big, "copy.bin")),
    )
    key = sent.record(message, result_for(message), account_id="acc-1")
    assert sent.message_bytes(key) == message.as_bytes()
    [summary] = sent.summaries()
    assert summary.key == key
    assert summary.subject == "Grüße .dot"
    assert summary.to == "bob@example.net"
    assert summary.server == "smtp.example.org"
    assert summary.reply == "250 2.0.0 Ok: queued as 4F2A"
    assert summary.sent_at == "Tue, 04 Mar 2025 10:00:00 +0000"
    assert summary.size == message.size()
    assert summary.account_id == "acc-1"
    assert summary.message_id == message.message_id
    assert summary.accepted == ("bob@example.net",)


def test_given_key_is_used_and_file_is_where_the_record_is(sent: SentFolder) -> None:
    message = build(Path())
    key = new_key()
    assert sent.record(message, result_for(message), account_id="a", key=key) == key
    assert sent.exists(key)
    assert sent.file(key).read_bytes().endswith(message.as_bytes())
    sent.remove(key)
    assert not sent.exists(key)
    assert sent.summaries() == []


def test_server_text_is_made_printable_ascii_in_the_file(sent: SentFolder) -> None:
    message = build(Path())
    hostile = "250 ok\r\nX-Composer-Format: evil\x1b[31m\u202e ünïcode"
    result = result_for(
        message,
        reply=hostile,
        host="smtp\nexample",
        refused={"eve@example.net": (550, "no\r\nsuch\x00user")},
        accepted=("bob@example.net",),
    )
    key = sent.record(message, result, account_id="a")
    raw = sent.file(key).read_bytes()
    with sent.file(key).open("rb") as stream:
        _values, offset = split_composer_headers(stream)
    head = raw[:offset]
    assert all(32 <= byte < 127 for byte in head.replace(b"\r\n", b""))
    assert raw[offset:] == message.as_bytes()  # the server's text started no header
    [summary] = sent.summaries()
    assert summary.reply.startswith("250 ok X-Composer-Format: evil")
    assert "\n" not in summary.reply
    assert "\x1b" not in summary.reply
    assert "\u202e" not in summary.reply
    assert summary.server == "smtp example"
    assert summary.refused == {"eve@example.net": (550, "no such user")}


def test_summaries_are_newest_first_by_sent_time(sent: SentFolder) -> None:
    message = build(Path())
    times = [
        "Tue, 04 Mar 2025 10:00:00 +0000",
        "Tue, 04 Mar 2025 12:00:00 +0000",
        "Tue, 04 Mar 2025 11:00:00 +0100",  # 10:00 UTC, written later
    ]
    keys = [sent.record(message, result_for(message, sent_at=t), account_id="a") for t in times]
    assert [s.key for s in sent.summaries()] == [keys[1], keys[2], keys[0]]


def test_missing_sent_time_is_taken_from_the_clock(tmp_path: Path) -> None:
    when = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    sent = SentFolder(MessageFolder(tmp_path), clock=lambda: when)
    message = build(tmp_path)
    sent.record(message, result_for(message, sent_at=""), account_id="a")
    assert sent.summaries()[0].sent_at == "Tue, 04 Mar 2025 09:30:00 +0000"


def test_bcc_only_message_lists_its_envelope_recipients(sent: SentFolder) -> None:
    message = build(Path(), to="", bcc="carl@example.net, dora@example.net")
    sent.record(message, result_for(message), account_id="a")
    assert sent.summaries()[0].to == "carl@example.net, dora@example.net"


def test_junk_files_are_skipped_and_never_crash(sent: SentFolder) -> None:
    message = build(Path())
    good = sent.record(message, result_for(message), account_id="a")
    folder = sent.folder
    foreign, truncated, bad_json, empty = new_key(), new_key(), new_key(), new_key()
    folder.write(foreign, [b"From: x@example.org\r\nSubject: not ours\r\n\r\nbody\r\n"])
    full = folder.read(good)
    folder.write(truncated, [full[:60]])  # cut inside Composer's own lines
    folder.write(bad_json, [b"X-Composer-Format: sent-1\r\nX-Composer-Subject: {nope\r\n\r\n"])
    folder.write(empty, [b""])
    (folder.path / "notes.txt").write_text("hello")
    (folder.path / "Weird Name.eml").write_bytes(b"\xff\xfe")
    assert [s.key for s in sent.summaries()] == [good]
    with pytest.raises(StoreError):
        sent.message_bytes(foreign)
    with pytest.raises(StoreError):
        sent.message_bytes(new_key())


def test_long_fields_round_trip_through_several_lines(sent: SentFolder) -> None:
    recipients = ", ".join(f"person{i} with space <p{i}@example.net>" for i in range(400))
    message = build(Path(), to=recipients)
    key = sent.record(message, result_for(message), account_id="a")
    [summary] = sent.summaries()
    assert len(summary.accepted) == 400
    assert summary.accepted == message.envelope.recipients
    assert sent.message_bytes(key) == message.as_bytes()


@pytest.mark.parametrize(
    "value",
    ["", " leading and trailing ", "x" * 9000, ["a b"] * 3000, {"k": [1, " v "]}, "\r\n\x00"],
)
def test_json_headers_round_trip(value: object) -> None:
    values = json_headers({"Field": value})
    assert all(len(v) <= 4000 and v == v.strip() for v in values.values())
    assert json_value(values, "Field") == value
