"""Near cache, without a server: the local LRU + TTL backstop, the reader's rules (redirect race, reconnect
flush), the sandbox's precise refusal, and every experiment's numbers declared with words and units.

Real-server behaviour (tracking, BCAST, NOLOOP, the stale window, redis-py's cache) is asserted in
tests/integration/test_nearcache_real.py.
"""
from __future__ import annotations

import fakeredis
import pytest
import redis

from labs import load_all
from labs.core.backends import open_sandbox
from labs.core.namespace import Namespace, learner_keys
from labs.invalidation.nearcache.common import REDIS_PY
from labs.invalidation.nearcache.experiments import NearLatencyParams, StaleWindowParams, run_latency, run_stale_window
from labs.invalidation.nearcache.links import NONE, RESP3, Link, TrackingUnavailable, open_link
from labs.invalidation.nearcache.local import LocalCache
from labs.invalidation.nearcache.modes import StormParams, run_storm
from labs.invalidation.nearcache.notify import NotifyParams, run_notifications
from labs.invalidation.nearcache.reader import ABSENT, LOCAL, REDIS, NearCache

NAMES = ("nearcache-latency", "nearcache-stale-window", "nearcache-storm", "nearcache-tracking-memory",
         "nearcache-reconnect", "nearcache-notifications")


# ---------------------------------------------------------------- the local cache


