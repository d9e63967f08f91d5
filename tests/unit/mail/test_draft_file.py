"""Drafts as .eml: field-for-field round trips, copies of attachments, and damaged files."""

from __future__ import annotations

import contextlib
import email.policy
import os
import sys
import tracemalloc
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer.mail import draft_file
from composer.mail.bodies import encode_lines
from composer.mail.draft import Attachment, Draft, InlineImage
from composer.mail.draft_file import (
    DraftFileError,
    LoadedDraft,
    decode_draft,
    draft_from_message,
    encode_draft,
)
from composer.mail.drafts import DraftStore
from composer.mail.message import build_message
from composer.mail.store import MessageFolder

# Every example may share tmp_path: each decodes into a folder of its own or reuses a copy.
TMP_PATH_OK = [HealthCheck.function_scoped_fixture]
SENDER = Address("Ann Lee", "ann", "example.org")
SAVED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
HOSTILE = [
    "",
    "bob@",
    "Ann <ann@x, ",
    " , ,bob@example.org,, ",
    '"Lee, Ann" <ann@example.org>; "unterminated',
    "  Zoë Ünïcødé <zoe@example.org>  ",
    "日本語 <nihon@example.jp>, ",
    "x" * 5000,
    "a\r\nBcc: evil@example.com",
    "a\nSubject: injected",
    "a\rX-Evil: 1",
    "nul\0here",
    "=?utf-8?q?encoded?= words",
    "\u2028line\u2029separators\x85",
]


KNOWN_HEADERS = {
    b"X-Composer-Draft",
    b"X-Composer-Account",
    b"X-Composer-In-Reply-To",
    b"X-Composer-Typed-To",
    b"X-Composer-Typed-Cc",
    b"X-Composer-Typed-Bcc",
    b"X-Composer-Typed-Subject",
    b"X-Composer-Attachment",
    b"X-Composer-Size",
    b"From",
    b"To",
    b"Cc",
    b"Bcc",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"User-Agent",
    b"Content-Type",
    b"Content-Transfer-Encoding",
}


def encode(draft: Draft, sender: Address | None = SENDER) -> bytes:
    return encode_draft(draft, sender=sender, message_id="<d1@example.org>", saved_at=SAVED_AT)


def round_trip(draft: Draft, files_dir: Path) -> LoadedDraft:
    return decode_draft(encode(draft), files_dir=files_dir)


def parsed(data: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4\n" + os.urandom(3000))
    return path


@pytest.mark.parametrize("text", HOSTILE)
def test_typed_fields_come_back_exactly(tmp_path: Path, text: str) -> None:
    draft = Draft("acc", to=text, cc=text, bcc=text, subject=text, in_reply_to=text)
    loaded = round_trip(draft, tmp_path)
    assert loaded.draft == draft
    assert loaded.message_id == "<d1@example.org>"
    assert loaded.saved_at == SAVED_AT
    assert loaded.problems == ()


@pytest.mark.parametrize("text", HOSTILE)
def test_no_value_injects_a_header(tmp_path: Path, text: str) -> None:
    image = InlineImage(text, b"x", text, text)
    attachment = Attachment(tmp_path / text.replace("\0", "").replace("/", "_")[:200], text, text)
    draft = Draft(text, text, text, text, text, text, text, (attachment,), (image,), text)
    data = encode(draft)
    head = data.partition(b"\r\n\r\n")[0]
    for line in head.split(b"\r\n"):
        assert line[:1] in (b" ", b"\t") or line.split(b":")[0] in KNOWN_HEADERS, line
    for part in parsed(data).walk():
        names = [name.lower() for name in part]
        assert "x-evil" not in names
        assert all(names.count(name) == 1 for name in names if name != "x-composer-attachment")
        assert not part.defects
    assert b"\0" not in data
    assert b"\r" not in data.replace(b"\r\n", b"")  # no bare CR ...
    assert b"\n" not in data.replace(b"\r\n", b"")  # ... nor bare LF
    assert decode_draft(data, files_dir=tmp_path / "f").draft.subject == text


address_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    HOSTILE
)
any_text = st.text(max_size=300) | st.sampled_from(HOSTILE)


@settings(max_examples=150, deadline=None, suppress_health_check=TMP_PATH_OK)
@given(
    account=any_text,
    to=address_text,
    cc=address_text,
    bcc=address_text,
    subject=any_text,
    body=any_text,
    html=any_text,
    in_reply_to=any_text,
)
def test_every_text_field_round_trips(
    tmp_path: Path,
    account: str,
    to: str,
    cc: str,
    bcc: str,
    subject: str,
    body: str,
    html: str,
    in_reply_to: str,
) -> None:
    draft = Draft(account, to, cc, bcc, subject, body, html, in_reply_to=in_reply_to)
    assert round_trip(draft, tmp_path).draft == draft


