"""Building a standards-conforming MIME message from a Draft; knows nothing of sending."""

from __future__ import annotations

import mimetypes
import re
import secrets
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, localtime, make_msgid
from functools import cached_property
from typing import BinaryIO, Protocol

from composer import __version__
from composer.mail.address_header import set_addresses
from composer.mail.addresses import parse_address, unique_addr_specs
from composer.mail.bodies import StreamedBody
from composer.mail.draft import Attachment, Draft, InlineImage, check_recipients
from composer.mail.envelope import Envelope as Envelope
from composer.mail.errors import ErrorKind, SendError
from composer.mail.text import LINE_BREAKS, has_encoded_word, has_line_break, is_message_id

# Lines are folded at 78 characters and end in CRLF, as on the wire.
POLICY = SMTP
# How the message is written out: headers Composer folded itself (set_raw) stay as they are,
# even where one line holds a single long address (see address_header.py).
_WIRE = SMTP.clone(refold_source="none")
_WIRE_UTF8 = SMTPUTF8.clone(refold_source="none")
# Text between streamed bodies is handed out in pieces no larger than this.
TEXT_PIECE = 64 * 1024


class Sendable(Protocol):
    """What a transport needs of a message: a freshly built one, or one stored in the Outbox."""

    @property
    def envelope(self) -> Envelope: ...

    @property
    def message_id(self) -> str: ...

    def size(self) -> int:
        """The exact number of bytes on the wire, before dot-stuffing."""
        ...

    def is_ascii(self) -> bool:
        """True when every byte on the wire is 7-bit."""
        ...

    def check_files(self) -> None:
        """Raise SendError(FILE) if what the bytes are read from is gone or changed."""
        ...

    def chunks(self) -> Iterator[bytes]:
        """The wire bytes (CRLF line ends, no Bcc header), in bounded pieces."""
        ...


@dataclass(frozen=True)
class OutgoingMessage:
    """A built message with its envelope; Bcc recipients are only in the envelope.

    Attachments and inline images are not in ``message`` itself: each of their parts holds a
    placeholder line, and ``bodies`` says what replaces it. chunks() reads and encodes them
    a bounded piece at a time, so memory stays flat and no step holds the GIL for long.
    """

    message: EmailMessage
    envelope: Envelope
    bodies: tuple[StreamedBody, ...] = ()

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def size(self) -> int:
        """The exact number of bytes on the wire (before dot-stuffing), without reading files."""
        return sum(len(text) for text, _ in self.segments()) + sum(
            body.wire_size for body in self.bodies
        )

    def check_files(self) -> None:
        """Raise SendError(FILE) if an attached file is gone or changed since the build."""
        for body in self.bodies:
            body.check()

    def is_ascii(self) -> bool:
        """True when every byte on the wire is 7-bit (streamed bodies are base64, so ASCII)."""
        return all(text.isascii() for text, _ in self.segments())

    def chunks(self) -> Iterator[bytes]:
        """The message as it goes on the wire (CRLF line ends, no Bcc header), in pieces.

        Raises SendError(FILE) when an attached file vanished or changed since it was built.
        """
        for text, body in self.segments():
            for start in range(0, len(text), TEXT_PIECE):
                yield text[start : start + TEXT_PIECE]
            if body is not None:
                yield from body.pieces()

    def as_bytes(self) -> bytes:
        """The message as it goes on the wire (CRLF line ends, no Bcc header), all at once."""
        return b"".join(self.chunks())

    def write_to(self, stream: BinaryIO) -> int:
        """Write the exact bytes that would be sent to stream (an .eml file); returns the count."""
        written = 0
        for piece in self.chunks():
            stream.write(piece)
            written += len(piece)
        return written

    def segments(self) -> tuple[tuple[bytes, StreamedBody | None], ...]:
        """The wire form as pieces of text, each followed by the streamed body that comes next."""
        return self._segments

    @cached_property
    def _segments(self) -> tuple[tuple[bytes, StreamedBody | None], ...]:
        # The generator picks each boundary so that no line of the text around it starts with
        # "--boundary"; the base64 spliced in later has no "-" at all, so it cannot either.
        skeleton = self.message.as_bytes(policy=_WIRE_UTF8 if self.envelope.needs_utf8() else _WIRE)
        found: list[tuple[int, StreamedBody]] = []
        for body in self.bodies:
            line = body.placeholder + b"\r\n"
            if skeleton.count(line) != 1:
                raise RuntimeError(f"placeholder for {body.name!r} not found exactly once")
            found.append((skeleton.index(line), body))
        segments: list[tuple[bytes, StreamedBody | None]] = []
        position = 0
        for start, body in sorted(found, key=lambda item: item[0]):
            segments.append((skeleton[position:start], body))
            position = start + len(body.placeholder) + 2
        segments.append((skeleton[position:], None))
        return tuple(segments)


