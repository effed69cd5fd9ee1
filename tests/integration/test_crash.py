"""The crash experiment on real private servers killed with SIGKILL: which acknowledged writes are lost.

Expected outcomes and their sources: write-behind keeps unflushed writes only in the cache — the seed's
"risk of data loss"; with ``appendonly yes`` + ``appendfsync always`` every acknowledged write is on disk
before the reply (redis.io "Redis persistence"); a stream consumer group's Pending Entries List keeps read
but un-XACKed entries, re-read with ``XREADGROUP … 0`` (redis.io "Redis Streams", XREADGROUP, XACK);
write-through writes the database in the request, so a dead cache only degrades it.

Determinism: one write per virtual ms, batch 50 and a flush interval far beyond the run, so the flusher
runs exactly at writes 50, 100, 150, … and B = crash_after mod 50 writes are queued at the crash.
"""
from __future__ import annotations

import pytest

from labs.core import servers
from labs.patterns.base import FIELD, TABLE
from labs.patterns.crash import CrashParams, run
from labs.core.servers import ServerUnavailable, find_server_binary
from tests.support import skip_or_fail

pytestmark = pytest.mark.integration
NEVER = 600_000.0  # the interval never elapses: flushes happen only at `batch` waiting items


@pytest.fixture(autouse=True)
def _server_binary():
    try:
        find_server_binary()
    except ServerUnavailable as exc:
        skip_or_fail("LAB_REQUIRE_REDIS", f"no private server could start: {exc}")


def _crash(db, **kwargs):
    base = dict(writes=200, batch=50, interval_ms=NEVER, crash_after=130, entities=100, seed=3)
    running = len(servers._running)
    result = run(CrashParams(**{**base, **kwargs}), db=db)
    assert len(servers._running) == running, "the experiment left its private server running"
    return result


def _seqs(frame) -> list[int]:
    return [int(s) for s in frame.seq]


def test_list_without_aof_loses_exactly_the_queued_writes(db):
    result = _crash(db, queue="list", durable=False)
    m, lost, queued = result.metrics, result.frames["lost"], result.frames["queued_at_crash"]
    assert m["queue_depth_at_crash"] == 30  # writes 101..130: flushed at 50 and 100, then the crash
    assert _seqs(queued) == list(range(101, 131))
    assert lost.to_dict("records") == queued.to_dict("records")  # the DB misses exactly those B writes
    assert m["lost_writes"] == 30 and m["acknowledged"] == 130 and m["failed"] == 70 and m["applied"] == 100
    for row in lost.itertuples():  # and the database really does not have them
        assert db.get(TABLE, int(row.entity)).value[FIELD] != row.value
    assert m["entities_wrong_in_db"] > 0
    assert any("SIGKILL" in n and "without persistence" in n for n in result.notes)
    assert any("died with it" in n for n in result.notes)
    events = list(result.frames["timeline"].event)
    assert "cache server killed (SIGKILL)" in events and "cache server restarted" in events


def test_stream_with_aof_and_restart_loses_nothing(db):
    result = _crash(db, queue="stream", durable=True)
    m = result.metrics
    assert m["queue_depth_at_crash"] == 30
    assert m["lost_writes"] == 0 and len(result.frames["lost"]) == 0
    assert m["applied"] == m["acknowledged"] == 130 and m["entities_wrong_in_db"] == 0
    assert any("pending entries came back" in n for n in result.notes)


def test_write_through_loses_nothing_and_reports_the_writes_after_the_crash_as_degraded(db):
    result = _crash(db, strategy="write-through")
    m = result.metrics
    assert m["lost_writes"] == 0 and m["failed"] == 0
    assert m["acknowledged"] == m["applied"] == 200
    assert m["degraded"] == 70  # writes 131..200 met the dead cache and still reached the database
    assert m["entities_wrong_in_db"] == 0
    assert list(result.frames["timeline"].event).count("write degraded") == 70


def test_a_flusher_dying_mid_batch_loses_it_with_a_list_even_with_aof(db):
    result = _crash(db, queue="list", durable=True, flusher_dies_mid_batch=True)
    m = result.metrics
    assert m["in_flusher_at_crash"] == 30 and m["queue_depth_at_crash"] == 0
    assert _seqs(result.frames["lost"]) == list(range(101, 131))
    assert m["stale_cache_entries"] > 0  # the cache (from the AOF) shows values the DB never got


def test_a_flusher_dying_mid_batch_is_recovered_from_the_stream_with_aof(db):
    result = _crash(db, queue="stream", durable=True, flusher_dies_mid_batch=True)
    m = result.metrics
    assert m["in_flusher_at_crash"] == 30 and m["recovered_pending"] == 30
    assert m["lost_writes"] == 0 and m["entities_wrong_in_db"] == 0


def test_aof_without_a_restart_helps_nothing(db):
    result = _crash(db, queue="stream", durable=True, restart=False)
    assert _seqs(result.frames["lost"]) == list(range(101, 131))


def test_the_default_run_reports_its_server(db):
    result = run(CrashParams(), db=db)
    m = result.metrics
    assert m["server_name"] in {"valkey", "redis"} and m["server_version"] != "?"
    assert m["queue_depth_at_crash"] == 25 and m["lost_writes"] == 25  # batch 50, interval 100, crash after 175
