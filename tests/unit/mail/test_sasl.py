"""The token logins as the providers' and RFC 7628's documents spell them."""

from __future__ import annotations

from composer.mail.sasl import after_error, initial_response, token_mechanism


def test_xoauth2_is_googles_format() -> None:
    # https://developers.google.com/workspace/gmail/imap/xoauth2-protocol
    sent = initial_response("XOAUTH2", "someuser@example.com", "ya29.vF9dft4q", "h", 587)
    assert sent == "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4q\x01\x01"


def test_oauthbearer_names_user_host_and_port_with_the_gs2_header() -> None:
    # RFC 7628 §4.1's example, with this host and port.
    sent = initial_response(
        "OAUTHBEARER",
        "user@example.com",
        "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        "server.example.com",
        587,
    )
    assert sent == (
        "n,a=user@example.com,\x01host=server.example.com\x01port=587\x01"
        "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )


def test_oauthbearer_escapes_comma_and_equals_in_the_user_name() -> None:
    sent = initial_response("OAUTHBEARER", "a,b=c@example.com", "t", "h", 465)
    assert sent.startswith("n,a=a=2Cb=3Dc@example.com,\x01")


def test_the_standard_mechanism_is_preferred() -> None:
    assert token_mechanism(["PLAIN", "XOAUTH2", "OAUTHBEARER"]) == "OAUTHBEARER"
    assert token_mechanism(["PLAIN", "XOAUTH2"]) == "XOAUTH2"
    assert token_mechanism(["PLAIN", "LOGIN"]) is None


def test_the_answer_to_an_error_challenge_ends_the_exchange() -> None:
    assert after_error("XOAUTH2") == ""
    assert after_error("OAUTHBEARER") == "\x01"
