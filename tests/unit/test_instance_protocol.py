"""The instance protocol: request lines and answers, without Qt."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.instance_protocol import (
    MAX_DRAFTS,
    PROTOCOL,
    ProtocolError,
    acknowledged,
    decode_request,
    encode_reply,
    encode_request,
)
from composer.mail.draft import Attachment, Draft

# --- the request -----------------------------------------------------------------------------


def test_request_round_trip() -> None:
    drafts = [
        Draft(
            to="ann@example.org",
            cc="Bob <bob@example.net>",
            bcc="c@x.org",
            subject="Grüße ✓",
            body="Line 1\nLine 2",
            in_reply_to="<a@b>",
            attachments=(Attachment(Path("/tmp/report.pdf")), Attachment(Path("/tmp/ü b.txt"))),
        ),
        Draft(),
    ]

    line = encode_request(drafts)

    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert line.isascii()
    assert decode_request(line.rstrip(b"\n")) == drafts


def test_a_request_names_its_protocol() -> None:
    assert json.loads(encode_request([]))["protocol"] == PROTOCOL == "composer-instance/1"


def test_decoding_ignores_unknown_keys_and_fills_missing_fields() -> None:
    line = json.dumps(
        {
            "protocol": "composer-instance/1",
            "future": True,
            "drafts": [{"subject": "Hi", "colour": "blue"}],
        }
    ).encode()

    assert decode_request(line) == [Draft(subject="Hi")]


def test_as_many_drafts_as_allowed_are_accepted() -> None:
    line = encode_request([Draft(subject=str(n)) for n in range(MAX_DRAFTS)])

    assert [d.subject for d in decode_request(line)] == [str(n) for n in range(MAX_DRAFTS)]


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"hello",
        b"\xff\xfe\x00garbage",
        b"[]",
        b"null",
        b'"composer-instance/1"',
        b"[" * 100_000,
        b'{"drafts": []}',
        b'{"protocol": "composer-instance/2", "drafts": []}',
        b'{"protocol": "composer-instance/1"}',
        b'{"protocol": "composer-instance/1", "drafts": {}}',
        b'{"protocol": "composer-instance/1", "drafts": [1]}',
        b'{"protocol": "composer-instance/1", "drafts": [{"to": 5}]}',
        b'{"protocol": "composer-instance/1", "drafts": [{"subject": null}]}',
        b'{"protocol": "composer-instance/1", "drafts": [{"subject": "\\udcff"}]}',
        b'{"protocol": "composer-instance/1", "drafts": [{"attachments": "/etc/passwd"}]}',
        b'{"protocol": "composer-instance/1", "drafts": [{"attachments": ["relative.txt"]}]}',
        b'{"protocol": "composer-instance/1", "drafts": [{"attachments": [""]}]}',
        b'{"protocol": "composer-instance/1", "drafts": [{"attachments": [7]}]}',
        b'{"protocol": "composer-instance/1", "drafts": [' + b"{}," * MAX_DRAFTS + b"{}]}",
    ],
)
def test_garbage_requests_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_request(line)


@settings(deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_give_drafts_or_protocol_error(line: bytes) -> None:
    try:
        drafts = decode_request(line)
    except ProtocolError:
        return  # the only exception allowed
    assert all(isinstance(draft, Draft) for draft in drafts)


# --- the answer ------------------------------------------------------------------------------


def test_an_accepting_reply_is_acknowledged() -> None:
    reply = encode_reply(True)

    assert reply.endswith(b"\n")
    assert reply.count(b"\n") == 1
    assert acknowledged(reply)


def test_a_refusal_is_not_acknowledged_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    reply = encode_reply(False, "request too large ✗")

    with caplog.at_level(logging.WARNING, logger="composer.instance_protocol"):
        assert not acknowledged(reply)

    assert reply.isascii()
    assert json.loads(reply) == {"ok": False, "error": "request too large ✗"}
    assert "request too large" in caplog.text


@pytest.mark.parametrize(
    "reply",
    [
        b"",
        b"\n",
        b"ok\n",
        b"\xff\n",
        b'{"ok": "yes"}\n',
        b'{"ok": 1}\n',
        b"[true]\n",
        b'\n{"ok": true}\n',  # only the first line is the answer
        b"[" * 100_000 + b"\n",
    ],
)
def test_anything_else_is_not_acknowledged(reply: bytes) -> None:
    assert not acknowledged(reply)


def test_only_the_first_line_of_a_reply_counts() -> None:
    assert acknowledged(encode_reply(True) + b"anything after the answer")
