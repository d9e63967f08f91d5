"""SecretStore against a real Secret Service: gnome-keyring-daemon in a private D-Bus session.

Each test starts ``dbus-run-session`` with a throwaway HOME under tmp_path and no display, unlocks
gnome-keyring's login keyring with a password piped to ``gnome-keyring-daemon --unlock`` (the
sequence in FIELD-NOTES), and runs secret_service_child.py inside that session: the child reports
in JSON, these tests judge. The tests in this process never touch the OS keyring themselves.

Needs Debian's dbus, gnome-keyring and libsecret-tools (.ci/run installs them). Without them the
tests skip, except under CI (the CI environment variable set), where they fail: CI must prove it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.secret_service_child import files_containing

pytestmark = pytest.mark.secret_service

CHILD = Path(__file__).with_name("secret_service_child.py")
TOOLS = ("dbus-run-session", "gnome-keyring-daemon", "secret-tool")
TIMEOUT = 60  # seconds for the whole session; it takes well under one
SECRET_SERVICE = "keyring.backends.SecretService.Keyring"

# Runs inside the D-Bus session: unlock (and so create) the login keyring, then exec the child.
# The daemon daemonizes, stays in this process group, and ends when the session bus goes away.
SESSION_SCRIPT = (
    'printf %s "$COMPOSER_TEST_UNLOCK" | gnome-keyring-daemon --unlock --components=secrets >&2'
    '; exec "$@"'
)


def require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    message = (
        f"{', '.join(missing)} not found: a real Secret Service needs "
        "`apt-get install dbus gnome-keyring libsecret-tools` (.ci/run installs them)"
    )
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI must run the Secret Service tests, but {message}", pytrace=False)
    pytest.skip(message)


def distinctive_password() -> str:
    """Non-ASCII, with a random part no file could contain by chance."""
    return f"Schlüssel-пароль-密码-{secrets.token_hex(12)}"


def run_child(tmp_path: Path, mode: str, password: str, unlock: str) -> dict[str, Any]:
    """Run the child in a fresh D-Bus session with gnome-keyring; its JSON report."""
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    # A minimal environment: no DISPLAY or WAYLAND_DISPLAY (a prompt must fail, not wait for
    # someone), no outer D-Bus session, no PYTHON_KEYRING_BACKEND or other test settings.
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_RUNTIME_DIR": str(runtime),
        "COMPOSER_TEST_UNLOCK": unlock,
        "COMPOSER_TEST_PASSWORD": password,
    }
    command = [
        *("dbus-run-session", "--", "sh", "-c", SESSION_SCRIPT, "sh"),
        *(sys.executable, str(CHILD), mode),
    ]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the bus, the daemon and the child
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(
            f"the D-Bus session did not end within {TIMEOUT} s (killed)\n"
            f"stdout:\n{stdout.decode(errors='replace')}\nstderr:\n{stderr.decode(errors='replace')}"
        )
    finally:
        # Anything of that group still alive (a daemon that outlived its bus) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    out, err = stdout.decode(errors="replace"), stderr.decode(errors="replace")
    assert process.returncode == 0, f"child failed ({process.returncode})\n{out}\n{err}"
    lines = out.strip().splitlines()
    assert lines, f"child printed nothing\nstderr:\n{err}"
    result = json.loads(lines[-1])
    assert isinstance(result, dict)
    return result


def test_secret_store_round_trip_through_gnome_keyring(tmp_path: Path) -> None:
    require_tools()
    password = distinctive_password()

    result = run_child(tmp_path, "roundtrip", password, unlock="login-keyring-pass")

    assert result["backend"] == SECRET_SERVICE, result
    assert result["read_back"] == password
    # libsecret's own client, another process, finds it under service "composer": it is really
    # in the Secret Service, where other tools (Seahorse, secret-tool) see it too.
    assert result["secret_tool_while_stored"] == password
    # Stored on disk, in the throwaway HOME, encrypted: the keyring file exists, no file has it.
    assert ".local/share/keyrings/login.keyring" in result["files_while_stored"], result
    assert result["plaintext_while_stored"] == []
    assert result["after_delete"] is None
    assert result["secret_tool_after_delete"] is None

    home = tmp_path / "home"
    assert (home / ".local" / "share" / "keyrings" / "login.keyring").stat().st_size > 0
    assert files_containing(tmp_path, password) == []


def test_secret_store_reports_a_keyring_that_cannot_be_used(tmp_path: Path) -> None:
    """Unlocked with an empty password, the login keyring never comes to be (FIELD-NOTES).

    The Secret Service backend is still the one chosen: being chosen is no proof it works.
    SecretStore must say so with KeyringUnavailable, never crash or pretend it stored.
    """
    require_tools()
    password = distinctive_password()

    result = run_child(tmp_path, "locked", password, unlock="")

    assert result["backend"] == SECRET_SERVICE, result
    assert str(result["set_error"]).startswith("KeyringUnavailable: "), result
    assert str(result["get_error"]).startswith("KeyringUnavailable: "), result
    assert result["read_back"] is None
    assert files_containing(tmp_path, password) == []