def check_header_value(name: str, value: str) -> None:
    """Refuse line breaks and NUL in a header field: they could start a new header."""
    # The email package refuses such a value with a bare ValueError; this says which field.
    if has_line_break(value):
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            f"The {name} field contains a line break, which is not allowed in a mail header. "
            "Remove it and send again.",
        )


def _check_no_encoded_word(name: str, value: str, where: str) -> None:
    """Refuse "=?" in an address header that Composer cannot write literally (see
    has_encoded_word); typed recipients with it are invalid addresses already."""
    if has_encoded_word(value):
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            f"The {name} field contains '=?', which mail programs read as the start of encoded "
            f"text, so recipients would see something else. Remove it from {where}, and send "
            "again.",
        )


def _set_text(message: EmailMessage, name: str, text: str) -> None:
    """Set an unstructured header (Subject) so that it arrives as text, whatever it holds.

    The email package decodes an encoded word in the value as the header is set, then writes
    the decoded text out bare: "=?utf-8?q?a=0D=0ABcc:_x?=" would become two header lines. It
    also loses a blank where it folds non-ASCII text between two encoded words. Such text
    goes out encoded here instead (email.header), which every reader decodes back to it,
    in lines of at most 77 characters that the policy leaves as they are.
    """
    if text.isascii() and not has_encoded_word(text):
        message[name] = text
        return
    message.set_raw(name, Header(text, "utf-8", header_name=name).encode())


