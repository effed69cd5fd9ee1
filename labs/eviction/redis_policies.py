"""Redis-faithful ``maxmemory-policy`` simulators, after ``redis/redis`` ``src/evict.c``.

The ten policies of Redis 8.6's ``src/server.h`` (``MAXMEMORY_VOLATILE_LRU`` … ``MAXMEMORY_NO_EVICTION``,
plus the two LRM policies 8.6 added; Redis 4.0 – 8.4 have the other eight, and so do valkey 9.1.2 and Redis
7.0.15, which both refuse ``CONFIG SET maxmemory-policy allkeys-lrm`` here):

* ``noeviction`` — ``performEvictions`` returns ``EVICT_FAIL``; the write is rejected (OOM error).
* ``allkeys-lru`` / ``volatile-lru`` / ``allkeys-lfu`` / ``volatile-lfu`` / ``volatile-ttl`` —
  the *eviction pool*: every eviction calls ``evictionPoolPopulate``, which samples
  ``maxmemory-samples`` keys (``dictGetSomeKeys``) from the keyspace (allkeys-*) or from the keys
  with a TTL (volatile-*), scores each one and merges it into a pool of ``EVPOOL_SIZE`` = 16 best
  candidates sorted by ascending score; then the pool is walked from the best (right) end, each
  entry removed, until one still exists (entries whose key was deleted meanwhile are "ghosts").
  The pool persists across evictions, so good candidates found earlier are kept. Scores:
  LRU — idle time from ``estimateObjectIdleTime``: the object's 24-bit LRU clock is stamped at
  access with ``LRU_CLOCK_RESOLUTION`` = 1000 ms, so idle times are whole seconds; LFU —
  ``255 − LFUDecrAndReturn(o)`` (:mod:`labs.eviction.lfu`); TTL — the sooner the expiry the better
  (``ULLONG_MAX − expire``).
* ``allkeys-lrm`` / ``volatile-lrm`` (Redis 8.6+, redis/redis#14624) — LRU's pool, clock and idle-time
  score, but the key's clock is stamped only when the key is *modified* (``keyModified`` →
  ``updateLRM``: creation, overwrite, any write command), never by a read. A key read constantly but
  never rewritten ages from its last write and is evicted like an idle one (redis.io "Key eviction",
  "LRM eviction"). On a read-only cache-aside trace the only writes are the fills, so LRM ranks keys
  by fill time: a sampled FIFO.
* ``allkeys-random`` / ``volatile-random`` — ``dictGetRandomKey`` from the keyspace / the expires.

A volatile-* policy with no key carrying a TTL has nothing to evict, so the write fails like under
noeviction (redis.io "Key eviction": "if there are no keys to evict … behave like noeviction").

Simplified on purpose: one database (no cross-DB pool, no ``next_db``); ``dictGetSomeKeys`` (a
walk over consecutive hash buckets from a random start, possibly returning fewer keys) is modelled
as a uniform sample without replacement; memory is the sum of the given sizes (no allocator
overhead) and eviction runs *before* the write until the new key fits, instead of after the command
that went over ``maxmemory``; the 24-bit LRU clock never wraps; no active expire cycle, no
``maxmemory-eviction-tenacity`` time limit, no lazy free.
"""
from __future__ import annotations

import random

from labs.eviction import lfu
from labs.eviction.policies import KeyList, Policy

EVPOOL_SIZE = 16                 # src/evict.c
LRU_CLOCK_RESOLUTION = 1000      # ms, src/server.h
MAXMEMORY_SAMPLES_DEFAULT = 5    # redis.conf maxmemory-samples


def lru_clock(now: float) -> int:
    """``getLRUClock``: ``mstime() / LRU_CLOCK_RESOLUTION`` — whole seconds of ``now``."""
    return int(now * 1000) // LRU_CLOCK_RESOLUTION


class NoEviction(Policy):
    """``noeviction``: once full, every write that needs memory is rejected."""

    name = "noeviction"

    def __init__(self, capacity: int, *, rng: random.Random | None = None, **_: object) -> None:
        super().__init__(capacity, rng=rng)

    def _victim(self, now: float):
        return None


class _RedisKeyspace(Policy):
    """Shared bookkeeping: the sampleable keyspace (``db->dict``) and TTL set (``db->expires``)."""

    volatile = False

    def __init__(self, capacity: int, *, rng: random.Random | None = None,
                 samples: int = MAXMEMORY_SAMPLES_DEFAULT, **_: object) -> None:
        super().__init__(capacity, rng=rng)
        if samples < 1:
            raise ValueError(f"samples must be at least 1, got {samples}.")
        self.samples = samples
        self.all_keys = KeyList()
        self.ttl_keys = KeyList()

    def _candidates(self) -> KeyList:
        return self.ttl_keys if self.volatile else self.all_keys

    def _on_insert(self, key, now: float) -> None:
        self.all_keys.add(key)
        if key in self.expires:
            self.ttl_keys.add(key)

    def _on_expiry_change(self, key) -> None:
        """An overwrite gave the key a TTL or took it away: it joins or leaves ``db->expires``."""
        if key in self.expires:
            self.ttl_keys.add(key)
        else:
            self.ttl_keys.discard(key)

    def _on_delete(self, key) -> None:
        self.all_keys.discard(key)
        self.ttl_keys.discard(key)

    def _tracked(self):
        assert set(self.ttl_keys) == set(self.expires)
        return iter(self.all_keys)


class _RandomPolicy(_RedisKeyspace):
    def _victim(self, now: float):
        keys = self._candidates()
        return keys.choice(self.rng) if len(keys) else None


class AllKeysRandom(_RandomPolicy):
    name = "allkeys-random"


class VolatileRandom(_RandomPolicy):
    name = "volatile-random"
    volatile = True


