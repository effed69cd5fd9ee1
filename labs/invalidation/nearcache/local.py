"""The near cache's own memory: a bounded LRU inside the application process, with a TTL backstop.

redis.io's client-side caching reference ("Other hints for implementing client libraries") asks for two
things whatever the invalidation channel: a bound on the memory the local copy may use ("there must be a
way to evict old keys when new ones are added") and "a max TTL on every key ... even if it has no TTL",
which "protects against bugs or connection issues that would make the client have old data in the local
copy". cachetools' ``TTLCache`` is both — least-recently-used eviction plus a per-entry time to live — and
takes its timer as an argument, so tests and the reconnect demo tick a virtual clock instead of sleeping.
Source: https://redis.io/docs/latest/develop/reference/client-side-caching/
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from cachetools import TTLCache

_GONE = object()


@dataclass
class LocalStats:
    """What happened to the local copies: served, missed, and why entries left."""

    hits: int = 0
    misses: int = 0
    evicted: int = 0          # pushed out by the size bound (LRU)
    expired: int = 0          # reached the TTL backstop
    invalidated: int = 0      # dropped because the server said the key changed
    flushed: int = 0          # dropped by a whole-cache flush (reconnect, or the server flushed)


class _CountingTTLCache(TTLCache):
    """``TTLCache`` that counts what its LRU bound and its TTL push out."""

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float], stats: LocalStats) -> None:
        super().__init__(maxsize, ttl, timer=timer)
        self._stats = stats

    def popitem(self) -> tuple[Any, Any]:  # called only when the size bound evicts
        item = super().popitem()
        self._stats.evicted += 1
        return item

    def expire(self, time: float | None = None) -> list[tuple[Any, Any]]:
        gone = super().expire(time)
        self._stats.expired += len(gone)
        return gone


class LocalCache:
    """A bounded, LRU, TTL-capped dict of key → value; ``drop`` is what an invalidation calls."""

    def __init__(self, capacity: int = 1000, ttl_s: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if capacity < 1:
            raise ValueError("The local cache needs room for at least one entry.")
        if ttl_s <= 0:
            raise ValueError("The TTL backstop must be a positive number of seconds.")
        self.capacity, self.ttl_s, self.clock = capacity, ttl_s, clock
        self.stats = LocalStats()
        self._data = _CountingTTLCache(capacity, ttl_s, clock, self.stats)

    def get(self, key: str) -> tuple[bool, Any]:
        """(found, value): found is False for a key never stored, dropped, evicted or past its TTL."""
        self._data.expire()
        try:
            value = self._data[key]
        except KeyError:
            self.stats.misses += 1
            return False, None
        self.stats.hits += 1
        return True, value

    def put(self, key: str, value: Any) -> None:
        self._data.expire()
        self._data[key] = value

    def drop(self, key: str) -> bool:
        """Forget ``key`` because the server invalidated it; True if a copy was held."""
        held = self._data.pop(key, _GONE) is not _GONE
        self.stats.invalidated += held
        return held

    def flush(self) -> int:
        """Forget everything (the connection that carried invalidations was lost); returns how many."""
        n = len(self._data)
        self._data = _CountingTTLCache(self.capacity, self.ttl_s, self.clock, self.stats)  # clear() would count evictions
        self.stats.flushed += n
        return n

    def __contains__(self, key: str) -> bool:
        self._data.expire()
        return key in self._data

    def __len__(self) -> int:
        self._data.expire()
        return len(self._data)
