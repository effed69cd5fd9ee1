"""Known results of the data-structures recipes, on the sandbox and on a real server."""
from __future__ import annotations

import pytest

from labs.core.namespace import Namespace, audit_ttls, new_session_id, reset
from labs.structures import lists, sets, strings, zsets
from labs.structures.inspector import inspect_key, learner_key_names

pytestmark = pytest.mark.integration


@pytest.fixture
def ns(backend):
    n = Namespace(new_session_id())
    yield n
    assert audit_ttls(backend.client, n).ok, "every key a recipe leaves behind must carry a TTL"
    reset(backend.client, n)


def test_ttl_rules(backend, ns):
    """redis.io SET: 'Any previous time to live associated with the key is discarded on successful SET',
    KEEPTTL retains it; TTL returns -1 without an expiry and -2 for a missing key (redis.io TTL)."""
    m = strings.ttl_rules(strings.TTLRulesParams(ttl_s=60), backend=backend, ns=ns).metrics
    assert 0 < m["ttl_after_set_ex"] <= 60
    assert m["ttl_after_plain_set"] == -1
    assert 0 < m["ttl_after_keepttl"] <= 60
    assert m["getex_supported"] and 0 < m["ttl_after_getex"] <= 30
    assert m["set_get_returned"] == "v4"
    assert strings.cache_json(strings.CacheJsonParams(), backend=backend, ns=ns).metrics["missing_key_ttl"] == -2


def test_cached_api_response_round_trips(backend, ns):
    result = strings.cache_json(strings.CacheJsonParams(user_id=123, ttl_s=60), backend=backend, ns=ns)
    assert result.frames["value"].id.iloc[0] == 123 and 0 < result.metrics["ttl_s"] <= 60
    assert result.frames["commands"].command.iloc[0].startswith("SET user:123 ")
    assert "lab:{" not in " ".join(result.frames["commands"].command)  # shown without the prefix


def test_concurrent_incr_loses_nothing(backend, ns):
    """INCR is atomic (redis.io INCR): 4 clients × 300 increments end at exactly 1,200."""
    m = strings.counter(strings.CounterParams(threads=4, increments=300), backend=backend, ns=ns).metrics
    assert m["final"] == 1200 and m["lost_counts"] == 0


def test_chat_history_keeps_the_newest(backend, ns):
    """RPUSH 50 messages with LTRIM -20 -1 after each → LLEN 20, newest kept (the seed's add_message)."""
    m = lists.chat_history(lists.ChatParams(messages=50, keep=20, ttl_s=86400), backend=backend, ns=ns).metrics
    assert (m["length"], m["oldest_kept"], m["newest"]) == (20, "message 31", "message 50")
    assert 86_000 < m["ttl_s"] <= 86_400


def test_queue_is_fifo_and_blpop_times_out(backend, ns):
    m = lists.queue(lists.QueueParams(jobs=5, pops=2, block_s=0.2), backend=backend, ns=ns).metrics
    assert m["first_popped"] == "job-1" and m["popped"] == 5
    assert m["blpop_result"] is None and 0.15 < m["blpop_waited_s"] < 1.5


def test_mutual_followers(backend, ns):
    m = sets.followers(sets.FollowersParams(alice=40, bob=30, mutual=12), backend=backend, ns=ns).metrics
    assert (m["alice_followers"], m["bob_followers"], m["mutual"], m["tags"]) == (40, 30, 12, 3)
    assert m["probe_follows_alice"]


def test_mutual_cannot_exceed_followers():
    with pytest.raises(ValueError, match="cannot exceed"):
        sets.FollowersParams(alice=5, bob=3, mutual=4)


def test_leaderboard_ranks(backend, ns):
    result = zsets.leaderboard(zsets.LeaderboardParams(players=6, rounds=40, seed=3), backend=backend, ns=ns)
    top = result.frames["top"]
    assert list(top.score) == sorted(top.score, reverse=True) and top["rank"].tolist() == list(range(1, len(top) + 1))
    assert result.metrics["probe_rank"] == top.set_index("player").loc[result.metrics["probe_player"], "rank"]


def test_rate_limiter_rejects_the_eleventh_and_recovers(backend, ns):
    """RU102PY sliding window, 10 per 1 s: the 11th request inside the window is rejected; once the window
    has slid past the first requests, requests are allowed again (virtual clock, no sleeps)."""
    key = ns.for_lab("structures").key("rl-test")
    outcomes = [zsets.allow_request(backend.client, key, t, limit=10, window_ms=1000, request_id=str(t))[0]
                for t in range(0, 110, 10)]
    assert outcomes == [True] * 10 + [False]
    # t=1005: only t=0 has left the window; the rejected request at t=100 still counts (RU102PY)
    assert not zsets.allow_request(backend.client, key, 1005, limit=10, window_ms=1000, request_id="early")[0]
    assert zsets.allow_request(backend.client, key, 2010, limit=10, window_ms=1000, request_id="later")[0]
    hammer = zsets.rate_limiter(zsets.RateLimitParams(limit=10, window_ms=1000, requests=60, rate_per_s=20),
                                backend=backend, ns=ns).metrics
    assert hammer["first_rejected_at_request"] == 11
    assert 25 <= hammer["allowed"] <= 35  # ~10 per sliding second over 3 s of traffic
    strict = zsets.rate_limiter(zsets.RateLimitParams(limit=10, window_ms=1000, requests=60, rate_per_s=20,
                                                      count_rejected=True), backend=backend, ns=ns).metrics
    assert strict["allowed"] == 10  # RU102PY's variant: the hammering client stays blocked


def test_inspector_sees_type_ttl_and_what_the_backend_can_show(backend, ns):
    lists.chat_history(lists.ChatParams(messages=5, keep=3), backend=backend, ns=ns)
    lab = ns.for_lab("structures")
    assert "chat:history" in learner_key_names(backend.client, lab)
    info = inspect_key(backend.client, lab, "chat:history")
    assert (info.type, info.length) == ("list", 3) and 0 < info.ttl_s <= 86400
    if backend.kind == "sandbox":
        assert info.encoding is None and info.memory_bytes is None  # fakeredis has no OBJECT / MEMORY
    else:
        assert info.encoding in ("listpack", "quicklist") and info.memory_bytes > 0
    assert not inspect_key(backend.client, lab, "nothing-here").exists
