"""PIPELINING (RFC 2920): MAIL FROM, RCPT TO and DATA in one write to a server that offers it,
every reply still read and judged as one at a time, the message never sent unless DATA got 354
and someone was accepted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from composer.mail.accounts import Account, Security
from composer.mail.draft import Draft
from composer.mail.envelope_exchange import MAX_PIPELINED_RECIPIENTS
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, build_message
from composer.mail.progress import SendResult
from composer.mail.transcript import Direction, Transcript
from composer.mail.transport import Outcome, SmtpTransport
from tests.scripted_server import (
    EHLO_PIPELINING,
    Answer,
    Connection,
    HungUp,
    ScriptedServer,
    accept_message,
    dribble,
    in_turn,
    scripted,
)
from tests.servers import SmtpServer, account_for, plaintext_server, running

TIMEOUT = 2
# Only a hang takes this long (asserted: the case ends, not how fast).
WAIT = 60
BOB, CAROL = "bob@example.net", "carol@example.net"
INTERNATIONAL = "jürgen@exämple.org"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def pipelining_server() -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1, no TLS, advertising PIPELINING."""
    with running(plaintext_server(pipelining=True)) as server:
        yield server


def account_to(server: Any, **changes: Any) -> Account:
    return account_for(server, Security.NONE, **{"username": "", "timeout": TIMEOUT, **changes})


def message_to(account: Account, to: str = BOB, subject: str = "Pipelined") -> OutgoingMessage:
    draft = Draft(to=to, subject=subject, body="Hello, in one write.\n")
    return build_message(draft, account.sender())


def send(server: Any, to: str = BOB, **changes: Any) -> SendResult | SendError:
    account = account_to(server, **changes)
    try:
        return SmtpTransport(account, None).send(message_to(account, to))
    except SendError as error:
        return error


def send_many(server: Any, recipients: list[str]) -> list[Outcome]:
    """One message to each of recipients over one connection; the outcomes in order."""
    account = account_to(server)
    messages = [message_to(account, to, subject=f"Message {i}") for i, to in enumerate(recipients)]
    outcomes: dict[int, Outcome] = {}
    SmtpTransport(account, None).send_many(messages, on_result=outcomes.__setitem__)
    return [outcomes[i] for i in range(len(messages))]


def pipelined(scripts: dict[str, Answer]) -> AbstractContextManager[ScriptedServer]:
    """A scripted server offering PIPELINING, with scripts' answers."""
    return scripted({"EHLO": EHLO_PIPELINING, **scripts})


def refused(outcome: Outcome, kind: ErrorKind) -> SendError:
    assert isinstance(outcome, SendError), outcome
    assert outcome.kind is kind, outcome.message
    return outcome


# --- one write, seen from the server ------------------------------------------------------


def test_mail_rcpt_and_data_arrive_in_one_write(pipelining_server):
    result = send(pipelining_server, to=f"{BOB}, {CAROL}")

    assert isinstance(result, SendResult), result
    # Each command's successor had arrived before the server answered it; the message had
    # not arrived when DATA was answered (it is sent only after the 354).
    assert pipelining_server.ahead == [
        ("MAIL", True),
        ("RCPT", True),
        ("RCPT", True),
        ("DATA", False),
    ]


def test_without_pipelining_each_command_waits_for_its_reply(plain_server):
    result = send(plain_server, to=f"{BOB}, {CAROL}")

    assert isinstance(result, SendResult), result
    assert plain_server.ahead == [
        ("MAIL", False),
        ("RCPT", False),
        ("RCPT", False),
        ("DATA", False),
    ]
    assert plain_server.commands == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]


def test_every_message_of_a_batch_is_pipelined(pipelining_server):
    outcomes = send_many(pipelining_server, [BOB, CAROL, BOB])

    assert all(isinstance(o, SendResult) for o in outcomes), outcomes
    assert pipelining_server.ahead == [("MAIL", True), ("RCPT", True), ("DATA", False)] * 3
    assert [m["Subject"] for m in pipelining_server.received] == [
        "Message 0",
        "Message 1",
        "Message 2",
    ]


