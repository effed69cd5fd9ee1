"""Invalidation lab: staleness of each strategy, the delete-vs-set race and its fixes, negative caching."""
from __future__ import annotations

import fakeredis
import pytest

from labs.core.cache import MISS
from labs.invalidation.negative import NegativeCaching, NegativeParams, expected_factor
from labs.invalidation.negative import run as run_negative
from labs.invalidation.race import INTERLEAVINGS, STRATEGIES, RaceRun, race_matrix
from labs.invalidation.staleness import StalenessParams, make_events, simulate, summarize
from labs.invalidation.staleness import run as run_staleness
from labs.invalidation.store import RedisCache, VersionedTable, VirtualCache
from labs.invalidation.strategies import STRATEGIES as INVALIDATIONS
from labs.core.namespace import Namespace, audit_ttls

NS = Namespace("test1234")


@pytest.fixture
def client():
    return fakeredis.FakeRedis()


def _summary(**kw):
    p = StalenessParams(reads=8_000, update_rate_per_s=10.0, ttl_s=20.0, **kw)
    events = make_events(p)
    return {name: summarize(simulate(name, events, p.entities, p.ttl_s)) for name in INVALIDATIONS}


# ---------------------------------------------------------------- the caches behind one interface

def test_virtual_cache_expires_on_its_clock_and_tells_a_cached_null_from_a_miss():
    now = [0.0]
    cache = VirtualCache(lambda: now[0])
    cache.set("a", None, 5)
    assert cache.get("a") is None and cache.get("b") is MISS
    now[0] = 5.0
    assert cache.get("a") is MISS
    assert cache.set("c", 1, 1, nx=True) and not cache.set("c", 2, 1, nx=True)


def test_redis_cache_namespaces_every_key_and_gives_it_a_ttl(client):
    cache = RedisCache(client, NS.for_lab("invalidation"))
    cache.set("user:1", {"v": 1}, 30)
    cache.set("user:2", None, 0.2)
    assert cache.get("user:1") == {"v": 1} and cache.get("user:2") is None and cache.get("user:3") is MISS
    assert all(k.startswith(b"lab:{test1234}:invalidation:") for k in client.scan_iter())
    assert audit_ttls(client, NS).ok


# ---------------------------------------------------------------- staleness vs freshness

def test_event_based_invalidation_leaves_no_stale_read_when_every_update_goes_through_the_app():
    """Delete on write (and write-through, versioned keys) invalidate on every PATCH, so with no update
    behind the app's back a sequential run serves 0 stale reads (Azure Cache-Aside pattern:
    https://learn.microsoft.com/en-us/azure/architecture/patterns/cache-aside); TTL only does serve stale ones."""
    s = _summary(behind_back=0.0)
    assert s["delete on write"]["stale_reads"] == 0
    assert s["write-through"]["stale_reads"] == 0
    assert s["versioned keys"]["stale_reads"] == 0
    assert s["TTL only"]["stale_reads"] > 0


def test_updates_behind_the_apps_back_are_stale_even_with_delete_on_write():
    """The app cannot delete a key for a write it never saw: only the TTL ends that staleness."""
    s = _summary(behind_back=0.5)
    for name in ("delete on write", "write-through", "versioned keys"):
        assert s[name]["stale_reads"] > 0
        assert s[name]["age_max_s"] <= 20.0
    assert s["delete on write"]["stale_reads"] < s["TTL only"]["stale_reads"]


@pytest.mark.parametrize("ttl_s", [0.5, 5.0, 60.0])
def test_ttl_only_staleness_age_is_bounded_by_the_ttl(ttl_s):
    """A copy loaded at t0 was current at t0 and lives until t0 + TTL, so it cannot be stale for longer
    than the TTL (redis.io, EXPIRE: a key is gone once its time to live elapses)."""
    p = StalenessParams(reads=6_000, update_rate_per_s=20.0, ttl_s=ttl_s, zipf_alpha=1.2)
    s = summarize(simulate("TTL only", make_events(p), p.entities, ttl_s))
    assert s["stale_reads"] > 0
    assert s["age_max_s"] <= ttl_s


def test_staleness_experiment_reports_every_strategy_and_a_sweep():
    result = run_staleness(StalenessParams(reads=2_000))
    assert list(result.frames["summary"].strategy) == list(INVALIDATIONS)
    sweep = result.frames["sweep"]
    assert set(sweep.strategy) == {"TTL only", "delete on write"} and sweep.ttl_s.nunique() >= 4
    ttl_only = sweep[(sweep.strategy == "TTL only") & (sweep.update_rate_per_s == sweep.update_rate_per_s.max())]
    assert ttl_only.sort_values("ttl_s").stale_fraction.iloc[-1] > ttl_only.sort_values("ttl_s").stale_fraction.iloc[0]
    assert any("SIMULATED" in n for n in result.notes)


def test_staleness_params_reject_bad_input_with_a_message():
    with pytest.raises(ValueError, match="Cache TTL"):
        StalenessParams(ttl_s=0)
    with pytest.raises(ValueError, match="Updates behind the app's back"):
        StalenessParams(behind_back=1.5)


# ---------------------------------------------------------------- the delete-vs-set race

