"""The near cache on real servers: the embedded one (valkey 9.1 here) always, $REDIS_URL when set (Debian's
Redis 7.0 in CI). Known results of redis.io's client-side caching reference, measured:

* after another client's write the reader's next read is fresh, within the measured stale window;
* in the default mode the server forgets a key once it has sent its invalidation (one per read);
* BCAST sends invalidations for keys the reader never read; NOLOOP spares the reader its own writes;
* a reader that does not flush on reconnect serves stale data until its TTL backstop;
* redis-py's built-in cache agrees with the lab's tracker (hits, invalidations) where it runs, and refuses,
  with its own message, a server that is not Redis ≥ 7.4.

Source: https://redis.io/docs/latest/develop/reference/client-side-caching/
"""
from __future__ import annotations

import dataclasses
import time

import pytest

from labs.core.backends import open_embedded, open_live
from labs.core.metrics import CommandLog
from labs.core.namespace import Namespace, learner_keys, new_session_id
from labs.invalidation.nearcache.experiments import stale_window
from labs.invalidation.nearcache.links import NONE, REDIRECT, RESP3, TrackingUnavailable, open_link
from labs.invalidation.nearcache.local import LocalCache
from labs.invalidation.nearcache.modes import MemoryParams, run_tracking_memory
from labs.invalidation.nearcache.notify import NotifyParams, run_notifications
from labs.invalidation.nearcache.reader import LOCAL, REDIS, NearCache, RedisPyReader
from labs.invalidation.nearcache.reconnect import ReconnectParams, run_reconnect

pytestmark = pytest.mark.integration


@pytest.fixture(params=["embedded", "live"], scope="module")
def real_backend(request):
    b = open_embedded(maxmemory="64mb") if request.param == "embedded" else open_live(request.getfixturevalue("live_url"))
    yield b
    b.close()


@pytest.fixture
def ns(real_backend):
    ns = Namespace(new_session_id()).for_lab("nearcache")
    yield ns
    assert learner_keys(real_backend.client, ns) == [], "the near cache left keys behind"


def reader(backend, mode=RESP3, options=("NOLOOP",), **kw):
    return NearCache(lambda: open_link(mode, backend.client, [CommandLog()], options), LocalCache(100, 60), **kw)


def settle(r, seconds=0.05):
    time.sleep(seconds)
    r.poll()


