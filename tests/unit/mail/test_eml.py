"""Save as .eml: the bytes that would be sent, and an old file kept whole on any failure."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

import composer
from composer.mail.accounts import Account
from composer.mail.draft import Attachment, Draft, InlineImage
from composer.mail.eml import write_eml
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import build_message

ACCOUNT = Account(
    id="work",
    name="Work",
    display_name="Ann Lee",
    email="ann@example.org",
    host="smtp.example.org",
    reply_to="team@example.org",
)
OLD = b"From: someone\r\nSubject: the message saved before\r\n\r\nkeep me\r\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
# Each build stamps its own Date and Message-ID and draws its own MIME boundaries.
_VARYING = re.compile(rb"^(?:Date|Message-ID): [^\r]*\r\n|={15}\d{19}==(?:\.\d+)?", re.MULTILINE)


def stable(message: bytes) -> bytes:
    return _VARYING.sub(b"", message)


def wire_bytes(draft: Draft) -> bytes:
    return build_message(draft, ACCOUNT.sender(), ACCOUNT.reply_to).as_bytes()


@pytest.fixture
def attachment(tmp_path: Path) -> Path:
    path = tmp_path / "files" / "Übersicht März.pdf"
    path.parent.mkdir()
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 300)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Where the .eml goes, holding nothing else."""
    path = tmp_path / "saved"
    path.mkdir()
    return path


def rich_draft(attachment: Path) -> Draft:
    return Draft(
        to="Bob <bob@example.net>",
        bcc="secret@example.com",
        subject="Bericht – März ✓",
        body="Hallo Bob,\n\nanbei der Bericht.\n",
        html='<p>Hallo <b>Bob</b>, <img src="cid:logo@composer"></p>',
        inline_images=(InlineImage("logo@composer", PNG, "image/png", "logo.png"),),
        attachments=(Attachment(attachment),),
    )


def test_a_plain_message_is_saved_as_it_would_be_sent(folder: Path) -> None:
    draft = Draft(to="bob@example.net", subject="Hi", body="Line one\nLine two")
    path = folder / "hi.eml"

    written = write_eml(draft, ACCOUNT, path)

    saved = path.read_bytes()
    assert written == len(saved)
    assert stable(saved) == stable(wire_bytes(draft))
    assert b"\r\nDate: " in saved
    assert b"\r\nMessage-ID: <" in saved


def test_attachments_and_images_are_saved_as_they_would_be_sent(
    folder: Path, attachment: Path
) -> None:
    draft = rich_draft(attachment)
    path = folder / "bericht.eml"

    written = write_eml(draft, ACCOUNT, path)

    saved = path.read_bytes()
    assert written == len(saved)
    assert stable(saved) == stable(wire_bytes(draft))
    assert b"multipart/mixed" in saved
    assert b"secret@example.com" not in saved  # Bcc stays out, as on the wire
    assert b"Reply-To: team@example.org\r\n" in saved
    assert [p.name for p in folder.iterdir()] == ["bericht.eml"]


def test_an_existing_file_is_replaced_whole(folder: Path) -> None:
    path = folder / "message.eml"
    path.write_bytes(OLD + b"x" * 100_000)

    written = write_eml(Draft(to="bob@example.net", subject="New"), ACCOUNT, path)

    assert path.stat().st_size == written
    assert b"Subject: New\r\n" in path.read_bytes()
    assert b"keep me" not in path.read_bytes()
    assert [p.name for p in folder.iterdir()] == ["message.eml"]


def test_a_vanished_attachment_keeps_the_old_file(folder: Path, attachment: Path) -> None:
    path = folder / "message.eml"
    path.write_bytes(OLD)
    draft = rich_draft(attachment)
    attachment.unlink()

    with pytest.raises(SendError) as raised:
        write_eml(draft, ACCOUNT, path)

    assert raised.value.kind is ErrorKind.FILE
    assert attachment.name in raised.value.message
    assert path.read_bytes() == OLD
    assert [p.name for p in folder.iterdir()] == ["message.eml"]


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux's /proc")
def test_an_attachment_that_changes_while_being_written_keeps_the_old_file(
    folder: Path,
) -> None:
    # A /proc file says it is empty when the message is built, then has text when read: the
    # failure comes only once the headers are already in the temporary file.
    path = folder / "message.eml"
    path.write_bytes(OLD)
    draft = Draft(to="bob@example.net", attachments=(Attachment(Path("/proc/self/status")),))

    with pytest.raises(SendError) as raised:
        write_eml(draft, ACCOUNT, path)

    assert raised.value.kind is ErrorKind.FILE
    assert "changed" in raised.value.message
    assert path.read_bytes() == OLD
    assert [p.name for p in folder.iterdir()] == ["message.eml"]


def test_a_folder_that_is_gone_is_a_file_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "gone" / "message.eml"

    with pytest.raises(SendError) as raised:
        write_eml(Draft(to="bob@example.net"), ACCOUNT, path)

    assert raised.value.kind is ErrorKind.FILE
    assert str(path) in raised.value.message
    assert list(tmp_path.iterdir()) == []


_FULL_DISK_CHILD = """
import json, resource, signal, sys
from pathlib import Path
from composer.mail.accounts import Account
from composer.mail.draft import Attachment, Draft
from composer.mail.eml import write_eml
from composer.mail.errors import SendError

# Writing past this size fails with EFBIG, as a full disk fails with ENOSPC.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))
draft = Draft(to="bob@example.net", attachments=(Attachment(Path(sys.argv[2])),))
try:
    write_eml(draft, Account(name="Work", email="ann@example.org"), Path(sys.argv[1]))
except SendError as error:
    print(json.dumps({"kind": error.kind.name, "message": error.message}))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a file size limit (POSIX rlimit)")
def test_a_write_that_fails_half_way_keeps_the_old_file(folder: Path, tmp_path: Path) -> None:
    path = folder / "message.eml"
    path.write_bytes(OLD)
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 1000)

    result = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_CHILD, str(path), str(big)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(Path(composer.__file__).resolve().parents[1])},
    )

    assert result.returncode == 0, result.stderr
    error = json.loads(result.stdout)
    assert error["kind"] == "FILE"
    assert str(path) in error["message"]
    assert path.read_bytes() == OLD
    assert [p.name for p in folder.iterdir()] == ["message.eml"]


def test_a_message_that_cannot_be_built_writes_nothing(folder: Path) -> None:
    with pytest.raises(SendError) as raised:
        write_eml(Draft(to="bob@example.net", subject="a\nBcc: x"), ACCOUNT, folder / "m.eml")

    assert raised.value.kind is ErrorKind.INVALID_MESSAGE
    assert list(folder.iterdir()) == []


def test_a_large_attachment_is_streamed_to_the_file(folder: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as file:
        file.truncate(20_000_000)
    path = folder / "big.eml"

    tracemalloc.start()
    try:
        written = write_eml(
            Draft(to="bob@example.net", attachments=(Attachment(big),)), ACCOUNT, path
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert written == path.stat().st_size > 27_000_000
    assert peak < 4_000_000, f"peak {peak} bytes"
