"""The policy interface every eviction policy implements, its statistics, and a sampleable key set.

Caffeine-simulator style: a policy sees one request at a time — ``access(key, size, now, ttl)`` —
answers hit or miss, and on a miss inserts the key (cache-aside fill), evicting as needed. A request
may instead be a write, ``write(key, size, now, ttl)`` (a ``SET`` by the application, cached or not):
it is not a read, so it counts in ``writes``, never as a hit or a miss. Capacity is
counted in keys (every ``size`` = 1) or in bytes (sizes given). Time is a virtual clock in seconds
carried by the requests, never the wall clock. Randomness comes from an injected generator (``random.Random``, or the
:class:`~labs.eviction.prng.SplitMix64` that :func:`labs.eviction.make` uses) so the same seed gives the same run (cachetools-style injection).

Keys may carry a TTL (seconds, given on insert). Expiry is *passive* only — a key found expired when
it is accessed is deleted and the access counts as a miss (Redis ``expireIfNeeded`` in ``src/db.c``);
the active expire cycle is not modelled. This module has no I/O and no Streamlit.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Hashable, Iterable

Key = Hashable


@dataclass
class Stats:
    """Counters of one run. ``hits`` and ``misses`` count reads; ``writes`` counts write requests.
    ``rejected_writes`` are fills after a miss, or writes, that were refused (noeviction, or a
    volatile-* policy with nothing evictable — Redis answers such writes with an OOM error)."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    rejected_writes: int = 0
    expired: int = 0
    writes: int = 0

    @property
    def requests(self) -> int:
        """Reads (hits + misses): the hit ratio's denominator. Write requests are counted in ``writes``."""
        return self.hits + self.misses

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.requests if self.requests else 0.0

    @property
    def miss_ratio(self) -> float:
        return self.misses / self.requests if self.requests else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "requests": self.requests, "hit_ratio": self.hit_ratio,
                "miss_ratio": self.miss_ratio}


class KeyList:
    """A set of keys with O(1) add, remove and uniform random sampling (list + index, swap-remove)."""

    __slots__ = ("_keys", "_index")

    def __init__(self) -> None:
        self._keys: list = []
        self._index: dict = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: Key) -> bool:
        return key in self._index

    def __iter__(self):
        return iter(self._keys)

    def add(self, key: Key) -> None:
        if key not in self._index:
            self._index[key] = len(self._keys)
            self._keys.append(key)

    def discard(self, key: Key) -> None:
        i = self._index.pop(key, None)
        if i is None:
            return
        last = self._keys.pop()
        if i < len(self._keys):
            self._keys[i] = last
            self._index[last] = i

    def sample(self, rng: random.Random, k: int) -> list:
        n = len(self._keys)
        return rng.sample(self._keys, k) if k < n else list(self._keys)

    def choice(self, rng: random.Random) -> Key:
        return self._keys[rng.randrange(len(self._keys))]