@pytest.mark.parametrize("mode", [RESP3, REDIRECT])
def test_after_another_clients_write_the_next_read_is_fresh_within_the_measured_window(real_backend, ns, mode):
    """redis.io: when a key a tracking client read is modified, the client is sent an invalidation; here the
    reader reads as fast as it can after each acknowledged write: stale only inside the window, then fresh."""
    r = reader(real_backend, mode)
    try:
        rows = stale_window(r, real_backend.client, ns.key("k"), 100)
    finally:
        r.close()
        real_backend.client.delete(ns.key("k"))
    assert all(row["fresh_after"] for row in rows)
    windows = sorted(row["window_us"] for row in rows)
    assert all(w == w and w >= 0 for w in windows)              # every write's invalidation arrived
    assert windows[len(windows) // 2] < 5_000                    # p50 well under 5 ms on loopback
    assert sum(row["stale_reads_after_ack"] for row in rows) < 100 * 200  # bounded: no copy stayed stale


def test_default_mode_sends_one_invalidation_per_read_however_often_the_key_is_written(real_backend, ns):
    """redis.io "The NOLOOP option": the server removes the key from the invalidation table when it is
    modified; the connection must read it again to be told of the next change."""
    r, key = reader(real_backend), ns.key("hot")
    try:
        real_backend.client.set(key, b"0", ex=60)
        r.read(key)
        for i in range(10):
            real_backend.client.set(key, str(i).encode(), ex=60)
        settle(r)
        assert r.invalidations_by_key[key] == 1
        assert r.read(key).tier == REDIS                              # read again: tracked again
        real_backend.client.set(key, b"x", ex=60)
        settle(r)
        assert r.invalidations_by_key[key] == 2
    finally:
        r.close()
        real_backend.client.delete(key)


def test_bcast_sends_invalidations_for_keys_the_reader_never_read(real_backend, ns):
    """redis.io "Broadcasting mode": clients receive a message for every key under a subscribed prefix."""
    r = reader(real_backend, options=("BCAST", "PREFIX", ns.key("b:")))
    plain = reader(real_backend)
    keys = [ns.key(f"b:{i}") for i in range(5)]
    try:
        for key in keys:
            real_backend.client.set(key, b"1", ex=60)
        settle(r)
        plain.poll()
        assert r.link.keys_heard == 5 and plain.link.keys_heard == 0   # default mode: never read, never told
    finally:
        r.close()
        plain.close()
        real_backend.client.delete(*keys)


def test_noloop_suppresses_the_readers_own_writes(real_backend, ns):
    """redis.io "The NOLOOP option": a NOLOOP connection is not sent invalidations for keys it modified."""
    key = ns.key("own")
    real_backend.client.set(key, b"0", ex=60)
    heard = {}
    for options in (("NOLOOP",), ()):
        r = reader(real_backend, options=options)
        try:
            r.read(key)
            r.link.data.call("SET", key, b"mine", "EX", 60)
            settle(r)
            heard[options] = r.link.keys_heard
        finally:
            r.close()
    real_backend.client.delete(key)
    assert heard == {("NOLOOP",): 0, (): 1}


def test_a_reader_that_does_not_flush_on_reconnect_serves_stale_until_its_backstop(real_backend, ns):
    result = run_reconnect(ReconnectParams(ttl_backstop_s=2.0, read_every_ms=250, reads=12), backend=real_backend,
                           ns=ns)
    m = result.metrics
    assert m["flushes on reconnect: stale reads"] == 0
    assert m["does not flush on reconnect: stale reads"] == 7 and m["does not flush on reconnect: stale for"] == 2.0


def _agreement_ops(r, writer, keys):
    """The same sequence for both readers: read all, another client writes two, read all again."""
    for key in keys:
        writer.set(key, b"v1", ex=60)
    tiers = [r.read(k).tier for k in keys] + [r.read(k).tier for k in keys]
    writer.set(keys[0], b"v2", ex=60)
    writer.set(keys[1], b"v2", ex=60)
    time.sleep(0.05)
    tiers += [r.read(k).tier for k in keys]
    return {"local hits": tiers.count(LOCAL), "invalidated keys": r.invalidated_keys}


def test_redis_py_cache_agrees_with_the_lab_tracker_or_refuses_this_server_in_its_own_words(real_backend, ns):
    """Where redis-py 8.1 allows its cache (HELLO says redis ≥ 7.4) both readers see the same hits and
    invalidations; elsewhere it refuses and the lab says so (CacheProxyConnection.MIN_ALLOWED_VERSION)."""
    keys = [ns.key(f"agree:{i}") for i in range(4)]
    version = real_backend.caps.version
    allowed = real_backend.caps.server == "redis" and tuple(int(x) for x in version.split(".")[:2]) >= (7, 4)
    lab = reader(real_backend, options=())
    try:
        theirs = RedisPyReader(real_backend.client, 100)
    except TrackingUnavailable as exc:
        assert not allowed, f"redis-py refused {real_backend.caps.server_label}: {exc}"
        assert "7.4 or later" in str(exc)
        lab.close()
        return
    try:
        assert allowed
        assert _agreement_ops(lab, real_backend.client, keys) == _agreement_ops(theirs, real_backend.client, keys)
    finally:
        lab.close()
        theirs.close()
        real_backend.client.delete(*keys)


def test_redis_py_cache_agrees_with_the_lab_tracker_with_its_version_gate_lifted(real_backend, ns, monkeypatch):
    """redis-py's cache path exercised on the servers here: its gate (server name "redis", version ≥ 7.4) is
    lifted for this test only — the lab itself never does this. Both readers agree on hits and invalidations."""
    from redis.connection import CacheProxyConnection

    monkeypatch.setattr(CacheProxyConnection, "MIN_ALLOWED_VERSION", "6.0.0")
    monkeypatch.setattr(CacheProxyConnection, "DEFAULT_SERVER_NAME", real_backend.caps.server)
    keys = [ns.key(f"gate:{i}") for i in range(4)]
    lab, theirs = reader(real_backend, options=()), RedisPyReader(real_backend.client, 100)
    try:
        expected = {"local hits": 6, "invalidated keys": 2}
        assert _agreement_ops(lab, real_backend.client, keys) == expected
        assert _agreement_ops(theirs, real_backend.client, keys) == expected
    finally:
        lab.close()
        theirs.close()
        real_backend.client.delete(*keys)


def test_tracking_memory_default_optin_and_bcast_on_private_servers():
    result = run_tracking_memory(MemoryParams(keys=1000, optin_share=0.2, never_read=30))
    modes = result.frames["modes"].set_index("mode")
    assert modes.loc["default", "tracked_keys"] == 1000 and modes.loc["OPTIN", "tracked_keys"] == 200
    assert modes.loc["BCAST PREFIX", "tracked_keys"] == 0 and modes.loc["BCAST PREFIX", "tracked_prefixes"] == 1
    assert modes.loc["BCAST PREFIX", "never_read_keys_invalidated"] == 30
    assert modes.loc["default", "never_read_keys_invalidated"] == 0
    assert 30 < modes.loc["default", "bytes_per_tracked_key"] < 1000


def test_keyspace_notifications_are_at_most_once_and_expired_events_come_when_the_key_is_deleted(real_backend, ns):
    """redis.io keyspace notifications: Pub/Sub is fire and forget; expired events are generated when the
    server deletes the key. Runs on a private server (CONFIG SET is never sent to a shared one)."""
    result = run_notifications(NotifyParams(writes=20, expiring=10, ttl_ms=50, missed=4, ttl_backstop_s=2),
                               backend=real_backend, ns=ns)
    m = result.metrics
    assert m["events_missed"] == 4 and m["stale_for_s"] == 2.0
    assert m["expired_events"] == 10 and m["expired_lag_p50_ms"] >= 0
    compare = result.frames["compare"].set_index("aspect")
    assert compare.iloc[1]["tracking"] == "0" and compare.iloc[1]["notifications"] == "20"


def test_the_latency_and_storm_labs_track_for_real_on_this_server(real_backend, ns):
    """With tracking a writer's changes never leave the near cache stale; the hot key is told of far more
    often than the read-mostly one, and BCAST hears of every write where the default mode hears once per read."""
    from labs.invalidation.nearcache.experiments import NearLatencyParams, run_latency
    from labs.invalidation.nearcache.modes import StormParams, run_storm

    params = NearLatencyParams(requests=1500, keys=200, write_fraction=0.1, local_capacity=50)
    near = run_latency(params, backend=real_backend, ns=ns)
    blind = run_latency(dataclasses.replace(params, tracking=NONE), backend=real_backend, ns=ns)
    assert near.metrics["tracking"] == RESP3 and blind.metrics["tracking"] == NONE
    # tracking: a read is stale only inside the stale window right after a write; without it, until the backstop
    assert near.metrics["stale_reads"] <= 5 < 20 < blind.metrics["stale_reads"]
    assert near.metrics["invalidations"] > 0 and near.metrics["local_hit_ratio"] > 0.3
    assert near.metrics["local_hit_us"] < near.metrics["redis_hit_us"]
    storm = run_storm(StormParams(reads=50, writes_per_read=4, cold_every=25), backend=real_backend, ns=ns)
    rows = storm.frames["storm"].set_index(["mode", "key"])
    assert rows.loc[("default", "hot (often written)"), "invalidations"] <= 50
    assert rows.loc[("BCAST PREFIX", "hot (often written)"), "invalidations"] == 201  # every write, the first SET too
    assert storm.frames["storm"].stale_reads.sum() <= 5  # only inside the stale window