@pytest.mark.parametrize(
    "body",
    [
        "",
        "no newline at the end",
        "one newline\n",
        "\n\n\n",
        "From the start\n.\n..\n. \nFrom  again",
        "trailing spaces   \ntabs\t\t\nend",
        "y" * 5000 + "\n" + "ü" * 3000,
        "windows\r\nmac\rboth\r\n\r",
        "=3D not an escape =\n=",
        "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\x01",
        "👩‍💻 \udcff lone surrogate",
    ],
)
def test_bodies_come_back_exactly(tmp_path: Path, body: str) -> None:
    draft = Draft(body=body, html=f"<p>{body}</p>")
    assert round_trip(draft, tmp_path).draft == draft


def test_text_without_cr_stays_readable_in_the_file() -> None:
    data = encode(Draft(subject="Hi", body="Hello Bob,\nsee you.\n"))
    assert b"Hello Bob,\r\nsee you.\r\n" in data


def test_lines_in_the_file_are_short(tmp_path: Path, report: Path) -> None:
    draft = Draft(
        to=", ".join(f"Person {i} <p{i}@example.org>" for i in range(60)),
        subject="s" * 3000,
        body="b" * 5000,
        html="h" * 5000,
        attachments=(Attachment(tmp_path / ("long" * 60) / "x.pdf"), Attachment(report)),
        inline_images=(InlineImage("i1", PNG * 100),),
    )
    data = encode(draft)
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert decode_draft(data, files_dir=tmp_path / "f").draft.subject == draft.subject


def test_formatting_and_inline_images_come_back_byte_exact(tmp_path: Path) -> None:
    images = (
        InlineImage("img1@composer", PNG, "image/png", "chart.png"),
        InlineImage("img2", b"GIF89a\x00\xff", "image/gif", ""),
    )
    draft = Draft(
        body="Bold text",
        html='<p><b>Bold</b> text<img src="cid:img1@composer"><img src="cid:img2"></p>',
        inline_images=images,
    )
    data = encode(draft)
    assert round_trip(draft, tmp_path).draft == draft
    message = parsed(data)
    html = message.get_body(("html",))
    assert html is not None
    assert html.get_content().startswith("<p><b>Bold</b>")
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    image_parts = list(related.iter_parts())[1:]
    assert [p["Content-ID"] for p in image_parts] == ["<img1@composer>", "<img2>"]
    assert image_parts[0].get_content() == PNG
    assert image_parts[0].get_filename() == "chart.png"


def test_an_unusable_cid_is_kept_exactly_but_not_in_content_id(tmp_path: Path) -> None:
    draft = Draft(body="x", html="<img>", inline_images=(InlineImage("a b<c>", PNG),))
    data = encode(draft)
    assert b"Content-ID: <a b<c>>" not in data
    assert round_trip(draft, tmp_path).draft == draft


def test_the_draft_opens_as_a_normal_message(tmp_path: Path, report: Path) -> None:
    draft = Draft(
        to='"Lee, Bob" <bob@example.net>, bob@, Zoë <zoe@example.org>',
        cc="carl@example.net",
        bcc="dan@example.net",
        subject="  Quarterly report ✓ ",
        body="See attached.\n",
        attachments=(Attachment(report, "Q1 report.pdf", "application/pdf"),),
    )
    message = parsed(encode(draft))
    # Leading spaces are not part of a header's value; the typed copy keeps them.
    assert message["Subject"] == "Quarterly report ✓ "
    assert [a.addr_spec for a in message["To"].addresses] == ["bob@example.net", "zoe@example.org"]
    assert message["From"].addresses[0].addr_spec == "ann@example.org"
    assert message["Cc"] == "carl@example.net"
    assert message["Bcc"] == "dan@example.net"
    assert message["Message-ID"] == "<d1@example.org>"
    assert message["Date"].datetime == SAVED_AT
    assert message["MIME-Version"] == "1.0"
    assert message["X-Composer-Draft"] == "1"
    # The file has CRLF line ends, which Python's parser leaves in the text.
    assert message.get_body(("plain",)).get_content() == "See attached.\r\n"
    (attached,) = message.iter_attachments()
    assert attached.get_filename() == "Q1 report.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_content() == report.read_bytes()
    assert not message.defects


def test_without_a_sender_there_is_no_from(tmp_path: Path) -> None:
    data = encode(Draft("acc", to="bob@example.net"), sender=None)
    assert "From" not in parsed(data)
    assert round_trip(Draft("acc", to="bob@example.net"), tmp_path).draft.account_id == "acc"


