"""Writing down what became of each message of a batch while the next one goes out.

Once the server has answered a message's final dot, the Outbox records the outcome: the Sent
record and the entry's removal, or its new state. On a disk where making a file costs a
millisecond (as much as the whole SMTP exchange of a small message), doing that on the
sending thread would halve a batch's pace; so it is done here, on a thread of its own, in
the order the outcomes came, while the sending thread goes on with the next message.

Nothing is sent twice for it: a message's commit mark is on disk before its final dot, so a
crash before its outcome is recorded makes it "may have been sent", as it would a moment
after the dot. What the sending thread needs from a recorded outcome (the word to pass on to
the user) it takes from recorded(), so only it talks to the rest of the program.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING

from composer.mail.errors import ErrorKind, SendError
from composer.mail.progress import SendResult

if TYPE_CHECKING:
    from composer.mail.mailbox_copy import SentCopies
    from composer.mail.outbox import Outbox

log = logging.getLogger(__name__)

Outcome = SendResult | SendError
# A queue item: an outcome to record, or None, which says there will be no more.
_Item = tuple[str, Outcome] | None


class OutcomeRecorder:
    """Records one batch's outcomes in the Outbox, in order, on its own thread.

    put() from the sending thread; recorded() and finish() give, on that thread, what has
    been written down. finish() must be called once the batch is over (in a finally).
    """

    def __init__(self, outbox: Outbox, copies: SentCopies | None) -> None:
        self._outbox = outbox
        self._copies = copies
        self._todo: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[str, Outcome]] = queue.SimpleQueue()
        # A daemon: a process that exits with outcomes still queued leaves them to recovery
        # (each message's mark is on disk), rather than waiting for a stuck disk.
        self._thread = threading.Thread(target=self._run, name="composer-recorder", daemon=True)
        self._started = False

    def put(self, key: str, outcome: Outcome) -> None:
        """Record outcome for key soon; returns at once."""
        if not self._started:
            self._started = True
            self._thread.start()
        self._todo.put((key, outcome))

    def recorded(self) -> list[tuple[str, Outcome]]:
        """The outcomes written down since the last call, in order; never waits."""
        found = []
        while True:
            try:
                found.append(self._done.get_nowait())
            except queue.Empty:
                return found

    def finish(self) -> list[tuple[str, Outcome]]:
        """Wait until every outcome put is written down and the batch's Sent records are
        synced (Outbox.settle); gives those recorded() has not given yet."""
        if self._started:
            self._todo.put(None)
            self._thread.join()
        try:
            self._outbox.settle()
        except Exception:
            log.exception("could not settle the Outbox's delivered messages")
        return self.recorded()

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            key, outcome = item
            self._done.put((key, record(self._outbox, key, outcome, self._copies, batch=True)))


def record(
    outbox: Outbox,
    key: str,
    outcome: Outcome,
    copies: SentCopies | None,
    *,
    batch: bool = False,
) -> Outcome:
    """What the Outbox makes of one message's outcome, written before anyone is told; with
    copies, its Sent record owes a copy in the mailbox's Sent folder. batch: one of several
    over one connection, whose Sent records are synced together (Outbox.settle).

    Must not raise, or the messages after this one would not be recorded. A record that
    cannot be written is logged; the Outbox keeps the entry in a state that never sends it
    twice (see Outbox.delivered)."""
    try:
        if isinstance(outcome, SendResult):
            sent_key = outbox.delivered(key, outcome, settle_later=batch)
            if copies is not None:
                copies.owe(sent_key)
        elif outcome.kind is ErrorKind.CANCELLED:
            outbox.release(key)  # not sent, still wanted: due again
        else:
            outbox.failed(key, outcome)
    except Exception:
        log.exception("could not record the outcome of Outbox message %s", key)
    return outcome
