"""Cache-aside, the seed's flow: try the cache → on a miss query the database → SET with a TTL → return.

A miss is not a None (as in dogpile.cache's ``NO_VALUE``): :data:`MISS` means "not in the cache",
while a cached ``null`` means "the database has no such row, and we remembered that" (negative caching).
If the cache is unreachable the read still succeeds from the database, and the outcome says so —
cache-aside is resilient to a cache failure, only slower.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis


class _Miss:
    _instance = None

    def __new__(cls) -> "_Miss":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISS"


MISS: Any = _Miss()
"""The value of a cache lookup that found nothing (distinct from a cached empty value)."""


def cache_get(client: Any, key: str) -> Any:
    """The decoded cached value, or :data:`MISS`."""
    raw = client.get(key)
    return MISS if raw is None else json.loads(raw)


def cache_set(client: Any, key: str, value: Any, ttl_s: int) -> None:
    client.set(key, json.dumps(value, separators=(",", ":")), ex=ttl_s)


@dataclass(frozen=True)
class ReadOutcome:
    """One cache-aside read, with every part timed. Simulated DB time is kept apart from measured time."""

    value: Any
    hit: bool
    source: str                 # "cache", "database", or "database (cache down)"
    redis_get_ns: int = 0
    db_real_ns: int = 0
    db_simulated_ns: int = 0
    redis_set_ns: int = 0
    cache_error: str | None = None

    @property
    def measured_ns(self) -> int:
        """Time really spent: Redis round trips plus the real SQLite call."""
        return self.redis_get_ns + self.db_real_ns + self.redis_set_ns

    @property
    def total_ns(self) -> int:
        """What the user would wait: measured time plus the simulated network/query time of the DB."""
        return self.measured_ns + self.db_simulated_ns


def cache_aside_read(client: Any, db: Any, table: str, pk: int, key: str, ttl_s: int) -> ReadOutcome:
    """Read ``table[pk]`` through the cache at ``key``; populate it with a TTL on a miss."""
    start = time.perf_counter_ns()
    try:
        cached = cache_get(client, key)
        get_ns = time.perf_counter_ns() - start
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        row = db.get(table, pk)
        return ReadOutcome(row.value, False, "database (cache down)", time.perf_counter_ns() - start,
                           row.real_ns, row.simulated_ns, 0, str(exc))
    if cached is not MISS:
        return ReadOutcome(cached, True, "cache", get_ns)
    row = db.get(table, pk)
    start = time.perf_counter_ns()
    error = None
    try:
        cache_set(client, key, row.value, ttl_s)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        error = str(exc)
    set_ns = time.perf_counter_ns() - start
    return ReadOutcome(row.value, False, "database", get_ns, row.real_ns, row.simulated_ns, set_ns, error)
