"""Drafts as .eml files: a Draft to a standard MIME message and back, exactly as typed.

Other mail programs open a draft as a normal message (From, To, Subject, the text, the
formatted text with its images, the attachments). What only Composer needs is in
``X-Composer-*`` header lines at the top of the message: the account, the fields exactly as
typed (the standard headers cannot hold an invalid address), and each attachment's file,
whether it was copied into the draft, and why not. The last of them, X-Composer-Size, is
the length of the message that follows, so a file cut short is told from a shorter draft.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import quopri
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import errors as email_errors
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import SMTP, SMTPUTF8, compat32
from email.policy import default as default_policy
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from composer import __version__
from composer.mail.addresses import format_address, parse_list
from composer.mail.attached_files import AttachedFile, read_for_copy, restore_copy
from composer.mail.bodies import encode_lines
from composer.mail.draft import Attachment, Draft, InlineImage
from composer.mail.message import base64_part
from composer.mail.sizes import BASE64_LINE_LENGTH
from composer.mail.text import LINE_BREAKS, is_utf8

_log = logging.getLogger(__name__)

# An attachment this large or smaller is copied into the draft, so the draft survives the file
# being moved or deleted; read at each save, so tests may lower them.
COPY_LIMIT = 10_000_000
# All copies of one draft together, first come first served; larger ones are referenced only.
COPY_TOTAL = 25_000_000

# Base64 is encoded this many bytes at a time (a multiple of 57, one 76-character line), so
# no single C call holds the GIL for long while a worker saves a large draft.
_BASE64_PIECE = 57 * 4096
_TYPED_FIELDS = ("To", "Cc", "Bcc", "Subject")
# Defects after which a message is not the one that was written (cut short, parts lost).
_FATAL_DEFECTS = (
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
    email_errors.InvalidMultipartContentTransferEncodingDefect,
)
_MIME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
_SIZE = re.compile(rb"(?m)^X-Composer-Size: ([0-9]{1,15})\r\n")
_TOKEN = re.compile(r"[!-~](?:[ -~]*[!-~])?")
_CID = re.compile(r"[!-;=?-~]+")  # printable ASCII without space, "<" and ">"


class DraftFileError(Exception):
    """Bytes that are not a draft Composer can read; str() says so in a sentence."""


@dataclass(frozen=True)
class LoadedDraft:
    """A draft read back, with what could not be restored said in sentences."""

    draft: Draft
    message_id: str
    saved_at: datetime | None
    problems: tuple[str, ...] = ()


def encode_draft(
    draft: Draft, *, sender: Address | None, message_id: str, saved_at: datetime
) -> bytes:
    """The draft as a standard message, in one piece; see draft_pieces."""
    return b"".join(draft_pieces(draft, sender=sender, message_id=message_id, saved_at=saved_at))


def draft_pieces(
    draft: Draft, *, sender: Address | None, message_id: str, saved_at: datetime
) -> Iterator[bytes]:
    """The draft as a standard message; fields as typed are kept in X-Composer-* headers.

    The bytes come in pieces, the copies' base64 made one piece at a time as they are
    taken, so that writing a draft holds each copied file once, not also its encoding and
    the whole message (some 4 times the file).

    Text and HTML come back exactly, "\\r" included: a text without "\\r" goes as
    quoted-printable (readable in the file), one with "\\r" as base64 (which keeps any byte).
    Attachments up to COPY_LIMIT each and COPY_TOTAL together are copied in; the others, and
    any that cannot be read now, are only referenced. Raises ValueError only for a
    message_id that is not one printable line.
    """
    if not _TOKEN.fullmatch(message_id):
        raise ValueError(f"not a Message-ID: {message_id!r}")
    return _draft_pieces(draft, sender, message_id, saved_at)


def _draft_pieces(
    draft: Draft, sender: Address | None, message_id: str, saved_at: datetime
) -> Iterator[bytes]:
    files: list[AttachedFile] = []
    room = COPY_TOTAL
    for attachment in draft.attachments:
        files.append(read_for_copy(attachment, COPY_LIMIT, room))
        room -= len(files[-1].data or b"")
    spliced: list[tuple[bytes, bytes]] = []
    body = _body_part(draft, spliced)
    copies = [_copy_part(file, spliced) for file in files if file.data is not None]
    root = _multipart("mixed", [body, *copies]) if copies else body
    addresses = _standard_headers(root, draft, sender, message_id, saved_at)
    policy = SMTP if all(a.addr_spec.isascii() for a in addresses) else SMTPUTF8
    skeleton = root.as_bytes(policy=policy)
    found = sorted((skeleton.index(p + b"\r\n"), p, data) for p, data in spliced)
    length = len(skeleton) + sum(_encoded_length(len(d)) - len(p) - 2 for _, p, d in found)
    # Last of Composer's lines, so a file cut short (a crash, a full disk) is told from a
    # shorter draft.
    yield _own_headers(draft, files) + _own_line("Size", str(length))
    yield from _splice(skeleton, found)


def decode_draft(data: bytes, *, files_dir: Path) -> LoadedDraft:
    """The draft encode_draft wrote; attachments whose file is gone come from the copy kept
    in the draft (written into files_dir), or are named in problems."""
    try:
        message, parts = _parse(data)
        own = BytesHeaderParser(policy=compat32).parsebytes(data)
        if _own(own, "Draft") != "1":
            raise DraftFileError("This file is not a draft saved by Composer.")
        _check_size(data)
        typed = {name: _typed(own, message, name) for name in _TYPED_FIELDS}
        files = [AttachedFile.from_record(_record(v)) for v in _own_all(own, "Attachment")]
        images = tuple(_inline_image(part, exact=True) for part in parts.images)
        body, html = _text(parts.plain, exact=True), _text(parts.html, exact=True)
        message_id = str(message.get("Message-ID", "")).strip()
        saved_at = _date(message)
    except DraftFileError:
        raise
    except Exception as error:  # the email package raises many kinds on malformed input
        _log.debug("draft not readable", exc_info=True)
        raise DraftFileError("This draft is damaged and cannot be read.") from error
    attachments: list[Attachment] = []
    problems: list[str] = []
    for file in files:
        attachment, problem = _restore(file, parts.by_cid, files_dir)
        if attachment is not None:
            attachments.append(attachment)
        if problem:
            problems.append(problem)
    draft = Draft(
        account_id=_own(own, "Account"),
        to=typed["To"],
        cc=typed["Cc"],
        bcc=typed["Bcc"],
        subject=typed["Subject"],
        body=body,
        html=html,
        attachments=tuple(attachments),
        inline_images=images,
        in_reply_to=_own(own, "In-Reply-To"),
    )
    return LoadedDraft(draft, message_id, saved_at, tuple(problems))


def draft_from_message(data: bytes, *, account_id: str, bcc: str, files_dir: Path) -> LoadedDraft:
    """A draft made from a message Composer built for sending (Outbox, Sent); its attached
    files are written into files_dir."""
    try:
        message, parts = _parse(data)
        if "MIME-Version" not in message:
            raise DraftFileError("This file is not a message Composer can open as a draft.")
        to, cc = (_address_text(message, name) for name in ("To", "Cc"))
        subject = str(message.get("Subject", ""))
        # build_message ends every text with a line break; a body typed without one (as
        # most are) comes back as typed.
        body = _text(parts.plain, exact=False).removesuffix("\n")
        html = _text(parts.html, exact=False).removesuffix("\n")
        images = tuple(_inline_image(part, exact=False) for part in parts.images)
        files = [
            (_shown_name(part), part.get_content_type(), _payload(part, exact=False))
            for part in parts.attachments
        ]
        in_reply_to = str(message.get("In-Reply-To", "")).strip()
        message_id = str(message.get("Message-ID", "")).strip()
        saved_at = _date(message)
    except DraftFileError:
        raise
    except Exception as error:  # the email package raises many kinds on malformed input
        _log.debug("message not readable", exc_info=True)
        raise DraftFileError("This message is damaged and cannot be opened as a draft.") from error
    attachments: list[Attachment] = []
    problems: list[str] = []
    for name, content_type, content in files:
        try:
            copy = restore_copy(files_dir, name, content)
        except OSError as error:
            problems.append(f"{name} could not be restored: {error.strerror or error}.")
            continue
        attachments.append(Attachment(copy, name, content_type))
    draft = Draft(
        account_id=account_id,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        body=body,
        html=html,
        attachments=tuple(attachments),
        inline_images=images,
        in_reply_to=in_reply_to,
    )
    return LoadedDraft(draft, message_id, saved_at, tuple(problems))


# --- writing --------------------------------------------------------------------------------


def _body_part(draft: Draft, spliced: list[tuple[bytes, bytes]]) -> EmailMessage:
    plain = _text_part("plain", draft.body)
    if not draft.html:
        return plain
    html = _text_part("html", draft.html)
    if draft.inline_images:
        html = _multipart(
            "related", [html, *(_image_part(i, spliced) for i in draft.inline_images)]
        )
    return _multipart("alternative", [plain, html])


def _text_part(subtype: str, text: str) -> EmailMessage:
    data = text.encode("utf-8", "surrogatepass")
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = f"text/{subtype}; charset=utf-8"
    if "\r" in text:
        # Quoted-printable lines are rewritten with CRLF on the way out; base64 is not.
        part["Content-Transfer-Encoding"] = "base64"
        part.set_payload(encode_lines(data).decode("ascii"))
    else:
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(quopri.encodestring(data).decode("ascii"))
    return part


def _image_part(image: InlineImage, spliced: list[tuple[bytes, bytes]]) -> EmailMessage:
    cid = image.cid if _CID.fullmatch(image.cid) else f"image.{secrets.token_hex(8)}@composer"
    part = _file_part(image.content_type or "image/png", "inline", image.filename)
    part.set_raw("Content-ID", f"<{cid}>")
    # The exact values, for Composer; the standard headers above are for everyone else.
    exact = {"cid": image.cid, "content_type": image.content_type, "filename": image.filename}
    part.set_raw("X-Composer-Image", _json_value(exact))
    spliced.append((_placeholder_of(part), image.data))
    return part


def _copy_part(file: AttachedFile, spliced: list[tuple[bytes, bytes]]) -> EmailMessage:
    name = file.attachment.name
    part = _file_part(file.attachment.content_type, "attachment", name)
    part.set_raw("Content-ID", f"<{file.copy_cid}>")
    spliced.append((_placeholder_of(part), file.data or b""))
    return part


def _file_part(content_type: str, disposition: str, name: str) -> EmailMessage:
    """A base64 part whose body is a placeholder line, replaced by _splice."""
    given = content_type.strip().lower()
    shown = _printable(name)
    if not _MIME_TYPE.fullmatch(given) or given.partition("/")[0] in ("message", "multipart"):
        given = "application/octet-stream"  # these may not be base64 (RFC 2046 5.2.1)
    return base64_part(given, disposition, shown, f"composer-draft-body-{secrets.token_hex(16)}")


def _placeholder_of(part: EmailMessage) -> bytes:
    return str(part.get_payload()).strip().encode("ascii")


def _multipart(subtype: str, parts: list[EmailMessage]) -> EmailMessage:
    container = EmailMessage(policy=SMTP)
    container["Content-Type"] = f"multipart/{subtype}"
    for part in parts:
        container.attach(part)
    return container


def _standard_headers(
    root: EmailMessage, draft: Draft, sender: Address | None, message_id: str, saved_at: datetime
) -> list[Address]:
    """Set the headers every mail program shows; returns the addresses in them."""
    # Added to a finished tree, then moved before its Content-Type, which stays last.
    headers: list[tuple[str, Any]] = []
    addresses: list[Address] = []
    if sender is not None:
        headers.append(("From", sender))
        addresses.append(sender)
    for name, typed in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        valid = parse_list(typed).valid
        if valid:
            headers.append((name, valid))
            addresses.extend(valid)
    if draft.subject:
        headers.append(("Subject", _one_line(draft.subject)))
    headers.append(("Date", format_datetime(saved_at)))
    headers.append(("Message-ID", message_id))
    headers.append(("MIME-Version", "1.0"))
    headers.append(("User-Agent", f"Composer/{__version__}"))
    rest = list(root.items())
    for name in {name for name, _ in rest}:
        del root[name]
    for name, value in headers:
        root[name] = value
    for name, value in rest:
        root[name] = value
    return addresses


def _own_headers(draft: Draft, files: list[AttachedFile]) -> bytes:
    lines = [_own_line("Draft", "1")]
    if draft.account_id:
        lines.append(_own_line("Account", _bare_or_json(draft.account_id)))
    if draft.in_reply_to:
        lines.append(_own_line("In-Reply-To", _bare_or_json(draft.in_reply_to)))
    # The typed copy is written for every field that holds anything, not only when the
    # standard header would lose something: an address field is re-rendered from what parses
    # (invalid pieces dropped, quotes and spaces changed), so most fields would need it
    # anyway, and one source to read back from keeps loading exact and simple.
    for name, typed in zip(
        _TYPED_FIELDS, (draft.to, draft.cc, draft.bcc, draft.subject), strict=True
    ):
        if typed:
            lines.append(_own_line(f"Typed-{name}", _base64_text(typed)))
    for file in files:
        lines.append(_own_line("Attachment", _json_value(file.record())))
    return b"".join(lines)


def _own_line(name: str, value: str) -> bytes:
    return f"X-Composer-{name}: {value}\r\n".encode("ascii")


def _bare_or_json(text: str) -> str:
    """text as is when it is one printable ASCII token, else as a JSON string (which escapes
    every control character, so it cannot end the line)."""
    if _TOKEN.fullmatch(text) and not text.startswith('"'):
        return text
    return json.dumps(text, ensure_ascii=True)


def _base64_text(text: str) -> str:
    encoded = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
    return "\r\n ".join(encoded[i : i + 64] for i in range(0, len(encoded), 64))


def _json_value(value: dict[str, Any]) -> str:
    # One item a line, each continuation starting with a space: folded as RFC 5322 wants,
    # and the whitespace folding leaves is whitespace JSON ignores.
    return json.dumps(value, ensure_ascii=True, indent=1).replace("\n", "\r\n ")


def _splice(skeleton: bytes, found: list[tuple[int, bytes, bytes]]) -> Iterator[bytes]:
    """skeleton with each placeholder line (at its start, in order) replaced by its data as
    base64 lines."""
    position = 0
    view = memoryview(skeleton)
    for start, placeholder, data in found:
        yield bytes(view[position:start])
        copy = memoryview(data)  # sliced without copying
        for offset in range(0, len(data), _BASE64_PIECE):
            yield encode_lines(copy[offset : offset + _BASE64_PIECE])
        position = start + len(placeholder) + 2
    yield bytes(view[position:])


def _encoded_length(size: int) -> int:
    """How long encode_lines makes size bytes: base64, in lines ending in CRLF."""
    encoded = 4 * -(-size // 3)
    return encoded + 2 * -(-encoded // BASE64_LINE_LENGTH)


def _one_line(text: str) -> str:
    text = "".join(" " if c in LINE_BREAKS else c for c in text)
    return text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates


def _printable(name: str) -> str:
    name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("_" if ord(c) < 32 or c in LINE_BREAKS or c == "\x7f" else c for c in name)


# --- reading --------------------------------------------------------------------------------


@dataclass
class _Parts:
    plain: Message | None = None
    html: Message | None = None
    images: tuple[Message, ...] = ()
    attachments: tuple[Message, ...] = ()
    by_cid: dict[str, Message] = field(default_factory=dict)


def _parse(data: bytes) -> tuple[EmailMessage, _Parts]:
    if not data.strip():
        raise DraftFileError("This file is empty.")
    message = BytesParser(policy=default_policy).parsebytes(data)
    assert isinstance(message, EmailMessage)
    for each in message.walk():
        if any(isinstance(d, _FATAL_DEFECTS) for d in each.defects):
            raise DraftFileError("This file is damaged: part of the message is missing.")
    parts = _Parts()
    images: list[Message] = []
    attachments: list[Message] = []
    for part, parent in _leaves(message, ""):
        kind = part.get_content_type()
        cid = str(part.get("Content-ID", "")).strip().removeprefix("<").removesuffix(">")
        if cid:
            parts.by_cid[cid] = part
        if part.get_content_disposition() == "attachment":
            attachments.append(part)
        elif kind == "text/plain" and parts.plain is None:
            parts.plain = part
        elif kind == "text/html" and parts.html is None:
            parts.html = part
        elif parent == "multipart/related" and cid:
            images.append(part)
        else:
            attachments.append(part)
    if parts.plain is None:
        raise DraftFileError("This file is damaged: the text of the message is missing.")
    parts.images, parts.attachments = tuple(images), tuple(attachments)
    return message, parts


def _leaves(part: Message, parent: str) -> Iterator[tuple[Message, str]]:
    if part.is_multipart():
        payload = part.get_payload()
        assert isinstance(payload, list)
        for child in payload:
            if not isinstance(child, Message):
                raise DraftFileError("This file is damaged: a part of the message is missing.")
            yield from _leaves(child, part.get_content_type())
    else:
        yield part, parent


def _text(part: Message | None, *, exact: bool) -> str:
    if part is None:
        return ""
    data = _payload(part, exact=exact)
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte != "base64":
        # Line ends in the file are CRLF; the text had "\n" (one with "\r" goes as base64).
        data = data.replace(b"\r\n", b"\n")
    if exact:
        return data.decode("utf-8", "surrogatepass")
    return data.decode(part.get_content_charset() or "utf-8", "replace")


def _payload(part: Message, *, exact: bool) -> bytes:
    raw = part.get_payload()
    if not isinstance(raw, str):
        raise DraftFileError("This file is damaged: a part of the message is not readable.")
    data = raw.encode("ascii", "surrogateescape")
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        if exact:  # strict: a copy cut short must not pass for the file
            return binascii.a2b_base64(b"".join(data.split()), strict_mode=True)
        return base64.b64decode(data)
    if cte == "quoted-printable":
        return quopri.decodestring(data)
    return data


def _inline_image(part: Message, *, exact: bool) -> InlineImage:
    data = _payload(part, exact=exact)
    header = part.get("X-Composer-Image")
    if exact and header is not None:
        values = json.loads(str(header))
        cid, content_type, filename = (_str(values, k) for k in ("cid", "content_type", "filename"))
        return InlineImage(cid, data, content_type, filename)
    cid = str(part.get("Content-ID", "")).strip().removeprefix("<").removesuffix(">")
    return InlineImage(cid, data, part.get_content_type(), part.get_filename() or "")


def _shown_name(part: Message) -> str:
    return str(part.get_filename() or "") or "attachment"


def _check_size(data: bytes) -> None:
    found = _SIZE.search(data.partition(b"\r\n\r\n")[0] + b"\r\n")
    if found is None or "Content-Type" not in BytesHeaderParser().parsebytes(data):
        raise DraftFileError("This draft is incomplete: part of it was never written.")
    if len(data) - found.end() < int(found[1]):
        raise DraftFileError("This draft is incomplete: it was cut short when it was saved.")


def _own_all(own: Message, name: str) -> list[str]:
    values = own.get_all(f"X-Composer-{name}") or []
    if not all(isinstance(v, str) for v in values):
        raise DraftFileError("This draft is damaged: a Composer header is not readable.")
    return [str(v) for v in values]


def _own(own: Message, name: str) -> str:
    values = _own_all(own, name)
    if not values:
        return ""
    value = re.sub(r"\r?\n", "", values[0]).strip()
    if value.startswith('"'):
        loaded = json.loads(value)
        # JSON's "\udcxx" escapes decode to lone surrogates, which no widget or mail can hold.
        if not isinstance(loaded, str) or not is_utf8(loaded):
            raise DraftFileError(f"This draft is damaged: X-Composer-{name} is not readable.")
        return loaded
    return value


def _typed(own: Message, message: EmailMessage, name: str) -> str:
    values = _own_all(own, f"Typed-{name}")
    if values:
        encoded = "".join(values[0].split()).encode("ascii")
        return base64.b64decode(encoded, validate=True).decode("utf-8", "surrogatepass")
    if name == "Subject":
        return str(message.get("Subject", ""))
    return _address_text(message, name)


def _address_text(message: EmailMessage, name: str) -> str:
    header = message.get(name)
    if header is None:
        return ""
    return ", ".join(format_address(a) for a in getattr(header, "addresses", ()))


def _date(message: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None


def _record(value: str) -> dict[str, Any]:
    record = json.loads(value)
    if not isinstance(record, dict):
        raise DraftFileError("This draft is damaged: an attachment record is not readable.")
    return record


def _str(values: dict[str, Any], key: str) -> str:
    value = values.get(key, "")
    if not isinstance(value, str):
        raise DraftFileError("This draft is damaged: a Composer header is not readable.")
    return value


def _restore(
    file: AttachedFile, by_cid: dict[str, Message], files_dir: Path
) -> tuple[Attachment | None, str]:
    """The attachment a record names, and a sentence if it could not be restored as saved."""
    attachment = file.attachment
    if file.unchanged():
        return attachment, ""
    part = by_cid.get(file.copy_cid or "")
    if part is None:
        return None, file.lost_sentence()
    try:
        data = _payload(part, exact=True)
        if file.size is not None and len(data) != file.size:
            raise ValueError("copy cut short")
        copy = restore_copy(files_dir, attachment.name, data)
    except (ValueError, binascii.Error, DraftFileError):
        return None, file.lost_sentence(damaged=True)
    except OSError as error:
        return None, file.lost_sentence(reason=error.strerror or str(error))
    restored = Attachment(copy, attachment.name, attachment.content_type)
    return restored, file.changed_sentence() if file.exists() else ""
