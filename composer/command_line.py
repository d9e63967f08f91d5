"""The command line: its options, and the messages they ask for."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from composer import __version__
from composer.mail.draft import Attachment, Draft
from composer.mail.mailto import MailtoError, parse_mailto
from composer.mail.text import has_line_break, is_utf8


class CommandLineError(ValueError):
    """Arguments that cannot be used; str(error) is a sentence for stderr."""


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="composer",
        description="Write and send email through your SMTP accounts. If Composer is "
        "already running, the message opens in a new window there.",
        epilog="Options add to what the mailto: link gives: --to, --cc and --bcc add "
        "recipients, --subject and --body replace the link's.",
    )
    parser.add_argument("--version", action="version", version=f"Composer {__version__}")
    parser.add_argument(
        "url",
        nargs="?",
        metavar="URL",
        help="a mailto: link (RFC 6068) to fill the message from, e.g. "
        "'mailto:ann@example.org?subject=Hello'",
    )
    for option, what in (("--to", "To"), ("--cc", "Cc"), ("--bcc", "Bcc")):
        parser.add_argument(
            option,
            action="append",
            default=[],
            metavar="ADDR",
            help=f"add an address (or a comma-separated list) to {what}; repeatable",
        )
    parser.add_argument("--subject", metavar="TEXT", help="the subject")
    parser.add_argument("--body", metavar="TEXT", help="the message text")
    parser.add_argument(
        "--attach", action="append", default=[], metavar="FILE", help="attach FILE; repeatable"
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        metavar="DIR",
        help="keep settings, sandbox mail and every other file Composer writes in DIR",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log the SMTP conversations too (passwords and messages hidden) for this run "
        "(a Composer already running keeps its own setting); the log is composer.log in the "
        "data directory, shown by Help > Show Log",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="send one message through the local sandbox offscreen, then exit (0 on success)",
    )
    return parser.parse_args(argv)


def drafts_from_arguments(arguments: argparse.Namespace) -> list[Draft]:
    """The messages the command line asks for (one; empty when nothing was given).

    Raises CommandLineError for a malformed mailto: link, a missing file to attach, or
    text that cannot be a header field.
    """
    try:
        draft = parse_mailto(arguments.url) if arguments.url else Draft()
    except MailtoError as error:
        raise CommandLineError(str(error)) from None
    recipients: dict[str, str] = {}
    for name in ("to", "cc", "bcc"):
        added = [_header_text(value, f"--{name}") for value in getattr(arguments, name)]
        recipients[name] = ", ".join(part for part in (getattr(draft, name), *added) if part)
    subject = draft.subject
    if arguments.subject is not None:
        subject = _header_text(arguments.subject, "--subject")
    body = draft.body
    if arguments.body is not None:
        body = _text(arguments.body, "--body").replace("\r\n", "\n").replace("\r", "\n")
    return [
        Draft(
            to=recipients["to"],
            cc=recipients["cc"],
            bcc=recipients["bcc"],
            subject=subject,
            body=body,
            in_reply_to=draft.in_reply_to,
            attachments=tuple(_attachment(name) for name in arguments.attach),
        )
    ]


def _text(value: str, option: str) -> str:
    if not is_utf8(value):  # bytes in argv that are not UTF-8
        raise CommandLineError(f"The text given with {option} is not valid UTF-8.")
    return value


def _header_text(value: str, option: str) -> str:
    if has_line_break(_text(value, option)):
        raise CommandLineError(f"The text given with {option} must be one line.")
    return value.strip()


def _attachment(name: str) -> Attachment:
    path = Path(name).expanduser()
    if not path.exists():
        raise CommandLineError(f"Cannot attach '{name}': there is no such file.")
    if not path.is_file():
        raise CommandLineError(f"Cannot attach '{name}': it is not a file.")
    if not os.access(path, os.R_OK):
        raise CommandLineError(f"Cannot attach '{name}': it cannot be read (permission denied).")
    # abspath rather than resolve(): a symbolic link keeps the name the user gave it.
    return Attachment(Path(os.path.abspath(path)))
