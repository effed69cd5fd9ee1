"""Four ways to keep a cached row in step with the database, each a small class over a cache and a DB.

* **TTL only** (time-based, passive): writes touch only the database; a cached copy stays until it
  expires, so staleness is bounded by the TTL and nothing else.
* **Delete on write** (event-based): the app's PATCH updates the database, then ``DEL``s the key; the next
  read misses and reloads (the seed's ``PATCH /user/123 → DEL user:123``).
* **Write-through**: the PATCH updates the database, then ``SET``s the new row into the cache.
* **Versioned keys**: the cache keeps a small pointer ``<entity>:ver`` to the current version and the row
  under ``<entity>:v<N>``; a PATCH bumps the pointer, and old versions are simply never read again
  (they expire by TTL). Two lookups per read, no delete to race with.

None of them sees an update made *behind the app's back* (another service writing the database
directly): only the TTL bounds that staleness. Sources: Microsoft Azure Architecture Center, "Cache-Aside
pattern" (https://learn.microsoft.com/en-us/azure/architecture/patterns/cache-aside), and redis.io,
"Caching patterns" / cache-aside. The same classes run on :class:`VirtualCache` (simulation) and on
:class:`RedisCache` (a real server).
"""
from __future__ import annotations

from typing import Any

from labs.core.cache import MISS


class Invalidation:
    """Cache-aside reads; subclasses decide what a write does to the cache."""

    name = "base"

    def __init__(self, cache: Any, db: Any, ttl_s: float) -> None:
        self.cache, self.db, self.ttl_s = cache, db, ttl_s

    def key(self, entity: int) -> str:
        return f"user:{entity}"

    def read(self, entity: int) -> tuple[dict | None, bool]:
        """(row, hit?) — on a miss the row is loaded from the database and cached with the TTL."""
        cached = self.cache.get(self.key(entity))
        if cached is not MISS:
            return cached, True
        row = self.db.get(entity)
        self.cache.set(self.key(entity), row, self.ttl_s)
        return row, False

    def write(self, entity: int, value: Any) -> dict:
        """The app's PATCH path: update the database, then tell the cache (or not)."""
        row = self.db.update(entity, value)
        self.after_write(entity, row)
        return row

    def after_write(self, entity: int, row: dict) -> None:
        raise NotImplementedError

    def lookups_per_read(self) -> int:
        return 1


class TTLOnly(Invalidation):
    name = "TTL only"

    def after_write(self, entity: int, row: dict) -> None:
        """Nothing: the cached copy lives out its TTL."""


class DeleteOnWrite(Invalidation):
    name = "delete on write"

    def after_write(self, entity: int, row: dict) -> None:
        self.cache.delete(self.key(entity))


class WriteThrough(Invalidation):
    name = "write-through"

    def after_write(self, entity: int, row: dict) -> None:
        self.cache.set(self.key(entity), row, self.ttl_s)


class VersionedKeys(Invalidation):
    name = "versioned keys"

    def read(self, entity: int) -> tuple[dict | None, bool]:
        pointer = self.cache.get(f"user:{entity}:ver")
        if pointer is not MISS:
            cached = self.cache.get(f"user:{entity}:v{pointer}")
            if cached is not MISS:
                return cached, True
        row = self.db.get(entity)
        version = 0 if row is None else row["version"]
        self.cache.set(f"user:{entity}:ver", version, self.ttl_s)
        self.cache.set(f"user:{entity}:v{version}", row, self.ttl_s)
        return row, False

    def after_write(self, entity: int, row: dict) -> None:
        self.cache.set(f"user:{entity}:ver", row["version"], self.ttl_s)

    def lookups_per_read(self) -> int:
        return 2


STRATEGIES: dict[str, type[Invalidation]] = {c.name: c for c in (TTLOnly, DeleteOnWrite, WriteThrough, VersionedKeys)}
