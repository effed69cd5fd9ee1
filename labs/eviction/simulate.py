"""Running traces through policies: miss-ratio curves and the ``test-lru.rb`` accuracy grid.

Pure Python and deliberately simple — fine for the few-ten-thousand-request traces of the tests.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from labs.eviction import OPT, make
from labs.eviction.baselines import LRU, opt_stats
from labs.eviction.policies import Policy, Stats
from labs.core.workload import popularity


def run_trace(policy: Policy, keys: Sequence, times: Sequence[float] | None = None,
              ttls: Sequence[float | None] | None = None, sizes: Sequence[int] | None = None,
              writes: Sequence[bool] | None = None) -> Stats:
    """Feed every request to ``policy`` (time 0 when ``times`` is None), check invariants, return stats.
    A request is a read with fill on a miss, or a write where ``writes[i]`` is true."""
    access, write = policy.access, policy.write
    n = len(keys)
    times = times if times is not None else [0.0] * n
    for i in range(n):
        op = write if writes is not None and writes[i] else access
        op(keys[i], 1 if sizes is None else sizes[i], times[i], None if ttls is None else ttls[i])
    return policy.finished()


def zipf_trace(requests: int, key_count: int, alpha: float = 1.0, seed: int = 0,
               interval: float = 0.01) -> tuple[list[int], list[float]]:
    """Keys drawn Zipf(α) over ``key_count`` keys (via :func:`labs.core.workload.popularity`) and evenly
    spaced virtual times, ``interval`` seconds apart."""
    rng = np.random.default_rng(seed)
    keys = rng.choice(key_count, size=requests, p=popularity(key_count, alpha))
    return keys.tolist(), (np.arange(requests) * interval).tolist()


def miss_ratio_curve(policy_names: Iterable[str], keys: Sequence, capacities: Iterable[int], *,
                     times: Sequence[float] | None = None, ttls: Sequence | None = None,
                     samples: int = 5, seed: int = 0, **options) -> pd.DataFrame:
    """One row per (policy, capacity): ``policy, capacity, miss_ratio`` plus the raw counters.

    ``"opt"`` is Belady's MIN (unit sizes; ignores times and TTLs)."""
    rows = []
    keys = list(keys)
    for name in policy_names:
        for capacity in capacities:
            if name == OPT:
                stats = opt_stats(keys, capacity)
            else:
                policy = make(name, capacity, samples=samples, seed=seed, **options)
                stats = run_trace(policy, keys, times, ttls)
            rows.append({"policy": name, "capacity": capacity, "miss_ratio": stats.miss_ratio,
                         "hits": stats.hits, "misses": stats.misses, "evictions": stats.evictions,
                         "rejected_writes": stats.rejected_writes})
    return pd.DataFrame(rows, columns=["policy", "capacity", "miss_ratio", "hits", "misses",
                                       "evictions", "rejected_writes"])


def _test_lru_run(policy: Policy, access_interval: float) -> dict:
    """One run of the ``utils/lru/test-lru.rb`` procedure on ``policy`` (single DB, no TTL mode).

    1. SET ids 1, 2, … until a SET makes a key disappear (the first eviction);
    2. GET every id 1 … first_set_max_id in order, ``access_interval`` seconds apart (test-lru.rb
       sleeps 1 ms between GETs so the LRU clock moves; here the virtual clock is paced instead);
       a GET miss does not fill;
    3. one second later, SET new ids until ``evicted_keys`` ≥ inserted / 2.
    Returns the ids present at the end and the run's bookkeeping.
    """
    now = 0.0
    key = 0
    while True:
        key += 1
        policy.insert(key, 1, now)
        if policy.stats.evictions:
            break
    first_set_max_id = key
    inserted = len(policy)
    for k in range(1, first_set_max_id + 1):
        now += access_interval
        policy.lookup(k, now)
    now = float(int(now) + 1)
    half = inserted // 2
    added = 0
    while policy.stats.evictions < half:
        key += 1
        added += 1
        policy.insert(key, 1, now)
    policy.finished()
    return {"first_set_max_id": first_set_max_id, "inserted": inserted, "added": added,
            "kept": {k for k in range(1, first_set_max_id + 1) if k in policy}}


def test_lru_error(kept: set, first_set_max_id: int) -> float:
    """The weighted error of ``test-lru.rb`` (percent): over ids 1 … first_set_max_id/2, an id below
    the middle that survived, or the middle one evicted, costs in proportion to its distance from
    the middle (errors closer to the oldest keys violate LRU more)."""
    errors = maxerr = 0.0
    per_key = 100000.0 / first_set_max_id
    half_set = first_set_max_id // 2
    for k in range(1, half_set + 1):
        if k < first_set_max_id / 2:
            e = per_key * ((half_set - k) / half_set)
            maxerr += e
            errors += e if k in kept else 0.0
        else:
            e = per_key * ((k - half_set) / half_set)
            maxerr += e
            errors += e if k not in kept else 0.0
    return errors * 100 / maxerr if maxerr else 0.0


def test_lru_grid(samples_list: Sequence[int] = (1, 3, 5, 10), capacity: int = 1000, *,
                  seeds: Sequence[int] = (0,), access_interval: float = 0.1,
                  policy: str = "allkeys-lru") -> pd.DataFrame:
    """Reproduce ``redis/redis`` ``utils/lru/test-lru.rb`` (the redis.io "Approximated LRU" figure)
    for each ``maxmemory-samples`` value, against true LRU run through the identical requests.

    Columns: ``samples, seed, evicted, kept, fate_error`` (fraction of the original keys whose
    kept/evicted fate differs from true LRU), ``testlru_error`` (test-lru.rb's weighted %), and
    ``kept_ids`` (the surviving original ids, for drawing the grid). With the default
    ``access_interval`` of 0.1 s, ten consecutive GETs share one LRU-clock second.
    """
    reference = _test_lru_run(LRU(capacity), access_interval)
    ref_kept = reference["kept"]
    n = reference["first_set_max_id"]
    rows = []
    for samples in samples_list:
        for seed in seeds:
            run = _test_lru_run(make(policy, capacity, samples=samples, seed=seed), access_interval)
            assert run["first_set_max_id"] == n
            kept = run["kept"]
            differ = sum(1 for k in range(1, n + 1) if (k in kept) != (k in ref_kept))
            rows.append({"samples": samples, "seed": seed, "evicted": n - len(kept),
                         "kept": len(kept), "fate_error": differ / n,
                         "testlru_error": test_lru_error(kept, n), "kept_ids": sorted(kept)})
    return pd.DataFrame(rows)


test_lru_grid.__test__ = False       # not a pytest test, despite the name (kept from test-lru.rb)
test_lru_error.__test__ = False
