"""The SMTP conversation as it happened, with every secret and the message itself left out."""

from __future__ import annotations

import enum
import logging
import re
import smtplib
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger("composer.smtp")

HIDDEN = "<hidden>"
# Enough for a connection check or a batch of messages; a long batch keeps its latest lines.
MAX_LINES = 2_000
# A reply line past this is cut: what is shown and logged stays small whatever a server sends.
MAX_LINE_CHARS = 1_000
# Control characters (a stray CR, an escape sequence) would forge lines in the log or a view.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


class Direction(enum.Enum):
    """Who said a line: the client (Composer), the server, or a note about the connection."""

    SENT = "C:"
    RECEIVED = "S:"
    NOTE = "--"


@dataclass(frozen=True)
class TranscriptLine:
    at: datetime
    direction: Direction
    text: str

    def __str__(self) -> str:
        stamp = f"{self.at:%H:%M:%S}.{self.at.microsecond // 1000:03d}"
        return f"{stamp} {self.direction.value} {self.text}"


class Transcript:
    """Lines of one connection, safe to read from another thread once the work is done.

    Every line is also logged at DEBUG level (logger ``composer.smtp``); ``keep=False``
    keeps none in memory and only logs them.
    """

    def __init__(self, *, keep: bool = True) -> None:
        self._lines: deque[TranscriptLine] = deque(maxlen=MAX_LINES if keep else 0)
        self._keep = keep
        self._lock = threading.Lock()
        self.peer = ""

    def add(self, direction: Direction, text: str) -> None:
        if not self._keep and not log.isEnabledFor(logging.DEBUG):
            # Nowhere to go: spared the cleaning and stamping, a tenth of a small message's
            # send when a batch goes out.
            return
        shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
        if len(shown) > MAX_LINE_CHARS:
            shown = f"{shown[:MAX_LINE_CHARS]}… ({len(shown):,} characters)"
        line = TranscriptLine(datetime.now().astimezone(), direction, shown)
        with self._lock:
            self._lines.append(line)
        log.debug("%s %s %s", self.peer or "-", direction.value, shown)

    def note(self, text: str) -> None:
        self.add(Direction.NOTE, text)

    def lines(self) -> tuple[TranscriptLine, ...]:
        with self._lock:
            return tuple(self._lines)

    def text(self) -> str:
        """The whole conversation, one line each, ready to copy."""
        return "\n".join(str(line) for line in self.lines())


class TranscriptMixin:
    """Records what an smtplib.SMTP says and hears in ``transcript``, secrets hidden.

    Hidden: the argument of AUTH and every line sent while a login is under way (the
    answers to the server's 334 challenges, which are the password in base64). The message
    is never recorded: what is sent after DATA's 354 is counted, and a sender that writes
    to the socket itself says how much with body_written(). First among a connection's
    bases, so that it records what any other getreply() or send() override passes on.
    """

    transcript: Transcript | None = None
    sock: Any
    _transcript_state: str = ""  # "auth", "data" (DATA sent), "body" (after 354) or ""
    _replies_before_data: int = 0  # to commands pipelined before DATA, still to come
    _body_bytes: int = 0
    _greeting_due: bool = False

    def connect(self, host: str = "localhost", port: int = 0, source_address: Any = None) -> Any:
        if self.transcript is not None:
            self.transcript.peer = f"{host}:{port}"
            self.transcript.note(f"connecting to {host} port {port}")
        self._greeting_due = True
        try:
            return super().connect(host, port, source_address)  # type: ignore[misc]
        except BaseException as error:
            self._note_failure("connection failed", error)
            raise

    def starttls(self, *args: Any, **kwargs: Any) -> Any:
        try:
            reply = super().starttls(*args, **kwargs)  # type: ignore[misc]
        except BaseException as error:
            self._note_failure("TLS failed", error)
            raise
        self._note_tls()
        return reply

    def send(self, s: ReadableBuffer | str) -> None:
        if self.transcript is not None:
            self._record_sent(s)
        super().send(s)  # type: ignore[misc]

    def getreply(self) -> tuple[int, bytes]:
        if self._greeting_due:
            self._greeting_due = False
            self._note_tls()
        if self._transcript_state == "body":
            self._end_body()
        try:
            code, message = super().getreply()  # type: ignore[misc]
        except BaseException as error:
            self._note_failure("no reply", error)
            raise
        if self.transcript is not None:
            for line in _reply_lines(code, message):
                self.transcript.add(Direction.RECEIVED, line)
        if self._transcript_state == "data" and self._replies_before_data:
            self._replies_before_data -= 1  # MAIL's or a RCPT's, in the same write as DATA
        elif self._transcript_state == "data" and code == 354:
            self._transcript_state, self._body_bytes = "body", 0
        elif not (self._transcript_state == "auth" and code == 334):
            self._transcript_state = ""
        return code, message

    def body_written(self, size: int) -> None:
        """The message (size bytes) and its final "." went out past send()."""
        self._body_bytes += size
        self._end_body()

    def _record_sent(self, s: ReadableBuffer | str) -> None:
        assert self.transcript is not None
        if self._transcript_state == "body":
            self._body_bytes += len(s) if isinstance(s, str) else memoryview(s).nbytes
            return
        text = s if isinstance(s, str) else bytes(s).decode("utf-8", "replace")
        for earlier, line in enumerate(text.removesuffix("\r\n").split("\r\n")):
            self.transcript.add(Direction.SENT, self._redacted(line, earlier))

    def _redacted(self, line: str, earlier: int) -> str:
        """line as shown; earlier is how many lines came before it in the same write."""
        verb, _, rest = line.partition(" ")
        if self._transcript_state == "auth":
            return HIDDEN
        if verb.upper() == "AUTH":
            self._transcript_state = "auth"
            mechanism, _, response = rest.partition(" ")
            return f"{verb} {mechanism} {HIDDEN}" if response else line
        if verb.upper() == "DATA":
            self._transcript_state, self._replies_before_data = "data", earlier
        return line

    def _end_body(self) -> None:
        if self._transcript_state != "body":
            return
        self._transcript_state = ""
        if self.transcript is not None:
            self.transcript.note(f"<message body, {self._body_bytes:,} bytes, not shown>")
            self.transcript.add(Direction.SENT, ".")

    def _note_tls(self) -> None:
        sock = self.sock
        if self.transcript is not None and isinstance(sock, ssl.SSLSocket):
            cipher = sock.cipher()
            name = f", {cipher[0]}" if cipher else ""
            self.transcript.note(f"secured with {sock.version()}{name}")

    def _note_failure(self, what: str, error: BaseException) -> None:
        if self.transcript is not None:
            self.transcript.note(f"{what}: {type(error).__name__}: {error}")


def body_written(smtp: smtplib.SMTP, size: int) -> None:
    """Tell smtp's transcript, if it keeps one, that the message went out past send()."""
    if isinstance(smtp, TranscriptMixin):
        smtp.body_written(size)


def _reply_lines(code: int, message: bytes) -> list[str]:
    """A reply as the server wrote it: smtplib keeps only the text of each line."""
    texts = message.decode("utf-8", "replace").split("\n")
    if code < 0:
        return texts
    last = len(texts) - 1
    return [f"{code}{' ' if i == last else '-'}{text}".rstrip() for i, text in enumerate(texts)]