class _PoolPolicy(_RedisKeyspace):
    """The eviction pool of ``evictionPoolPopulate`` / ``performEvictions``."""

    def __init__(self, capacity: int, **kw) -> None:
        super().__init__(capacity, **kw)
        self.pool: list[tuple[float, object]] = []   # ascending score; best candidate on the right

    def score(self, key, now: float) -> float:
        raise NotImplementedError

    def _populate(self, keys: KeyList, now: float) -> None:
        pool = self.pool
        for key in keys.sample(self.rng, self.samples):
            idle = self.score(key, now)
            # first empty bucket or first populated bucket whose score is not smaller than ours
            k = 0
            n = len(pool)
            while k < n and pool[k][0] < idle:
                k += 1
            if k == 0 and n == EVPOOL_SIZE:
                continue                 # worse than the worst we hold and no free bucket
            if n < EVPOOL_SIZE:
                pool.insert(k, (idle, key))
            else:                        # full: drop the worst (left) and insert at k-1
                del pool[0]
                pool.insert(k - 1, (idle, key))

    def _victim(self, now: float):
        keys = self._candidates()
        pool = self.pool
        while True:
            if not len(keys):
                return None              # "No keys to evict."
            self._populate(keys, now)
            while pool:                  # go backward from best to worst
                _, key = pool.pop()
                if key in keys:          # still exists (in the dict we sample from)
                    return key
                # ghost: deleted since it entered the pool — try the next one


class _LRUPolicy(_PoolPolicy):
    def __init__(self, capacity: int, **kw) -> None:
        super().__init__(capacity, **kw)
        self.lru: dict = {}              # key -> LRU clock at last access (robj->lru)

    def _on_insert(self, key, now: float) -> None:
        super()._on_insert(key, now)
        self.lru[key] = lru_clock(now)

    def _on_hit(self, key, now: float) -> None:
        self.lru[key] = lru_clock(now)

    def _on_delete(self, key) -> None:
        super()._on_delete(key)
        del self.lru[key]

    def score(self, key, now: float) -> float:
        """``estimateObjectIdleTime`` in ms (whole seconds × LRU_CLOCK_RESOLUTION)."""
        return (lru_clock(now) - self.lru[key]) * LRU_CLOCK_RESOLUTION


class AllKeysLRU(_LRUPolicy):
    name = "allkeys-lru"


class VolatileLRU(_LRUPolicy):
    name = "volatile-lru"
    volatile = True


class _LRMPolicy(_LRUPolicy):
    """LRU's machinery, stamped by writes only (``updateLRM`` in Redis 8.6)."""

    def _on_hit(self, key, now: float) -> None:
        pass                             # a read leaves the modification time alone

    def _on_write(self, key, now: float) -> None:
        self.lru[key] = lru_clock(now)


class AllKeysLRM(_LRMPolicy):
    name = "allkeys-lrm"


class VolatileLRM(_LRMPolicy):
    name = "volatile-lrm"
    volatile = True


class _LFUPolicy(_PoolPolicy):
    def __init__(self, capacity: int, *, lfu_log_factor: float = lfu.LFU_LOG_FACTOR_DEFAULT,
                 lfu_decay_time: int = lfu.LFU_DECAY_TIME_DEFAULT, **kw) -> None:
        super().__init__(capacity, **kw)
        self.lfu_log_factor = lfu_log_factor
        self.lfu_decay_time = lfu_decay_time
        self.ldt: dict = {}              # key -> last decrement time (16-bit minutes)
        self.counter: dict = {}          # key -> 8-bit logarithmic counter

    def _on_insert(self, key, now: float) -> None:
        super()._on_insert(key, now)
        self.ldt[key] = lfu.minutes(now)
        self.counter[key] = lfu.LFU_INIT_VAL

    def _on_hit(self, key, now: float) -> None:
        """``updateLFU``: decay, one logarithmic increment, stamp the minute."""
        c = lfu.decr_and_return(self.ldt[key], self.counter[key], now, self.lfu_decay_time)
        self.counter[key] = lfu.log_incr(c, self.lfu_log_factor, self.rng)
        self.ldt[key] = lfu.minutes(now)

    def _on_delete(self, key) -> None:
        super()._on_delete(key)
        del self.ldt[key]
        del self.counter[key]

    def frequency(self, key, now: float) -> int:
        """``LFUDecrAndReturn``: the decayed counter (without storing it, as in Redis)."""
        return lfu.decr_and_return(self.ldt[key], self.counter[key], now, self.lfu_decay_time)

    def score(self, key, now: float) -> float:
        return lfu.LFU_COUNTER_MAX - self.frequency(key, now)


class AllKeysLFU(_LFUPolicy):
    name = "allkeys-lfu"


class VolatileLFU(_LFUPolicy):
    name = "volatile-lfu"
    volatile = True


class VolatileTTL(_PoolPolicy):
    """``volatile-ttl``: sampled keys with a TTL, the nearest expiry is the best candidate."""

    name = "volatile-ttl"
    volatile = True

    def score(self, key, now: float) -> float:
        return -self.expires[key]        # ULLONG_MAX - expire: sooner expiry = higher score


REDIS_POLICIES: dict[str, type[Policy]] = {cls.name: cls for cls in (
    NoEviction, AllKeysLRU, VolatileLRU, AllKeysLFU, VolatileLFU, AllKeysRandom, VolatileRandom,
    VolatileTTL, AllKeysLRM, VolatileLRM)}
LRM_POLICIES = ("allkeys-lrm", "volatile-lrm")
LRM_SERVERS = ("Redis Open Source 8.6 and later; the servers this lab starts (valkey 9.1.2, Redis 7.0.15) "
               "refuse them")
