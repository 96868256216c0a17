"""Results of slow reads (reports, insights), kept until the workspace's data changes.

While the server runs it is the only writer of its DuckDB workspace (DuckDB locks the file),
so a counter bumped after every upload and every finished job tells exactly when cached
results may be stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class DataVersion:
    """A counter of the writes that change what reads return."""

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    @property
    def value(self) -> int:
        return self._value

    def bump(self) -> None:
        with self._lock:
            self._value += 1


class ResultCache:
    """The ``size`` most recently used results, keyed by (what, parameters, data version)."""

    def __init__(self, version: DataVersion, size: int = 16) -> None:
        self.version = version
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached result for ``key`` at the current data version, computed if absent."""
        full = (key, self.version.value)
        with self._lock:
            if full in self._items:
                self._items.move_to_end(full)
                return self._items[full]
        result = compute()  # outside the lock: other reads go on meanwhile
        with self._lock:
            self._items[full] = result
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return result
