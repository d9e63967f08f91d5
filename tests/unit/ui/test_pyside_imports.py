"""PySide6's import hook is told not to read the source of the modules imported after it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# Run in a fresh interpreter: the hook's bookkeeping is per process, and this one has
# imported PySide6 and Composer long ago.
_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
import PySide6.QtCore
feature = sys.modules["shibokensupport.feature"]
import plain_before
{step}
import plain_after
print(feature.pyside_feature_dict["plain_before"], feature.pyside_feature_dict["plain_after"])
"""


def _feature_defaults(tmp_path: Path, step: str) -> tuple[int, int]:
    for name in ("plain_before", "plain_after"):
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n", encoding="utf-8")
    code = textwrap.dedent(_CHILD).replace("{step}", step)
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before, after = done.stdout.split()
    return int(before), int(after)


def test_without_it_the_hook_reads_each_module_and_leaves_plain_ones_out(
    tmp_path: Path,
) -> None:
    # -1: the hook read the source, found no "PySide6" and left the module out.
    assert _feature_defaults(tmp_path, "pass") == (-1, -1)


def test_importing_composer_gives_later_modules_the_default_without_reading_them(
    tmp_path: Path,
) -> None:
    # 0, the default feature set, is what a module gets only unread: its source has no
    # "PySide6". Modules imported before the call keep what the hook found.
    assert _feature_defaults(tmp_path, "import composer") == (-1, 0)


def test_asking_twice_changes_nothing(tmp_path: Path) -> None:
    step = (
        "from composer.ui.pyside_imports import skip_source_scan\n"
        "skip_source_scan()\n"
        "first = feature._mod_uses_pyside\n"
        "skip_source_scan()\n"
        "assert feature._mod_uses_pyside is first"
    )
    assert _feature_defaults(tmp_path, step) == (-1, 0)


def test_before_pyside6_is_imported_it_does_nothing(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from composer.ui.pyside_imports import skip_source_scan\n"
        "skip_source_scan()\n"
        "assert 'shibokensupport.feature' not in sys.modules\n"
        "assert not any(name.startswith('PySide6') for name in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=tmp_path)