def test_a_very_long_recipient_list_goes_one_command_at_a_time(pipelining_server):
    many = [f"r{i}@example.net" for i in range(MAX_PIPELINED_RECIPIENTS + 1)]

    result = send(pipelining_server, to=", ".join(many))

    assert isinstance(result, SendResult), result
    assert result.accepted == tuple(many)
    assert not any(ahead for _, ahead in pipelining_server.ahead)


# --- delivered as before ------------------------------------------------------------------


def test_a_pipelined_message_arrives_with_its_envelope_and_content(pipelining_server):
    result = send(pipelining_server, to=f"{BOB}, Carol <{CAROL}>")

    assert isinstance(result, SendResult), result
    assert result.accepted == (BOB, CAROL)
    assert result.refused == {}
    assert result.reply == "250 2.0.0 Message accepted"
    assert pipelining_server.envelopes == [("ann@example.org", (BOB, CAROL))]
    [received] = pipelining_server.received
    assert received["Subject"] == "Pipelined"
    assert received.get_content().splitlines() == ["Hello, in one write."]
    assert received["Message-ID"] == result.message_id
    [options] = pipelining_server.mail_options
    assert options == (f"SIZE={result.size}",)


def test_smtputf8_and_8bitmime_go_with_a_pipelined_mail_from():
    with running(plaintext_server(pipelining=True, enable_SMTPUTF8=True)) as server:
        result = send(server, to=f"{BOB}, Jürgen <{INTERNATIONAL}>")

    assert isinstance(result, SendResult), result
    assert server.envelopes == [("ann@example.org", (BOB, INTERNATIONAL))]
    [options] = server.mail_options
    assert sorted(options) == sorted([f"SIZE={result.size}", "SMTPUTF8", "BODY=8BITMIME"])
    assert server.ahead[0] == ("MAIL", True)


def conversation(outgoing: OutgoingMessage, *, pipelining: bool) -> tuple[list[str], list[str]]:
    """What the client said (and noted) and what it heard, sending outgoing."""
    transcript = Transcript()
    server = plaintext_server(pipelining=pipelining, enable_SMTPUTF8=True)
    with running(server):
        SmtpTransport(account_to(server), None, transcript=transcript).send(outgoing)
    lines = transcript.lines()[1:]  # not "connecting to", which names the port
    said = [line.text for line in lines if line.direction is not Direction.RECEIVED]
    heard = [line.text for line in lines if line.direction is Direction.RECEIVED]
    return said, [text for text in heard if text != "250-PIPELINING"]


def test_the_commands_and_the_transcript_are_the_same_as_without_pipelining(plain_server):
    # One message for both (its Date and Message-ID would differ in length otherwise).
    outgoing = message_to(account_to(plain_server), f"{BOB}, Jürgen <{INTERNATIONAL}>")

    said, heard = conversation(outgoing, pipelining=True)

    assert (said, heard) == conversation(outgoing, pipelining=False)
    data = said.index("DATA")
    assert said[data - 3] == (
        f"mail FROM:<ann@example.org> SIZE={outgoing.size()} SMTPUTF8 BODY=8BITMIME"
    )
    assert said[data - 2 : data] == [f"rcpt TO:<{BOB}>", f"rcpt TO:<{INTERNATIONAL}>"]
    assert said[data + 1 :] == [
        f"<message body, {outgoing.size():,} bytes, not shown>",
        ".",
        "quit",
    ]
    assert "354 End data with <CR><LF>.<CR><LF>" in heard


# --- refusals: every reply read, the session kept in step ---------------------------------


def test_one_refused_recipient_of_two_is_reported_and_the_other_gets_it(pipelining_server):
    pipelining_server.refuse = {CAROL}

    result = send(pipelining_server, to=f"{BOB}, {CAROL}")

    assert isinstance(result, SendResult), result
    assert result.accepted == (BOB,)
    assert result.refused == {CAROL: (550, "5.1.1 No such user")}
    assert pipelining_server.envelopes == [("ann@example.org", (BOB,))]
    assert [m["Subject"] for m in pipelining_server.received] == ["Pipelined"]


