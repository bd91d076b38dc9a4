"""Caches bounded in bytes: what a request computed, kept for the next identical one.

Every cache of the server is one of these: its keys are digests (a key is 32 bytes, however
long the query it stands for), the bytes its values hold are capped, and no value larger
than a set size is kept at all, so that no request can make the server hold memory it does
not give back.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from cachetools import LRUCache

#: What an entry costs beyond its body (the key, the entry's bookkeeping).
OVERHEAD = 200


def digest(*parts: object) -> bytes:
    """A fixed-size key for a cache entry, whatever the size of what it is keyed by."""
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).digest()


class ByteCache:
    """A least-recently-used cache bounded in bytes, keyed by digests, holding no entry
    larger than ``largest`` bytes (an answer that large is not worth keeping)."""

    def __init__(self, capacity: int, largest: int) -> None:
        self.capacity = capacity
        self.largest = largest
        self._entries: LRUCache[bytes, Any] = LRUCache(
            maxsize=max(1, capacity), getsizeof=lambda value: _size(value) + OVERHEAD
        )
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Any:
        if not self.capacity:
            return None
        with self._lock:
            return self._entries.get(key)

    def put(self, key: bytes, value: Any) -> None:
        if not self.capacity or _size(value) > self.largest:
            return
        with self._lock:
            self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def held(self) -> int:
        """The bytes the entries hold (by their bodies)."""
        with self._lock:
            return int(self._entries.currsize)


def _size(value: Any) -> int:
    """The bytes ``value`` holds: its body, or a whole response's."""
    if isinstance(value, tuple):  # a replayed response: status, headers, body
        return sum(_size(part) for part in value)
    if isinstance(value, list):
        return sum(len(k) + len(v) for k, v in value)
    body = getattr(value, "body", value)
    return len(body) if isinstance(body, bytes | str) else 256
