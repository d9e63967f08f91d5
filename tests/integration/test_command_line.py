"""The command line: mailto: links and options become the message a window shows."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

import composer
from composer.app import main
from composer.command_line import CommandLineError, drafts_from_arguments, parse_arguments
from composer.mail.accounts import Account
from composer.mail.draft import Attachment, Draft
from composer.paths import Paths
from composer.session import Session
from composer.ui.compose_window import ComposeWindow
from tests.windows import configure


def drafts(*argv: str) -> list[Draft]:
    return drafts_from_arguments(parse_arguments(argv))


@pytest.fixture
def owner(qtbot: QtBot, config_dir: Path) -> Session:
    """The one-per-process owner of compose windows; qtbot closes them at teardown."""
    owner = Session(Paths.under(config_dir))
    owner.window_opened.connect(qtbot.addWidget)
    return owner


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], Draft()),
        (["--config-dir", "/somewhere"], Draft()),
        (["--to", "ann@example.org"], Draft(to="ann@example.org")),
        (
            ["--to", "ann@example.org", "--to", "Bob <bob@example.net>, cy@example.com"],
            Draft(to="ann@example.org, Bob <bob@example.net>, cy@example.com"),
        ),
        (
            ["--cc", "c@x.org", "--bcc", "d@x.org", "--bcc", "e@x.org"],
            Draft(cc="c@x.org", bcc="d@x.org, e@x.org"),
        ),
        (["--subject", "Grüße ✓"], Draft(subject="Grüße ✓")),
        (["--body", "Line 1\nLine 2\r\nLine 3"], Draft(body="Line 1\nLine 2\nLine 3")),
        (
            ["mailto:ann@example.org?cc=bob@example.org&subject=Hi%20there&body=See%20you"],
            Draft(to="ann@example.org", cc="bob@example.org", subject="Hi there", body="See you"),
        ),
        # Options add recipients to the link's, and replace its subject and body.
        (
            [
                "mailto:ann@example.org?cc=bob@example.org&subject=From%20link&body=link",
                "--to",
                "cy@example.com",
                "--cc",
                "dee@example.com",
                "--bcc",
                "eve@example.com",
                "--subject",
                "From options",
                "--body",
                "options",
            ],
            Draft(
                to="ann@example.org, cy@example.com",
                cc="bob@example.org, dee@example.com",
                bcc="eve@example.com",
                subject="From options",
                body="options",
            ),
        ),
        (
            ["--to", "cy@example.com", "mailto:?subject=Hi&in-reply-to=%3Ca@b%3E"],
            Draft(to="cy@example.com", subject="Hi", in_reply_to="<a@b>"),
        ),
        (["--subject", "", "mailto:?subject=Hi"], Draft()),
    ],
)
def test_arguments_become_one_draft(argv: list[str], expected: Draft) -> None:
    assert drafts(*argv) == [expected]


def test_attachments_become_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Übersicht 2024.xlsx").write_bytes(b"PK")
    (tmp_path / "link.pdf").symlink_to(tmp_path / "report.pdf")
    monkeypatch.chdir(tmp_path / "sub")

    [draft] = drafts(
        "--attach", "../report.pdf", "--attach", "Übersicht 2024.xlsx", "--attach", "../link.pdf"
    )

    assert draft.attachments == (
        Attachment(tmp_path / "report.pdf"),
        Attachment(tmp_path / "sub" / "Übersicht 2024.xlsx"),
        # A link keeps the name it was given.
        Attachment(tmp_path / "link.pdf"),
    )
    assert all(attachment.path.is_absolute() for attachment in draft.attachments)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--attach", "missing.pdf"], "Cannot attach 'missing.pdf': there is no such file."),
        (["--attach", "."], "Cannot attach '.': it is not a file."),
        (["mailto:%zz"], "broken percent escape ('%zz')"),
        (["mailto:?subject=a%0D%0ABcc:x@y.org"], "subject in the mailto: link contains a line"),
        (["https://example.org"], "Not a mailto: link: 'https://example.org'."),
        (["--subject", "a\nBcc: x@y.org"], "The text given with --subject must be one line."),
        (["--to", "a@x.org\r\nBcc: x@y.org"], "The text given with --to must be one line."),
        (["--body", "caf\udce9"], "The text given with --body is not valid UTF-8."),
    ],
)
def test_unusable_arguments_are_refused_with_a_sentence(
    argv: list[str], words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(CommandLineError) as caught:
        drafts(*argv)

    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["mailto:ann@example.org?subject=%E9t%E9"], "subject in the mailto: link is not valid"),
        (["--attach", "nothing-here.txt"], "Cannot attach 'nothing-here.txt'"),
    ],
)
def test_main_exits_2_with_the_sentence_on_stderr(
    argv: list[str],
    words: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)

    status = main([*argv, "--config-dir", str(tmp_path / "config")])

    out, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("composer: error: ")
    assert words in err
    assert out == ""
    assert not (tmp_path / "config").exists()


def test_a_malformed_link_exits_2_without_a_traceback(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(Path(composer.__file__).resolve().parent.parent),
    )
    result = subprocess.run(
        [sys.executable, "-m", "composer", "--config-dir", str(tmp_path), "mailto:ann%4"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr == (
        "composer: error: The address in the mailto: link has a broken percent escape "
        "('%4'): '%' must be followed by two hexadecimal digits.\n"
    )
    assert result.stdout == ""


def test_options_and_link_fill_the_window(
    owner: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.txt").write_text("notes")
    monkeypatch.chdir(tmp_path)
    [draft] = drafts(
        "mailto:ann@example.org?cc=bob@example.org&subject=Hi%20there&body=Line%201%0D%0ALine%202",
        "--bcc",
        "eve@example.com",
        "--attach",
        "notes.txt",
    )

    window = owner.open_window(start=draft)

    assert window.isVisible()
    assert window.form.to.text() == "ann@example.org"
    assert window.form.cc.text() == "bob@example.org"
    assert window.form.bcc.text() == "eve@example.com"
    assert window.form.subject.text() == "Hi there"
    assert window.form.body.toPlainText() == "Line 1\nLine 2"
    assert window.draft().attachments == (Attachment(tmp_path / "notes.txt"),)


WORK = Account(
    id="work",
    email="ann@work.example",
    host="smtp.work.example",
    signature="Ann Lee, ACME",
    default_cc="team@work.example",
    default_bcc="archive@work.example",
)
HOME = Account(id="home", email="ann@home.example", host="smtp.home.example", signature="Ann")


def _owner_of(config_dir: Path, qtbot: QtBot, *accounts: Account) -> Session:
    """The owner fixture's Session, with accounts set up (the first the default)."""
    configure(config_dir, *accounts)
    owner = Session(Paths.under(config_dir))
    owner.window_opened.connect(qtbot.addWidget)
    return owner


