"""What every strategy shares: the outcome of one request, timed, and the small strategy interface.

A strategy takes a Redis client, the primary database and the learner's namespace. Reads return the
user's row; writes change one field (``bio``). Redis and SQLite times are measured; the database's
network and query time comes from its latency model and is kept apart (``db_simulated_ns``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from labs.core.cache import cache_aside_read, cache_set
from labs.core.db import PrimaryDB
from labs.core.namespace import Namespace

TABLE = "users"
FIELD = "bio"                      # the field a write changes
CACHE_ERRORS = (redis.ConnectionError, redis.TimeoutError)


@dataclass
class Op:
    """One request as the application saw it."""

    op: str                        # "read" or "write"
    entity: int
    ok: bool = True                # answered / acknowledged to the user
    hit: bool | None = None        # reads only
    value: Any = None              # the row a read returned
    redis_ns: int = 0              # measured Redis time
    db_real_ns: int = 0            # measured SQLite time
    db_simulated_ns: int = 0       # SIMULATED network + query time
    db_reads: int = 0
    db_writes: int = 0
    error: str | None = None       # what went wrong (the request may still be ok: degraded)

    @property
    def measured_ns(self) -> int:
        return self.redis_ns + self.db_real_ns

    @property
    def total_ns(self) -> int:
        return self.measured_ns + self.db_simulated_ns


class Strategy:
    """Base class: ``read``, ``write``, and background work on the virtual clock (``tick``/``drain``)."""

    name = "strategy"
    uses_cache = True

    def __init__(self, client: Any, db: PrimaryDB, ns: Namespace, *, ttl_s: int = 60) -> None:
        self.client, self.db, self.ns, self.ttl_s = client, db, ns, ttl_s

    def key(self, entity: int) -> str:
        return self.ns.key(f"user:{entity}")

    def read(self, entity: int) -> Op:
        out = cache_aside_read(self.client, self.db, TABLE, entity, self.key(entity), self.ttl_s)
        return Op("read", entity, True, out.hit, out.value, out.redis_get_ns + out.redis_set_ns, out.db_real_ns,
                  out.db_simulated_ns, db_reads=0 if out.hit else 1, error=out.cache_error)

    def write(self, entity: int, value: str) -> Op:
        raise NotImplementedError

    def tick(self, now_ms: float) -> None:
        """Do the background work due by ``now_ms`` (virtual clock). Nothing, for most strategies."""

    def drain(self) -> None:
        """The end of a run: finish background work (write-behind flushes what is queued)."""

    def queue_depth(self) -> int:
        return 0

    def background_db_writes(self) -> int:
        """Database writes done outside requests (write-behind's flusher); none for most strategies."""
        return 0

    def _db_write(self, entity: int, value: str) -> tuple[Op, dict]:
        result = self.db.update(TABLE, entity, {FIELD: value})
        return Op("write", entity, True, None, None, 0, result.real_ns, result.simulated_ns, db_writes=1), result.value


class NoCache(Strategy):
    """The baseline: every request goes to the database."""

    name = "no cache"
    uses_cache = False

    def read(self, entity: int) -> Op:
        result = self.db.get(TABLE, entity)
        return Op("read", entity, True, None, result.value, 0, result.real_ns, result.simulated_ns, db_reads=1)

    def write(self, entity: int, value: str) -> Op:
        return self._db_write(entity, value)[0]


class CacheAside(Strategy):
    """The seed's flow: reads try the cache, fill it on a miss with a TTL; writes go to the database only
    (no invalidation: the cached copy stays stale until its TTL ends — the invalidation lab fixes that)."""

    name = "cache-aside"

    def write(self, entity: int, value: str) -> Op:
        return self._db_write(entity, value)[0]


class WriteThrough(Strategy):
    """Writes update the database and then the cache, in the request; reads as cache-aside.

    If the cache is down the write still succeeds in the database and is reported *degraded*: nothing is
    lost, but the next read of that entity is a miss once the cache returns."""

    name = "write-through"

    def write(self, entity: int, value: str) -> Op:
        op, row = self._db_write(entity, value)
        start = time.perf_counter_ns()
        try:
            cache_set(self.client, self.key(entity), row, self.ttl_s)
        except CACHE_ERRORS as exc:
            op.error = f"degraded: the cache was not updated ({exc})"
        op.redis_ns = time.perf_counter_ns() - start
        return op
