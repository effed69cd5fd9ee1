"""The compiled fast path (labs.eviction.fast) must give exactly what the pure-Python reference gives.

Same policy, same trace, same seed: identical hits, misses, evictions, rejected writes and expiries —
for every policy, on several workloads, with and without TTLs and per-key sizes, and per request.
"""
from __future__ import annotations

import numpy as np
import pytest

from labs.eviction import OPT, POLICIES, fast, make, opt_stats
from labs.eviction.experiments import WORKLOADS, workload_keys
from labs.eviction.prng import SplitMix64
from labs.eviction.simulate import miss_ratio_curve, run_trace


def _trace(workload: str, seed: int = 2, requests: int = 4_000, keys: int = 700):
    ids = workload_keys(workload, requests, keys, 1.0, seed)
    times = (np.arange(len(ids)) * 0.37).tolist()             # ~3 requests per LRU-clock second
    rng = np.random.default_rng(seed)
    ttls = [float(rng.integers(5, 900)) if k % 3 else None for k in ids]
    sizes = [1 + k % 4 for k in ids]
    return ids, times, ttls, sizes


def test_splitmix64_matches_the_published_sequence():
    """SplitMix64 from seed 0 starts 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4 (Vigna, splitmix64.c)."""
    rng = SplitMix64(0)
    assert [rng.next64(), rng.next64()] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]


def test_sample_is_distinct_and_in_range():
    rng = SplitMix64(3)
    for _ in range(200):
        got = rng.sample(list(range(20)), 5)
        assert len(set(got)) == 5 and all(0 <= g < 20 for g in got)
    assert rng.sample([1, 2, 3], 5) == [1, 2, 3]


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("variant", ["plain", "ttl", "ttl+sizes"])
def test_every_policy_identical_to_the_reference(workload, variant):
    ids, times, ttls, sizes = _trace(workload)
    ttls = None if variant == "plain" else ttls
    sizes = sizes if variant == "ttl+sizes" else None
    for name in POLICIES:
        for capacity in (1, 9, 80, 400):
            for samples in (1, 5, 16):
                if samples != 5 and name in ("lru", "lfu", "fifo", "noeviction"):
                    continue
                ref = run_trace(make(name, capacity, samples=samples, seed=11), ids, times, ttls, sizes)
                got = fast.run(name, capacity, ids, times, ttls, sizes, samples=samples, seed=11)
                assert got.as_dict() == ref.as_dict(), (name, capacity, samples)


def test_lfu_options_and_decay_identical():
    ids, _, _, _ = _trace("shifting hot set")
    times = (np.arange(len(ids)) * 4.0).tolist()              # hours of virtual time: counters decay
    for factor, decay in ((1, 1), (10, 0), (100, 5)):
        for name in ("allkeys-lfu", "volatile-lfu"):
            ttls = [600.0] * len(ids)
            ref = run_trace(make(name, 50, seed=4, lfu_log_factor=factor, lfu_decay_time=decay), ids, times, ttls)
            got = fast.run(name, 50, ids, times, ttls, seed=4, lfu_log_factor=factor, lfu_decay_time=decay)
            assert got.as_dict() == ref.as_dict(), (name, factor, decay)


def test_per_request_hits_identical():
    ids, times, ttls, _ = _trace("zipf + scans")
    for name in ("allkeys-lru", "allkeys-lfu", "volatile-ttl", "lfu"):
        policy = make(name, 120, seed=5)
        expected = [policy.access(k, 1, t, ttl) for k, t, ttl in zip(ids, times, ttls)]
        _, hits = fast.run(name, 120, ids, times, ttls, seed=5, record_hits=True)
        assert hits.astype(bool).tolist() == expected, name


def test_opt_identical_and_curve_identical():
    ids, times, _, _ = _trace("zipf", requests=6_000, keys=1_500)
    for capacity in (1, 10, 100, 1_000):
        o = opt_stats(ids, capacity)
        got = fast.run(OPT, capacity, ids)
        assert (got.hits, got.misses, got.evictions) == (o.hits, o.misses, o.evictions)
    names = ["allkeys-lru", "allkeys-random", "lfu", "fifo", OPT]
    ref = miss_ratio_curve(names, ids, [20, 200, 900], times=times, seed=3)
    got = fast.miss_ratio_curve(names, ids, [20, 200, 900], times=times, seed=3)
    assert got.equals(ref)


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="unknown policy"):
        fast.run("allkeys-lrm", 10, [1, 2, 3])
    with pytest.raises(ValueError, match="capacity"):
        fast.run("allkeys-lru", 0, [1, 2, 3])
    with pytest.raises(ValueError, match="capacity"):
        fast.miss_ratio_curve(["lru"], [1, 2, 3], [0, 4])
