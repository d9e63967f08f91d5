"""``composer --self-test``: prove a build works by sending one message through the sandbox."""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import sys
import tempfile
from pathlib import Path

_SUBJECT = "Composer self-test ✓"
_TIMEOUT_MS = 60_000


def run_self_test(config_dir: Path | None = None) -> int:
    """Offscreen: build the window, send through the sandbox, check the Maildir; 0 on success."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from composer.paths import Paths
    from composer.session import Session

    with tempfile.TemporaryDirectory(prefix="composer-self-test-") as scratch:
        directory = config_dir or Path(scratch)
        app = QApplication.instance() or QApplication([sys.argv[0]])
        session = Session(Paths.under(directory))
        window = session.new_window()
        outcome: list[bool] = []

        def finished(ok: bool) -> None:
            outcome.append(ok)
            app.quit()

        window.send_finished.connect(finished)
        QTimer.singleShot(_TIMEOUT_MS, app.quit)
        window.form.to.setText("Self Test <self-test@example.org>")
        window.form.subject.setText(_SUBJECT)
        window.form.body.setPlainText("Sent by composer --self-test.")
        # A script sends at once: the undo delay is for people.
        QTimer.singleShot(0, lambda: window.start_send(undo=False))
        app.exec()
        status = window.statusBar().currentMessage()
        # The send's thread may still be saying QUIT to the server: wait for it.
        session.shut_down()
        if outcome != [True]:
            print(f"self-test failed: {status or 'no answer in time'}", file=sys.stderr)
            return 1
        signing_in = _check_sign_in()
        if signing_in is None:
            return 1
        print(signing_in)
        return _check_delivery(directory, status)


def _check_sign_in() -> str | None:
    """The sign-in's parts are in the build (authlib, httpx2, the listener): an authorization
    URL is made and the listener binds and closes. Says which client registrations it found,
    for a distributor who built some in; None (and why, on stderr) when a part is missing."""
    from composer.mail.errors import SignInFailed
    from composer.mail.oauth import SignIn
    from composer.mail.oauth_registry import OAuthRegistry
    from composer.mail.oauth_servers import OAUTH_SERVERS, OAuthClient
    from composer.mail.oauth_settings import OAuthSettings

    try:
        sign_in = SignIn(OAUTH_SERVERS["google"], OAuthClient("self-test"), timeout=5)
        sign_in.cancel()
        with contextlib.suppress(SignInFailed):  # cancelled, as asked
            sign_in.finish()
        # The httpx2 transport is imported on first use: load it here, where a missing
        # module is a build's fault.
        import authlib.integrations.httpx_client  # noqa: F401
        import httpx2  # noqa: F401
    except Exception as error:  # any missing piece of the build
        print(f"self-test failed: signing in cannot work: {error!r}", file=sys.stderr)
        return None
    if "code_challenge_method=S256" not in sign_in.url:
        print("self-test failed: the sign-in asks for no PKCE challenge", file=sys.stderr)
        return None
    registry = OAuthRegistry(OAuthSettings())
    found = [
        f"{server.name}: {'client ' + client.client_id if client else 'no client ID'}"
        for key, server in OAUTH_SERVERS.items()
        for client in [registry.client(key)]
    ]
    return "self-test: signing in works (" + "; ".join(found) + ")"


def _check_delivery(directory: Path, status: str) -> int:
    maildir = directory / "sandbox" / "Maildir" / "new"
    for path in sorted(maildir.iterdir()) if maildir.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["Subject"] == _SUBJECT:
            print(f"self-test passed: {status}")
            return 0
    print(f"self-test failed: no message in {maildir} ({status})", file=sys.stderr)
    return 1
