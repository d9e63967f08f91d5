"""Giving widgets the objectNames that tests and assistive technology find them by."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QObject

Named = TypeVar("Named", bound=QObject)


def named(name: str, thing: Named) -> Named:
    """Set thing's objectName and return it, so a widget can be made and named in one line."""
    thing.setObjectName(name)
    return thing
