"""provider_errors.explain() on its own: which replies it words, and which it leaves."""

from __future__ import annotations

import pytest

from composer.mail.provider_errors import Reply, Stage, Who, explain
from composer.mail.providers import provider_by_key


def who(key: str | None, host: str = "smtp.example.org") -> Who:
    return Who(host, provider_by_key(key) if key else None)


def test_microsoft_365_basic_auth_disabled_names_it_and_the_admin_way():
    reply = Reply(
        535, "5.7.139 Authentication unsuccessful, basic authentication is disabled", Stage.AUTH
    )
    words = explain(reply, who("microsoft365", "smtp.office365.com"))
    assert words is not None
    assert words.startswith("Could not log in to Microsoft 365 (smtp.office365.com)")
    assert "end of December 2026" in words
    assert "Authenticated SMTP" in words


def test_the_enhanced_code_is_read_from_the_start_of_the_text():
    assert Reply(535, "5.7.8 Bad", Stage.AUTH).enhanced == "5.7.8"
    assert Reply(535, " 5.7.139 Bad", Stage.AUTH).enhanced == "5.7.139"
    assert Reply(535, "Bad 5.7.8", Stage.AUTH).enhanced == ""


@pytest.mark.parametrize(
    ("reply", "key"),
    [
        (Reply(535, "5.7.8 Bad credentials", Stage.AUTH), None),  # unknown provider: usual words
        (Reply(535, "Bad credentials", Stage.AUTH), "gmail"),  # not one of Google's codes
        (Reply(550, "5.1.1 No such user", Stage.RCPT), "gmail"),
        (Reply(554, "5.7.1 Policy", Stage.GREETING), None),
        (Reply(421, "4.3.2 Busy", Stage.GREETING), "gmail"),
        (Reply(451, "4.7.1 Greylisted", Stage.OTHER), None),
        (Reply(552, "5.3.4 Too big", Stage.DATA), "gmail"),
    ],
)
def test_other_replies_keep_the_usual_words(reply, key):
    assert explain(reply, who(key)) is None


def test_a_stage_with_no_rule_of_its_own_keeps_a_starttls_refusal_as_it_is():
    assert explain(Reply(454, "4.7.0 TLS not available", Stage.STARTTLS), who("gmail")) is None


def test_without_a_provider_the_host_is_named():
    words = explain(Reply(554, "5.7.1 Spam", Stage.DATA), who(None, "mail.example.org"))
    assert words is not None
    assert words.startswith("mail.example.org received the message and refused it")


@pytest.mark.parametrize(
    "reply",
    [
        Reply(
            550, "5.7.30 Basic authentication is not supported for Client Submission.", Stage.AUTH
        ),
        Reply(
            535,
            "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled",
            Stage.AUTH,
        ),
    ],
)
def test_microsofts_basic_auth_refusals_say_oauth2_and_the_admin(reply):
    words = explain(reply, who(None, "smtp.office365.example"))
    assert words is not None
    assert "Sign in with Microsoft" in words
    assert "administrator" in words


def test_microsofts_client_not_authenticated_says_to_log_in():
    reply = Reply(530, "5.7.57 Client not authenticated to send mail.", Stage.MAIL)
    words = explain(reply, who("microsoft365", "smtp.office365.com"))
    assert words is not None
    assert "only from a logged-in user" in words


def test_microsoft_365s_5_7_3_says_check_the_password_then_smtp_auth():
    reply = Reply(535, "5.7.3 Authentication unsuccessful", Stage.AUTH)
    words = explain(reply, who("microsoft365", "smtp.office365.com"))
    assert words is not None
    assert words.startswith("Could not log in to Microsoft 365 (smtp.office365.com)")
    assert "full email address" in words
    assert "SMTP AUTH" in words


def test_an_app_specific_password_is_said_with_where_to_make_it():
    words = explain(Reply(535, "5.7.8 bad", Stage.AUTH), who("icloud", "smtp.mail.me.com"))
    assert words is not None
    assert "account.apple.com" in words
    assert "the name before @ for IMAP" in words
