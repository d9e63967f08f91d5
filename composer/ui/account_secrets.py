"""What Save in Accounts writes to the keyring and deletes from it: on a worker thread (a
keyring may take seconds, or ask to be unlocked), with what it refused brought back to the
dialog to ask about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtWidgets import QMessageBox, QWidget

from composer.mail.secrets import KeyringUnavailable, SecretStore
from composer.ui.plain_text import question


@dataclass(frozen=True)
class SecretWrite:
    """One secret to store: a password typed, or the refresh token of a sign-in."""

    key: str
    secret: str = field(repr=False)
    account_name: str
    what: str  # "password" or "sign-in", for the question when the keyring refuses it


@dataclass(frozen=True)
class SecretDelete:
    """One secret of an account removed."""

    key: str
    account_name: str


@dataclass(frozen=True)
class KeyringOutcome:
    """What the keyring did not do, and why."""

    refused: tuple[tuple[SecretWrite, str], ...] = ()
    not_deleted: tuple[tuple[SecretDelete, str], ...] = ()


def write_secrets(
    secrets: SecretStore, writes: Sequence[SecretWrite], deletes: Sequence[SecretDelete]
) -> KeyringOutcome:
    """Delete, then store (on a worker thread); never raises for the keyring's sake."""
    not_deleted: list[tuple[SecretDelete, str]] = []
    for delete in deletes:
        try:
            secrets.delete(delete.key)
        except KeyringUnavailable as error:
            not_deleted.append((delete, str(error)))
    refused: list[tuple[SecretWrite, str]] = []
    for write in writes:
        try:
            secrets.set(write.key, write.secret)
        except KeyringUnavailable as error:
            refused.append((write, str(error)))
    return KeyringOutcome(tuple(refused), tuple(not_deleted))


def keep_refused(
    parent: QWidget, secrets: SecretStore, outcome: KeyringOutcome
) -> list[SecretWrite]:
    """Ask, for each secret the keyring refused, whether to keep it for this session;
    returns those the user chose to keep (the others are kept nowhere)."""
    kept: list[SecretWrite] = []
    for write, why in outcome.refused:
        answer = question(
            parent,
            "No keyring available",
            f"Composer cannot store the {write.what} of “{write.account_name}” safely: "
            f"{why}.\n\nKeep it for this session only? It will be forgotten when Composer "
            "quits, and it is never written to a file.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Yes:
            secrets.keep_for_session(write.key, write.secret)
            kept.append(write)
    return kept


def not_deleted_text(secrets: SecretStore, delete: SecretDelete, why: str) -> str:
    return (
        f"The account “{delete.account_name}” was removed, but its password is still in the "
        f"system keyring: {secrets.left_behind(delete.key, why)}"
    )