def _launched(owner: Session, *argv: str) -> ComposeWindow:
    """The window a launch with argv opens, as main() opens it."""
    owner.open_drafts(drafts(*argv))
    return owner.windows()[-1]


def test_a_plain_launch_begins_the_accounts_new_message(config_dir: Path, qtbot: QtBot) -> None:
    owner = _owner_of(config_dir, qtbot, WORK, HOME)

    window = _launched(owner)

    assert window.form.body.toPlainText() == "\n\n-- \nAnn Lee, ACME"
    assert (window.form.cc.text(), window.form.bcc.text()) == (
        "team@work.example",
        "archive@work.example",
    )
    assert window.form.body.textCursor().position() == 0  # the user writes above it


def test_a_link_is_written_above_the_signature_beside_the_default_copies(
    config_dir: Path, qtbot: QtBot
) -> None:
    owner = _owner_of(config_dir, qtbot, WORK, HOME)

    window = _launched(
        owner,
        "mailto:bob@example.org?cc=cy@example.org&subject=Hi&body=See%20you",
        "--bcc",
        "d@x.org",
    )

    form = window.form
    assert form.to.text() == "bob@example.org"
    assert form.cc.text() == "team@work.example, cy@example.org"
    assert form.bcc.text() == "archive@work.example, d@x.org"
    assert form.subject.text() == "Hi"
    assert form.body.toPlainText() == "See you\n\n-- \nAnn Lee, ACME"
    assert not form.body.document().isUndoAvailable()  # Undo cannot empty the link's text
    # The signature is still the account's: another From swaps it, the link's text stays,
    # and so do the copies, which the link made the user's own.
    form.from_account.setCurrentIndex(form.from_account.findData("home"))
    assert form.body.toPlainText() == "See you\n\n-- \nAnn"
    assert form.cc.text() == "team@work.example, cy@example.org"


def test_a_new_window_for_an_account_has_its_signature_and_copies(
    config_dir: Path, qtbot: QtBot
) -> None:
    owner = _owner_of(config_dir, qtbot, HOME, WORK)  # home is the default; work is asked for
    first = owner.open_window()

    first.form.from_account.setCurrentIndex(first.form.from_account.findData("work"))
    with qtbot.waitSignal(owner.window_opened, timeout=5000) as opened:
        first.actions_.new_window.trigger()

    window = opened.args[0]
    assert window.form.account().id == "work"
    assert window.form.body.toPlainText() == "\n\n-- \nAnn Lee, ACME"
    assert window.form.cc.text() == "team@work.example"


# Any text at all, as a command line may hold it (lone surrogates: bytes that are not UTF-8).
_argument = st.text(st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    ["mailto:a@example.org?subject=%0D%0ABcc:x", "=?utf-8?q?a=0D=0AX:_1?=", "\udcff", "a\r\nb"]
)


@settings(max_examples=100, deadline=None)
@given(
    url=st.none() | _argument | _argument.map("mailto:".__add__),
    to=st.lists(_argument, max_size=2),
    subject=st.none() | _argument,
    body=st.none() | _argument,
)
def test_any_command_line_gives_a_message_or_a_sentence(
    url: str | None, to: list[str], subject: str | None, body: str | None
) -> None:
    arguments = argparse.Namespace(
        url=url, to=to, cc=[], bcc=[], subject=subject, body=body, attach=[]
    )
    try:
        [draft] = drafts_from_arguments(arguments)
    except CommandLineError as error:
        refusal = str(error)
    else:
        refusal = ""
    if refusal:
        assert refusal.endswith(".")  # a sentence for stderr, not a traceback
        return
    for text in (draft.to, draft.subject, draft.in_reply_to):
        assert not any(char in text for char in "\r\n\0")
    for text in (draft.to, draft.subject, draft.body, draft.in_reply_to):
        text.encode("utf-8")  # text a window can show and a message can carry
