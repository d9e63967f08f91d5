"""What PySide6 does at every import, made cheap for Composer's start-up.

PySide6's import hook (shibokensupport.feature, behind ``from __feature__ import …``)
looks at each module imported after PySide6 to find out whether it uses PySide6: it reads
the module's source with inspect.getsource and searches it for the string "PySide6". For the
hundred and more modules the first window imports, that is about 10 % of the start-up. A
module found to use PySide6 gets the default feature set (0, no features), any other is left
out of feature switching (-1). Composer never selects a feature, so every module may as
well be given the default at once, which is what skip_source_scan() arranges.
"""

from __future__ import annotations

import sys
from types import ModuleType

_MARK = "_composer_no_source_scan"


def skip_source_scan() -> None:
    """Have PySide6 give each module imported from now on the default feature set without
    reading its source. Call after PySide6 is imported; does nothing where its hook is not
    found (another PySide6 version, a frozen program without it)."""
    feature = sys.modules.get("shibokensupport.feature")
    scan = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or not callable(scan) or getattr(scan, _MARK, False):
        return

    def uses_pyside(module: ModuleType) -> bool:
        return True

    setattr(uses_pyside, _MARK, True)
    feature._mod_uses_pyside = uses_pyside  # type: ignore[attr-defined]
