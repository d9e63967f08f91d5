"""Passwords in the keyring (an in-memory backend here), or in memory for one session."""

from __future__ import annotations

import keyring.backends.fail
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from composer.mail.secrets import SERVICE, KeyringUnavailable, SecretStore, usable_backend
from tests.keyrings import MemoryKeyring


class PlaintextFileKeyring(MemoryKeyring):
    """Stands in for keyrings.alt's file backends, which keep passwords readable on disk."""

    __module__ = "keyrings.alt.file"


class LookalikeKeyring(MemoryKeyring):
    """A safe backend whose package merely starts with the same letters."""

    __module__ = "keyrings.alternative"


class LockedKeyring(MemoryKeyring):
    """A real keyring that is there but refuses every request (e.g. the user dismissed it)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("prompt dismissed")


def chain_of(*members: KeyringBackend) -> ChainerBackend:
    """A ChainerBackend over exactly these members (instead of all installed backends)."""
    chain_class = type("TestChain", (ChainerBackend,), {"backends": list(members), "viable": False})
    return chain_class()


def test_round_trip_through_the_keyring(memory_keyring):
    store = SecretStore()

    store.set("acc1", "pässwörd ☂")

    assert memory_keyring.passwords == {(SERVICE, "acc1"): "pässwörd ☂"}
    assert SecretStore().get("acc1") == "pässwörd ☂"
    assert SERVICE == "composer"


def test_unknown_account_has_no_password():
    assert SecretStore().get("nobody") is None


def test_delete_forgets_the_password(memory_keyring):
    store = SecretStore()
    store.set("acc1", "x")

    store.delete("acc1")
    store.delete("acc1")  # deleting twice is fine

    assert store.get("acc1") is None
    assert memory_keyring.passwords == {}


def test_no_keyring_is_reported(no_keyring):
    store = SecretStore()

    with pytest.raises(KeyringUnavailable, match="no secure keyring"):
        store.set("acc1", "x")
    with pytest.raises(KeyringUnavailable):
        store.get("acc1")
    store.delete("acc1")  # nothing to do, and no error


@pytest.mark.parametrize(
    "backend",
    [
        PlaintextFileKeyring(),
        keyring.backends.fail.Keyring(),
    ],
    ids=["keyrings.alt", "fail"],
)
def test_backends_that_cannot_keep_a_secret_are_refused(backend):
    keyring.set_keyring(backend)

    assert usable_backend(backend) is None
    with pytest.raises(KeyringUnavailable, match=type(backend).__module__):
        SecretStore().set("acc1", "secret")
    assert getattr(backend, "passwords", {}) == {}


def test_null_backend_is_refused():
    null = pytest.importorskip("keyring.backends.null")

    assert usable_backend(null.Keyring()) is None


def test_a_module_that_only_looks_alike_is_trusted():
    backend = LookalikeKeyring()

    assert usable_backend(backend) is backend


def test_chain_keeps_only_its_safe_members():
    safe = MemoryKeyring()

    assert usable_backend(chain_of(PlaintextFileKeyring(), safe)) is safe
    assert usable_backend(chain_of(safe, PlaintextFileKeyring())) is safe
    assert usable_backend(chain_of(PlaintextFileKeyring(), keyring.backends.fail.Keyring())) is None
    assert usable_backend(chain_of()) is None


def test_a_chain_never_falls_through_to_a_plaintext_file():
    plaintext, safe = PlaintextFileKeyring(), MemoryKeyring()
    keyring.set_keyring(chain_of(safe, plaintext))

    SecretStore().set("acc1", "secret")

    assert plaintext.passwords == {}
    assert safe.passwords == {(SERVICE, "acc1"): "secret"}


def test_a_keyring_that_refuses_is_reported_with_the_reason():
    keyring.set_keyring(LockedKeyring())
    store = SecretStore()

    with pytest.raises(KeyringUnavailable, match="PasswordSetError: prompt dismissed"):
        store.set("acc1", "x")
    with pytest.raises(KeyringUnavailable, match="KeyringLocked"):
        store.get("acc1")


def test_keep_for_session_needs_no_keyring(no_keyring):
    store = SecretStore()

    store.keep_for_session("acc1", "for now")

    assert store.get("acc1") == "for now"
    with pytest.raises(KeyringUnavailable):
        SecretStore().get("acc1")


def test_keep_for_session_is_never_written_to_the_keyring(memory_keyring):
    store = SecretStore()

    store.keep_for_session("acc1", "for now")

    assert memory_keyring.passwords == {}
    assert store.get("acc1") == "for now"


def test_storing_in_the_keyring_replaces_the_session_password(memory_keyring):
    store = SecretStore()
    store.keep_for_session("acc1", "old")

    store.set("acc1", "new")

    assert store.get("acc1") == "new"
    memory_keyring.passwords.clear()
    assert store.get("acc1") is None  # the session copy is gone too


def test_a_failed_store_keeps_the_session_password(no_keyring):
    store = SecretStore()
    store.keep_for_session("acc1", "kept")

    with pytest.raises(KeyringUnavailable):
        store.set("acc1", "new")

    assert store.get("acc1") == "kept"


def test_delete_forgets_the_session_password_too(no_keyring):
    store = SecretStore()
    store.keep_for_session("acc1", "x")

    store.delete("acc1")

    with pytest.raises(KeyringUnavailable):
        store.get("acc1")
