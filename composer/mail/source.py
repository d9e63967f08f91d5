"""Show message source: the wire text of a message, big attachment bodies elided."""

from __future__ import annotations

from composer.mail.message import OutgoingMessage

# Above this many bytes on the wire, attachment bodies are shortened for display.
ELIDE_ABOVE = 1_000_000


def outgoing_source(outgoing: OutgoingMessage, elide_above: int = ELIDE_ABOVE) -> str:
    """outgoing's wire text with "\\n" line ends.

    When the message is larger than elide_above bytes, each attachment or inline image body
    is shown as its first line, a note saying how many lines were left out, and its last line;
    the files are then read only for those lines. Save as .eml (write_to) keeps everything.
    """
    if outgoing.size() <= elide_above:
        return _text(outgoing.as_bytes())
    pieces: list[bytes] = []
    for text, body in outgoing.segments():
        pieces.append(text)
        if body is None:
            continue
        if body.line_count <= 3:
            pieces.extend(body.pieces())
            continue
        first, last = body.first_and_last_lines()
        omitted = body.line_count - 2
        note = (
            f"[… {omitted} lines of base64 for file {body.name} omitted; "
            "Save as .eml keeps them …]\r\n"
        )
        pieces += [first, note.encode("utf-8"), last]
    return _text(b"".join(pieces))


def _text(wire: bytes) -> str:
    # Headers and text parts are ASCII or UTF-8; anything else is shown, not trusted.
    return wire.decode("utf-8", "replace").replace("\r\n", "\n")


def message_text(data: bytes) -> str:
    """A stored message as people read it: its main headers, its text, its attachments' names."""
    from email import message_from_bytes
    from email.message import EmailMessage
    from email.policy import default

    message = message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    lines = [
        f"{name}: {message[name]}"
        for name in ("From", "To", "Cc", "Subject", "Date")
        if message[name] is not None
    ]
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    names = [part.get_filename() or "(unnamed)" for part in message.iter_attachments()]
    attached = [f"Attached: {', '.join(names)}"] if names else []
    return "\n".join([*lines, *attached, "", str(text)])
