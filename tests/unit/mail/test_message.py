"""Building the MIME message and its envelope from a Draft."""

from __future__ import annotations

import email.policy
import email.utils
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, build_message, check_header_value

SENDER = Address("Ann Lee", "ann", "example.org")


def build(**fields) -> OutgoingMessage:
    values = {"to": "bob@example.net", "subject": "Hello", "body": "Hi Bob\n"}
    values.update(fields)
    return build_message(Draft(**values), SENDER)


def wire(outgoing: OutgoingMessage) -> EmailMessage:
    """The message as a receiving server would parse it."""
    message = BytesParser(policy=email.policy.default).parsebytes(outgoing.as_bytes())
    assert isinstance(message, EmailMessage)
    return message


def header_lines(outgoing: OutgoingMessage) -> list[bytes]:
    head, _, _ = outgoing.as_bytes().partition(b"\r\n\r\n")
    return head.split(b"\r\n")


def refused(**fields) -> SendError:
    with pytest.raises(SendError) as caught:
        build(**fields)
    return caught.value


def test_standard_headers_are_present():
    before = datetime.now(UTC).replace(microsecond=0)
    message = wire(build())
    after = datetime.now(UTC)

    assert message["MIME-Version"] == "1.0"
    assert before - timedelta(seconds=1) <= message["Date"].datetime <= after
    assert message["Date"].datetime.tzinfo is not None
    assert message["User-Agent"].startswith("Composer/")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"


def test_message_id_is_unique_and_on_the_senders_domain():
    first, second = build(), build()

    assert first.message_id.startswith("<")
    assert first.message_id.endswith("@example.org>")
    assert first.message_id != second.message_id
    assert wire(first)["Message-ID"] == first.message_id


def test_from_to_cc_carry_display_names():
    message = wire(build(to='"Lee, Bob" <bob@example.net>', cc="Carl <carl@example.com>"))

    assert message["From"].addresses == (SENDER,)
    assert message["To"].addresses == (Address("Lee, Bob", "bob", "example.net"),)
    assert message["Cc"].addresses == (Address("Carl", "carl", "example.com"),)


def test_non_ascii_subject_and_names_are_rfc2047_encoded():
    sender = Address("Zoë Ämmä", "zoe", "example.org")
    subject = "Grüße – 你好 ☕"
    outgoing = build_message(
        Draft(to="Jürgen <j@example.net>", subject=subject, body="x\n"), sender
    )

    head = b"\r\n".join(header_lines(outgoing))
    assert head.isascii()
    assert b"=?utf-8?" in head
    message = wire(outgoing)
    assert message["Subject"] == subject
    assert message["From"].addresses[0].display_name == "Zoë Ämmä"
    assert message["To"].addresses[0].display_name == "Jürgen"


def test_long_subject_is_folded_and_unfolds_intact():
    subject = " ".join(f"word{i}" for i in range(60))
    outgoing = build(subject=subject)

    assert max(len(line) for line in header_lines(outgoing)) <= 78
    assert wire(outgoing)["Subject"] == subject


def test_long_non_ascii_subject_is_folded_and_decodes_intact():
    subject = "Ärger über Öl " * 20
    outgoing = build(subject=subject.strip())

    assert max(len(line) for line in header_lines(outgoing)) <= 78
    assert wire(outgoing)["Subject"] == subject.strip()


@pytest.mark.parametrize(
    "body",
    [
        "Hello Bob,\n\nplain ASCII.\n",
        "Grüße, Bob – schöne Woche! 你好\n",
        "x" * 5000 + "\n",
        "ü" * 5000 + "\n",
        "From the start\n.leading dot\n\n\n",
        "no final newline",
        "tab\tand trailing spaces   \n",
    ],
)
def test_body_survives_the_round_trip(body):
    outgoing = build(body=body)

    expected = body if body.endswith("\n") else body + "\n"
    assert wire(outgoing).get_content().replace("\r\n", "\n") == expected
    # SMTP forbids lines longer than 998 characters.
    assert max(len(line) for line in outgoing.as_bytes().split(b"\r\n")) <= 998


def test_body_line_ends_are_normalised_to_crlf():
    outgoing = build(body="one\r\ntwo\rthree\nfour\n")

    data = outgoing.as_bytes()
    assert b"one\r\ntwo\r\nthree\r\nfour\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")


def test_bcc_is_in_the_envelope_but_not_in_the_headers():
    outgoing = build(to="bob@example.net", cc="carl@example.com", bcc="Secret <dave@example.net>")

    assert outgoing.envelope.sender == "ann@example.org"
    assert outgoing.envelope.recipients == (
        "bob@example.net",
        "carl@example.com",
        "dave@example.net",
    )
    assert "Bcc" not in outgoing.message
    assert b"dave" not in outgoing.as_bytes()
    assert b"Secret" not in outgoing.as_bytes()


def test_envelope_lists_each_recipient_once():
    outgoing = build(
        to="bob@example.net, Bob <bob@example.net>",
        cc="BOB <bob@EXAMPLE.NET>; carl@example.com",
        bcc="carl@example.com, ann@example.org",
    )

    assert outgoing.envelope.recipients == (
        "bob@example.net",
        "carl@example.com",
        "ann@example.org",
    )