def build_message(draft: Draft, sender: Address, reply_to: str = "") -> OutgoingMessage:
    """Build the message for draft, sent by sender; raises SendError if it cannot be sent."""
    for name, value in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        # Line breaks are separators in address fields, but a lone CR could still smuggle one.
        check_header_value(name, value.replace("\r\n", ",").replace("\n", ","))
    check_header_value("Subject", draft.subject)
    check_header_value("From", str(sender))
    check_header_value("Reply-To", reply_to)
    check_header_value("In-Reply-To", draft.in_reply_to)
    _check_no_encoded_word("From", str(sender), "the name of the account, in SMTP Accounts")
    _check_no_encoded_word("Reply-To", reply_to, "the account's Reply-To, in SMTP Accounts")
    in_reply_to = draft.in_reply_to.strip()
    if in_reply_to and not is_message_id(in_reply_to):
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            "The message this one replies to has an id that cannot be used "
            f"({in_reply_to[:60]!r}). Click Not a Reply and send again.",
        )
    check_recipients(draft)
    recipients = draft.recipients()
    everyone = [a for parsed in recipients.values() for a in parsed.valid]

    answers_to = parse_address(reply_to) if reply_to else None
    if reply_to and answers_to is None:
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            f"The account's Reply-To address is not valid ({reply_to[:60]!r}). Correct it in "
            "SMTP Accounts and send again.",
        )

    envelope = Envelope(sender.addr_spec, tuple(unique_addr_specs(everyone)))
    utf8 = envelope.needs_utf8()
    message = EmailMessage(policy=POLICY)
    set_addresses(message, "From", [sender], utf8=utf8)
    if recipients["To"].valid:
        set_addresses(message, "To", recipients["To"].valid, utf8=utf8)
    if recipients["Cc"].valid:
        set_addresses(message, "Cc", recipients["Cc"].valid, utf8=utf8)
    if not recipients["To"].valid and not recipients["Cc"].valid:
        # Everyone is in Bcc: an empty group says so, as RFC 5322 suggests.
        message["To"] = "undisclosed-recipients:;"
    if answers_to is not None:
        set_addresses(message, "Reply-To", [answers_to], utf8=utf8)
    _set_text(message, "Subject", draft.subject)
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = make_msgid(domain=sender.domain or None)
    message["MIME-Version"] = "1.0"
    message["User-Agent"] = f"Composer/{__version__}"
    if in_reply_to:
        # Threads the reply under the message a mailto: link answered.
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    # quoted-printable keeps mostly-ASCII text readable and lines short; the policy picks
    # 8bit or base64 otherwise.
    body = _normalised_text(draft.body)
    message.set_content(body, subtype="plain", charset="utf-8", cte=_transfer_encoding(body))
    bodies: list[StreamedBody] = []
    if draft.html:
        html = _normalised_text(draft.html)
        message.add_alternative(html, subtype="html", charset="utf-8", cte=_transfer_encoding(html))
        if draft.inline_images:
            _, html_part = message.iter_parts()
            html_part.make_related()
            for image in draft.inline_images:
                part, streamed = _inline_image_part(image)
                html_part.attach(part)
                bodies.append(streamed)
    if draft.attachments:
        message.make_mixed()
        for attachment in draft.attachments:
            part, streamed = _attachment_part(attachment)
            message.attach(part)
            bodies.append(streamed)
    for part in message.walk():
        if part is not message:
            # EmailMessage.set_content adds one to each part it makes; only the top needs it.
            del part["MIME-Version"]
    outgoing = OutgoingMessage(message, envelope, tuple(bodies))
    outgoing.size()  # serialise now, so a problem shows while building
    _check_line_lengths(outgoing)
    return outgoing


# RFC 5322 2.1.1: no line of a message may be longer than this, line break not counted.
MAX_LINE = 998


def _check_line_lengths(outgoing: OutgoingMessage) -> None:
    """Refuse a message with a line longer than mail allows, naming the header it is in.

    The email package folds long headers, but cannot fold inside one address: a 1,200
    character local part would make a 1,213-octet line, which servers may cut or refuse.
    Bodies are quoted-printable or base64 whenever a line would be too long.
    """
    header: bytes = b""
    for text, _ in outgoing.segments():
        for line in text.split(b"\r\n"):
            if line[:1] not in (b" ", b"\t") and b":" in line:
                header = line.split(b":", 1)[0]
            if len(line) > MAX_LINE:
                name = header.decode("ascii", "replace") or "a header"
                raise SendError(
                    ErrorKind.INVALID_MESSAGE,
                    f"The {name} field holds something longer than mail allows on one line "
                    f"({len(line):,} characters; at most {MAX_LINE}), such as an address with a "
                    "very long name before the @. Shorten it and send again.",
                )


def _normalised_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def _transfer_encoding(body: str) -> str:
    if body.isascii() and all(len(line) <= 998 for line in body.split("\n")):
        return "7bit"
    return "quoted-printable"


# RFC 6838 type and subtype names.
_MIME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
# What mimetypes reports as an encoding is, for a file sent as is, its content type.
_COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}


def _attachment_part(attachment: Attachment) -> tuple[EmailMessage, StreamedBody]:
    name = _readable_name(attachment.name)
    content_type = _base64_safe(_content_type(attachment.content_type, name))
    streamed = StreamedBody.from_file(_placeholder(), attachment.path, name)
    part = _streamed_part(content_type, "attachment", name, streamed)
    return part, streamed


