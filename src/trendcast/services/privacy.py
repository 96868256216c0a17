"""Privacy use cases: rotate the pseudonym key (see ``data.pseudonym`` for where it lives)."""

from __future__ import annotations

from typing import Any

from trendcast.data.pseudonym import rotate_key
from trendcast.data.store import Store


def rotate_pseudonym_key(store: Store) -> dict[str, Any]:
    """Give the workspace a new pseudonym key and re-key the stored pseudonyms with it; see
    :func:`trendcast.data.pseudonym.rotate_key`."""
    return rotate_key(store)