def test_reply_to_and_in_reply_to_are_added():
    outgoing = build_message(
        Draft(to="bob@example.net", in_reply_to="<abc@example.net>"),
        SENDER,
        reply_to="list@example.org",
    )

    message = wire(outgoing)
    assert message["Reply-To"] == "list@example.org"
    assert message["In-Reply-To"] == "<abc@example.net>"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hello\r\nBcc: eve@example.net"),
        ("subject", "Hello\nBcc: eve@example.net"),
        ("subject", "Hello\rBcc: eve@example.net"),
        ("subject", "Hello\0"),
        ("to", "bob@example.net\rBcc: eve@example.net"),
        ("cc", "carl@example.com\rX: y"),
        ("bcc", "dave@example.net\r"),
    ],
)
def test_line_breaks_in_a_header_field_are_refused(field, value):
    error = refused(**{field: value})

    assert error.kind is ErrorKind.INVALID_MESSAGE
    assert "line break" in error.message


@pytest.mark.parametrize("reply_to", ["list@example.org\r\nBcc: eve@example.net", "a@b.org\n"])
def test_line_breaks_in_reply_to_are_refused(reply_to):
    with pytest.raises(SendError) as caught:
        build_message(Draft(to="bob@example.net"), SENDER, reply_to=reply_to)

    assert caught.value.kind is ErrorKind.INVALID_MESSAGE


def test_line_breaks_between_addresses_separate_them():
    outgoing = build(to="bob@example.net\r\ncarl@example.com\ndave@example.net")

    assert outgoing.envelope.recipients == (
        "bob@example.net",
        "carl@example.com",
        "dave@example.net",
    )


def test_invalid_addresses_are_named():
    error = refused(to="bob@example.net, bob@", cc="carl at example.com", bcc="x@y")

    assert error.kind is ErrorKind.INVALID_MESSAGE
    for bad in ("bob@", "carl at example.com", "x@y"):
        assert bad in error.message


@pytest.mark.parametrize("fields", [{"to": ""}, {"to": " , ; "}, {"to": "", "cc": "", "bcc": ""}])
def test_no_recipients(fields):
    assert refused(**fields).kind is ErrorKind.NO_RECIPIENTS


def test_check_header_value_accepts_plain_text():
    check_header_value("Subject", "Perfectly fine: ünïcödé, tabs\tand all")


_any_text = st.text(max_size=60)


@settings(max_examples=300, deadline=None)  # a slow machine is not a failure
@given(subject=_any_text, to=_any_text, body=st.text(max_size=200))
def test_building_either_refuses_or_round_trips(subject, to, body):
    draft = Draft(to=to or "bob@example.net", subject=subject, body=body)
    try:
        outgoing = build_message(draft, SENDER)
    except SendError as error:
        refusal = error.kind
    else:
        refusal = None
    if refusal is not None:
        assert refusal in {ErrorKind.INVALID_MESSAGE, ErrorKind.NO_RECIPIENTS}
        return

    message = wire(outgoing)
    # Folding may change runs of blanks, as RFC 5322 allows; the words must stay the same.
    assert message["Subject"].split() == subject.split()
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == (
        body.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    )
    assert message["Message-ID"] == outgoing.message_id


@settings(deadline=None)
@given(
    before=_any_text,
    # Python's str.splitlines() also breaks at these; the email package refuses them all.
    newline=st.sampled_from([*"\r\n\0\v\f\x1c\x1d\x1e\x85\u2028\u2029", "\r\n"]),
    after=_any_text,
    field=st.sampled_from(["subject", "in_reply_to"]),
)
def test_any_line_break_in_a_header_value_is_refused(before, newline, after, field):
    error = refused(**{field: before + newline + after})

    assert error.kind is ErrorKind.INVALID_MESSAGE


def test_date_header_is_rfc5322():
    raw = build().message["Date"]

    assert email.utils.parsedate_to_datetime(str(raw)) is not None


def test_bcc_only_message_says_undisclosed_recipients() -> None:
    outgoing = build_message(
        Draft(bcc="a@example.org, b@example.org", subject="S", body="B"),
        Address("Ann", "ann", "example.org"),
    )

    assert str(outgoing.message["To"]) == "undisclosed-recipients:;"
    assert "a@example.org" not in outgoing.as_bytes().decode()
    assert outgoing.envelope.recipients == ("a@example.org", "b@example.org")


def test_in_reply_to_threads_the_message() -> None:
    outgoing = build_message(
        Draft(to="a@example.org", in_reply_to="<orig@example.org>", body="B"),
        Address("Ann", "ann", "example.org"),
    )

    assert outgoing.message["In-Reply-To"] == "<orig@example.org>"
    assert outgoing.message["References"] == "<orig@example.org>"


def test_line_break_in_in_reply_to_is_refused() -> None:
    with pytest.raises(SendError) as caught:
        build_message(
            Draft(to="a@example.org", in_reply_to="<x@y>\r\nBcc: evil@example.org"),
            Address("Ann", "ann", "example.org"),
        )
    assert caught.value.kind is ErrorKind.INVALID_MESSAGE


def test_an_address_too_long_for_one_line_is_refused_by_name() -> None:
    draft = Draft(to="a" * 1200 + "@example.org", subject="x")
    with pytest.raises(SendError, match="The To field holds something longer") as raised:
        build_message(draft, Address("Ann", addr_spec="ann@example.org"))
    assert raised.value.kind is ErrorKind.INVALID_MESSAGE


def test_long_subjects_and_many_recipients_fold_within_the_limit() -> None:
    draft = Draft(
        to=", ".join(f"person{n}@example.org" for n in range(300)),
        subject="word " * 400 + "x" * 2000,
        body="y" * 5000,
    )
    outgoing = build_message(draft, Address("Ann", addr_spec="ann@example.org"))
    assert max(len(line) for line in outgoing.as_bytes().split(b"\r\n")) <= 998
