"""The eviction experiments the page and the CLI run (simulated, reference implementation)."""
import pytest

from labs.eviction.experiments import (WORKLOADS, CompareParams, CounterParams, CurveParams, GridParams,
                                       run_compare, run_counter, run_curve, run_grid, workload_keys)


@pytest.mark.parametrize("kind", WORKLOADS)
def test_workloads_are_seeded_and_shaped(kind):
    a, b = workload_keys(kind, 4000, 500, 1.0, 3), workload_keys(kind, 4000, 500, 1.0, 3)
    assert a == b and len(a) == 4000
    if kind == "zipf + scans":
        assert max(a) >= 500  # the scans read keys outside the popular set, once each
    if kind == "shifting hot set":
        first, second = set(a[:200]), set(a[-200:])
        assert len(first & second) < len(first) / 2  # the popular keys changed


def test_bad_policy_names_are_explained():
    with pytest.raises(ValueError, match="Unknown policy allkeys-mru"):
        CompareParams(policies="allkeys-lru,allkeys-mru")


def test_opt_is_the_floor_and_volatile_without_ttls_rejects_writes():
    """OPT (Belady) beats every policy; volatile-lru with no TTL keys behaves like noeviction (redis.io)."""
    summary = run_compare(CompareParams(requests=8000, keys=2000, capacity=200)).frames["summary"].set_index("policy")
    assert (summary.hit_ratio <= summary.loc["opt", "hit_ratio"] + 1e-12).all()
    none = run_compare(CompareParams(policies="volatile-lru,noeviction,allkeys-lru", ttl_fraction=0.0,
                                     requests=5000, keys=2000, capacity=100)).frames["summary"].set_index("policy")
    assert none.loc["volatile-lru", "evictions"] == 0 and none.loc["volatile-lru", "rejected_writes"] > 0
    assert none.loc["noeviction", "rejected_writes"] == none.loc["volatile-lru", "rejected_writes"]
    assert none.loc["allkeys-lru", "rejected_writes"] == 0 and none.loc["allkeys-lru", "evictions"] > 0


def test_scans_pollute_lru_more_than_lfu():
    """A one-off scan pushes popular keys out of an LRU cache; LFU keeps them (frequency wins)."""
    m = run_compare(CompareParams(workload="zipf + scans", policies="lru,lfu", requests=20000, keys=5000,
                                  capacity=500)).metrics
    assert m["lfu: hit_ratio"] > m["lru: hit_ratio"]


def test_miss_ratio_curve_falls_with_size_and_opt_is_lowest():
    mrc = run_curve(CurveParams(policies="lru,opt", requests=8000, keys=2000, sizes=5)).frames["mrc"]
    for _, g in mrc.groupby("policy"):
        assert g.sort_values("capacity").miss_ratio.is_monotonic_decreasing
    pivot = mrc.pivot(index="capacity", columns="policy", values="miss_ratio")
    assert (pivot.opt <= pivot.lru).all()


def test_grid_error_falls_with_samples_and_counter_matches_redis_table():
    errors = list(run_grid(GridParams(capacity=500, seed=2)).metrics.values())
    assert errors[0] > errors[2] > errors[3]
    m = run_counter(CounterParams(log_factor=10)).metrics
    assert 7 <= m["counter after 100 hits"] <= 13 and 120 <= m["counter after 100,000 hits"] <= 170
