"""The child half of test_secret_service.py: runs inside a D-Bus session with gnome-keyring.

Usage: ``python secret_service_child.py roundtrip|locked``, with the password to store in the
environment variable COMPOSER_TEST_PASSWORD. Prints one JSON object on its last line of output;
the test asserts on it. Nothing here asserts: the child reports what happened, the parent judges.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import keyring

from composer.mail.secrets import SERVICE, KeyringUnavailable, SecretStore, usable_backend

ACCOUNT = "acct-1"


def needles(password: str) -> list[bytes]:
    """Byte strings that would give the password away in a file: whole, and its ASCII part alone."""
    ascii_part = "".join(c for c in password if c.isascii() and c.isalnum())
    return [password.encode("utf-8"), password.encode("utf-16-le"), ascii_part.encode("ascii")]


def regular_files(root: Path) -> list[Path]:
    """Every regular file under root (no symlinks, sockets or pipes)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def files_containing(root: Path, password: str) -> list[str]:
    """Paths (relative to root) of the files whose bytes contain the password in plain text."""
    found = []
    for path in regular_files(root):
        data = path.read_bytes()
        if any(needle in data for needle in needles(password)):
            found.append(path.relative_to(root).as_posix())
    return found


def name_of(obj: object | None) -> str | None:
    return None if obj is None else f"{type(obj).__module__}.{type(obj).__name__}"


def secret_tool_lookup(account: str) -> str | None:
    """What libsecret's own client (another program, same keyring) finds for the account."""
    tool = shutil.which("secret-tool")
    if tool is None:
        return "secret-tool not found"
    done = subprocess.run(
        [tool, "lookup", "service", SERVICE, "username", account],
        capture_output=True,
        encoding="utf-8",
        timeout=20,
        check=False,
    )
    return done.stdout if done.returncode == 0 else None


def attempt(call: Callable[[], object]) -> tuple[object, str | None]:
    """Call it; the result, or the KeyringUnavailable it raised (as text)."""
    try:
        return call(), None
    except KeyringUnavailable as error:
        return None, f"KeyringUnavailable: {error}"


def roundtrip(password: str, home: Path) -> dict[str, object]:
    chosen = keyring.get_keyring()
    SecretStore().set(ACCOUNT, password)
    result: dict[str, object] = {
        "chosen": name_of(chosen),
        "backend": name_of(usable_backend(chosen)),
        "read_back": SecretStore().get(ACCOUNT),  # a fresh store: nothing cached in memory
        "secret_tool_while_stored": secret_tool_lookup(ACCOUNT),
        "files_while_stored": [p.relative_to(home).as_posix() for p in regular_files(home)],
        "plaintext_while_stored": files_containing(home, password),
    }
    SecretStore().delete(ACCOUNT)
    result["after_delete"] = SecretStore().get(ACCOUNT)
    result["secret_tool_after_delete"] = secret_tool_lookup(ACCOUNT)
    return result


def locked(password: str) -> dict[str, object]:
    chosen = keyring.get_keyring()
    _, set_error = attempt(lambda: SecretStore().set(ACCOUNT, password))
    read, get_error = attempt(lambda: SecretStore().get(ACCOUNT))
    return {
        "chosen": name_of(chosen),
        "backend": name_of(usable_backend(chosen)),
        "set_error": set_error,
        "get_error": get_error,
        "read_back": read,
    }


def main(argv: list[str]) -> int:
    password = os.environ["COMPOSER_TEST_PASSWORD"]
    home = Path(os.environ["HOME"])
    if argv == ["roundtrip"]:
        result = roundtrip(password, home)
    elif argv == ["locked"]:
        result = locked(password)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