def test_every_recipient_refused_sends_no_message_and_the_next_goes_on(pipelining_server):
    pipelining_server.refuse = {CAROL}

    first, second = send_many(pipelining_server, [CAROL, BOB])

    error = refused(first, ErrorKind.RECIPIENTS_REFUSED)
    assert error.refused == {CAROL: (550, "5.1.1 No such user")}
    assert isinstance(second, SendResult), second
    assert [m["Subject"] for m in pipelining_server.received] == ["Message 1"]
    assert pipelining_server.sessions == 1
    # aiosmtpd refuses a DATA without recipients: nothing to end there.
    assert pipelining_server.commands[1:] == [
        "MAIL",
        "RCPT",
        "RSET",
        "MAIL",
        "RCPT",
        "DATA",
        "QUIT",
    ]


def test_a_354_after_every_recipient_was_refused_gets_only_the_final_dot():
    answers: dict[str, Answer] = {
        "RCPT": in_turn("550 5.1.1 No such user", "250 2.1.5 OK"),
        # A server that answers DATA's 354 whatever came before (RFC 2920 allows it).
        "DATA": in_turn("354 Go ahead", accept_message),
        ".": "554 5.5.1 No valid recipients",
    }
    with pipelined(answers) as server:
        first, second = send_many(server, [CAROL, BOB])

    error = refused(first, ErrorKind.RECIPIENTS_REFUSED)
    assert error.refused == {CAROL: (550, "5.1.1 No such user")}
    assert "nothing was sent" in error.message
    assert isinstance(second, SendResult), second
    # Had the first message been sent, its lines would have been read as commands here.
    assert server.commands == [
        *("EHLO", "MAIL", "RCPT", "DATA", "."),
        *("RSET", "MAIL", "RCPT", "DATA", "QUIT"),
    ]
    [delivered] = server.messages
    assert b"Subject: Message 1" in delivered


def test_a_354_after_a_recipient_answered_252_closes_the_connection_rather_than_end_the_data():
    answers: dict[str, Answer] = {
        # 252: the server cannot verify the address but may take the message for it, so it
        # may hold a transaction with that recipient although Composer counts it refused.
        "RCPT": "252 2.1.5 Cannot verify, will try",
        "DATA": "354 Go ahead",
        ".": "250 2.0.0 Queued, empty",
    }
    with pipelined(answers) as server:
        first, second = send_many(server, [CAROL, BOB])

    refused(first, ErrorKind.RECIPIENTS_REFUSED)
    assert refused(second, ErrorKind.NOT_TRIED).retryable
    assert server.commands == ["EHLO", "MAIL", "RCPT", "DATA"]
    assert server.messages == []


def test_a_refused_sender_never_sends_the_message_and_the_next_goes_on():
    answers: dict[str, Answer] = {
        "MAIL": in_turn("550 5.7.1 Sender not allowed", "250 2.1.0 OK"),
        "RCPT": in_turn("503 5.5.1 Need MAIL first", "250 2.1.5 OK"),
        "DATA": in_turn("503 5.5.1 No valid sender", accept_message),
    }
    with pipelined(answers) as server:
        first, second = send_many(server, [BOB, CAROL])

    error = refused(first, ErrorKind.SENDER_REFUSED)
    assert error.smtp_code == 550
    assert "Sender not allowed" in error.message
    assert isinstance(second, SendResult), second
    assert server.commands == [
        *("EHLO", "MAIL", "RCPT", "DATA"),
        *("RSET", "MAIL", "RCPT", "DATA", "QUIT"),
    ]
    [delivered] = server.messages
    assert b"Subject: Message 1" in delivered


def test_a_354_after_a_refused_sender_closes_the_connection_rather_than_end_the_data():
    answers: dict[str, Answer] = {
        "MAIL": "550 5.7.1 Sender not allowed",
        # A server that takes RCPT TO without a sender and opens DATA all the same: the
        # final dot would end a transaction with a recipient in it.
        "DATA": "354 Go ahead",
        ".": "250 2.0.0 Queued, empty",
    }
    with pipelined(answers) as server:
        first, second = send_many(server, [BOB, CAROL])

    error = refused(first, ErrorKind.SENDER_REFUSED)
    assert "Sender not allowed" in error.message
    assert refused(second, ErrorKind.NOT_TRIED).retryable
    assert server.commands == ["EHLO", "MAIL", "RCPT", "DATA"]
    assert server.messages == []


