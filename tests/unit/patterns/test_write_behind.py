"""Write-behind on fakeredis: acknowledged from the cache, flushed later, and what a dying flusher loses.

Sources of the expected behaviour: the seed's caching-patterns notes (write-behind: fast writes, "risk
of data loss" until the flush); redis.io "Redis Streams" and the XREADGROUP / XACK pages (an entry read
by a consumer stays in the group's Pending Entries List until XACK, and ``XREADGROUP … 0`` re-reads it);
LPOP with a count removes the items it returns.
"""
from __future__ import annotations

import fakeredis
import pytest

from labs.core.db import PrimaryDB, ensure_seeded
from labs.core.namespace import Namespace, audit_ttls
from labs.patterns.base import FIELD, TABLE
from labs.patterns.write_behind import WriteBehind

QUEUES = ("list", "stream")


@pytest.fixture
def db(tmp_path):
    handle = PrimaryDB.open_private_copy(ensure_seeded(tmp_path / "seed" / "primary.sqlite3").path)
    yield handle
    handle.close()


@pytest.fixture
def ns():
    return Namespace("wbtest01", "patterns")


def _db_bio(db: PrimaryDB, entity: int) -> str:
    return db.get(TABLE, entity).value[FIELD]


def _write_n(wb: WriteBehind, n: int, *, start: int = 1, tick: bool = True) -> None:
    """Write ``n`` writes to users start..start+n-1, one per virtual ms, ticking after each."""
    for i in range(start, start + n):
        op = wb.write(i, f"bio #{i}")
        assert op.ok, op.error
        if tick:
            wb.tick(float(i))


@pytest.mark.parametrize("queue", QUEUES)
def test_writes_are_acknowledged_and_read_from_the_cache_before_the_db_has_them(db, ns, queue):
    wb = WriteBehind(fakeredis.FakeRedis(), db, ns, queue=queue, batch=50, interval_ms=1e6)
    before = _db_bio(db, 7)
    op = wb.write(7, "written behind")
    assert op.ok and op.db_writes == 0 and op.db_reads == 1  # the row came from the DB (a miss), not written
    assert wb.acknowledged == [(1, 7, "written behind")]
    read = wb.read(7)
    assert read.hit and read.value[FIELD] == "written behind"  # the writer reads its own write from the cache
    assert _db_bio(db, 7) == before  # ...while the database lags
    assert wb.queue_depth() == 1 and wb.redis_queue_length() == 1
    second = wb.write(7, "again")
    assert second.ok and second.db_reads == 0  # the cached row is updated in place


@pytest.mark.parametrize("queue", QUEUES)
def test_tick_flushes_when_batch_items_are_waiting(db, ns, queue):
    wb = WriteBehind(fakeredis.FakeRedis(), db, ns, queue=queue, batch=10, interval_ms=1e6)
    _write_n(wb, 9)
    assert wb.applied == [] and wb.queue_depth() == 9
    _write_n(wb, 1, start=10)  # the 10th waiting item triggers the flush
    assert wb.applied == list(range(1, 11)) and wb.queue_depth() == 0
    assert all(_db_bio(db, i) == f"bio #{i}" for i in range(1, 11))
    assert wb.flush_stats.flushes == 1 and wb.flush_stats.items == 10 and wb.flush_stats.db_simulated_ns > 0


@pytest.mark.parametrize("queue", QUEUES)
def test_tick_flushes_when_the_interval_has_passed(db, ns, queue):
    wb = WriteBehind(fakeredis.FakeRedis(), db, ns, queue=queue, batch=1000, interval_ms=100)
    wb.tick(0.0)
    _write_n(wb, 3, tick=False)
    wb.tick(99.0)
    assert wb.applied == []  # 99 ms: not yet
    wb.tick(100.0)
    assert wb.applied == [1, 2, 3] and wb.redis_queue_length() == 0


@pytest.mark.parametrize("queue", QUEUES)
def test_drain_empties_the_queue_and_every_acknowledged_write_is_in_the_db(db, ns, queue):
    wb = WriteBehind(fakeredis.FakeRedis(), db, ns, queue=queue, batch=7, interval_ms=1e6)
    for i in range(1, 101):
        assert wb.write(1 + i % 13, f"v{i}").ok  # 13 users, overwritten many times
        wb.tick(float(i))
    assert wb.queue_depth() > 0
    wb.drain()
    assert wb.queue_depth() == 0 and wb.redis_queue_length() == 0
    assert wb.lost_writes() == [] and len(wb.applied) == 100
    last = {entity: value for _seq, entity, value in wb.acknowledged}
    assert all(_db_bio(db, e) == v for e, v in last.items())


def test_a_dying_flusher_loses_exactly_its_batch_with_a_list(db, ns):
    client = fakeredis.FakeRedis()
    wb = WriteBehind(client, db, ns, queue="list", batch=10, interval_ms=1e6)
    _write_n(wb, 25)  # 20 flushed at 10 and 20; 5 queued
    assert wb.flush(crash_after_read=True) == 5  # LPOP took them out of Redis, then the flusher died
    assert client.llen(wb.queue_key) == 0  # Redis is fine — the items are simply gone
    _write_n(wb, 5, start=26)
    wb.drain()
    assert wb.recover(client) == 0  # nothing to recover from a list
    assert wb.lost_writes() == [(i, i, f"bio #{i}") for i in range(21, 26)]
    assert wb.dropped == wb.lost_writes()
    assert all(_db_bio(db, i) != f"bio #{i}" for i in range(21, 26))
    assert all(_db_bio(db, i) == f"bio #{i}" for i in range(26, 31))


