"""Streaming a message: exact sizes, bounded pieces, flat memory, dot-stuffing, files failing."""

from __future__ import annotations

import base64
import contextlib
import email.policy
import io
import os
import random
import re
import socket
import tempfile
import threading
import tracemalloc
from collections.abc import Iterator
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.mail.accounts import Security
from composer.mail.bodies import PIECE_INPUT
from composer.mail.draft import Attachment, Draft, InlineImage
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import TEXT_PIECE, OutgoingMessage, build_message
from composer.mail.progress import Progress, Stage
from composer.mail.sizes import base64_wire_size
from composer.mail.source import outgoing_source
from composer.mail.transport import SmtpTransport
from tests.servers import HOST, PASSWORD, SmtpServer, account_for

SENDER = Address("Ann Lee", "ann", "example.org")
# Sizes where base64 lines, padding and 57 KiB pieces start or end.
EDGE_SIZES = [0, 1, 2, 3, 4, 56, 57, 58, 114, 56 * 1024, 57 * 1024 - 1, 57 * 1024, 57 * 1024 + 1]
EDGE_SIZES += [2 * PIECE_INPUT, 2 * PIECE_INPUT + 2, 3 * PIECE_INPUT - 57]


def draft(*attachments: Attachment, **fields: object) -> Draft:
    values: dict[str, object] = {
        "to": "bob@example.net",
        "subject": "Files",
        "body": "See attached.\n",
        "attachments": attachments,
    }
    values.update(fields)
    return Draft(**values)  # type: ignore[arg-type]


def build(*attachments: Attachment, **fields: object) -> OutgoingMessage:
    return build_message(draft(*attachments, **fields), SENDER)


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def file_of(folder: Path, name: str, size: int, seed: int = 0) -> Path:
    path = folder / name
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def dot_stuffed(data: bytes) -> bytes:
    """What RFC 5321 says goes between DATA and the final dot, written the obvious way."""
    return re.sub(rb"(?m)^\.", b"..", data)


# --- sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"), [(0, 0), (1, 6), (2, 6), (3, 6), (57, 78), (58, 84), (114, 156)]
)
def test_base64_wire_size_of_small_files(size, expected):
    assert base64_wire_size(size) == expected


@settings(deadline=None)
@given(size=st.one_of(st.sampled_from(EDGE_SIZES), st.integers(0, 300_000)))
def test_base64_wire_size_matches_the_encoder(size):
    encoded = base64.encodebytes(bytes(size)).replace(b"\n", b"\r\n")

    assert base64_wire_size(size) == len(encoded)


def test_base64_wire_size_refuses_negative_sizes():
    with pytest.raises(ValueError, match="negative"):
        base64_wire_size(-1)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(
        st.one_of(st.sampled_from(EDGE_SIZES), st.integers(0, 130_000)), min_size=1, max_size=3
    ),
    image_size=st.one_of(st.none(), st.sampled_from(EDGE_SIZES[:10]), st.integers(0, 70_000)),
    html=st.booleans(),
    recipient=st.sampled_from(["bob@example.net", "jürgen@exämple.org"]),
)
def test_size_is_exactly_the_streamed_length(sizes, image_size, html, recipient):
    with tempfile.TemporaryDirectory() as folder:
        paths = [file_of(Path(folder), f"f{i}-ä.bin", n, i) for i, n in enumerate(sizes)]
        images = () if image_size is None else (InlineImage("i@x", bytes(image_size) or b""),)
        outgoing = build(
            *(Attachment(p) for p in paths),
            to=recipient,
            html="<p>x <img src='cid:i@x'></p>" if html else "",
            inline_images=images if html else (),
        )
        size = outgoing.size()
        data = outgoing.as_bytes()

        assert size == len(data)
        assert size == sum(len(piece) for piece in outgoing.chunks())
        message = parse(data)
        received = [a.get_content() for a in message.iter_attachments()]
        assert received == [p.read_bytes() for p in paths]


def test_a_message_without_files_has_the_same_size_streamed():
    outgoing = build(body="Grüße\n" * 30_000, html="<p>Grüße</p>" * 20_000)

    assert outgoing.size() == len(outgoing.as_bytes())


# --- pieces and memory ---------------------------------------------------------------------


def test_pieces_are_bounded_for_a_big_body_and_a_big_file(tmp_path):
    path = file_of(tmp_path, "big.bin", 2_000_000)
    outgoing = build(Attachment(path), body="line of text\n" * 50_000)

    lengths = [len(piece) for piece in outgoing.chunks()]

    assert len(lengths) > 20
    assert max(lengths) <= max(TEXT_PIECE, base64_wire_size(PIECE_INPUT))