def _inline_image_part(image: InlineImage) -> tuple[EmailMessage, StreamedBody]:
    cid = image.cid.strip().removeprefix("<").removesuffix(">")
    check_header_value("Content-ID", cid)
    if not cid or not cid.isascii() or any(c.isspace() or c in "<>" for c in cid):
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            f"The image reference {image.cid!r} is not valid. Insert the image again.",
        )
    name = _readable_name(image.filename) if image.filename else ""
    content_type = _content_type(image.content_type, name or "image")
    streamed = StreamedBody.from_bytes(_placeholder(), image.data, name or cid)
    part = _streamed_part(content_type, "inline", name, streamed)
    part.set_raw("Content-ID", f"<{cid}>")
    return part, streamed


def _streamed_part(
    content_type: str, disposition: str, name: str, streamed: StreamedBody
) -> EmailMessage:
    """A base64 part whose body is streamed.body's placeholder line.

    Its parameters are folded with the SMTP policy even when the message goes out as
    SMTPUTF8, so non-ASCII file names are always in RFC 2231 form (filename*=utf-8''…),
    which every client reads; the name is also given as the Content-Type's name parameter,
    which some clients read instead.
    """
    return base64_part(content_type, disposition, name, streamed.placeholder.decode("ascii"))


def base64_part(content_type: str, disposition: str, name: str, placeholder: str) -> EmailMessage:
    """A base64 part (see _streamed_part) whose body is the line placeholder, for the caller
    to replace with the encoded file; also how drafts carry their attachment copies."""
    rendered = EmailMessage(policy=SMTP)
    rendered["Content-Type"] = content_type
    rendered["Content-Disposition"] = disposition
    literal = has_encoded_word(name)
    if name and not literal:
        rendered.set_param("name", name)
        rendered.set_param("filename", name, header="Content-Disposition")
    part = EmailMessage(policy=POLICY)
    for header, value in rendered.items():
        folded = SMTP.fold(header, value)[len(header) + 2 :].rstrip("\r\n")
        if name and literal:
            folded += _rfc2231("name" if header == "Content-Type" else "filename", name)
        part.set_raw(header, folded)
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_payload(placeholder + "\n")
    return part


def _rfc2231(param: str, value: str) -> str:
    """The parameter in RFC 2231 form (name*0*=utf-8''...), which every reader takes literally.

    Readers decode an encoded word even inside a quoted parameter ("=?utf-8?b?QQ==?=.pdf"
    arrived as "A.pdf"), and the email package writes a name of ASCII quoted: one holding
    "=?" is given in this form instead, in pieces of at most 60 characters.
    """
    pieces = [""]
    for char in value:
        escaped = urllib.parse.quote(char, safe="")
        if len(pieces[-1]) + len(escaped) > 60:
            pieces.append("")
        pieces[-1] += escaped
    start = "utf-8''"
    return "".join(
        f";\n {param}*{index}*={start if index == 0 else ''}{piece}"
        for index, piece in enumerate(pieces)
    )


def _content_type(given: str, name: str) -> str:
    if not given:
        guessed, encoding = mimetypes.guess_type(name, strict=False)
        if encoding:
            return _COMPRESSED_TYPES.get(encoding, "application/octet-stream")
        return guessed or "application/octet-stream"
    if not _MIME_TYPE.fullmatch(given.strip()):
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            f"{given!r} is not a valid type for {name}. Attach the file again.",
        )
    return given.strip().lower()


def _base64_safe(content_type: str) -> str:
    """A type the file can travel as in base64, which every attachment does here.

    message/* and multipart/* parts may not be base64-encoded (RFC 2046 5.2.1, RFC 2045 6.4),
    and the email package would try to parse them as messages: an attached .eml goes as
    plain bytes, which every mail program still opens by its name.
    """
    if content_type.partition("/")[0] in ("message", "multipart"):
        return "application/octet-stream"
    return content_type


def _readable_name(name: str) -> str:
    """name with control characters replaced; undecodable bytes (from the file system) too."""
    name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    name = "".join("_" if c in LINE_BREAKS or ord(c) < 32 or c == "\x7f" else c for c in name)
    return name.strip() or "attachment"


def _placeholder() -> bytes:
    # Random, so it cannot occur in the text around it; streaming checks it occurs once.
    return f"composer-streamed-body-{secrets.token_hex(16)}".encode("ascii")
