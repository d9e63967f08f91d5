"""The account editor on its own: Account → widgets → Account, the port rule, edit signals."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Account, Security
from composer.ui.account_form import AccountForm
from tests.windows import type_text

EVERY_FIELD = Account(
    name="Work",
    display_name="Ann Lee",
    email="ann@example.org",
    host="smtp.example.org",
    port=2525,
    security=Security.STARTTLS,
    username="ann",
    timeout=45,
    size_limit=20 * 1000 * 1000,
    reply_to="help@example.org",
    default_cc="boss@example.org",
    default_bcc="archive@example.org",
    signature="Ann Lee\nAcme Inc.",
    signature_html=False,
)


@pytest.fixture
def form(qtbot: QtBot) -> AccountForm:
    """An AccountForm showing EVERY_FIELD, with nothing typed as its password."""
    widget = AccountForm()
    qtbot.addWidget(widget)
    widget.load(EVERY_FIELD, saved=False, typed_password="")
    return widget


def test_apply_reads_every_field_back_from_the_widgets(form: AccountForm) -> None:
    # A blank account with the same id: whatever apply returns came from the widgets.
    assert form.apply(Account(id=EVERY_FIELD.id)) == EVERY_FIELD


def test_apply_keeps_what_the_form_does_not_show(form: AccountForm) -> None:
    other = Account(name="Other")

    applied = form.apply(other)

    assert applied.id == other.id
    assert applied.name == "Work"


def test_loading_replaces_every_field(form: AccountForm) -> None:
    blank = Account(id=EVERY_FIELD.id)

    form.load(blank, saved=False, typed_password="")

    assert form.apply(EVERY_FIELD) == blank


def test_no_size_limit_is_said_in_words(form: AccountForm) -> None:
    unlimited = dataclasses.replace(EVERY_FIELD, size_limit=0)

    form.load(unlimited, saved=False, typed_password="")

    assert form.size_limit.text() == "No limit"
    assert form.apply(EVERY_FIELD) == unlimited
    assert "server" in form.size_limit.toolTip()


def test_text_fields_are_trimmed_but_the_user_name_is_not(form: AccountForm) -> None:
    form.account_name.setText("  Home ")
    form.email.setText(" ann@example.net ")
    form.default_cc.setText(" cc@example.net ")
    form.username.setText(" ann ")

    applied = form.apply(EVERY_FIELD)

    assert (applied.name, applied.email, applied.default_cc) == (
        "Home",
        "ann@example.net",
        "cc@example.net",
    )
    assert applied.username == " ann "


def test_formatted_signature_comes_back_as_html(form: AccountForm) -> None:
    account = Account(signature="<b>Ann</b> Lee<br>Acme", signature_html=True)
    form.load(account, saved=False, typed_password="")

    applied = form.apply(account)

    assert applied.signature_html is True
    assert "<b>Ann</b> Lee<br>Acme" in applied.signature
    # Our own HTML survives another round unchanged.
    form.load(applied, saved=False, typed_password="")
    assert form.apply(applied) == applied


def test_plain_signature_that_looks_like_html_stays_plain(form: AccountForm) -> None:
    account = Account(signature="<b>not bold</b>\n-- Ann", signature_html=False)
    form.load(account, saved=False, typed_password="")

    assert form.signature.toPlainText() == "<b>not bold</b>\n-- Ann"
    assert form.apply(account) == account


def test_formatting_typed_into_a_plain_signature_makes_it_html(form: AccountForm) -> None:
    form.signature.selectAll()
    form.signature.setFontItalic(True)

    applied = form.apply(EVERY_FIELD)

    assert applied.signature_html is True
    assert "Acme Inc." in applied.signature


@pytest.mark.parametrize(
    ("security", "port", "chosen", "expected"),
    [
        (Security.SSL_TLS, 465, Security.STARTTLS, 587),
        (Security.STARTTLS, 587, Security.NONE, 25),
        (Security.NONE, 25, Security.SSL_TLS, 465),
        # A conventional port of another security still counts as not chosen by hand.
        (Security.STARTTLS, 25, Security.SSL_TLS, 465),
        (Security.STARTTLS, 2525, Security.SSL_TLS, 2525),
    ],
)
def test_port_follows_security_unless_chosen_by_hand(
    form: AccountForm, security: Security, port: int, chosen: Security, expected: int
) -> None:
    form.load(Account(security=security, port=port), saved=False, typed_password="")

    form.security.setCurrentIndex(form.security.findData(chosen))

    assert form.port.value() == expected
    assert form.apply(EVERY_FIELD).security is chosen


def test_loading_does_not_move_the_port(form: AccountForm) -> None:
    account = Account(security=Security.NONE, port=465)

    form.load(account, saved=False, typed_password="")

    assert form.apply(account).port == 465


EDITS: dict[str, Callable[[AccountForm], None]] = {
    "line edit": lambda form: form.host.setText("mail.example.net"),
    "spin box": lambda form: form.timeout.setValue(90),
    "security": lambda form: form.security.setCurrentIndex(2),
    "signature": lambda form: form.signature.setPlainText("Bye"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_editing_a_field_is_reported(
    qtbot: QtBot, form: AccountForm, edit: Callable[[AccountForm], None]
) -> None:
    with qtbot.waitSignal(form.edited, timeout=1000):
        edit(form)


def test_typing_a_password_reports_the_text_and_no_other_edit(
    qtbot: QtBot, form: AccountForm
) -> None:
    with (
        qtbot.assertNotEmitted(form.edited),
        qtbot.waitSignal(form.password_edited, timeout=1000) as blocker,
    ):
        type_text(form.password, "s")

    assert blocker.args == ["s"]


def test_loading_is_not_an_edit(qtbot: QtBot, form: AccountForm) -> None:
    other = Account(security=Security.NONE, signature="<i>x</i>", signature_html=True)

    with qtbot.assertNotEmitted(form.edited), qtbot.assertNotEmitted(form.password_edited):
        form.load(other, saved=True, typed_password="p")


@pytest.mark.parametrize(
    ("saved", "placeholder"), [(True, "Saved in the keyring; type to replace"), (False, "")]
)
def test_password_field_shows_what_was_typed_and_whether_one_is_saved(
    form: AccountForm, saved: bool, placeholder: str
) -> None:
    form.load(EVERY_FIELD, saved=saved, typed_password="typed")

    assert form.password.text() == "typed"
    assert form.password.placeholderText() == placeholder
