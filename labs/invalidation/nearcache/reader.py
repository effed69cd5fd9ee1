"""The near cache: a reader that keeps copies in its own process and lets the server say when they change.

A read first handles every invalidation already waiting on the socket (a non-blocking check, as redis-py's
own cache does before each cached read), then serves the local copy if it holds one; otherwise it asks
Redis on its tracked connection — so the server remembers the key — and keeps the reply. ``fill`` writes a
value the application loaded from the database through the same connection (with ``NOLOOP`` the reader is
not told about its own write).

When the connection drops, invalidations sent meanwhile are lost: the server forgets a client's tracked
keys when it disconnects. redis.io's rule is to flush the whole local cache on reconnect; this reader
does so unless built with ``flush_on_reconnect=False`` — the broken reader the reconnect lab shows.

:class:`RedisPyReader` is the same reader on redis-py's built-in cache (``Redis(protocol=3,
cache_config=CacheConfig())``), which redis-py 8.1 enables only on a server that calls itself "redis"
at version 7.4 or later (``CacheProxyConnection.MIN_ALLOWED_VERSION``).
Source: https://redis.io/docs/latest/develop/reference/client-side-caching/ ("What to do when losing
connection with the server", "Avoiding race conditions").
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import redis
from redis.cache import CacheConfig, CacheEntryStatus, DefaultCache

from labs.core.backends import connection_kwargs
from labs.invalidation.nearcache.links import Link, TrackingUnavailable, refusal, single_node_pool
from labs.invalidation.nearcache.local import LocalCache

LOCAL, REDIS, ABSENT = "local", "redis", "absent"   # where a read was answered


@dataclass(frozen=True)
class Read:
    value: Any
    tier: str            # LOCAL, REDIS or ABSENT (not in Redis either: the caller loads the database)


class NearCache:
    """Local LRU + TTL backstop in front of a tracked connection (:class:`Link`)."""

    def __init__(self, open_link: Callable[[], Link], local: LocalCache, *, flush_on_reconnect: bool = True,
                 clock_ns: Callable[[], int] = time.perf_counter_ns) -> None:
        self.open_link, self.local, self.flush_on_reconnect, self.clock_ns = open_link, local, flush_on_reconnect, clock_ns
        self.reconnects = 0
        self.dropped_at: dict[str, int] = {}      # key -> clock_ns when an invalidation dropped it
        self.invalidated_keys = 0
        self.invalidations_by_key: Counter[str] = Counter()
        self._fetching: set[str] = set()
        self._overtaken: set[str] = set()
        self.link = self._connect()

    def _connect(self) -> Link:
        link = self.open_link()
        link.on_invalidate = self._invalidate
        return link

    def _invalidate(self, keys: list[str] | None) -> None:
        now = self.clock_ns()
        if keys is None:  # the whole server was flushed
            self.local.flush()
            return
        for key in keys:
            self.invalidated_keys += 1
            self.invalidations_by_key[key] += 1
            if self.local.drop(key):
                self.dropped_at[key] = now
            if key in self._fetching:
                self._overtaken.add(key)

    def reconnect(self) -> None:
        """A new tracked connection; the local copies are flushed unless this reader is the broken one."""
        self.link.close()
        self.reconnects += 1
        if self.flush_on_reconnect:
            self.local.flush()
        self.link = self._connect()

    def poll(self) -> int:
        """Handle the invalidations already received; a dropped connection is reopened."""
        try:
            return self.link.poll()
        except (redis.ConnectionError, OSError):
            self.reconnect()
            return 0

    def read(self, key: str) -> Read:
        self.poll()
        found, value = self.local.get(key)
        if found:
            return Read(value, LOCAL)
        value = self._fetch(key)
        return Read(value, ABSENT if value is None else REDIS)

    def _fetch(self, key: str) -> Any:
        self._fetching.add(key)
        try:
            try:
                value = self.link.get(key)
            except (redis.ConnectionError, OSError):
                self.reconnect()
                value = self.link.get(key)
            if not self.link.ordered:
                self.link.poll()  # an invalidation that overtook this reply is on the other socket by now
            if value is not None and key not in self._overtaken:
                self.local.put(key, value)
            return value
        finally:
            self._fetching.discard(key)
            self._overtaken.discard(key)

    def fill(self, key: str, value: Any, ttl_s: int) -> None:
        """Store what the application loaded from the database: in Redis (tracked connection) and locally."""
        self.link.set(key, value, ttl_s)
        self.local.put(key, value)

    def close(self) -> None:
        self.link.close()


class _CountingCache(DefaultCache):
    """redis-py's cache, counting the reads that went to the network and the keys invalidated."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.network_reads = 0
        self.invalidated_keys = 0

    def set(self, entry: Any) -> bool:
        if entry.status == CacheEntryStatus.IN_PROGRESS:
            self.network_reads += 1
        return super().set(entry)

    def delete_by_redis_keys(self, redis_keys: list) -> list[bool]:
        deleted = super().delete_by_redis_keys(redis_keys)
        self.invalidated_keys += len(redis_keys)
        return deleted


class RedisPyReader:
    """The same reader on redis-py's built-in client-side cache (no TTL backstop: redis-py has none)."""

    def __init__(self, client: Any, capacity: int, *, server: str = "this server") -> None:
        pool = single_node_pool(client)
        kwargs = connection_kwargs(pool)
        kwargs.pop("protocol", None)
        self.cache = _CountingCache(CacheConfig(max_size=capacity))
        self.client = redis.Redis(connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class, protocol=3, cache=self.cache, **kwargs), protocol=3)
        try:
            self.client.ping()
        except redis.ConnectionError as exc:
            self.client.close()
            raise TrackingUnavailable(f"redis-py refuses its built-in cache on {server}: \"{exc}\" (it checks "
                                      "that HELLO names the server \"redis\" at version 7.4 or later).") from None
        except redis.ResponseError as exc:  # the server itself refused CLIENT TRACKING
            self.client.close()
            raise refusal(exc, server) from None

    @property
    def invalidated_keys(self) -> int:
        return self.cache.invalidated_keys

    def read(self, key: str) -> Read:
        before = self.cache.network_reads
        value = self.client.get(key)
        tier = LOCAL if self.cache.network_reads == before else (ABSENT if value is None else REDIS)
        return Read(value, tier)

    def fill(self, key: str, value: Any, ttl_s: int) -> None:
        self.client.set(key, value, ex=ttl_s)

    def close(self) -> None:
        self.client.close()
