"""The mail core and the instance protocol import and run where Qt cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import composer

# Besides every composer.mail module: the other modules that must never need Qt.
QT_FREE = ("composer.instance_protocol", "composer.context", "composer.serial_worker")

# Imports each module named on the command line (and every composer.mail module) with every
# Qt binding made unimportable, then prints the names it imported.
_CHILD = """
import importlib, pkgutil, sys

QT = {"PySide6", "shiboken6", "PySide2", "shiboken2", "PyQt6", "PyQt5", "sip"}

class NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in QT:
            raise ImportError(f"Qt is not available here (importing {name})")
        return None

sys.meta_path.insert(0, NoQt())
import composer.mail
names = [m.name for m in pkgutil.walk_packages(composer.mail.__path__, "composer.mail.")]
for name in names + sys.argv[1:]:
    importlib.import_module(name)
    print(name)
loaded = sorted(n for n in sys.modules if n.partition(".")[0] in QT)
assert not loaded, loaded
"""


def import_without_qt(*modules: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, *modules],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(Path(composer.__file__).resolve().parents[1])},
    )


def test_the_mail_core_and_the_instance_protocol_never_import_qt() -> None:
    result = import_without_qt(*QT_FREE)

    assert result.returncode == 0, result.stderr
    imported = result.stdout.split()
    # Every module on disk was found, so no module escapes the check by not being listed.
    on_disk = {
        f"composer.mail.{path.stem}"
        for path in Path(composer.__file__).parent.joinpath("mail").glob("*.py")
        if path.stem != "__init__"
    }
    assert on_disk <= set(imported)
    assert {"composer.mail.message", "composer.mail.eml", *QT_FREE} <= set(imported)


def test_a_module_that_needs_qt_fails_there() -> None:
    result = import_without_qt("composer.ui.naming")

    assert result.returncode != 0
    assert "Qt is not available here (importing PySide6" in result.stderr