def test_attachment_pieces_end_on_whole_base64_lines(tmp_path):
    path = file_of(tmp_path, "big.bin", 3 * PIECE_INPUT + 100)
    outgoing = build(Attachment(path))
    [(_, body), _] = outgoing.segments()
    assert body is not None

    pieces = list(body.pieces())

    assert len(pieces) == 4
    for piece in pieces:
        lines = piece.split(b"\r\n")
        assert lines[-1] == b""
        assert all(len(line) == 76 for line in lines[:-2])
    assert b"".join(pieces) == base64.encodebytes(path.read_bytes()).replace(b"\n", b"\r\n")


def test_streaming_a_20_mb_attachment_keeps_memory_flat(tmp_path):
    path = tmp_path / "big.bin"
    with path.open("wb") as file:
        for seed in range(20):
            file.write(random.Random(seed).randbytes(1_000_000))

    tracemalloc.start()
    try:
        outgoing = build(Attachment(path))
        streamed = sum(len(piece) for piece in outgoing.chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert streamed == outgoing.size() > 27_000_000
    assert peak < 4_000_000, f"peak {peak} bytes"


def test_write_to_keeps_memory_flat_and_writes_what_would_be_sent(tmp_path):
    path = tmp_path / "big.bin"
    with path.open("wb") as file:
        file.truncate(20_000_000)
    outgoing = build(Attachment(path), bcc="secret@example.net")
    target = tmp_path / "message.eml"

    tracemalloc.start()
    try:
        with target.open("wb") as stream:
            written = outgoing.write_to(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 4_000_000, f"peak {peak} bytes"
    assert written == outgoing.size() == target.stat().st_size
    with target.open("rb") as saved:
        head = saved.read(4096)
    assert head.startswith(b"From: Ann Lee <ann@example.org>\r\n")
    assert b"secret" not in head


def test_write_to_matches_as_bytes(tmp_path):
    path = file_of(tmp_path, "Übersicht.pdf", 200_000)
    outgoing = build(Attachment(path), html="<p>x</p>")
    stream = io.BytesIO()

    written = outgoing.write_to(stream)

    assert stream.getvalue() == outgoing.as_bytes()
    assert written == len(stream.getvalue()) == outgoing.size()


def test_is_ascii_looks_at_the_text_parts_only(tmp_path):
    path = file_of(tmp_path, "ä.bin", 1000)

    assert build(Attachment(path)).is_ascii()
    assert not build(Attachment(path), to="jürgen@exämple.org", subject="Grüße").is_ascii()


# --- files changing while they are read ----------------------------------------------------


def test_a_file_that_grows_while_streaming_raises_a_file_error(tmp_path):
    path = file_of(tmp_path, "growing.log", 3 * PIECE_INPUT)
    outgoing = build(Attachment(path))
    pieces = outgoing.chunks()
    next(pieces)  # the headers
    next(pieces)  # the first piece of the file
    stat = path.stat()
    with path.open("ab") as file:
        file.write(b"one more line\n")
    # The same time stamp as before: the growth alone must be noticed.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    with pytest.raises(SendError) as caught:
        list(pieces)

    assert caught.value.kind is ErrorKind.FILE
    assert "growing.log" in caught.value.message


def test_a_file_that_shrinks_while_streaming_raises_a_file_error(tmp_path):
    path = file_of(tmp_path, "shrinking.bin", 3 * PIECE_INPUT)
    outgoing = build(Attachment(path))
    pieces = outgoing.chunks()
    next(pieces)
    next(pieces)
    os.truncate(path, PIECE_INPUT + 10)

    with pytest.raises(SendError) as caught:
        list(pieces)

    assert caught.value.kind is ErrorKind.FILE
    assert "shrinking.bin" in caught.value.message


def test_a_file_rewritten_in_place_while_streaming_raises_a_file_error(tmp_path):
    path = file_of(tmp_path, "rewritten.bin", 3 * PIECE_INPUT)
    outgoing = build(Attachment(path))
    pieces = outgoing.chunks()
    next(pieces)
    next(pieces)
    with path.open("r+b") as file:
        file.write(b"changed")
    # Set the time stamp explicitly: two writes can fall within one tick of a coarse clock.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    with pytest.raises(SendError) as caught:
        list(pieces)

    assert caught.value.kind is ErrorKind.FILE


def test_a_file_that_vanishes_before_streaming_raises_a_file_error(tmp_path):
    path = file_of(tmp_path, "Gone – weg.pdf", 100)
    outgoing = build(Attachment(path))
    path.unlink()

    with pytest.raises(SendError) as caught:
        outgoing.as_bytes()

    assert caught.value.kind is ErrorKind.FILE
    assert "Gone – weg.pdf" in caught.value.message
    assert "no longer exists" in caught.value.message


# --- sending -------------------------------------------------------------------------------


def send(server: SmtpServer, outgoing: OutgoingMessage, progress=None):
    account = account_for(server, Security.STARTTLS)
    return SmtpTransport(account, PASSWORD, progress=progress).send(outgoing)


def test_progress_counts_bytes_up_to_the_size(smtp_server, tmp_path):
    path = file_of(tmp_path, "big.bin", 1_000_000)
    outgoing = build(Attachment(path))
    seen: list[Progress] = []

    result = send(smtp_server, outgoing, seen.append)

    sending = [p for p in seen if p.stage is Stage.SENDING]
    sent = [p.sent for p in sending]
    assert sent == sorted(sent)
    assert len(set(sent)) > 10
    assert sent[-1] == outgoing.size() == result.size
    assert {p.total for p in sending} == {outgoing.size()}
    [attachment] = smtp_server.received[0].iter_attachments()
    assert attachment.get_content() == path.read_bytes()
    assert smtp_server.mail_options == [(f"SIZE={outgoing.size()}",)]


def test_cancel_while_streaming_an_attachment_delivers_nothing(smtp_server, tmp_path):
    path = file_of(tmp_path, "big.bin", 2_000_000)
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = build_message(draft(Attachment(path)), account.sender())
    transport: SmtpTransport

    def on_progress(progress: Progress) -> None:
        if progress.stage is Stage.SENDING and progress.sent > outgoing.size() // 3:
            transport.cancel()

    transport = SmtpTransport(account, PASSWORD, progress=on_progress)
    with pytest.raises(SendError) as caught:
        transport.send(outgoing)

    assert caught.value.kind is ErrorKind.CANCELLED
    assert smtp_server.received == []


def shrink_halfway(path: Path, outgoing: OutgoingMessage):
    """A progress callback that cuts path short once half the message is sent."""

    def on_progress(progress: Progress) -> None:
        if progress.stage is Stage.SENDING and progress.sent > outgoing.size() // 2:
            os.truncate(path, 1000)

    return on_progress


def test_a_file_cut_short_while_sending_stops_the_send(smtp_server, tmp_path):
    path = file_of(tmp_path, "Übersicht.pdf", 1_000_000)
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = build_message(draft(Attachment(path)), account.sender())

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD, progress=shrink_halfway(path, outgoing)).send(outgoing)

    assert caught.value.kind is ErrorKind.FILE
    assert "Übersicht.pdf" in caught.value.message
    assert "nobody got the message" in caught.value.message
    assert "attach the file again or remove it" in caught.value.message
    assert smtp_server.received == []


# --- on the wire: a server that records DATA exactly as it arrives ---------------------------


class RecordingServer:
    """A bare SMTP server on 127.0.0.1 that keeps the DATA bytes as they arrived (dot-stuffed).

    ``sessions`` holds, per DATA command, the bytes received and whether the client ended
    them with a line holding a single dot.
    """

    def __init__(self) -> None:
        self.host = HOST
        self.username = ""
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self.sessions: list[tuple[bytes, bool]] = []
        self._thread = threading.Thread(target=self._serve_forever, daemon=True)
        self._thread.start()

    def _serve_forever(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection, connection.makefile("rb") as reader:
                self._serve(connection, reader)

    def _serve(self, connection: socket.socket, reader: io.BufferedReader) -> None:
        connection.sendall(b"220 recorder ESMTP\r\n")
        while line := reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                connection.sendall(b"250-recorder\r\n250-SIZE 100000000\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                connection.sendall(b"354 go ahead\r\n")
                data, ended = bytearray(), False
                while chunk := reader.readline():
                    if chunk == b".\r\n":
                        ended = True
                        break
                    data += chunk
                self.sessions.append((bytes(data), ended))
                if not ended:
                    return
                connection.sendall(b"250 OK\r\n")
            elif verb == b"QUIT":
                connection.sendall(b"221 bye\r\n")
                return
            else:
                connection.sendall(b"250 OK\r\n")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(10)


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    try:
        yield server
    finally:
        server.stop()


def send_plain(server: object, outgoing: OutgoingMessage, progress=None):
    account = account_for(server, Security.NONE, username="")
    return SmtpTransport(account, None, progress=progress).send(outgoing)


def dot_at_piece_boundary(where: str) -> tuple[str, OutgoingMessage]:
    """A body, and a message of it, with a dot right where the first piece of text ends.

    ``line start``: a line holding only "." starts the second piece; ``after cr``: the first
    piece ends between CR and LF, the dot line follows; ``mid line``: a "." inside a line
    starts the second piece.
    """
    filler = "a" * 70 + "\n"
    lines = filler * ((TEXT_PIECE - 1000) // 72)
    target = TEXT_PIECE + 1 if where == "after cr" else TEXT_PIECE
    pad = 0
    # The headers' length varies from build to build (Message-ID has a random number of
    # digits), so adjust the padding until one message comes out right.
    for _ in range(100):
        if where == "mid line":
            body = lines + "b" * pad + ".MARK\n" + filler
            dot = b".MARK"
        else:
            body = lines + "b" * pad + "\n.\nMARK\n" + filler
            dot = b".\r\nMARK"
        outgoing = build(body=body)
        position = outgoing.as_bytes().index(dot)
        if position == target:
            return body, outgoing
        pad += target - position
    raise AssertionError("no padding put the dot on the boundary")


@pytest.mark.parametrize("where", ["line start", "after cr", "mid line"])
def test_dot_stuffing_is_exact_across_piece_boundaries(recorder, smtp_server, where):
    body, outgoing = dot_at_piece_boundary(where)
    pieces = list(outgoing.chunks())
    assert len(pieces[0]) == TEXT_PIECE
    if where == "mid line":
        assert pieces[1].startswith(b".MARK")
    elif where == "line start":
        assert pieces[0].endswith(b"\n")
        assert pieces[1].startswith(b".\r\n")
    else:
        assert pieces[0].endswith(b"\r")
        assert pieces[1].startswith(b"\n.\r\n")

    send_plain(recorder, outgoing)
    send(smtp_server, outgoing)

    [(data, ended)] = recorder.sessions
    assert ended
    assert data == dot_stuffed(outgoing.as_bytes())
    [received] = smtp_server.received
    assert received.get_content().replace("\r\n", "\n") == body


def test_attachments_arrive_on_the_wire_exactly_as_built(recorder, tmp_path):
    paths = [file_of(tmp_path, f"{n}.bin", n) for n in (0, 1, 57 * 1024 + 1, 300_000)]
    outgoing = build(*(Attachment(p) for p in paths), body=".\n..\n.x\n", html="<p>.</p>")

    send_plain(recorder, outgoing)

    [(data, ended)] = recorder.sessions
    assert ended
    assert data == dot_stuffed(outgoing.as_bytes())


def test_a_file_error_mid_data_closes_without_the_final_dot(recorder, tmp_path):
    path = file_of(tmp_path, "cut.bin", 1_000_000)
    outgoing = build(Attachment(path))

    with pytest.raises(SendError) as caught:
        send_plain(recorder, outgoing, shrink_halfway(path, outgoing))

    assert caught.value.kind is ErrorKind.FILE
    recorder.stop()  # waits until the server saw the connection close
    [(data, ended)] = recorder.sessions
    assert not ended
    assert outgoing.size() // 2 < len(data) < outgoing.size()


# --- message source ------------------------------------------------------------------------


def test_source_of_a_small_message_is_the_whole_wire_text(tmp_path):
    path = file_of(tmp_path, "small.bin", 5000)
    outgoing = build(Attachment(path), bcc="secret@example.net")

    text = outgoing_source(outgoing)

    assert text == outgoing.as_bytes().decode("ascii").replace("\r\n", "\n")
    assert "secret" not in text


def test_source_of_a_big_message_elides_the_attachment_bodies(tmp_path):
    path = file_of(tmp_path, "Übersicht März.pdf", 2_000_000)
    small = file_of(tmp_path, "tiny.txt", 100)
    outgoing = build(Attachment(path), Attachment(small))

    text = outgoing_source(outgoing)

    lines = base64.encodebytes(path.read_bytes()).decode("ascii").splitlines()
    assert len(text) < 10_000
    assert (
        f"{lines[0]}\n[… {len(lines) - 2} lines of base64 for file Übersicht März.pdf omitted; "
        f"Save as .eml keeps them …]\n{lines[-1]}\n"
    ) in text
    tiny = base64.encodebytes(small.read_bytes()).decode("ascii")
    assert tiny in text  # two lines, nothing to leave out
    head = outgoing.as_bytes()[:2000].decode("ascii").replace("\r\n", "\n")
    assert text.startswith(head.split("\n\n")[0])


def test_message_source_builds_the_draft(tmp_path):
    path = file_of(tmp_path, "a.bin", 10)
    built = build_message(draft(Attachment(path), bcc="secret@example.net"), SENDER, "r@x.org")
    text = outgoing_source(built)

    message = parse(text.replace("\n", "\r\n").encode())
    assert message["Reply-To"] == "r@x.org"
    assert [a.get_content() for a in message.iter_attachments()] == [path.read_bytes()]
    assert "secret" not in text


def test_message_source_names_a_missing_file(tmp_path):
    with pytest.raises(SendError) as caught:
        outgoing_source(build_message(draft(Attachment(tmp_path / "nowhere.pdf")), SENDER))

    assert caught.value.kind is ErrorKind.FILE
    assert "nowhere.pdf" in caught.value.message
