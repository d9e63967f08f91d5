"""The published contract: create_main_window, objectNames, and the command line."""

from __future__ import annotations

import email.policy
import os
import subprocess
import sys
from email.parser import BytesParser
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSpinBox,
    QTextEdit,
)
from pytestqt.qtbot import QtBot

from composer import __version__
from composer.app import create_main_window


def test_object_names_are_the_published_contract(qtbot: QtBot, tmp_path: Path) -> None:
    window = create_main_window(tmp_path)
    qtbot.addWidget(window)

    assert isinstance(window, QMainWindow)
    assert window.objectName() == "composerWindow"
    assert isinstance(window.findChild(QComboBox, "fromAccount"), QComboBox)
    for name in ("to", "cc", "bcc", "subject"):
        assert isinstance(window.findChild(QLineEdit, name), QLineEdit), name
    assert isinstance(window.findChild(QTextEdit, "body"), QTextEdit)
    for name in ("actionSend", "actionCancelSend", "actionAccounts", "actionNew"):
        assert isinstance(window.findChild(QAction, name), QAction), name

    window.findChild(QAction, "actionAccounts").trigger()
    dialog = window.findChild(QDialog, "accountsDialog")
    assert dialog is not None
    for name in ("accountName", "displayName", "email", "host", "username", "password"):
        assert isinstance(dialog.findChild(QLineEdit, name), QLineEdit), name
    for name in ("port", "timeout"):
        assert isinstance(dialog.findChild(QSpinBox, name), QSpinBox), name
    security = dialog.findChild(QComboBox, "security")
    texts = [security.itemText(i) for i in range(security.count())]
    assert any("SSL/TLS" in t for t in texts)
    assert any("STARTTLS" in t for t in texts)
    assert any("None" in t for t in texts)
    for name in ("addAccount", "removeAccount", "testConnection"):
        assert isinstance(dialog.findChild(QPushButton, name), QPushButton), name
    dialog.reject()


def run_composer(
    *arguments: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # Client registrations only from what the test gives, not from the developer's session.
    kept = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSER_")}
    env = dict(kept, QT_QPA_PLATFORM="offscreen", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "composer", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_version_option(tmp_path: Path) -> None:
    result = run_composer("--version", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout.strip() == f"Composer {__version__}"


def test_self_test_names_the_client_registrations_it_finds(tmp_path: Path) -> None:
    result = run_composer(
        "--self-test",
        "--config-dir",
        str(tmp_path / "state"),
        cwd=tmp_path,
        env={"COMPOSER_MICROSOFT_CLIENT_ID": "00001111-aaaa"},
    )
    assert result.returncode == 0, result.stderr
    assert "Microsoft: client 00001111-aaaa)" in result.stdout


def test_self_test_sends_through_the_sandbox_under_config_dir(tmp_path: Path) -> None:
    config = tmp_path / "state"

    result = run_composer("--self-test", "--config-dir", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "self-test passed" in result.stdout
    assert "signing in works (Google: no client ID; Microsoft: no client ID)" in result.stdout
    delivered = list((config / "sandbox" / "Maildir" / "new").iterdir())
    assert len(delivered) == 1
    message = BytesParser(policy=email.policy.default).parsebytes(delivered[0].read_bytes())
    assert message["Subject"] == "Composer self-test ✓"
    # Nothing was written outside the given directory.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
