"""The questions asked before sending, and what each answer does to the message."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from composer.mail.draft import Attachment, Draft
from composer.ui.send_checks import MANY_RECIPIENTS, confirm_send, move_to_bcc
from tests.windows import AnswerQuestions

Yes = QMessageBox.StandardButton.Yes
No = QMessageBox.StandardButton.No
Cancel = QMessageBox.StandardButton.Cancel

NO_SUBJECT = "Send without a subject?"
NO_ATTACHMENT = "Forgot an attachment?"
MANY = "Hide the recipients from each other?"


@pytest.fixture
def parent(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def people(count: int, start: int = 0) -> str:
    return ", ".join(f"p{n}@example.org" for n in range(start, start + count))


def test_a_complete_message_is_sent_without_a_question(
    parent: QWidget, answer_questions: AnswerQuestions
) -> None:
    asked = answer_questions(No)
    draft = Draft(to="bob@example.net", subject="Hi", body="Hello")

    assert confirm_send(parent, draft) is draft
    assert asked == []


@pytest.mark.parametrize("subject", ["", "   ", "\t"])
def test_a_missing_subject_is_asked_about(
    parent: QWidget, answer_questions: AnswerQuestions, subject: str
) -> None:
    asked = answer_questions(No)

    assert confirm_send(parent, Draft(to="bob@example.net", subject=subject)) is None
    assert asked == [NO_SUBJECT]


def test_yes_sends_without_a_subject(parent: QWidget, answer_questions: AnswerQuestions) -> None:
    asked = answer_questions(Yes)
    draft = Draft(to="bob@example.net")

    assert confirm_send(parent, draft) is draft
    assert asked == [NO_SUBJECT]


def test_a_mentioned_attachment_that_is_missing_is_asked_about(
    parent: QWidget, answer_questions: AnswerQuestions
) -> None:
    asked = answer_questions(No)
    draft = Draft(to="bob@example.net", subject="Report", body="The report is attached.")

    assert confirm_send(parent, draft) is None
    assert asked == [NO_ATTACHMENT]


def test_a_mentioned_attachment_that_is_there_is_not_asked_about(
    parent: QWidget, answer_questions: AnswerQuestions, tmp_path: Path
) -> None:
    asked = answer_questions(No)
    draft = Draft(
        to="bob@example.net",
        subject="Report",
        body="The report is attached.",
        attachments=(Attachment(tmp_path / "report.pdf"),),
    )

    assert confirm_send(parent, draft) is draft
    assert asked == []


@pytest.mark.parametrize(
    "body",
    [
        "> Please send it as an attachment.\nSure, see below.",
        "Hello\n-- \nAttachments are scanned for viruses.",
    ],
    ids=["quoted", "signature"],
)
def test_a_mention_in_someone_elses_words_is_not_asked_about(
    parent: QWidget, answer_questions: AnswerQuestions, body: str
) -> None:
    asked = answer_questions(No)
    draft = Draft(to="bob@example.net", subject="Re: it", body=body)

    assert confirm_send(parent, draft) is draft
    assert asked == []


def test_a_no_stops_before_the_next_question(
    parent: QWidget, answer_questions: AnswerQuestions
) -> None:
    asked = answer_questions(No)
    draft = Draft(to=people(MANY_RECIPIENTS + 5), body="see attachment")

    assert confirm_send(parent, draft) is None
    assert asked == [NO_SUBJECT]


def test_every_question_is_asked_in_turn_when_each_is_answered_yes(
    parent: QWidget, answer_questions: AnswerQuestions
) -> None:
    asked = answer_questions(Yes)
    draft = Draft(to=people(MANY_RECIPIENTS + 1), body="see attachment")

    sent = confirm_send(parent, draft)

    assert asked == [NO_SUBJECT, NO_ATTACHMENT, MANY]
    assert sent == move_to_bcc(draft)


@pytest.mark.parametrize(
    ("to", "cc", "bcc"),
    [
        (people(MANY_RECIPIENTS), "", ""),
        (people(MANY_RECIPIENTS // 2), people(MANY_RECIPIENTS // 2, start=50), ""),
        (people(3), "", people(40, start=100)),  # Bcc recipients see no one
        (people(MANY_RECIPIENTS) + ", not an address, also@not", "", ""),
    ],
    ids=["to", "to-and-cc", "bcc", "invalid"],
)
def test_up_to_the_limit_of_visible_recipients_nothing_is_asked(
    parent: QWidget, answer_questions: AnswerQuestions, to: str, cc: str, bcc: str
) -> None:
    asked = answer_questions(Yes)
    draft = Draft(to=to, cc=cc, bcc=bcc, subject="News")

    assert confirm_send(parent, draft) is draft
    assert asked == []


def test_many_visible_recipients_can_be_moved_to_bcc(
    parent: QWidget, answer_questions: AnswerQuestions
) -> None:
    asked = answer_questions(Yes)
    draft = Draft(
        to=people(6), cc=people(5, start=10), bcc="boss@example.org", subject="Party", body="Hi"
    )

    sent = confirm_send(parent, draft)

    assert asked == [MANY]
    assert sent is not None
    assert (sent.to, sent.cc) == ("", "")
    assert sent.bcc == f"{people(6)}, {people(5, start=10)}, boss@example.org"
    assert (sent.subject, sent.body) == ("Party", "Hi")


def test_many_visible_recipients_can_stay_visible(
    parent: QWidget, answer_questions: AnswerQuestions
) -> None:
    asked = answer_questions(No)
    draft = Draft(to=people(MANY_RECIPIENTS + 1), subject="Party")

    assert confirm_send(parent, draft) is draft
    assert asked == [MANY]


def test_cancel_stops_the_send(parent: QWidget, answer_questions: AnswerQuestions) -> None:
    asked = answer_questions(Cancel)

    assert confirm_send(parent, Draft(to=people(MANY_RECIPIENTS + 1), subject="Party")) is None
    assert asked == [MANY]


@pytest.mark.parametrize(
    ("to", "cc", "bcc", "hidden"),
    [
        ("a@x.org", "b@x.org", "c@x.org", "a@x.org, b@x.org, c@x.org"),
        ("a@x.org", "", "", "a@x.org"),
        ("", "  ", "c@x.org", "c@x.org"),
        ("", "", "", ""),
    ],
)
def test_move_to_bcc_joins_every_field_that_has_recipients(
    to: str, cc: str, bcc: str, hidden: str
) -> None:
    moved = move_to_bcc(Draft(to=to, cc=cc, bcc=bcc, subject="S"))

    assert (moved.to, moved.cc, moved.bcc, moved.subject) == ("", "", hidden, "S")
