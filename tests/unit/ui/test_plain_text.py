"""A tooltip escapes exactly as html.escape does, without importing the html package."""

from __future__ import annotations

import html

import pytest

from composer.ui.plain_text import plain_tooltip


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        '<img src="/dev/zero">',
        "Ann & Bob's <b>file</b>.txt",
        "&amp; already escaped",
        '"quotes\' & <tags> together"',
    ],
)
def test_a_tooltip_is_the_text_escaped_as_html_escape_does(text: str) -> None:
    assert plain_tooltip(text) == f"<p>{html.escape(text)}</p>"


def test_no_text_is_no_tooltip() -> None:
    assert plain_tooltip("") == ""
