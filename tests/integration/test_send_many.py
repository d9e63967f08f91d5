"""SmtpTransport.send_many(): several messages over one connection, each outcome told at once."""

from __future__ import annotations

import pytest

from composer.mail.accounts import Security
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, build_message
from composer.mail.progress import SendResult
from composer.mail.transport import Outcome, SmtpTransport
from tests.servers import CLOSE, PASSWORD, SmtpServer, account_for

COUNT = 20


def messages_for(account, count: int = COUNT) -> list[OutgoingMessage]:
    return [
        build_message(
            Draft(to=f"r{i}@example.net, s{i}@example.net", subject=f"Message {i}", body="Hi\n"),
            account.sender(),
        )
        for i in range(count)
    ]


class Recorder:
    """on_result that also notes what the server had got when each outcome came."""

    def __init__(self, server: SmtpServer) -> None:
        self._server = server
        self.outcomes: dict[int, Outcome] = {}
        self.order: list[int] = []
        self.mails_seen: list[int] = []  # MAIL commands the server had got at each call

    def __call__(self, index: int, outcome: Outcome) -> None:
        self.order.append(index)
        self.outcomes[index] = outcome
        self.mails_seen.append(self._server.commands.count("MAIL"))

    def results(self) -> list[SendResult]:
        return [o for o in self.outcomes.values() if isinstance(o, SendResult)]

    def error(self, index: int) -> SendError:
        outcome = self.outcomes[index]
        assert isinstance(outcome, SendError), outcome
        return outcome


def send_many(server, *, security=Security.NONE, password=None, count=COUNT, **changes):
    account = account_for(server, security, timeout=2, **{"username": "", **changes})
    messages = messages_for(account, count)
    recorder = Recorder(server)
    SmtpTransport(account, password).send_many(messages, on_result=recorder)
    return messages, recorder


def subjects(server: SmtpServer) -> list[str]:
    return [m["Subject"] for m in server.received]


def test_twenty_messages_over_one_connection_and_one_login(smtp_server):
    messages, recorder = send_many(
        smtp_server, security=Security.STARTTLS, username="ann", password=PASSWORD
    )

    assert smtp_server.sessions == 1
    assert smtp_server.auth_attempts == [("ann", PASSWORD)]
    assert subjects(smtp_server) == [f"Message {i}" for i in range(COUNT)]
    assert recorder.order == list(range(COUNT))
    results = recorder.results()
    assert [r.message_id for r in results] == [m.message_id for m in messages]
    assert all(r.reply == "250 2.0.0 Message accepted" and r.sent_at for r in results)
    assert smtp_server.commands.count("QUIT") == 1


def test_each_outcome_comes_before_the_next_message_is_started(plain_server):
    _, recorder = send_many(plain_server)

    assert recorder.mails_seen == list(range(1, COUNT + 1))


def test_a_refused_message_is_followed_by_rset_and_the_others_go_on(plain_server):
    plain_server.refuse = {"r7@example.net", "s7@example.net", "s3@example.net"}

    _, recorder = send_many(plain_server)

    error = recorder.error(7)
    assert error.kind is ErrorKind.RECIPIENTS_REFUSED
    assert not error.retryable
    partial = recorder.outcomes[3]
    assert isinstance(partial, SendResult)
    assert partial.accepted == ("r3@example.net",)
    assert list(partial.refused) == ["s3@example.net"]
    assert subjects(plain_server) == [f"Message {i}" for i in range(COUNT) if i != 7]
    assert plain_server.sessions == 1
    # RSET right after the refused message's last RCPT, before the next MAIL.
    commands = [c for c in plain_server.commands if c != "EHLO"]
    eighth = [i for i, c in enumerate(commands) if c == "MAIL"][7]
    assert commands[eighth : eighth + 4] == ["MAIL", "RCPT", "RCPT", "RSET"]
    assert commands[eighth + 4] == "MAIL"


def test_a_connection_dropped_at_message_five_leaves_the_rest_not_tried(plain_server):
    plain_server.drop_at_mail = {5}

    _, recorder = send_many(plain_server)

    assert subjects(plain_server) == [f"Message {i}" for i in range(4)]
    assert all(isinstance(recorder.outcomes[i], SendResult) for i in range(4))
    fifth = recorder.error(4)
    assert fifth.kind is ErrorKind.DISCONNECTED
    assert fifth.retryable
    for index in range(5, COUNT):
        error = recorder.error(index)
        assert error.kind is ErrorKind.NOT_TRIED
        assert error.retryable
        assert "not tried" in error.message
    assert recorder.order == list(range(COUNT))
    assert plain_server.sessions == 1


