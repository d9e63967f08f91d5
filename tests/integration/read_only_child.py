"""The child half of test_read_only.py: Composer on a folder it may read but not write.

Usage: ``python -m tests.integration.read_only_child DIR [UID]``. With UID (the test runs
as root, whom permissions do not stop) the process first becomes that user. It starts an
AppContext on DIR, tries each kind of write, and prints what it was told as JSON. Everything
is imported before the switch: the interpreter may live where only root can read.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
from pathlib import Path

from composer.context import AppContext
from composer.mail.accounts import Account
from composer.mail.draft import Draft
from composer.mail.files import describe_write_error
from composer.mail.message import build_message
from composer.paths import Paths
from composer.warm_up import SOON_MODULES

# What Composer imports after its first window (and this child after the switch) is imported
# now, while the interpreter can still be read: what the warm-up imports, and the address
# book's sqlite3.
for _name in (*SOON_MODULES, "sqlite3"):
    importlib.import_module(_name)


def main(directory: Path) -> dict[str, object]:
    told: list[str] = []
    context = AppContext(Paths.under(directory), notify=told.append)
    # The address book is loaded as the session does once its first window is up.
    book: list[str] = []
    context.load_address_book(book.append).join(10)
    said: dict[str, object] = {"warnings": [*context.load_warnings, *book]}
    try:
        try:
            context.drafts.save(
                "0000000000000001-new",
                Draft(subject="Kept in memory"),
                sender=None,
                message_id="<r@composer.invalid>",
                saved_at=context.clock(),
            )
        except OSError as error:
            said["draft"] = describe_write_error(error)
        account = Account(id="new", name="New", email="new@example.org", host="h")
        try:
            settings = context.settings
            context.update_settings(
                dataclasses.replace(settings, accounts=(*settings.accounts, account))
            )
        except OSError as error:
            said["accounts"] = describe_write_error(error)
        context.remember_last_used("home")
        context.writer.flush()
        home = context.accounts()[0]
        message = build_message(Draft(to="bob@example.net"), home.sender())
        try:
            context.outbox.add(message, home.id)
        except OSError as error:
            said["outbox"] = describe_write_error(error)
        said["accounts_in_memory"] = [a.id for a in context.accounts()]
        said["last_used_in_memory"] = context.settings.last_used_id
    finally:
        context.close()
    said["told"] = told
    return said


if __name__ == "__main__":
    if len(sys.argv) > 2:
        uid = int(sys.argv[2])
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    print(json.dumps(main(Path(sys.argv[1]))))
