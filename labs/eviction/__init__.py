"""Eviction policies on a virtual clock: Redis-faithful simulators and exact baselines.

Pure Python reference implementation; :mod:`labs.eviction.fast` is the compiled fast path, tested
against it for identical results under a fixed seed. No I/O,
no Streamlit. ``make("allkeys-lru", 1000, samples=10, seed=1)`` builds a policy by its Redis name;
the exact baselines are ``"lru"``, ``"lfu"`` and ``"fifo"``; Belady's OPT needs the whole trace and
lives in :func:`labs.eviction.baselines.opt_hits`.
"""
from __future__ import annotations

from labs.eviction.baselines import FIFO, LFU, LRU, opt_hits, opt_stats
from labs.eviction.policies import Policy, Stats
from labs.eviction.prng import SplitMix64
from labs.eviction.redis_policies import REDIS_POLICIES

POLICIES: dict[str, type[Policy]] = {**REDIS_POLICIES, LRU.name: LRU, LFU.name: LFU,
                                     FIFO.name: FIFO}
OPT = "opt"   # pseudo-name understood by simulate.miss_ratio_curve


def make(name: str, capacity: int, *, samples: int = 5, seed: int = 0, lfu_log_factor: float = 10,
         lfu_decay_time: int = 1) -> Policy:
    """A fresh policy by Redis name (``maxmemory-policy``) or baseline name, with its own RNG
    (:class:`~labs.eviction.prng.SplitMix64`, the generator the compiled fast path reproduces)."""
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; choose from {sorted(POLICIES)}") from None
    return cls(capacity, rng=SplitMix64(seed), samples=samples, lfu_log_factor=lfu_log_factor,
               lfu_decay_time=lfu_decay_time)


__all__ = ["OPT", "POLICIES", "Policy", "Stats", "make", "opt_hits", "opt_stats"]
