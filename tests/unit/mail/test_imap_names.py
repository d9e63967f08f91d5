"""IMAP folder names: modified UTF-7 both ways, quoting, and LIST replies read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from composer.mail.imap_names import (
    FolderNameError,
    decode_folder,
    encode_folder,
    parse_list,
    quoted,
    sent_folder,
)


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("Sent", "Sent"),
        ("Envoyés", "Envoy&AOk-s"),
        ("Gesendete Objekte", "Gesendete Objekte"),
        ("Tom & Jerry", "Tom &- Jerry"),
        ("送信済み", "&kAFP4W4IMH8-"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501's example
    ],
)
def test_folder_names_go_in_modified_utf7(name: str, wire: str) -> None:
    assert encode_folder(name) == wire
    assert decode_folder(wire) == name


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_any_name_comes_back_as_it_went(name: str) -> None:
    wire = encode_folder(name)
    assert wire.isascii()
    assert decode_folder(wire) == name


@pytest.mark.parametrize("wire", ["&AOk", "&Jjo!-", "&AO-"])
def test_what_is_not_modified_utf7_is_refused(wire: str) -> None:
    with pytest.raises(FolderNameError):
        decode_folder(wire)


def test_quoting_escapes_and_refuses_line_breaks() -> None:
    assert quoted('Say "hi" \\ there') == '"Say \\"hi\\" \\\\ there"'
    with pytest.raises(FolderNameError):
        quoted("Sent\r\nA1 DELETE INBOX")


def test_list_replies_are_read_in_each_form_a_name_takes() -> None:
    data: list[bytes | tuple[bytes, bytes] | None] = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasNoChildren \\Sent) "/" "Sent Items"',
        (b'(\\Drafts) "/" {6}', b"Drafts"),
        b'(\\Noselect) NIL "Envoy&AOk-s"',
        b"garbage",
        None,
    ]

    folders = parse_list(data)

    assert [f.wire for f in folders] == ["INBOX", "Sent Items", "Drafts", "Envoy&AOk-s"]
    assert folders[3].name == "Envoyés"
    marked = sent_folder(folders)
    assert marked is not None
    assert marked.wire == "Sent Items"
    assert sent_folder(folders[:1]) is None
