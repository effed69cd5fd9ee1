"""LRU against LRM on a workload of read-only and rewritten keys (simulated; Redis 8.6+ policies)."""
import math

import pytest

from labs import load_all
from labs.core.measures import describe
from labs.eviction.lrm import LRMParams, lrm_trace, run_lrm


def test_lrm_trades_read_only_hits_for_fresher_data():
    """LRM stamps only on writes (redis/redis#14624; redis.io "Key eviction", LRM eviction), so keys that are
    only read lose hits and what stays cached was written more recently than under LRU."""
    s = run_lrm(LRMParams(requests=100_000, keys=5_000, capacity=1_000,
                          policies="allkeys-lru,allkeys-lrm")).frames["summary"].set_index("policy")
    lru, lrm = s.loc["allkeys-lru"], s.loc["allkeys-lrm"]
    assert lru.read_only_hit_ratio - lrm.read_only_hit_ratio > 0.02
    assert lru.read_only_hit_ratio - lrm.read_only_hit_ratio > lru.rewritten_hit_ratio - lrm.rewritten_hit_ratio
    assert lrm.write_age_p90_s < 0.8 * lru.write_age_p90_s


def test_without_writes_lrm_behaves_like_fifo():
    """With the fills as the only writes, LRM ranks keys by fill time (the lesson's first "Try")."""
    s = run_lrm(LRMParams(requests=100_000, keys=5_000, capacity=1_000, write_share=0.0,
                          policies="allkeys-lru,allkeys-lrm,fifo")).frames["summary"].set_index("policy")
    assert abs(s.hit_ratio["allkeys-lrm"] - s.hit_ratio["fifo"]) < 0.005
    assert s.hit_ratio["allkeys-lru"] - s.hit_ratio["allkeys-lrm"] > 0.02


def test_trace_is_seeded_and_writes_only_rewritten_keys():
    a, b = lrm_trace(5_000, 300, 0.5, 0.3, 1.0, 4), lrm_trace(5_000, 300, 0.5, 0.3, 1.0, 4)
    assert all((x == y).all() for x, y in zip(a, b))
    ids, is_write, read_only = a
    assert not read_only[ids[is_write]].any() and 0.25 < is_write.mean() < 0.35


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="writes no TTLs"):
        LRMParams(policies="allkeys-lru,volatile-lrm")
    with pytest.raises(ValueError, match="Unknown policy"):
        LRMParams(policies="allkeys-mru")


def test_every_metric_and_column_is_declared():
    result = run_lrm(LRMParams(requests=5_000, keys=500, capacity=100))
    measures = load_all()["eviction-lrm"].measures
    names = list(result.metrics) + [c for f in result.frames.values() for c in f.columns]
    assert all(describe(measures, n) is not None for n in names), names
    assert not any(math.isnan(v) for v in result.metrics.values())
    assert any("SIMULATED" in n for n in result.notes) and any("8.6" in n for n in result.notes)


def test_the_real_server_replay_refuses_lrm_with_a_reason():
    from labs.eviction.experiments import parse_configs

    with pytest.raises(ValueError, match="Redis 8.6"):
        parse_configs("allkeys-lrm:5")
