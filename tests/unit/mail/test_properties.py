"""Properties of what comes in from outside (typed, pasted, linked, from another process) and
the message built from it: it round-trips through the standard library's parser, no input
adds or changes a header or makes a line over 998 octets, and bad input is a worded error."""

from __future__ import annotations

import email.policy
import json
import re
import urllib.parse
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from composer.instance_protocol import PROTOCOL, ProtocolError, decode_request
from composer.mail.accounts import Account
from composer.mail.addresses import parse_address, parse_list
from composer.mail.draft import Attachment, Draft
from composer.mail.draft_file import DraftFileError, decode_draft, encode_draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.mailto import MailtoError, parse_mailto
from composer.mail.message import MAX_LINE, OutgoingMessage, build_message
from composer.mail.text import LINE_BREAKS, is_message_id

# Each property runs in about a second; the machine may be slow, which is no failure.
QUICK = settings(max_examples=100, deadline=None)

# Every header Composer writes at the top of a message, and in its parts.
TOP_HEADERS = {
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "User-Agent",
    "In-Reply-To",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
}
PART_HEADERS = {"Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-ID"}

# Pieces that parsers of headers, addresses and links treat specially, mixed with any text.
_TRICKY = (
    '"', "\\", ",", ";", ":", "<", ">", "(", ")", "[", "]", "@", ".", " ", "  ", "\t", "\r",
    "\n", "\r\n", "\0", "\x7f", "\x85", "\u2028", "\u200f", "\u202e", "\ufeff", "=?", "?=",
    "=?utf-8?q?", "=0D=0A", "=?utf-8?q?a=0D=0ABcc:_eve@example.net?=", "=?utf-8?b?QQ==?=",
    "Bcc: eve@example.net", "\U0001f600", "\U00020000", "ä", "日本",
)  # fmt: skip
_any_char = st.characters(codec="utf-8")  # no lone surrogates: no widget or link gives one
_text = st.lists(st.sampled_from(_TRICKY) | st.text(_any_char, max_size=8), max_size=16).map(
    "".join
)
# Long enough to need folding, or more than one line's worth of one word.
_long = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["ä", "a", "a ", "日本 ", "\U0001f600", '"', "=?"]),
    st.integers(60, 1100),
)
_field = _text | _long


def wire(outgoing: OutgoingMessage) -> EmailMessage:
    """The message as a receiving server parses it (as UTF-8 text when SMTPUTF8 is used)."""
    data = outgoing.as_bytes()
    if outgoing.envelope.needs_utf8():
        message = Parser(policy=email.policy.default).parsestr(data.decode("utf-8"))
    else:
        message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def assert_sentence(text: str) -> None:
    assert text.endswith("."), text
    assert "Traceback" not in text


def assert_worded(error: SendError, *also: ErrorKind) -> None:
    """A refusal the status bar can show: ours, in a sentence, not an internal error."""
    assert error.kind in {ErrorKind.INVALID_MESSAGE, ErrorKind.NO_RECIPIENTS, *also}, error
    assert_sentence(error.message)


