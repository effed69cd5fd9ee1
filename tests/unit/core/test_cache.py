import json

import fakeredis
import redis

from labs.core.cache import MISS, cache_aside_read, cache_get


class DeadRedis:
    """A client whose server is gone: every command fails like a refused connection."""

    def get(self, key):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    set = get


def test_a_miss_is_not_a_none():
    r = fakeredis.FakeRedis()
    assert cache_get(r, "absent") is MISS and not MISS
    r.set("cached-null", json.dumps(None))
    assert cache_get(r, "cached-null") is None


def test_first_read_misses_and_fills_the_cache_with_a_ttl_then_hits(db):
    r = fakeredis.FakeRedis()
    first = cache_aside_read(r, db, "users", 123, "user:123", ttl_s=60)
    assert (first.hit, first.source) == (False, "database")
    assert 0 < r.ttl("user:123") <= 60
    second = cache_aside_read(r, db, "users", 123, "user:123", ttl_s=60)
    assert (second.hit, second.source) == (True, "cache")
    assert second.value == first.value and first.value["id"] == 123
    assert second.db_real_ns == 0 and second.db_simulated_ns == 0
    assert db.stats.reads == 1  # the hit never touched the database


def test_a_missing_row_is_negatively_cached(db):
    r = fakeredis.FakeRedis()
    assert cache_aside_read(r, db, "users", 999_999, "user:999999", 30).value is None
    again = cache_aside_read(r, db, "users", 999_999, "user:999999", 30)
    assert again.hit and again.value is None and db.stats.reads == 1


def test_simulated_time_is_reported_apart_from_measured_time(db):
    out = cache_aside_read(fakeredis.FakeRedis(), db, "users", 5, "u5", 30)
    assert out.db_simulated_ns > 0 and out.db_real_ns > 0
    assert out.total_ns == out.measured_ns + out.db_simulated_ns


def test_cache_down_still_serves_from_the_database(db):
    """Cache-aside is resilient to a cache failure: reads go to the database, none fail."""
    out = cache_aside_read(DeadRedis(), db, "users", 123, "user:123", 60)
    assert out.source == "database (cache down)" and out.value["id"] == 123
    assert "refused" in out.cache_error
