"""Reading mailto: links (RFC 6068)."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.mail.draft import Draft
from composer.mail.mailto import MailtoError, parse_mailto


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mailto:", Draft()),
        ("mailto:ann@example.org", Draft(to="ann@example.org")),
        ("MAILTO:ann@example.org", Draft(to="ann@example.org")),
        ("  mailto:ann@example.org\n", Draft(to="ann@example.org")),
        ("mailto://ann@example.org", Draft(to="ann@example.org")),
        (
            "mailto:ann@example.org,bob@example.net",
            Draft(to="ann@example.org, bob@example.net"),
        ),
        # RFC 6068 section 6.1 examples.
        (
            "mailto:infobot@example.com?subject=current-issue",
            Draft(to="infobot@example.com", subject="current-issue"),
        ),
        (
            "mailto:infobot@example.com?body=send%20current-issue",
            Draft(to="infobot@example.com", body="send current-issue"),
        ),
        (
            "mailto:infobot@example.com?body=send%20current-issue%0D%0Asend%20index",
            Draft(to="infobot@example.com", body="send current-issue\nsend index"),
        ),
        (
            "mailto:list@example.org?In-Reply-To=%3C3469A91.D10AF4C@example.com%3E",
            Draft(to="list@example.org", in_reply_to="<3469A91.D10AF4C@example.com>"),
        ),
        (
            "mailto:?to=joe@example.com&cc=bob@example.com&body=hello",
            Draft(to="joe@example.com", cc="bob@example.com", body="hello"),
        ),
        (
            "mailto:joe@example.com?cc=bob@example.com&body=hello",
            Draft(to="joe@example.com", cc="bob@example.com", body="hello"),
        ),
        (
            "mailto:gorby%25kremvax@example.com",
            Draft(to="gorby%kremvax@example.com"),
        ),
        (
            "mailto:%22not%40me%22@example.org",
            Draft(to='"not@me"@example.org'),
        ),
        # Section 6.2: percent-encoded UTF-8 everywhere.
        (
            "mailto:user@example.org?subject=caf%C3%A9",
            Draft(to="user@example.org", subject="café"),
        ),
        (
            "mailto:user@%E7%B4%8D%E8%B1%86.example.org?subject=Test&body=NATTO",
            Draft(to="user@納豆.example.org", subject="Test", body="NATTO"),
        ),
        (
            "mailto:?subject=%E2%9C%93%20%F0%9F%93%A7",
            Draft(subject="✓ 📧"),
        ),
        # Raw non-ASCII, as pasted from a browser's address bar, is taken as it is.
        ("mailto:ann@example.org?subject=Grüße", Draft(to="ann@example.org", subject="Grüße")),
        # The issue's own example.
        (
            "mailto:ann@example.org?cc=bob@example.org&subject=Hi%20there&body=See%20you",
            Draft(to="ann@example.org", cc="bob@example.org", subject="Hi there", body="See you"),
        ),
        # Field names are case-insensitive; to, cc and bcc add up.
        (
            "mailto:a@x.org?TO=b@x.org&to=c@x.org,d@x.org&Cc=e@x.org&CC=f@x.org&BCC=g@x.org",
            Draft(to="a@x.org, b@x.org, c@x.org, d@x.org", cc="e@x.org, f@x.org", bcc="g@x.org"),
        ),
        (
            "mailto:?to=%22Lee%2C%20Ann%22%20%3Cann@example.org%3E",
            Draft(to='"Lee, Ann" <ann@example.org>'),
        ),
        # "+" is a plus sign, never a space.
        (
            "mailto:ann+news@example.org?subject=1+1",
            Draft(to="ann+news@example.org", subject="1+1"),
        ),
        # Line breaks in the body, whichever way they are written.
        ("mailto:?body=a%0Ab%0Dc%0D%0Ad", Draft(body="a\nb\nc\nd")),
        ("mailto:?body=%0D%0A%0D%0A", Draft(body="\n\n")),
        # "=" and "?" inside a value.
        ("mailto:?subject=a=b?c", Draft(subject="a=b?c")),
        ("mailto:?subject=Bug%20%2312", Draft(subject="Bug #12")),
        # The first subject, body or in-reply-to wins.
        ("mailto:?subject=one&subject=two", Draft(subject="one")),
        ("mailto:?body=one&body=two", Draft(body="one")),
        # Empty and valueless fields.
        ("mailto:ann@example.org?", Draft(to="ann@example.org")),
        ("mailto:ann@example.org?&&subject=Hi&", Draft(to="ann@example.org", subject="Hi")),
        ("mailto:ann@example.org?subject", Draft(to="ann@example.org")),
        ("mailto:?subject=%20%20Hi%20%20", Draft(subject="Hi")),
        ("mailto:,,ann@example.org,%20,", Draft(to="ann@example.org")),
    ],
)
def test_parse_mailto(url: str, expected: Draft) -> None:
    assert parse_mailto(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        # Never honoured: who it is from, where replies go, routing, files to attach.
        "mailto:ann@example.org?from=boss@example.org",
        "mailto:ann@example.org?Sender=boss@example.org",
        "mailto:ann@example.org?reply-to=thief@example.net",
        "mailto:ann@example.org?return-path=thief@example.net",
        "mailto:ann@example.org?attach=/etc/passwd",
        "mailto:ann@example.org?attachment=file:///home/ann/.ssh/id_rsa",
        "mailto:ann@example.org?x-mailer=Evil",
        "mailto:ann@example.org?keywords=x",
        "mailto:ann@example.org?x-header%0D%0ABcc:=thief@example.net",
        "mailto:ann@example.org?subject%0D%0ABcc=thief@example.net",
        "mailto:ann@example.org?=nameless",
    ],
)
def test_other_header_fields_are_ignored(url: str) -> None:
    assert parse_mailto(url) == Draft(to="ann@example.org")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "Not a mailto: link"),
        ("ann@example.org", "Not a mailto: link"),
        ("http://example.org/?to=ann@example.org", "Not a mailto: link"),
        ("mailtox:ann@example.org", "Not a mailto: link"),
        ("file:///etc/passwd", "Not a mailto: link"),
        # Broken percent escapes.
        ("mailto:ann%4@example.org", "broken percent escape ('%4@')"),
        ("mailto:ann@example.org%", "broken percent escape ('%')"),
        ("mailto:ann@example.org?subject=100%", "subject in the mailto: link has a broken"),
        ("mailto:ann@example.org?subject=%zz", "broken percent escape ('%zz')"),
        ("mailto:ann@example.org?body=50%25%2", "body in the mailto: link has a broken"),
        ("mailto:?x-unknown=%G0", "broken percent escape"),
        ("mailto:?%=x", "name of a header field"),
        # Not UTF-8 once decoded.
        ("mailto:?subject=caf%E9", "subject in the mailto: link is not valid UTF-8"),
        ("mailto:%C3", "address in the mailto: link is not valid UTF-8"),
        ("mailto:?body=%FF%FE", "body in the mailto: link is not valid UTF-8"),
        ("mailto:?subject=%ED%A0%80", "not valid UTF-8"),  # an encoded surrogate
        ("mailto:ann@example.org?subject=\udcff", "not valid UTF-8"),  # from argv bytes
        # Header injection.
        ("mailto:?subject=Hi%0D%0ABcc:%20thief@example.net", "subject in the mailto: link"),
        ("mailto:?subject=Hi%0ABcc:%20thief@example.net", "contains a line break"),
        ("mailto:?subject=Hi%0D", "contains a line break"),
        ("mailto:?subject=Hi%E2%80%A8there", "contains a line break"),  # U+2028
        ("mailto:?subject=Hi%C2%85there", "contains a line break"),  # U+0085 NEL
        ("mailto:?subject=Hi%00", "control character (U+0000)"),
        ("mailto:?subject=Hi%1B[31m", "control character (U+001B)"),
        (
            "mailto:?in-reply-to=%3Ca@b%3E%0D%0ABcc:%20thief@example.net",
            "In-Reply-To field in the mailto: link contains a line break",
        ),
        ("mailto:ann@example.org%0D%0ABcc:thief@example.net", "address in the mailto: link"),
        ("mailto:?to=ann@example.org%0ABcc:thief@example.net", "To field in the mailto: link"),
        ("mailto:?cc=ann@example.org%0D%0A", "Cc field in the mailto: link"),
        ("mailto:?bcc=a@x.org%0Ab@x.org", "Bcc field in the mailto: link"),
        ("mailto:?body=Hi%00there", "body in the mailto: link contains a NUL character"),
    ],
)
def test_malformed_links_give_a_clear_error(url: str, words: str) -> None:
    with pytest.raises(MailtoError) as caught:
        parse_mailto(url)

    message = str(caught.value)
    assert words in message
    assert message.endswith(".")
    assert message[0].isupper()


def test_the_error_quotes_a_long_link_only_in_part() -> None:
    with pytest.raises(MailtoError, match="Not a mailto: link") as caught:
        parse_mailto("https://example.org/" + "x" * 500 + "\x1b[2J")

    assert len(str(caught.value)) < 120
    assert "\x1b" not in str(caught.value)


def test_mailto_error_is_a_value_error() -> None:
    assert issubclass(MailtoError, ValueError)


# --- properties ------------------------------------------------------------------------------

_any_text = st.text(st.characters(codec=None, categories=None), max_size=200)
# Strings made of the pieces a mailto: parser cares about, to reach deep into it.
_PIECES = (
    "?", "&", "=", "%", "%0", "%0D", "%0A", "%0D%0A", "%C3", "%A9", "%E2%80%A8", "%00", "%25",
    "%zz", "+", ",", "#", "//", "to", "cc", "bcc", "subject", "body", "in-reply-to", "from",
    "ann@example.org", "é", "\r\n", "\udcff",
)  # fmt: skip
_mailto_like = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["mailto:", "MailTo:", " mailto:", ""]),
        st.lists(st.sampled_from(_PIECES) | _any_text, max_size=20).map("".join),
    ),
)


@settings(deadline=None)  # a slow machine is not a failure
@given(st.one_of(_any_text, _any_text.map("mailto:".__add__), _mailto_like))
def test_arbitrary_text_gives_a_draft_or_mailto_error(text: str) -> None:
    try:
        draft = parse_mailto(text)
    except MailtoError:
        return  # the only exception allowed
    # Whatever it accepts can never put a line break into a header.
    for field in (draft.to, draft.cc, draft.bcc, draft.subject, draft.in_reply_to):
        assert not any(char in field for char in "\r\n\x00\x85\u2028\u2029")
    assert "\r" not in draft.body
    # And it is text that can be shown and sent (no lone surrogates).
    for field in (draft.to, draft.cc, draft.bcc, draft.subject, draft.in_reply_to, draft.body):
        field.encode("utf-8")
    assert draft.attachments == ()


_header_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=40
).map(str.strip)


@settings(deadline=None)
@given(subject=_header_text, body=st.text(st.characters(codec="utf-8", exclude_characters="\0\r")))
def test_encoded_subject_and_body_come_back_unchanged(subject: str, body: str) -> None:
    url = (
        "mailto:ann@example.org?subject="
        + urllib.parse.quote(subject, safe="")
        + "&body="
        + urllib.parse.quote(body.replace("\n", "\r\n"), safe="")
    )

    draft = parse_mailto(url)

    assert (draft.to, draft.subject, draft.body) == ("ann@example.org", subject, body)


@pytest.mark.parametrize(
    "value", ["not-an-id", "<a b@example.org>", "<a@b>%20<c@d>", "%3C@example.org%3E", "<x>"]
)
def test_an_in_reply_to_that_is_not_a_message_id_is_refused(value: str) -> None:
    with pytest.raises(MailtoError, match="not a message id"):
        parse_mailto(f"mailto:ann@example.org?in-reply-to={value}")


def test_a_valid_in_reply_to_is_kept() -> None:
    draft = parse_mailto("mailto:ann@example.org?in-reply-to=%3C3469A91.D10AF4C@example.com%3E")
    assert draft.in_reply_to == "<3469A91.D10AF4C@example.com>"
