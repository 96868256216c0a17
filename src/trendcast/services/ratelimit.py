"""A limit on failed authentications per client, so API keys cannot be guessed at speed.

After ``max_failures`` failed attempts (an unknown, malformed or revoked key) within
``window`` seconds, a client is refused (HTTP 429 with ``Retry-After``) until the oldest of
those failures is ``window`` seconds old, whatever key it sends meanwhile. Clients are told
apart by their address as the server sees it (behind a reverse proxy, run uvicorn with
``--proxy-headers`` and ``--forwarded-allow-ips`` so that it is the real client's).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from trendcast.errors import TrendcastError

MAX_CLIENTS = 100_000  # clients remembered at once (the oldest are forgotten first)


class TooManyFailures(TrendcastError):
    """A client failed to authenticate too often; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FailureLimiter:
    """Failed attempts per client in a sliding window (thread-safe)."""

    def __init__(self, max_failures: int = 10, window: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_failures < 1 or window <= 0:
            raise ValueError(f"need max_failures >= 1 and window > 0, got {max_failures}, {window}")
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def check(self, client: str) -> None:
        """Raise TooManyFailures while ``client`` is over the limit."""
        with self._lock:
            now = self.clock()
            times = self._recent(client, now)
            if len(times) < self.max_failures:
                return
            wait = max(1, math.ceil(times[0] + self.window - now))
        raise TooManyFailures(
            f"too many failed authentications from {client} ({self.max_failures} within "
            f"{self.window:.0f}s); try again in {wait}s", wait)

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        with self._lock:
            if client not in self._failures and len(self._failures) >= MAX_CLIENTS:
                self._failures.pop(next(iter(self._failures)))
            self._failures.setdefault(client, deque()).append(self.clock())
            times = self._failures[client]
            while len(times) > self.max_failures:
                times.popleft()
