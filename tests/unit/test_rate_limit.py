"""The token bucket that bounds requests per second."""

from __future__ import annotations

import pytest

from composer.rate_limit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_capacity_is_allowed_then_refused() -> None:
    bucket = TokenBucket(3, 1.0, Clock())

    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_tokens_come_back_at_the_rate_up_to_the_capacity() -> None:
    clock = Clock()
    bucket = TokenBucket(2, 4.0, clock)
    assert bucket.take()
    assert bucket.take()
    assert not bucket.take()

    clock.now += 0.25  # one token at 4 a second
    assert bucket.take()
    assert not bucket.take()
    clock.now += 3600  # a long quiet spell refills only to the capacity
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_a_clock_that_goes_back_gives_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(1, 1.0, clock)
    assert bucket.take()

    clock.now -= 100
    assert not bucket.take()


@pytest.mark.parametrize(("capacity", "rate"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_a_bucket_that_could_never_allow_anything_is_refused(capacity: int, rate: float) -> None:
    with pytest.raises(ValueError, match="capacity of at least 1 and a positive rate"):
        TokenBucket(capacity, rate)
