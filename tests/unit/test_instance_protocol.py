"""The instance protocol: socket names, request lines and answers, without Qt."""

from __future__ import annotations

import getpass
import json
import logging
import os
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
    instance_name,
)
from composer.mail.draft import Attachment, Draft

# --- the socket name -------------------------------------------------------------------------


def test_name_depends_on_the_resolved_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir()
    (tmp_path / "link").symlink_to(one)

    name = instance_name(one)

    assert name == instance_name(tmp_path / "other" / ".." / "one")
    assert name == instance_name(tmp_path / "link")
    assert name != instance_name(other)
    assert name.startswith("composer-")
    assert "/" not in name
    assert len(name) < 60


def test_name_is_in_the_private_runtime_dir_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))

    name = instance_name(tmp_path / "config")

    assert Path(name).parent == runtime
    assert Path(name).name.startswith("composer-")


@pytest.mark.parametrize("runtime", ["relative/run", "/no/such/runtime/dir", ""])
def test_a_runtime_dir_that_is_not_an_absolute_folder_is_not_used(
    runtime: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)

    name = instance_name(tmp_path)

    assert "/" not in name
    assert name.startswith("composer-")


def test_the_name_tells_users_apart_with_file_name_safe_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    # getpass reads these before asking the system for the name of the uid.
    monkeypatch.setenv("LOGNAME", "Ann Müller/../x" + "y" * 40)

    name = instance_name(tmp_path)

    monkeypatch.setenv("LOGNAME", "bob")
    assert name != instance_name(tmp_path)
    user = name.removeprefix("composer-").rsplit("-", 1)[0]
    assert user == ("Ann_M_ller_.._x" + "y" * 40)[:32]


def test_a_user_without_a_name_is_told_apart_by_uid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)

    def no_name() -> str:
        raise KeyError("getpwuid(): uid not found: 4242")  # what getpass raises in a container

    monkeypatch.setattr(getpass, "getuser", no_name)

    name = instance_name(tmp_path)

    assert name.startswith(f"composer-{os.getuid()}-")


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
        b'{"protocol": "composer-instance/1", "drafts": [' + b"{}," * 50 + b"{}]}",
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
