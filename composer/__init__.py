"""Composer: a small, dependable desktop email composer."""

from composer.ui.pyside_imports import skip_source_scan as _skip_source_scan

__version__ = "0.1.0"

# A program that imported PySide6 before Composer (as callers of create_main_window do)
# would otherwise have PySide6 read the source of every module Composer imports from here
# on; where PySide6 comes later, the start-up calls this again once it is imported.
_skip_source_scan()