def assert_well_formed(outgoing: OutgoingMessage) -> EmailMessage:
    """Only Composer's own headers, each once; no line over the limit; parses back."""
    data = outgoing.as_bytes()
    assert max(len(line) for line in data.split(b"\r\n")) <= MAX_LINE
    head = data.partition(b"\r\n\r\n")[0]
    names = [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n") if line[:1] != b" "]
    assert names == list(outgoing.message.keys())
    assert set(names) <= TOP_HEADERS, names
    assert len(names) == len(set(names)), names
    message = wire(outgoing)
    assert list(message.keys()) == names
    for part in message.walk():
        if part is not message:
            assert set(part.keys()) <= PART_HEADERS, part.keys()
    assert not message.defects
    return message


def same_name(received: str, sent: str) -> bool:
    """Whether the parser read a display name back as it was sent.

    A long non-ASCII name goes out as several encoded words; RFC 2047 (6.2) says the blanks
    between them are not text, but the email package's address parser keeps one there, and
    it turns a tab in an encoded word into a space: blanks may differ, nothing else.
    """
    return received == sent or "".join(received.split()) == "".join(sent.split())


def lines(text: str) -> str:
    """text with its line ends as the message normalises them (a final one added)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n")


def quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def readable(name: str) -> str:
    """The file name recipients see: control characters are replaced (see message.py)."""
    shown = "".join("_" if c in LINE_BREAKS or ord(c) < 32 or c == "\x7f" else c for c in name)
    return shown.strip() or "attachment"


@pytest.fixture(scope="module")
def attached(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("attached") / "file.bin"
    path.write_bytes(bytes(range(256)) * 3)
    return path


# --- the message built for sending -----------------------------------------------------------


@QUICK
@given(
    to_name=_field,
    sender_name=_field,
    subject=_field,
    body=_field,
    html=_field,
    file_name=_field,
    domain=st.sampled_from(["example.net", "exämple.net"]),  # the latter goes with SMTPUTF8
)
# A subject, a recipient's name or a message id holding an encoded word whose text is a line
# break: the email package decoded it as the header was set and wrote the line break out, so
# a web page's mailto: link could add any header (Bcc, Reply-To, a second From).
@example("Bob", "Ann", "=?utf-8?q?a=0D=0ABcc:_eve@example.net?=", "", "", "x", "example.net")
@example("=?utf-8?q?a=0D=0AX-Evil=3A_1?=", "Ann", "S", "", "", "x", "example.net")
@example("Bob", "=?utf-8?q?Your_bank?=", "S", "", "", "x", "example.net")
# Text shaped like an encoded word went out bare and arrived as other text.
@example("Bob", "Ann", ",X=?utf-8?q?x?=", "", "", "=?utf-8?b?QQ==?=.pdf", "example.net")
# A name with quotes or commas, folded by the email package, lost its quotes: recipients saw
# "eve@example.net" as one more address.
@example("Lee, Ann, " + "x" * 60 + ", eve@example.net", '"' * 80, "S", "", "", "x", "example.net")
# Folding non-ASCII text between encoded words lost a blank.
@example("Bob", "Ann", "日本 " * 40, "", "", "x", "example.net")
@example("Zoë, Ann", "Jürgen", "Grüße", "ü", "<p>ü</p>", "ü.pdf", "exämple.net")
def test_what_is_typed_arrives_as_typed(
    attached: Path,
    to_name: str,
    sender_name: str,
    subject: str,
    body: str,
    html: str,
    file_name: str,
    domain: str,
) -> None:
    # How the sending side builds it (SendService.build): the account's sender and Reply-To.
    account = Account(
        name="Work",
        display_name=sender_name,
        email="ann@example.org",
        host="smtp.example.org",
        reply_to=f"{quoted(to_name)} <reply@example.org>",
    )
    to = f"{quoted(to_name)} <bob@{domain}>, carl@example.com"
    draft = Draft(
        to=to,
        subject=subject,
        body=body,
        html=html,
        attachments=(Attachment(attached, file_name),),
    )
    try:
        if account.problems():
            return  # the Accounts dialog does not save such an account
        outgoing = build_message(draft, account.sender(), account.reply_to)
    except SendError as error:
        assert_worded(error)
        return

    message = assert_well_formed(outgoing)
    [typed, _carl] = parse_list(to).valid
    bob, carl = message["To"].addresses
    assert same_name(bob.display_name, typed.display_name)
    assert (bob.addr_spec, carl.addr_spec) == (f"bob@{domain}", "carl@example.com")
    assert same_name(message["From"].addresses[0].display_name, sender_name)
    assert message["Reply-To"].addresses[0].addr_spec == "reply@example.org"
    # Blanks at either end of a subject are not kept (the one after the colon is folding).
    assert str(message["Subject"]).strip() == subject.strip()
    for subtype, typed_text in (("plain", body), ("html", html)):
        found = message.get_body((subtype,))
        if not typed_text and subtype == "html":
            assert found is None  # unformatted: plain text only
            continue
        assert found is not None
        assert lines(found.get_content()) == lines(typed_text)
    [part] = message.iter_attachments()
    # Read from the header itself: get_filename() also strips quotes that begin and end it.
    assert part["Content-Disposition"].params["filename"] == readable(file_name or attached.name)
    assert part["Content-Type"].params["name"] == readable(file_name or attached.name)
    assert part.get_content() == attached.read_bytes()
    assert outgoing.envelope.recipients == (f"bob@{domain}", "carl@example.com")


@QUICK
@given(in_reply_to=_field | st.builds("<{}@{}>".format, _text, _text))
@example("<=?utf-8?q?a=0D=0AX-Evil=3A_1?=@example.org>")
def test_only_a_message_id_threads_a_reply(in_reply_to: str) -> None:
    draft = Draft(to="bob@example.net", in_reply_to=in_reply_to)
    try:
        outgoing = build_message(draft, Address("Ann", "ann", "example.org"))
    except SendError as error:
        assert_worded(error)
        return

    message = assert_well_formed(outgoing)
    if in_reply_to.strip():
        assert is_message_id(in_reply_to.strip())
        assert message["In-Reply-To"] == message["References"] == in_reply_to.strip()
    else:
        assert "In-Reply-To" not in message


# --- address parsing ---------------------------------------------------------------------------


# Large inputs, bounded: runs of what a parser might loop over, around a real address.
_big = st.builds(
    lambda head, piece, count, tail: head + piece * count + tail,
    _text,
    st.sampled_from([" ", '"', "\\", "<", ">", ",", "@", "a", "<a@b.org>", '"\\"', "=?"]),
    st.integers(1000, 40_000),
    _text | st.just("ann@example.org"),
)


@QUICK
@given(_text | _big)
@example('"=?utf-8?q?a=0D=0AX-Evil=3A_1?=" <bob@example.net>')
@example("=?utf-8?q?a=0D=0AX-Evil=3A_1?=@example.net")
def test_addresses_parse_to_themselves_or_are_named_as_invalid(text: str) -> None:
    parsed = parse_list(text)

    for address in parsed.valid:
        # What the message writes comes back as the same address, on one line.
        assert parse_list(str(address)).valid == (address,)
        assert parse_address(str(address)) == address
        assert not any(c in str(address) for c in LINE_BREAKS)
        assert "=?" not in str(address)
    for piece in parsed.invalid:
        assert piece
        assert piece in text


# --- mailto: links -------------------------------------------------------------------------------

_KEYS = ("to", "cc", "bcc", "subject", "body", "in-reply-to", "from", "reply-to", "attach", "")


def _escaped(text: str) -> str:
    return urllib.parse.quote(text, safe="")


_value = st.one_of(
    _field.map(_escaped),  # what a web page encodes properly
    _field,  # and what it does not
    st.sampled_from(["%0D%0A", "%0A", "%0D", "%00", "%E2%80%A8", "%C2%85", "%3D%3F", "%ZZ", "%"]),
    st.builds("<{}@example.org>".format, _text).map(_escaped),
)
_link = st.builds(
    lambda path, fields: "mailto:" + path + ("?" + "&".join(fields) if fields else ""),
    _value,
    st.lists(
        st.builds("{}={}".format, st.sampled_from(_KEYS) | _text, _value), max_size=8
    ),  # keys repeat, as they may
)


@QUICK
@given(_link)
@example("mailto:bob@example.net?subject=%3D%3Futf-8%3Fq%3Fa%3D0D%3D0ABcc:_eve@example.net%3F%3D")
@example("mailto:%22=%3Futf-8%3Fq%3Fa=0D=0AX-Evil=3A_1%3F=%22%20%3Cbob@example.net%3E")
@example("mailto:bob@example.net?in-reply-to=%3C=%3Futf-8%3Fq%3Fa=0D=0AX-Evil=3A_1%3F=@x.org%3E")
@example("mailto:bob@example.net?subject=a&subject=b&body=" + "x%0D%0A" * 5000)
def test_a_link_gives_a_message_with_only_our_headers_or_a_clear_error(link: str) -> None:
    try:
        draft = parse_mailto(link)
    except MailtoError as error:
        assert_sentence(str(error))
        return
    for field in (draft.to, draft.cc, draft.bcc, draft.subject, draft.in_reply_to):
        assert not any(c in field for c in "\r\n")
    assert draft.in_reply_to == "" or is_message_id(draft.in_reply_to)

    # Sent as it came (to someone, if the link named no one): only our headers go out.
    if not draft.has_recipients():
        draft = Draft(to="bob@example.net", subject=draft.subject, body=draft.body)
    try:
        outgoing = build_message(draft, Address("Ann", "ann", "example.org"))
    except SendError as error:
        assert_worded(error)
        return
    message = assert_well_formed(outgoing)
    assert str(message["Subject"]) == draft.subject


# --- another launch's request --------------------------------------------------------------------

_json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | _field
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_draft_object = st.dictionaries(
    st.sampled_from(["to", "cc", "bcc", "subject", "body", "in_reply_to", "attachments", "x"]),
    _json | _field | st.lists(st.sampled_from(["/tmp/a", "a", "/x\0y", "/\udcff", ""])),
)
_request = st.builds(
    lambda protocol, drafts: {"protocol": protocol, "drafts": drafts},
    st.sampled_from([PROTOCOL, PROTOCOL + "x", 1]),
    st.lists(_draft_object | _json, max_size=3) | _json,
)


@QUICK
@given(_request, st.booleans())
@example({"protocol": PROTOCOL, "drafts": [{"subject": "\udcff"}]}, True)
@example({"protocol": PROTOCOL, "drafts": [{"to": "bob@example.net", "in_reply_to": "x"}]}, False)
def test_a_request_gives_drafts_or_a_protocol_error(request: object, ascii_only: bool) -> None:
    line = json.dumps(request, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        drafts = decode_request(line)
    except ProtocolError:
        return
    for draft in drafts:
        for text in (draft.to, draft.cc, draft.bcc, draft.subject, draft.body, draft.in_reply_to):
            text.encode("utf-8")  # text a window can show and a message can carry
        # Sending what it asked for gives a message or a worded refusal.
        try:
            build_message(draft, Address("Ann", "ann", "example.org"))
        except SendError as error:
            # An attachment that is not a readable file is named too (ErrorKind.FILE).
            assert_worded(error, ErrorKind.FILE)


def test_the_headers_are_the_ones_composer_writes() -> None:
    # The allowed set above is not wider than what a full message uses.
    outgoing = build_message(
        Draft(to="bob@example.net", cc="c@example.com", subject="S", in_reply_to="<a@b.org>"),
        Address("Ann", "ann", "example.org"),
        reply_to="r@example.org",
    )
    assert set(re.findall(r"^([\w-]+):", outgoing.as_bytes().decode(), re.M)) == TOP_HEADERS


# --- a stored draft ------------------------------------------------------------------------------

_ANY_JSON_TEXT = st.text(st.characters(codec=None, categories=None), max_size=20)


def dumped(text: str) -> bytes:
    return json.dumps(text).encode("ascii")


@pytest.fixture(scope="module")
def stored_draft(attached: Path) -> bytes:
    draft = Draft(
        "account",
        to="bob@example.net",
        in_reply_to="<a@example.org>",
        attachments=(Attachment(attached, "name.bin"),),
    )
    return encode_draft(
        draft,
        sender=Address("Ann", "ann", "example.org"),
        message_id="<d@example.org>",
        saved_at=datetime(2025, 1, 2, tzinfo=UTC),
    )


@QUICK
@given(
    header=st.sampled_from(["Account", "In-Reply-To", "Attachment"]),
    text=_ANY_JSON_TEXT,
)
# JSON's "\udcxx" escapes decode to lone surrogates, which no widget or message can hold:
# a draft file holding one gave a draft that could not be sent (an internal error).
@example(header="In-Reply-To", text="\udcff")
@example(header="Attachment", text="\ud800")
def test_a_stored_draft_gives_text_or_a_draft_file_error(
    tmp_path_factory: pytest.TempPathFactory, stored_draft: bytes, header: str, text: str
) -> None:
    if header == "Attachment":
        data = stored_draft.replace(b'"filename": "name.bin"', b'"filename": ' + dumped(text))
    else:
        line = f"X-Composer-{header}: ".encode()
        start = stored_draft.index(line) + len(line)
        end = stored_draft.index(b"\r\n", start)
        data = stored_draft[:start] + dumped(text) + stored_draft[end:]
    assert data != stored_draft

    try:
        loaded = decode_draft(data, files_dir=tmp_path_factory.mktemp("restored"))
    except DraftFileError as error:
        assert_sentence(str(error))
        return
    draft = loaded.draft
    for value in (draft.account_id, draft.in_reply_to, *(a.name for a in draft.attachments)):
        value.encode("utf-8")  # text a window can show and a message can carry