def test_local_cache_is_lru_bounded_and_counts_why_entries_leave():
    now = [0.0]
    cache = LocalCache(2, 10, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == (True, 1)        # a is now the most recently used
    cache.put("c", 3)                          # evicts b, the least recently used
    assert "b" not in cache and cache.stats.evicted == 1
    assert cache.drop("a") and not cache.drop("a")
    assert cache.stats.invalidated == 1
    now[0] = 10.0                              # c reaches its TTL backstop
    assert cache.get("c") == (False, None) and cache.stats.expired == 1
    cache.put("d", None)                       # a cached None is a value, not a miss
    assert cache.get("d") == (True, None) and cache.drop("d")
    cache.put("e", 5)
    assert cache.flush() == 1 and cache.stats.flushed == 1 and cache.stats.evicted == 1


def test_local_cache_refuses_a_size_or_ttl_that_cannot_work():
    with pytest.raises(ValueError, match="at least one entry"):
        LocalCache(0, 10)
    with pytest.raises(ValueError, match="positive"):
        LocalCache(10, 0)


# ---------------------------------------------------------------- the reader's rules, on a scripted link


class ScriptedLink(Link):
    """A link whose server is a dict; ``during_get`` runs while a GET is in flight (an overtaking push)."""

    def __init__(self, store: dict, *, ordered: bool = True) -> None:
        super().__init__(lambda protocol: None, ())
        self.store, self.ordered, self.during_get, self.closed = store, ordered, None, False
        self.queue: list = []

    def get(self, key):
        if self.closed:
            raise redis.ConnectionError("closed")
        if self.during_get:
            self.during_get()
        return self.store.get(key)

    def set(self, key, value, ttl_s):
        self.store[key] = value

    def poll(self):
        if self.closed:
            raise redis.ConnectionError("closed")
        handled, self.queue = self.queue, []
        for keys in handled:
            self._deliver(keys)
        return len(handled)

    def close(self):
        self.closed = True


def test_an_invalidation_that_overtakes_a_reply_on_redirect_is_not_cached():
    """redis.io "Avoiding race conditions": with two connections the invalidation may arrive before the
    GET's reply; the reader must not keep that reply."""
    store = {"k": b"old"}
    link = ScriptedLink(store, ordered=False)
    reader = NearCache(lambda: link, LocalCache(10, 60))

    def writer_changes_k():
        store["k"] = b"new"
        reader._invalidate(["k"])  # the push, handled while the GET is in flight
    link.during_get = writer_changes_k
    got = reader.read("k")
    assert got.tier == REDIS and "k" not in reader.local  # served once, never cached
    link.during_get = None
    assert reader.read("k").value == b"new"


def test_the_reader_flushes_on_reconnect_unless_it_is_the_broken_one():
    """redis.io "What to do when losing connection": flush the local cache when the connection is lost."""
    for flush, expected in ((True, b"v2"), (False, b"v1")):
        store = {"k": b"v1"}
        links = [ScriptedLink(store), ScriptedLink(store)]
        reader = NearCache(lambda: links.pop(0), LocalCache(10, 60), flush_on_reconnect=flush)
        assert reader.read("k").tier == REDIS and reader.read("k").tier == LOCAL
        reader.link.close()                     # the connection drops ...
        store["k"] = b"v2"                      # ... and the write that follows reaches no one
        got = reader.read("k")
        assert reader.reconnects == 1 and got.value == expected


def test_a_key_redis_does_not_have_is_absent_and_a_flush_push_empties_the_cache():
    link = ScriptedLink({"a": b"1"})
    reader = NearCache(lambda: link, LocalCache(10, 60))
    assert reader.read("missing").tier == ABSENT
    reader.read("a")
    link.queue.append(None)                     # FLUSHALL on the server: a null invalidation
    assert reader.read("a").tier == REDIS


# ---------------------------------------------------------------- the sandbox says what fakeredis lacks


def test_fakeredis_has_no_client_tracking_and_the_message_says_so():
    with pytest.raises(TrackingUnavailable, match="unknown command.*CLIENT TRACKING.*fakeredis 2.41"):
        open_link(RESP3, fakeredis.FakeRedis(), [], server="the sandbox")


def test_on_the_sandbox_the_latency_lab_falls_back_to_the_ttl_backstop_and_counts_what_tracking_prevents():
    backend = open_sandbox()
    ns = Namespace("unit0001")
    result = run_latency(NearLatencyParams(requests=300, keys=20, write_fraction=0.2, tracking=REDIS_PY),
                         backend=backend, ns=ns)
    assert result.metrics["tracking"] == NONE
    assert result.metrics["stale_reads"] > 0 and result.metrics["invalidations"] == 0
    assert any("unknown command" in n and "CLIENT TRACKING" in n for n in result.notes)
    sweep = result.frames["sweep"]
    assert set(sweep.strategy) == {"no cache", "cache-aside (Redis)", "near cache"}
    assert learner_keys(backend.client, ns) == []


def test_on_the_sandbox_every_read_after_a_write_is_stale_without_tracking():
    result = run_stale_window(StaleWindowParams(writes=20), backend=open_sandbox(), ns=Namespace("unit0002"))
    assert result.metrics["no tracking: stale reads"] == 20 and result.metrics["no tracking: fresh after"] == 0


def test_storm_on_the_sandbox_hears_nothing_and_serves_stale_hot_reads():
    result = run_storm(StormParams(reads=40, writes_per_read=2, cold_every=10), backend=open_sandbox(),
                       ns=Namespace("unit0003"))
    storm = result.frames["storm"]
    assert (storm.invalidations == 0).all() and storm.stale_reads.iloc[0] > 0


def test_notifications_on_the_sandbox_drop_copies_on_set_and_del_but_fakeredis_sends_no_expired(monkeypatch):
    monkeypatch.setenv("LAB_SERVER_BINARY", "none")  # no private server: the learner's own fakeredis
    result = run_notifications(NotifyParams(writes=10, expiring=2, ttl_ms=10, missed=3, ttl_backstop_s=1),
                               backend=open_sandbox(), ns=Namespace("unit0004"))
    delivery = result.frames["delivery"]
    assert delivery.delay_us.notna().all() and set(delivery.event) == {"set", "del"}
    assert result.metrics["expired_events"] == 0 and result.metrics["events_missed"] == 3
    assert any("no 'expired' events" in n for n in result.notes)


# ---------------------------------------------------------------- params and measures


@pytest.mark.parametrize("bad", [dict(requests=5), dict(local_capacity=0), dict(tracking="telepathy"),
                                 dict(write_fraction=0.9)])
def test_bad_params_get_a_message(bad):
    with pytest.raises(ValueError):
        NearLatencyParams(**bad)


def test_every_metric_and_column_of_the_sandbox_runs_is_declared_in_words_with_a_unit():
    experiments = load_all()
    runs = {"nearcache-latency": lambda: run_latency(NearLatencyParams(requests=200, keys=10), backend=open_sandbox()),
            "nearcache-stale-window": lambda: run_stale_window(StaleWindowParams(writes=10), backend=open_sandbox()),
            "nearcache-storm": lambda: run_storm(StormParams(reads=20, cold_every=5), backend=open_sandbox())}
    for name, run in runs.items():
        result, exp = run(), experiments[name]
        keys = list(result.metrics) + [c for f, df in result.frames.items() for c in df.columns]
        missing = sorted({k for k in keys if exp.describe(k) is None})
        assert not missing, f"{name}: undeclared {missing}"
    for name in NAMES:
        assert experiments[name].page == "app_pages/nearcache.py"
        assert sum(m.headline for m in experiments[name].measures.values()) <= 6