def test_a_connection_closed_after_the_fifth_dot_may_have_sent_only_that_one(plain_server):
    plain_server.data_replies = {5: CLOSE}

    _, recorder = send_many(plain_server)

    assert plain_server.messages_read == 5
    fifth = recorder.error(4)
    assert fifth.kind is ErrorKind.MAY_HAVE_BEEN_SENT
    assert not fifth.retryable
    assert all(recorder.error(i).kind is ErrorKind.NOT_TRIED for i in range(5, COUNT))
    assert plain_server.sessions == 1


def test_temporary_rcpt_refusals_are_told_per_message(plain_server):
    plain_server.rcpt_defer = 0.4

    _, recorder = send_many(plain_server)

    delivered = {
        m["Message-ID"]: rcpts
        for m, (_, rcpts) in zip(plain_server.received, plain_server.envelopes, strict=True)
    }
    kinds = set()
    for outcome in recorder.outcomes.values():
        if isinstance(outcome, SendResult):
            assert delivered[outcome.message_id] == outcome.accepted
            assert all(code == 451 for code, _ in outcome.refused.values())
            kinds.add("partial" if outcome.refused else "whole")
        else:
            assert outcome.kind is ErrorKind.RECIPIENTS_REFUSED
            assert outcome.retryable
            kinds.add("refused")
    # The seeded choice gives each case at least once.
    assert kinds == {"whole", "partial", "refused"}
    assert len(recorder.outcomes) == COUNT


def test_a_failed_login_is_every_messages_error(smtp_server):
    _, recorder = send_many(
        smtp_server, security=Security.STARTTLS, username="ann", password="wrong", count=3
    )

    assert recorder.order == [0, 1, 2]
    assert {recorder.error(i).kind for i in range(3)} == {ErrorKind.AUTH_FAILED}
    assert smtp_server.received == []


def test_cancel_stops_the_batch_and_leaves_the_rest_unstarted(plain_server):
    account = account_for(plain_server, Security.NONE, username="", timeout=2)
    transport = SmtpTransport(account, None)
    outcomes: list[Outcome] = []

    def on_result(index: int, outcome: Outcome) -> None:
        outcomes.append(outcome)
        if index == 2:
            transport.cancel()

    transport.send_many(messages_for(account, 6), on_result=on_result)

    assert [isinstance(o, SendResult) for o in outcomes] == [True] * 3 + [False] * 3
    assert {o.kind for o in outcomes[3:] if isinstance(o, SendError)} == {ErrorKind.CANCELLED}
    assert len(plain_server.received) == 3


def test_before_final_dot_is_called_with_each_index_before_its_dot(plain_server):
    account = account_for(plain_server, Security.NONE, username="", timeout=2)
    calls: list[tuple[int, int]] = []

    SmtpTransport(account, None).send_many(
        messages_for(account, 4),
        before_final_dot=lambda index: calls.append((index, plain_server.messages_read)),
        on_result=lambda index, outcome: None,
    )

    assert calls == [(0, 0), (1, 1), (2, 2), (3, 3)]


@pytest.mark.parametrize("count", [0, 1])
def test_small_batches(plain_server, count):
    _, recorder = send_many(plain_server, count=count)

    assert len(recorder.results()) == count == len(plain_server.received)


def test_each_message_is_drawn_once_the_one_before_it_has_its_outcome(plain_server):
    account = account_for(plain_server, Security.NONE, timeout=2, username="")
    messages = messages_for(account, 3)
    recorder = Recorder(plain_server)
    drawn: list[tuple[int, list[int]]] = []  # sessions open, and outcomes told, at each draw

    def one_at_a_time():
        for message in messages:
            drawn.append((plain_server.sessions, list(recorder.order)))
            yield message

    SmtpTransport(account, None).send_many(one_at_a_time(), on_result=recorder)

    assert drawn == [(1, []), (1, [0]), (1, [0, 1])]
    assert subjects(plain_server) == ["Message 0", "Message 1", "Message 2"]
