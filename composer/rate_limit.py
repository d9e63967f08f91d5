"""A token bucket: so many events at once, then so many a second."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows a burst of capacity events, then rate events a second on average."""

    def __init__(
        self, capacity: int, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity < 1 or rate <= 0:
            raise ValueError("a token bucket needs a capacity of at least 1 and a positive rate")
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = float(capacity)
        self._filled_at = clock()

    def take(self) -> bool:
        """True, and one token fewer, if an event may happen now; False if it must not."""
        now = self._clock()
        elapsed = max(0.0, now - self._filled_at)  # a clock that went back adds nothing
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._filled_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
