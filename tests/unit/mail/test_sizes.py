"""Sizes in the units people read."""

from __future__ import annotations

import pytest

from composer.mail.sizes import format_size


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (2, "2 bytes"),
        (999, "999 bytes"),
        (1000, "1 kB"),
        (1049, "1 kB"),
        (1051, "1.1 kB"),
        (1500, "1.5 kB"),
        (999_949, "999.9 kB"),
        # Rounded to 1000 kB: that is 1 MB.
        (999_951, "1 MB"),
        (999_999, "1 MB"),
        (1_000_000, "1 MB"),
        (25_000_000, "25 MB"),
        (35_882_577, "35.9 MB"),
        (999_949_999, "999.9 MB"),
        (999_999_999, "1 GB"),
        (1_000_000_000, "1 GB"),
        (1_240_000_000, "1.2 GB"),
        # GB is the largest unit.
        (999_999_999_999, "1000 GB"),
        (12_345_678_901_234, "12345.7 GB"),
    ],
)
def test_format_size(size, text):
    assert format_size(size) == text