class Policy:
    """Base class: bookkeeping of sizes, TTLs and statistics; subclasses choose the victim.

    Subclass hooks: ``_on_insert(key, now)``, ``_on_hit(key, now)``, ``_on_write(key, now)`` (an
    overwrite of a cached key; by default what a hit does, as Redis's ``lookupKeyWrite`` touches the
    key like a read), ``_on_expiry_change(key)``, ``_on_delete(key)`` and
    ``_victim(now) -> key | None`` (``None`` = nothing evictable, the write is rejected).
    """

    name = "policy"

    def __init__(self, capacity: int, *, rng: random.Random | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}.")
        self.capacity = capacity
        self.used = 0
        self.sizes: dict = {}      # key -> size (the keyspace, Redis db->dict)
        self.expires: dict = {}    # key -> absolute expiry time in seconds (Redis db->expires)
        self.stats = Stats()
        self.rng = rng if rng is not None else random.Random(0)

    def __len__(self) -> int:
        return len(self.sizes)

    def __contains__(self, key: Key) -> bool:
        """Presence check that touches nothing (like ``EXISTS`` without the LRU/LFU update)."""
        return key in self.sizes

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.used}/{self.capacity}>"

    # -- requests ---------------------------------------------------------------------------------
    def _live(self, key: Key, now: float) -> bool:
        if key not in self.sizes:
            return False
        exp = self.expires.get(key)
        if exp is not None and now >= exp:
            self._delete(key)
            self.stats.expired += 1
            return False
        return True

    def lookup(self, key: Key, now: float = 0.0) -> bool:
        """A read that does not fill on a miss (a plain ``GET``): counts the hit or the miss."""
        if self._live(key, now):
            self.stats.hits += 1
            self._on_hit(key, now)
            return True
        self.stats.misses += 1
        return False

    def access(self, key: Key, size: int = 1, now: float = 0.0, ttl: float | None = None) -> bool:
        """One request: ``True`` on a hit; on a miss the key is inserted (evicting as needed)."""
        if self.lookup(key, now):
            return True
        self.insert(key, size, now, ttl)
        return False

    def write(self, key: Key, size: int = 1, now: float = 0.0, ttl: float | None = None) -> bool:
        """A write request (``SET key value [EX ttl]``): an absent key is inserted like a fill; a cached
        key is overwritten in place — its expiry follows ``SET`` (a new TTL, or none) and the policy
        sees ``_on_write``. The key keeps the size it had: sizes are per key in these traces, so an
        overwrite never needs room. Returns whether the key is stored afterwards."""
        self.stats.writes += 1
        if not self._live(key, now):
            return self.insert(key, size, now, ttl)
        if ttl is None:
            self.expires.pop(key, None)
        else:
            self.expires[key] = now + ttl
        self._on_expiry_change(key)
        self._on_write(key, now)
        return True

    def insert(self, key: Key, size: int = 1, now: float = 0.0, ttl: float | None = None) -> bool:
        """Write a key that is absent (a ``SET`` after a miss). Returns whether it was stored."""
        if key in self.sizes:                      # an overwrite: drop the old value first
            self._delete(key)
        if size > self.capacity:
            self.stats.rejected_writes += 1
            return False
        while self.used + size > self.capacity:
            victim = self._victim(now)
            if victim is None:
                self.stats.rejected_writes += 1
                return False
            self._delete(victim)
            self.stats.evictions += 1
        self.sizes[key] = size
        self.used += size
        if ttl is not None:
            self.expires[key] = now + ttl
        self._on_insert(key, now)
        return True

    def _delete(self, key: Key) -> None:
        self.used -= self.sizes.pop(key)
        self.expires.pop(key, None)
        self._on_delete(key)

    # -- hooks ------------------------------------------------------------------------------------
    def _on_insert(self, key: Key, now: float) -> None:
        pass

    def _on_hit(self, key: Key, now: float) -> None:
        pass

    def _on_write(self, key: Key, now: float) -> None:
        self._on_hit(key, now)

    def _on_expiry_change(self, key: Key) -> None:
        pass

    def _on_delete(self, key: Key) -> None:
        pass

    def _victim(self, now: float):
        raise NotImplementedError

    def _tracked(self) -> Iterable | None:
        """Keys the subclass's own structure holds, to compare with the keyspace (None = skip)."""
        return None

    # -- invariants -------------------------------------------------------------------------------
    def finished(self) -> Stats:
        """Assert the invariants after a run and return the statistics."""
        assert 0 <= self.used <= self.capacity, (self.used, self.capacity)
        assert self.used == sum(self.sizes.values())
        assert set(self.expires) <= set(self.sizes)
        tracked = self._tracked()
        if tracked is not None:
            tracked = list(tracked)
            assert len(tracked) == len(self.sizes) and set(tracked) == set(self.sizes)
        s = self.stats
        assert s.hits >= 0 and s.misses >= 0 and s.evictions >= 0
        assert s.rejected_writes <= s.misses + s.writes
        return s
