"""The child half of test_two_processes.py: one Composer process working on shared files.

Usage: ``python -m tests.integration.sharing_child JOB CONFIG_DIR GO_FILE [ARGUMENTS]``.
Each job builds a real AppContext on CONFIG_DIR, prints "ready", waits until GO_FILE exists
(so that both processes start working at the same moment), does its work and prints what
it did, one line each. Nothing in this process is faked: files, locks and the SMTP server
(the account in CONFIG_DIR's settings) are real.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from email.headerregistry import Address
from pathlib import Path

from composer.context import AppContext
from composer.mail.accounts import Account
from composer.mail.draft import Draft
from composer.mail.errors import SendError
from composer.mail.outbox import EntryState, OutboxError
from composer.paths import Paths

DEADLINE = 60.0


def wait_for(go: Path) -> None:
    print("ready", flush=True)
    deadline = time.monotonic() + DEADLINE
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("never told to go")
        time.sleep(0.01)


def send_all(context: AppContext) -> None:
    """Send whatever is waiting in the Outbox until it is empty."""
    account = context.accounts()[0]
    deadline = time.monotonic() + DEADLINE
    while context.outbox.folder.keys() and time.monotonic() < deadline:
        for entry in context.outbox.entries():
            if entry.state is not EntryState.WAITING:
                continue
            try:
                stored = context.outbox.begin(entry.key)
            except OutboxError:
                continue  # the other process has it, or has sent it
            key = entry.key

            def committing(key: str = key) -> None:
                context.outbox.committing(key, account.host)

            try:
                result = context.delivery(account).send_message(stored, before_final_dot=committing)
            except SendError as error:
                context.outbox.failed(key, error)
                continue
            context.outbox.delivered(key, result)
            print(f"sent {key}", flush=True)
        time.sleep(0.005)


def remember(context: AppContext, stop: Path, tag: str) -> None:
    """Choose accounts in From, each saved at once, until stop exists; then a few more."""
    count = 0
    extra = 5
    while extra:
        if stop.exists():
            extra -= 1
        context.remember_last_used(f"{tag}-{count % 2}")
        context.writer.flush()
        count += 1
    print(f"remembered {count}", flush=True)


def add_accounts(context: AppContext, count: int, tag: str) -> None:
    """Add accounts one at a time in Accounts (each a whole-file save)."""
    for number in range(count):
        account = Account(
            id=f"{tag}-{number}", name=f"{tag} {number}", email=f"{tag}{number}@example.org"
        )
        settings = context.settings
        context.update_settings(
            dataclasses.replace(settings, accounts=(*settings.accounts, account))
        )
        print(f"added {account.id}", flush=True)


def keep_drafts(context: AppContext, count: int, tag: str) -> None:
    """Save one draft over and over, and record addresses as a send does."""
    key = f"0000000000000001-{tag}"
    for number in range(count):
        draft = Draft(to=f"{tag}@example.org", subject=f"{tag} version {number}")
        context.drafts.save(
            key,
            draft,
            sender=None,
            message_id=f"<{tag}@composer.invalid>",
            saved_at=context.clock(),
        )
        context.drafts.set_window_open(key, True)
        context.address_book.record(
            [
                Address(username=f"{tag}{number}", domain="example.org"),
                Address(display_name="Shared", username="shared", domain="example.org"),
            ]
        )
    print(f"drafts {count}", flush=True)


def hold(context: AppContext) -> None:
    """Stay running (a Composer with its files open) until stdin closes."""
    print(f"alone {context.alone}", flush=True)
    sys.stdin.read()


def main(job: str, config_dir: Path, go: Path, arguments: list[str]) -> None:
    context = AppContext(Paths.under(config_dir))
    try:
        if job == "hold":
            print("ready", flush=True)
            hold(context)
            return
        wait_for(go)
        if job == "send":
            send_all(context)
        elif job == "remember":
            remember(context, Path(arguments[0]), arguments[1])
        elif job == "add-accounts":
            add_accounts(context, int(arguments[0]), arguments[1])
        elif job == "drafts":
            keep_drafts(context, int(arguments[0]), arguments[1])
        else:
            raise SystemExit(f"unknown job {job}")
    finally:
        context.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