def test_there_are_ten_interleavings_of_three_reader_and_two_writer_steps():
    assert len(INTERLEAVINGS) == 10 and len(set(INTERLEAVINGS)) == 10
    assert all(sorted(p) == ["R", "R", "R", "W", "W"] for p in INTERLEAVINGS)


def test_the_delete_first_interleaving_leaves_a_stale_value_until_the_ttl(client):
    """Writer DELs, reader misses and reads the old row, writer UPDATEs, reader SETs the old row: the cache
    is stale until the TTL (the race Microsoft's cache-aside guidance avoids by updating first)."""
    run = RaceRun("delete first", "WRRWR", NS, ttl_s=300)
    out = run.run_all(client)
    assert out["stale"] and 295 <= out["stale_for_s"] <= 300
    assert [a for _, a in run.steps] == ["invalidate", "get", "read_db", "update", "set"]


def test_update_then_delete_closes_that_interleaving_but_not_a_read_spanning_the_write(client):
    """Azure cache-aside: update the store, then invalidate — closes WRRWR; the reader whose GET, read and
    SET span the whole write (RRWWR) still caches the old row, bounded by the short backstop TTL."""
    assert not RaceRun("update then delete", "WRRWR", NS, ttl_s=5).run_all(client)["stale"]
    spanning = RaceRun("update then delete", "RRWWR", NS, ttl_s=5).run_all(client)
    assert spanning["stale"] and spanning["stale_for_s"] <= 5


@pytest.mark.parametrize("strategy", ["lease (Lua)", "versioned (WATCH/MULTI)"])
def test_lease_and_version_reject_the_stale_set_in_every_interleaving(client, strategy):
    """Nishtala et al., 'Scaling Memcache at Facebook', NSDI 2013 §3.2.1: a delete invalidates the lease
    token, so the late SET of an old row is refused; a version check refuses it the same way."""
    for pattern in INTERLEAVINGS:
        run = RaceRun(strategy, pattern, NS)
        out = run.run_all(client)
        assert not out["stale"], (strategy, pattern, run.log)
        run.cleanup(client)
    assert RaceRun(strategy, "RRWWR", NS).run_all(client)["set_rejected"]


def test_race_matrix_covers_every_strategy_and_cleans_up(client):
    rows = race_matrix(client, NS)
    assert len(rows) == len(STRATEGIES) * len(INTERLEAVINGS)
    stale = {s: sum(r["stale"] for r in rows if r["strategy"] == s) for s in STRATEGIES}
    assert stale["delete first"] > stale["update then delete"] >= 1
    assert stale["lease (Lua)"] == 0 and stale["versioned (WATCH/MULTI)"] == 0
    assert list(client.scan_iter()) == []


def test_a_step_through_keeps_its_position_and_refuses_a_sixth_step(client):
    run = RaceRun("delete first", "RRWWR", NS)
    first = run.step(client)
    assert first["step"] == 1 and first["client"] == "reader" and first["cache"] == "(empty)"
    while not run.finished:
        run.step(client)
    assert run.log[-1]["cache"] == "Oslo (v1)" and run.log[-1]["database"] == "Bergen (v2)"
    with pytest.raises(ValueError, match="start it again"):
        run.step(client)
    assert all(k.startswith(b"lab:{test1234}:race:") for k in client.scan_iter())
    assert audit_ttls(client, NS).ok


def test_race_run_rejects_an_impossible_interleaving():
    with pytest.raises(ValueError, match="3 reader"):
        RaceRun("delete first", "RRRRW", NS)


# ---------------------------------------------------------------- negative caching

def test_negative_cache_stores_a_null_sentinel_with_the_shorter_ttl():
    now = [0.0]
    clock = lambda: now[0]
    db = VersionedTable(clock)
    cache = VirtualCache(clock)
    lookups = NegativeCaching(cache, db, ttl_s=300, negative_ttl_s=10)
    assert lookups.read(7) == (None, False) and lookups.read(7) == (None, True)
    assert db.reads == 1 and cache.ttl_left("user:7") == 10
    db.insert(7, "new")
    now[0] = 9.0
    assert lookups.read(7) == (None, True)            # stale "not found", for at most the negative TTL
    now[0] = 10.0
    assert lookups.read(7)[0]["value"] == "new"


def test_negative_caching_cuts_db_queries_for_missing_ids_by_the_expected_factor():
    """Each missing id looked up as a Poisson stream of rate λ is queried once per τ + 1/λ on average
    (renewal-reward), so queries drop by 1 + λτ — RFC 2308's negative caching of NXDOMAIN, applied to a DB."""
    p = NegativeParams(lookups=60_000, rate_per_s=200, missing_share=0.5, missing_ids=50, negative_ttl_s=2.0,
                       created_per_s=0.0)
    result = run_negative(p)
    expected = expected_factor(p, 0.0)
    assert expected == pytest.approx(1 + (200 * 0.5 / 50) * 2.0)
    assert result.metrics["drop factor, measured"] == pytest.approx(expected, rel=0.05)
    assert result.metrics["wrong 'not found' reads added"] == 0


def test_negative_caching_reports_the_staleness_it_adds_bounded_by_the_negative_ttl():
    p = NegativeParams(lookups=20_000, created_per_s=2.0, negative_ttl_s=10.0)
    m = run_negative(p).metrics
    assert m["wrong 'not found' reads added"] > 0
    assert 0 < m["longest wrong 'not found' s"] <= 10.0