def test_a_sender_refused_by_aiosmtpd_sends_nothing_and_the_next_goes_on(pipelining_server):
    pipelining_server.mail_replies = {1: "550 5.7.1 Sender not allowed"}

    first, second = send_many(pipelining_server, [BOB, CAROL])

    error = refused(first, ErrorKind.SENDER_REFUSED)
    assert "Sender not allowed" in error.message
    assert isinstance(second, SendResult), second
    assert [m["Subject"] for m in pipelining_server.received] == ["Message 1"]
    assert pipelining_server.envelopes == [("ann@example.org", (CAROL,))]
    # Its RCPT and DATA were refused (503) before the handler; the RSET came after DATA.
    assert pipelining_server.ahead == [
        *(("MAIL", True), ("DATA", False)),
        *(("MAIL", True), ("RCPT", True), ("DATA", False)),
    ]
    assert pipelining_server.commands[1:] == ["MAIL", "RSET", "MAIL", "RCPT", "DATA", "QUIT"]


def test_a_refused_data_command_never_sends_the_message_and_the_next_goes_on():
    answers: dict[str, Answer] = {"DATA": in_turn("554 5.3.0 No thanks", accept_message)}
    with pipelined(answers) as server:
        first, second = send_many(server, [BOB, CAROL])

    error = refused(first, ErrorKind.SERVER_ERROR)
    assert error.smtp_code == 554
    assert "No thanks" in error.message
    assert isinstance(second, SendResult), second
    assert server.commands == [
        *("EHLO", "MAIL", "RCPT", "DATA"),
        *("RSET", "MAIL", "RCPT", "DATA", "QUIT"),
    ]
    assert len(server.messages) == 1


def test_a_421_to_a_pipelined_rcpt_ends_the_session():
    with pipelined({"RCPT": "421 4.3.2 Shutting down"}) as server:
        first, second = send_many(server, [BOB, CAROL])

    error = refused(first, ErrorKind.DISCONNECTED)
    assert error.smtp_code == 421
    assert "not available right now" in error.message
    assert refused(second, ErrorKind.NOT_TRIED).retryable
    assert server.messages == []
    assert "RSET" not in server.commands


# --- failures still name the command they waited for ---------------------------------------


@pytest.mark.parametrize(
    ("verb", "waiting"),
    [("MAIL", "after MAIL FROM"), ("RCPT", "after RCPT TO"), ("DATA", "after DATA")],
)
def test_a_slow_reply_to_a_pipelined_command_names_it(verb, waiting):
    reply = {"MAIL": "250 2.1.0 OK", "RCPT": "250 2.1.5 OK", "DATA": "354 Go ahead"}[verb]
    with pipelined({verb: dribble(reply)}) as server:
        error = send(server)

    assert isinstance(error, SendError), error
    assert error.kind is ErrorKind.TIMEOUT
    assert f"no complete reply within {TIMEOUT} seconds {waiting}" in error.message
    assert server.messages == []


def test_cancel_wakes_a_send_waiting_for_a_pipelined_reply():
    reached = threading.Event()

    def never_answer(connection: Connection) -> None:
        reached.set()
        connection.server.stopping.wait()
        raise HungUp

    with pipelined({"RCPT": never_answer}) as server:
        account = account_to(server, timeout=600)  # only cancel can end it in time
        transport = SmtpTransport(account, None)
        outcome: list[SendResult | SendError] = []

        def run() -> None:
            try:
                outcome.append(transport.send(message_to(account)))
            except SendError as error:
                outcome.append(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert reached.wait(WAIT)
        transport.cancel()
        thread.join(WAIT)

        assert not thread.is_alive(), "cancel() did not wake the blocked send"
        [error] = outcome
        assert isinstance(error, SendError)
        assert error.kind is ErrorKind.CANCELLED
        assert server.messages == []
