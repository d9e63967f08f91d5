"""The sandbox takes mail only from Composer itself, and only as much as it has room for."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.mail.accounts import sandbox_account
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import SendError
from composer.mail.message import build_message
from composer.mail.sandbox import SANDBOX_LOGIN, SandboxServer, maildir_usage
from composer.mail.secrets import SecretStore
from tests.other_user import needs_root, run_as_other_user

DRAFT = Draft(to="bob@example.net", subject="Into the sandbox", body="Hello.\n")

# As the other user: what the sandbox on port argv[1] says on connecting, and if it lets the
# connection in, to MAIL FROM without a login, to a guessed login, and to a whole message.
OTHER_USERS_CLIENT = r"""
import smtplib, sys
port = int(sys.argv[1])
try:
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=20)
except smtplib.SMTPConnectError as error:
    print("connect", error.smtp_code, flush=True)
    sys.exit()
with smtp:
    smtp.ehlo()
    print("auth offered", smtp.has_extn("auth"), flush=True)
    print("mail", smtp.mail("mallory@example.org")[0], flush=True)
    smtp.rset()
    try:
        smtp.login("composer", "guessed")
    except smtplib.SMTPAuthenticationError as error:
        print("login", error.smtp_code, flush=True)
    try:
        message = b"Subject: x\r\n\r\n" + b"x" * 100_000
        smtp.sendmail("mallory@example.org", ["victim@example.org"], message)
        print("delivered", flush=True)
    except smtplib.SMTPException as error:
        print("refused", type(error).__name__, flush=True)
"""


@pytest.fixture
def small_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox that keeps at most 2 messages or 20 kB."""
    server = SandboxServer(tmp_path / "Maildir", disk_limit=20_000, message_limit=2)
    try:
        yield server
    finally:
        server.stop()


def connect(port: int) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=10)
    smtp.ehlo()
    return smtp


def stored(sandbox: SandboxServer) -> list[Path]:
    return sorted((sandbox.maildir / "new").iterdir())


def send(sandbox: SandboxServer, draft: Draft = DRAFT) -> Path:
    return Path(Delivery(sandbox_account(), SecretStore(), sandbox).send(draft).stored_at)


# --- only Composer may deliver ---------------------------------------------------------------


def test_mail_without_a_login_is_refused(sandbox: SandboxServer) -> None:
    with connect(sandbox.ensure_started()) as smtp:
        assert smtp.has_extn("auth")
        code, reply = smtp.mail("mallory@example.org")
        assert (code, reply) == (530, b"5.7.0 Authentication required")
        with pytest.raises(smtplib.SMTPException):
            smtp.sendmail("mallory@example.org", ["bob@example.net"], b"Subject: x\r\n\r\nx\r\n")

    assert maildir_usage(sandbox.maildir) == (0, 0)


@pytest.mark.parametrize(
    ("login", "password"),
    [("composer", "guessed"), ("ann", None), ("", None), (SANDBOX_LOGIN + "x", None)],
)
def test_a_wrong_login_is_refused(login: str, password: str | None, sandbox: SandboxServer) -> None:
    port = sandbox.ensure_started()

    with connect(port) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login(login, password if password is not None else sandbox.password)
        assert refused.value.smtp_code == 535
        assert smtp.mail("mallory@example.org")[0] == 530

    assert maildir_usage(sandbox.maildir) == (0, 0)


def test_the_right_login_delivers(sandbox: SandboxServer, caplog: pytest.LogCaptureFixture) -> None:
    with connect(sandbox.ensure_started()) as smtp:
        smtp.login(SANDBOX_LOGIN, sandbox.password)
        refused = smtp.sendmail(
            "me@sandbox.localhost", ["bob@example.net"], b"Subject: ok\r\n\r\n."
        )
        assert refused == {}

    assert len(stored(sandbox)) == 1
    assert "WARNING" not in caplog.text  # aiosmtpd's notice about its own login_data


def test_each_start_has_a_new_password_kept_nowhere_on_disk(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.ensure_started()
    first = sandbox.password
    send(sandbox)
    sandbox.stop()
    assert sandbox.password == ""
    sandbox.ensure_started()
    second = sandbox.password

    assert len(first) >= 40  # 32 random bytes
    assert second != first
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert first.encode() not in data
            assert second.encode() not in data


def test_composer_logs_in_without_the_keyring(no_keyring: object, sandbox: SandboxServer) -> None:
    assert send(sandbox).is_file()


@needs_root
def test_another_user_cannot_deliver_to_the_sandbox(sandbox: SandboxServer) -> None:
    port = sandbox.ensure_started()

    status, out, err = run_as_other_user(OTHER_USERS_CLIENT, str(port))

    assert status == 0, err
    # Where the system says who connects (Linux), the other user is not even let in.
    assert out.splitlines() in (
        ["connect 421"],
        ["auth offered True", "mail 530", "login 535", "refused SMTPSenderRefused"],
    )
    assert maildir_usage(sandbox.maildir) == (0, 0)
    assert send(sandbox).is_file()  # and Composer itself still can


# --- bounded disk use ------------------------------------------------------------------------


def test_a_full_sandbox_refuses_with_what_to_do(small_sandbox: SandboxServer) -> None:
    send(small_sandbox)
    send(small_sandbox)

    with pytest.raises(SendError) as refused:
        send(small_sandbox)

    error = refused.value
    assert error.smtp_code == 452
    assert error.retryable  # the Outbox keeps it and tries again later
    assert error.message == (
        "The local sandbox is full: it holds 2 messages, as many as it keeps. "
        f"Delete messages in {small_sandbox.maildir} to make room."
    )
    assert len(stored(small_sandbox)) == 2
    stored(small_sandbox)[0].unlink()
    assert send(small_sandbox).is_file()  # room again


def test_a_message_larger_than_the_room_left_is_refused(small_sandbox: SandboxServer) -> None:
    send(small_sandbox)

    with pytest.raises(SendError) as refused:
        send(small_sandbox, Draft(to="bob@example.net", body="x" * 25_000))

    assert refused.value.smtp_code == 452
    assert refused.value.message.startswith("The local sandbox is full: its messages take ")
    assert "of the 20 kB it keeps, and this one needs 26.3 kB. Delete" in refused.value.message
    assert str(small_sandbox.maildir) in refused.value.message
    assert len(stored(small_sandbox)) == 1


def test_a_client_that_does_not_say_its_size_is_refused_after_the_data(
    small_sandbox: SandboxServer,
) -> None:
    message = build_message(
        Draft(to="bob@example.net", body="x" * 25_000), sandbox_account().sender()
    )

    with connect(small_sandbox.ensure_started()) as smtp:
        smtp.login(SANDBOX_LOGIN, small_sandbox.password)
        assert smtp.mail("me@sandbox.localhost")[0] == 250  # no SIZE=
        assert smtp.rcpt("bob@example.net")[0] == 250
        code, reply = smtp.data(message.as_bytes())

    assert (code, reply) == (452, b"4.3.1 The local sandbox is full")
    assert maildir_usage(small_sandbox.maildir) == (0, 0)


def test_every_part_of_the_maildir_counts(small_sandbox: SandboxServer) -> None:
    small_sandbox.ensure_started()
    (small_sandbox.maildir / "cur" / "read:2,S").write_bytes(b"x" * 100)
    (small_sandbox.maildir / "tmp" / "half").write_bytes(b"x" * 50)

    assert maildir_usage(small_sandbox.maildir) == (2, 150)
    with pytest.raises(SendError, match="it holds 2 messages"):
        send(small_sandbox)
