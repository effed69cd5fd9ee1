"""Exact reference policies to measure Redis's approximations against.

* :class:`LRU` — true least-recently-used (an ``OrderedDict`` in recency order).
* :class:`LFU` — true in-cache least-frequently-used, ties broken by least recent use (a dict of
  frequency → ``OrderedDict``, the O(1) scheme of Shah, Mitra & Matani, "An O(1) algorithm for
  implementing the LFU cache eviction scheme", 2010). Counts are forgotten on eviction.
* :class:`FIFO` — evict in insertion order; hits change nothing.
* :func:`opt_hits` — Belady's MIN (Belady, "A study of replacement algorithms for a virtual-storage
  computer", IBM Systems Journal 5(2), 1966): with the whole trace known, evict the cached key whose
  next use lies farthest in the future. Optimal among demand-fill policies for unit-size keys.
"""
from __future__ import annotations

import heapq
import random
from collections import OrderedDict
from typing import Sequence

from labs.eviction.policies import Policy, Stats


class LRU(Policy):
    name = "lru"

    def __init__(self, capacity: int, *, rng: random.Random | None = None, **_: object) -> None:
        super().__init__(capacity, rng=rng)
        self.order: OrderedDict = OrderedDict()

    def _on_insert(self, key, now: float) -> None:
        self.order[key] = None

    def _on_hit(self, key, now: float) -> None:
        self.order.move_to_end(key)

    def _on_delete(self, key) -> None:
        del self.order[key]

    def _victim(self, now: float):
        return next(iter(self.order)) if self.order else None

    def _tracked(self):
        return iter(self.order)


class FIFO(LRU):
    name = "fifo"

    def _on_hit(self, key, now: float) -> None:
        pass


class LFU(Policy):
    name = "lfu"

    def __init__(self, capacity: int, *, rng: random.Random | None = None, **_: object) -> None:
        super().__init__(capacity, rng=rng)
        self.freq: dict = {}                       # key -> access count since insertion
        self.buckets: dict[int, OrderedDict] = {}  # count -> keys in least-recent-first order
        self.min_freq = 0

    def _on_insert(self, key, now: float) -> None:
        self.freq[key] = 1
        self.buckets.setdefault(1, OrderedDict())[key] = None
        self.min_freq = 1

    def _on_hit(self, key, now: float) -> None:
        f = self.freq[key]
        bucket = self.buckets[f]
        del bucket[key]
        if not bucket:
            del self.buckets[f]
            if self.min_freq == f:
                self.min_freq = f + 1
        self.freq[key] = f + 1
        self.buckets.setdefault(f + 1, OrderedDict())[key] = None

    def _on_delete(self, key) -> None:
        f = self.freq.pop(key)
        bucket = self.buckets[f]
        del bucket[key]
        if not bucket:
            del self.buckets[f]
            if self.min_freq == f:
                self.min_freq = min(self.buckets) if self.buckets else 0

    def _victim(self, now: float):
        if not self.freq:
            return None
        return next(iter(self.buckets[self.min_freq]))

    def _tracked(self):
        assert sum(len(b) for b in self.buckets.values()) == len(self.freq)
        assert not self.buckets or self.min_freq == min(self.buckets)
        return iter(self.freq)


def next_uses(keys: Sequence) -> list[int]:
    """For each position i, the index of the next request for ``keys[i]`` (len(keys) if none)."""
    n = len(keys)
    nxt = [n] * n
    last: dict = {}
    for i in range(n - 1, -1, -1):
        k = keys[i]
        nxt[i] = last.get(k, n)
        last[k] = i
    return nxt


def opt_stats(keys: Sequence, capacity: int) -> Stats:
    """Belady's MIN on unit-size keys: hits, misses and evictions of the optimal demand-fill cache."""
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1, got {capacity}.")
    nxt = next_uses(keys)
    cached: dict = {}              # key -> index of its next use
    heap: list[tuple[int, int]] = []   # (-next_use, position) — lazily invalidated
    stats = Stats()
    for i, k in enumerate(keys):
        if k in cached:
            stats.hits += 1
        else:
            stats.misses += 1
            if len(cached) >= capacity:
                while True:
                    neg, pos = heapq.heappop(heap)
                    victim = keys[pos]
                    if cached.get(victim) == -neg:   # still current for that key
                        del cached[victim]
                        stats.evictions += 1
                        break
        cached[k] = nxt[i]
        heapq.heappush(heap, (-nxt[i], i))
    assert len(cached) <= capacity
    return stats


def opt_hits(keys: Sequence, capacity: int) -> int:
    """Number of hits of Belady's optimal policy on ``keys`` with room for ``capacity`` keys."""
    return opt_stats(keys, capacity).hits