def test_a_dying_flusher_loses_nothing_with_a_stream_after_recover(db, ns):
    client = fakeredis.FakeRedis()
    wb = WriteBehind(client, db, ns, queue="stream", batch=10, interval_ms=1e6)
    _write_n(wb, 25)
    assert wb.flush(crash_after_read=True) == 5
    pending = client.xpending(wb.queue_key, "flushers")
    assert pending["pending"] == 5  # read, not acknowledged: still in the Pending Entries List
    assert [e[0] for e in wb.lost_writes()] == [21, 22, 23, 24, 25]  # not in the DB yet...
    assert wb.recover(client) == 5  # ...until the flusher comes back and re-reads its pending entries
    assert wb.lost_writes() == []
    assert client.xpending(wb.queue_key, "flushers")["pending"] == 0 and client.xlen(wb.queue_key) == 0
    assert all(_db_bio(db, i) == f"bio #{i}" for i in range(1, 26))


def test_a_late_recovered_entry_never_rolls_a_row_back(db, ns):
    client = fakeredis.FakeRedis()
    wb = WriteBehind(client, db, ns, queue="stream", batch=10, interval_ms=1e6)
    assert wb.write(5, "old").ok
    wb.flush(crash_after_read=True)  # "old" is pending
    assert wb.write(5, "new").ok
    wb.drain()  # "new" reaches the DB first
    wb.recover(client)  # the pending "old" comes back afterwards
    assert _db_bio(db, 5) == "new"
    assert wb.superseded == [1] and wb.lost_writes() == []


@pytest.mark.parametrize("queue", QUEUES)
def test_every_key_has_a_ttl(db, ns, queue):
    client = fakeredis.FakeRedis()
    wb = WriteBehind(client, db, ns, queue=queue, batch=10, interval_ms=1e6, ttl_s=60)
    _write_n(wb, 15)
    audit = audit_ttls(client, ns)
    assert audit.keys == 16 and audit.ok, audit  # 15 cached rows + the queue
    assert 0 < client.ttl(wb.key(1)) <= 60 and 0 < client.ttl(wb.queue_key) <= 24 * 3600
    wb.flush(crash_after_read=True)  # an emptied list disappears; a stream stays, with its TTL
    assert audit_ttls(client, ns).ok


@pytest.mark.parametrize("queue", QUEUES)
def test_a_write_to_a_dead_cache_fails_and_is_not_acknowledged(db, ns, queue):
    server = fakeredis.FakeServer()
    wb = WriteBehind(fakeredis.FakeRedis(server=server), db, ns, queue=queue, batch=10, interval_ms=10)
    wb.tick(0.0)
    assert wb.write(1, "before").ok
    server.connected = False
    op = wb.write(2, "during")
    assert not op.ok and "cache is down" in op.error
    assert wb.acknowledged == [(1, 1, "before")] and wb.failed == [(2, 2, "during")]
    wb.tick(50.0)  # the flush fails quietly and is retried later
    assert wb.flush_stats.errors == 1 and wb.applied == []
    server.connected = True
    wb.recover()
    assert wb.lost_writes() == [] and _db_bio(db, 1) == "before" and _db_bio(db, 2) != "during"


@pytest.mark.parametrize("queue", QUEUES)
def test_a_cache_that_comes_back_empty_has_lost_the_queue(db, ns, queue):
    wb = WriteBehind(fakeredis.FakeRedis(), db, ns, queue=queue, batch=10, interval_ms=1e6)
    _write_n(wb, 14)  # 10 flushed, 4 queued
    wb.recover(fakeredis.FakeRedis())  # a restart without persistence: a new, empty server
    assert [e[0] for e in wb.lost_writes()] == [11, 12, 13, 14]
    assert wb.gone_with_server == wb.lost_writes() and wb.queue_depth() == 0
    assert wb.write(20, "after the restart").ok  # the queue (and the stream's group) work again
    wb.drain()
    assert _db_bio(db, 20) == "after the restart"


def test_a_write_to_a_missing_user_fails(db, ns):
    wb = WriteBehind(fakeredis.FakeRedis(), db, ns)
    op = wb.write(999_999, "nobody")
    assert not op.ok and "no user" in op.error and wb.acknowledged == []


@pytest.mark.parametrize("kwargs", [{"queue": "kafka"}, {"batch": 0}, {"interval_ms": -1}, {"ttl_s": 0}])
def test_bad_settings_are_refused(db, ns, kwargs):
    with pytest.raises(ValueError):
        WriteBehind(fakeredis.FakeRedis(), db, ns, **kwargs)


# -- the crash experiment's guards (no server needed) -------------------------------------------
def test_crash_params_are_validated():
    from labs.patterns.crash import CrashParams

    assert CrashParams().crash_after == 175 and CrashParams().restart is True
    with pytest.raises(ValueError, match=r"Crash after write must be between 1 and Writes \(100\)"):
        CrashParams(writes=100, crash_after=150)
    with pytest.raises(ValueError, match="Write-behind queue"):
        CrashParams(queue="kafka")
    with pytest.raises(ValueError, match="Writes"):
        CrashParams(writes=0)


def test_no_server_binary_is_a_clear_value_error(monkeypatch, db):
    from labs.patterns.crash import CrashParams, run

    monkeypatch.setenv("LAB_SERVER_BINARY", "none")
    with pytest.raises(ValueError, match="needs a private one of its own"):
        run(CrashParams(writes=10, crash_after=5), db=db)


def test_the_crash_experiment_is_registered():
    from labs.core.experiment import REGISTRY
    from labs.patterns import crash  # noqa: F401  (registers on import)

    exp = REGISTRY["patterns-crash"]
    assert exp.title == "Crash the cache during write-behind" and exp.page == "app_pages/patterns.py"
