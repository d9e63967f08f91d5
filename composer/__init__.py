"""Composer: a small, dependable desktop email composer."""

__version__ = "0.1.0"
