"""What a later launch says to the running Composer, and its answer; plain Python, no Qt.

The running instance listens on a local socket (composer/ui/instance.py). A later launch
connects, sends one line of JSON, waits for a one-line JSON acknowledgement, and exits:

    → {"protocol": "composer-instance/1", "drafts": [{"to": "...", "cc": "...", "bcc": "...",
       "subject": "...", "body": "...", "in_reply_to": "...", "attachments": ["/abs/path"]}]}
    ← {"ok": true}          (or {"ok": false, "error": "..."} for a request it refused)

Every draft opens one compose window. Fields may be left out (empty); unknown keys are ignored.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from composer.mail.draft import Attachment, Draft
from composer.mail.text import is_utf8

log = logging.getLogger(__name__)

PROTOCOL = "composer-instance/1"
# A request is a command line's worth of text: Linux passes at most 2 MiB of arguments, and
# JSON's \uXXXX escapes make non-ASCII text up to three times longer. Anything much bigger is
# not from Composer.
MAX_REQUEST_BYTES = 8 * 1024 * 1024
# A launch asks for one window; room for a few more, but not for a flood of windows.
MAX_DRAFTS = 20

_TEXT_FIELDS = ("to", "cc", "bcc", "subject", "body", "in_reply_to")
_OK = b'{"ok": true}\n'


class ProtocolError(ValueError):
    """A request on the instance socket that is not a valid Composer request."""


# --- the request ---------------------------------------------------------------------------


def encode_request(drafts: Sequence[Draft]) -> bytes:
    """One line of JSON (ASCII, so no raw line break can occur inside it)."""
    payload = {
        "protocol": PROTOCOL,
        "drafts": [
            {
                **{name: getattr(draft, name) for name in _TEXT_FIELDS},
                "attachments": [os.fspath(a.path) for a in draft.attachments],
            }
            for draft in drafts
        ],
    }
    return json.dumps(payload, ensure_ascii=True).encode("ascii") + b"\n"


def decode_request(line: bytes) -> list[Draft]:
    """The drafts in one request line; raises ProtocolError (only) when it is not one."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("not JSON") from None
    if not isinstance(message, dict) or message.get("protocol") != PROTOCOL:
        raise ProtocolError(f"not a {PROTOCOL} request")
    drafts = message.get("drafts")
    if not isinstance(drafts, list) or len(drafts) > MAX_DRAFTS:
        raise ProtocolError(f"'drafts' must be a list of at most {MAX_DRAFTS}")
    return [_draft(item) for item in drafts]


def _draft(item: Any) -> Draft:
    if not isinstance(item, dict):
        raise ProtocolError("a draft must be an object")
    texts: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        value = item.get(name, "")
        # JSON's "\udcxx" escapes decode to lone surrogates, which no widget or mail can hold.
        if not isinstance(value, str) or not is_utf8(value):
            raise ProtocolError(f"'{name}' must be text")
        texts[name] = value
    paths = item.get("attachments", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise ProtocolError("'attachments' must be a list of paths")
    # The running instance has another working directory: a relative path would name
    # another file there.
    if not all(os.path.isabs(p) for p in paths):
        raise ProtocolError("attachment paths must be absolute")
    return Draft(
        to=texts["to"],
        cc=texts["cc"],
        bcc=texts["bcc"],
        subject=texts["subject"],
        body=texts["body"],
        in_reply_to=texts["in_reply_to"],
        attachments=tuple(Attachment(Path(p)) for p in paths),
    )


# --- the answer ----------------------------------------------------------------------------


def encode_reply(ok: bool, error: str = "") -> bytes:
    """The running instance's one-line answer: accepted, or refused with error."""
    return _OK if ok else json.dumps({"ok": False, "error": error}).encode("ascii") + b"\n"


def acknowledged(reply: bytes) -> bool:
    """True when reply (what came back, perhaps more than one line) accepts the request.

    A refusal is logged with what the running instance said; anything unreadable is False.
    """
    try:
        answer = json.loads(reply.partition(b"\n")[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    if isinstance(answer, dict) and answer.get("ok") is True:
        return True
    log.warning("The running Composer refused the request: %s", answer)
    return False