def test_a_copied_attachment_survives_the_file_moving(tmp_path: Path, report: Path) -> None:
    original = report.read_bytes()
    draft = Draft(body="x", attachments=(Attachment(report, "Q1 ✓.pdf", "application/pdf"),))
    data = encode(draft)
    report.rename(tmp_path / "moved.pdf")
    files_dir = tmp_path / "files" / "key"
    loaded = decode_draft(data, files_dir=files_dir)
    (restored,) = loaded.draft.attachments
    assert restored.path.parent == files_dir
    assert restored.path.read_bytes() == original
    assert restored.filename == "Q1 ✓.pdf"
    assert restored.content_type == "application/pdf"
    assert loaded.problems == ()
    assert (files_dir.stat().st_mode & 0o777) == 0o700
    # Loading again reuses the copy rather than making another.
    assert decode_draft(data, files_dir=files_dir).draft.attachments == (restored,)
    assert len(list(files_dir.iterdir())) == 1


@given(st.integers(min_value=0, max_value=3 * draft_file._BASE64_PIECE + 200))
@settings(max_examples=200)
def test_the_size_line_counts_the_copies_exactly(size: int) -> None:
    assert draft_file._encoded_length(size) == len(encode_lines(bytes(size)))


def test_saving_holds_a_large_copy_once(tmp_path: Path) -> None:
    """The copy's base64 is made a piece at a time as the file is written: building the
    whole message first held some 4 times the file while a draft was saved."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4_000_000))
    draft = Draft(body="x", attachments=(Attachment(big),))
    store = DraftStore(MessageFolder(tmp_path / "Drafts"))
    tracemalloc.start()
    try:
        store.save("k1", draft, sender=SENDER, message_id="<d1@example.org>", saved_at=SAVED_AT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 4_000_000  # 15 MB when the whole message was built first
    big.rename(tmp_path / "moved.bin")
    loaded = store.load("k1")
    assert loaded.draft.attachments[0].path.read_bytes() == (tmp_path / "moved.bin").read_bytes()
    assert loaded.problems == ()


def test_an_attachment_still_in_place_is_referenced(tmp_path: Path, report: Path) -> None:
    draft = Draft(body="x", attachments=(Attachment(report),))
    loaded = round_trip(draft, tmp_path / "files")
    assert loaded.draft == draft
    assert not (tmp_path / "files").exists()


def test_a_file_changed_since_the_save_comes_back_as_saved(tmp_path: Path, report: Path) -> None:
    original = report.read_bytes()
    data = encode(Draft(body="x", attachments=(Attachment(report),)))
    report.write_bytes(b"new version, another size")
    loaded = decode_draft(data, files_dir=tmp_path / "files")
    assert loaded.draft.attachments[0].path.read_bytes() == original
    assert "report.pdf changed since the draft was saved" in loaded.problems[0]


def test_a_file_over_the_limit_is_only_referenced(
    tmp_path: Path, report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(draft_file, "COPY_LIMIT", report.stat().st_size - 1)
    small = tmp_path / "small.txt"
    small.write_bytes(b"small")
    draft = Draft(body="x", attachments=(Attachment(report), Attachment(small)))
    data = encode(draft)
    assert report.read_bytes()[:30] not in parsed(data).as_bytes()
    assert len(list(parsed(data).iter_attachments())) == 1
    assert round_trip(draft, tmp_path / "f").draft == draft  # still there: referenced
    report.unlink()
    small.unlink()
    loaded = decode_draft(data, files_dir=tmp_path / "files")
    assert [a.path.read_bytes() for a in loaded.draft.attachments] == [b"small"]
    assert loaded.problems == (
        f"report.pdf was moved or deleted since the draft was saved (it was {report}), "
        "and it was too large to keep a copy of. Attach it again.",
    )


def test_copies_stop_at_the_total_first_come_first_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(draft_file, "COPY_LIMIT", 100)
    monkeypatch.setattr(draft_file, "COPY_TOTAL", 150)
    paths = []
    for name, size in (("a", 60), ("b", 100), ("c", 90), ("d", 0)):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(name.encode() * size)
    data = encode(Draft(body="x", attachments=tuple(Attachment(p) for p in paths)))
    for path in paths:
        path.unlink()
    loaded = decode_draft(data, files_dir=tmp_path / "files")
    assert [a.filename for a in loaded.draft.attachments] == ["a", "c", "d"]
    assert [a.path.read_bytes() for a in loaded.draft.attachments] == [b"a" * 60, b"c" * 90, b""]
    (problem,) = loaded.problems
    assert problem.startswith("b was moved or deleted")
    assert "no room left" in problem


@pytest.mark.skipif(sys.platform == "win32", reason="needs symbolic links")
def test_an_unreadable_attachment_does_not_stop_the_save(tmp_path: Path, report: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.symlink_to(locked)  # a loop: there, but no one can open it
    missing = tmp_path / "missing.txt"
    attachments = (Attachment(locked), Attachment(missing), Attachment(report))
    draft = Draft(body="x", attachments=attachments)
    data = encode(draft)
    locked.unlink()
    locked.write_bytes(b"readable now")
    assert round_trip(draft, tmp_path / "f").draft.attachments[0] == Attachment(locked)
    locked.unlink()
    report.unlink()
    loaded = decode_draft(data, files_dir=tmp_path / "files")
    assert [a.filename for a in loaded.draft.attachments] == ["report.pdf"]
    assert "locked.txt was moved or deleted" in loaded.problems[0]
    assert "could not be read when the draft was saved" in loaded.problems[0]
    assert "missing.txt" in loaded.problems[1]


def test_a_folder_or_pipe_attached_is_referenced_only(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    if hasattr(os, "mkfifo"):
        os.mkfifo(pipe)
    draft = Draft(body="x", attachments=(Attachment(tmp_path), Attachment(pipe)))
    data = encode(draft)
    assert list(parsed(data).iter_attachments()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes")
def test_undecodable_file_names_survive(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9 \xff.txt")
    path = tmp_path / name
    path.write_bytes(b"data")
    draft = Draft(body="x", attachments=(Attachment(path),))
    data = encode(draft)
    assert round_trip(draft, tmp_path / "f").draft == draft
    path.unlink()
    (restored,) = decode_draft(data, files_dir=tmp_path / "files").draft.attachments
    assert restored.path.read_bytes() == b"data"
    assert restored.filename == name
    assert "\ufffd" in restored.path.name  # what the file system could not name, replaced


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        (".bashrc", "bashrc"),
        ("a\nb\x00c.txt", "a_b_c.txt"),
        ("...", "attachment"),
        ("C:\\Windows\\x.exe", "C__Windows_x.exe"),
    ],
)
def test_restored_copies_get_safe_names(tmp_path: Path, shown: str, expected: str) -> None:
    source = tmp_path / "source"
    source.write_bytes(b"payload")
    data = encode(Draft(body="x", attachments=(Attachment(source, shown),)))
    source.unlink()
    files_dir = tmp_path / "files"
    (restored,) = decode_draft(data, files_dir=files_dir).draft.attachments
    assert restored.path == files_dir / expected
    assert restored.filename == shown


def test_two_copies_with_one_name_are_kept_apart(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_bytes(b"1")
    two.write_bytes(b"2")
    data = encode(Draft(body="x", attachments=(Attachment(one, "x.txt"), Attachment(two, "x.txt"))))
    one.unlink()
    two.unlink()
    restored = decode_draft(data, files_dir=tmp_path / "files").draft.attachments
    assert [a.path.name for a in restored] == ["x.txt", "x (2).txt"]
    assert [a.path.read_bytes() for a in restored] == [b"1", b"2"]


# --- messages built for sending -------------------------------------------------------------


def test_a_sent_message_becomes_a_draft_again(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b ü.txt"
    first.write_bytes(os.urandom(5000))
    second.write_bytes(b"text file\n")
    draft = Draft(
        "acc",
        to="Bob Lee <bob@example.net>, carl@example.net",
        cc="Zoë <zoe@example.org>",
        bcc="dan@example.net",
        subject="Ünïcødé subject",
        body="Hello *Bob*",
        html='<p>Hello <b>Bob</b><img src="cid:img1"></p>',
        attachments=(Attachment(first), Attachment(second, "", "text/plain")),
        inline_images=(InlineImage("img1", PNG, "image/png", "chart.png"),),
        in_reply_to="<orig@example.net>",
    )
    wire = build_message(draft, SENDER).as_bytes()
    first.unlink()
    second.unlink()
    files_dir = tmp_path / "files"
    loaded = draft_from_message(wire, account_id="acc", bcc="dan@example.net", files_dir=files_dir)
    got = loaded.draft
    assert got.to == draft.to
    assert got.cc == draft.cc
    assert got.bcc == "dan@example.net"
    assert got.subject == draft.subject
    assert got.body == draft.body
    assert got.html == draft.html
    assert got.inline_images == draft.inline_images
    assert got.in_reply_to == "<orig@example.net>"
    assert [a.filename for a in got.attachments] == ["a.pdf", "b ü.txt"]
    assert [a.content_type for a in got.attachments] == ["application/pdf", "text/plain"]
    assert got.attachments[0].path.parent == files_dir
    assert got.attachments[1].path.read_bytes() == b"text file\n"
    assert loaded.message_id.endswith("@example.org>")
    assert loaded.problems == ()


def test_a_message_to_bcc_only_has_no_to(tmp_path: Path) -> None:
    wire = build_message(Draft(bcc="dan@example.net", body="x"), SENDER).as_bytes()
    loaded = draft_from_message(wire, account_id="a", bcc="dan@example.net", files_dir=tmp_path)
    assert loaded.draft.to == ""
    assert loaded.draft.bcc == "dan@example.net"


# --- what is not a draft ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4,
        b"Subject: hi\r\n\r\nnot a draft",
        b"X-Composer-Draft: 1\r\n",
        b"X-Composer-Draft: 1\r\nX-Composer-Attachment: {nope\r\n\r\nx",
        b"X-Composer-Draft: 1\r\nX-Composer-Typed-To: !!!\r\n\r\nx",
        b"X-Composer-Draft: 1\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n",
        b"X-Composer-Draft: 1\r\nContent-Type: image/png\r\n\r\n\x89PNG",
        bytes(range(128, 256)) * 10,
    ],
)
def test_what_is_not_a_draft_is_a_draft_file_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(DraftFileError) as caught:
        decode_draft(data, files_dir=tmp_path)
    assert str(caught.value).endswith(".")


@settings(max_examples=300, deadline=None, suppress_health_check=TMP_PATH_OK)
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_else(tmp_path: Path, data: bytes) -> None:
    for decode in (
        lambda: decode_draft(data, files_dir=tmp_path / "f"),
        lambda: draft_from_message(data, account_id="a", bcc="", files_dir=tmp_path / "g"),
    ):
        with contextlib.suppress(DraftFileError):
            decode()


@pytest.fixture(scope="module")
def real_draft(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("real")
    (folder / "r.bin").write_bytes(os.urandom(1500))
    draft = Draft(
        "acc",
        to="Bob <bob@example.net>, bob@",
        subject="Sübject",
        body="Body\nwith lines\n" * 20,
        html="<p>Body</p>" * 20,
        attachments=(Attachment(folder / "r.bin", "r.bin", "application/octet-stream"),),
        inline_images=(InlineImage("img1", PNG),),
    )
    data = encode(draft)
    (folder / "r.bin").unlink()
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=TMP_PATH_OK)
@given(cut=st.integers(min_value=0), junk=st.binary(max_size=20))
def test_a_truncated_draft_never_raises_anything_else(
    tmp_path: Path, real_draft: bytes, cut: int, junk: bytes
) -> None:
    data = real_draft[: cut % len(real_draft)] + junk
    try:
        loaded = decode_draft(data, files_dir=tmp_path / "f")
    except DraftFileError:
        return
    # Whatever loads has its attachment whole or names it as lost.
    for attachment in loaded.draft.attachments:
        assert len(attachment.path.read_bytes()) == 1500


def test_the_whole_real_draft_decodes(tmp_path: Path, real_draft: bytes) -> None:
    loaded = decode_draft(real_draft, files_dir=tmp_path)
    assert loaded.draft.subject == "Sübject"
    assert len(loaded.draft.attachments) == 1


def test_a_draft_cut_short_is_not_taken_for_a_shorter_one(tmp_path: Path) -> None:
    data = encode(Draft(body="a long body\n" * 100))
    with pytest.raises(DraftFileError, match="cut short"):
        decode_draft(data[:-50], files_dir=tmp_path)


def test_a_copy_cut_short_is_not_taken_for_the_file(tmp_path: Path, real_draft: bytes) -> None:
    end = real_draft.rindex(b"\r\n--")
    # Eight base64 characters (six bytes) gone, the file as long as before.
    damaged = real_draft[: end - 10] + b"\r\n" + real_draft[end:] + b" " * 8
    assert len(damaged) == len(real_draft)
    loaded = decode_draft(damaged, files_dir=tmp_path)
    assert loaded.draft.attachments == ()
    (problem,) = loaded.problems
    assert problem.startswith("r.bin was moved or deleted since the draft was saved (it was /")
    assert problem.endswith("r.bin), and the copy kept in the draft is damaged. Attach it again.")


def test_message_id_must_be_one_line() -> None:
    with pytest.raises(ValueError, match="not a Message-ID"):
        encode_draft(Draft(), sender=None, message_id="<a@b>\r\nBcc: x", saved_at=SAVED_AT)
