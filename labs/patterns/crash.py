"""Crash the cache during write-behind: which acknowledged writes never reach the database?

The experiment starts its OWN private server (never the learner's shared one, since it kills it), runs
``writes`` writes on a virtual clock (write *i* at ``t = i`` ms, with the flusher's ``tick`` between
writes), SIGKILLs the server after write ``crash_after``, lets the remaining writes meet the dead cache,
optionally restarts the server on the same port and folder, recovers and drains — then checks the
database row by row against what was acknowledged to the user.

Expected outcomes, and their sources:

* write-behind, list, no AOF: the writes still queued at the crash existed only in the cache's memory,
  so they die with it — the seed's "risk of data loss" of write-behind.
* write-behind, stream, AOF + restart: with ``appendfsync always`` every acknowledged write is fsynced
  before the reply (redis.io "Redis persistence"), and a consumer group's Pending Entries List survives
  with the stream, so ``XREADGROUP … 0`` re-delivers what a flusher read but did not ``XACK``
  (redis.io "Redis Streams", XREADGROUP, XACK): nothing is lost.
* write-through: the database is written in the request; with the cache dead the writes still succeed
  and are reported *degraded* — nothing is lost.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from labs.core.cache import MISS, cache_get
from labs.core.db import LATENCY_PRESETS, PrimaryDB, default_db_path, ensure_seeded
from labs.core.experiment import Result, check_ranges, knob, label_of, register
from labs.core.measures import measure
from labs.core.namespace import Namespace, new_session_id
from labs.patterns.base import CACHE_ERRORS, FIELD, TABLE, WriteThrough
from labs.patterns.write_behind import QUEUES, WriteBehind
from labs.core.servers import PrivateServer, ServerUnavailable

STRATEGIES = ("write-behind", "write-through")
AOF = {"appendonly": "yes", "appendfsync": "always"}
DB_LATENCY = "remote Postgres, same region"


@dataclass(frozen=True)
class CrashParams:
    strategy: str = knob("write-behind", choices=STRATEGIES,
                         help="Write-behind acknowledges once the cache has the write; "
                              "write-through writes the database first.")
    queue: str = knob("list", choices=QUEUES, label="write-behind queue",
                      help="list: RPUSH/LPOP (a popped item is gone); "
                           "stream: XADD/XREADGROUP/XACK (read entries stay pending).")
    durable: bool = knob(False, label="append-only file",
                         help="Run the cache with appendonly yes + appendfsync always (only matters if it restarts).")
    writes: int = knob(200, min=1, max=5000, help="How many writes (one per virtual millisecond).")
    batch: int = knob(50, min=1, max=1000, help="The flusher applies up to this many queued writes at once, "
                                              "and flushes as soon as this many are waiting.")
    interval_ms: float = knob(100.0, min=1, max=600_000, unit="ms", label="flush interval",
                              help="The flusher also runs when this much virtual time has passed since its "
                                   "last flush.")
    crash_after: int = knob(175, min=1, max=5000, label="crash after write",
                            help="The cache server is killed (SIGKILL) right after this write.")
    flusher_dies_mid_batch: bool = knob(False, label="flusher dies mid-batch",
                                        help="At the crash the flusher has just read a batch and dies before "
                                             "the database.")
    restart: bool = knob(True, help="Restart the cache server after the writes (same port and folder), "
                                    "recover and drain.")
    entities: int = knob(100, min=1, max=2000, help="Writes go to users 1..entities, chosen at random.")
    seed: int = knob(7, min=0, max=2**31 - 1, help="Seed of the random users and of the simulated latency.")

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.crash_after > self.writes:
            raise ValueError(f"{label_of(self, 'crash_after')} must be between 1 and {label_of(self, 'writes')} "
                             f"({self.writes}), got {self.crash_after}.")


def _start_server(durable: bool) -> PrivateServer:
    try:
        return PrivateServer(maxmemory="64mb", extra=AOF if durable else None).start()
    except (ServerUnavailable, OSError) as exc:
        raise ValueError("The crash experiment kills a cache server, so it needs a private one of its own "
                         f"(valkey-server or redis-server); none could start: {exc}") from None


def _ident(client: Any) -> tuple[str, str]:
    info = client.info("server")
    name = info.get("server_name") or ("valkey" if "valkey_version" in info else "redis")
    return str(name), str(info.get("valkey_version") or info.get("redis_version") or "?")


CRASH_MEASURES = {
    "strategy": measure("Strategy", "text"), "queue": measure("Write-behind queue", "text"),
    "durable": measure("Append-only file", "yes/no"), "restart": measure("Restarted after the crash", "yes/no"),
    "writes": measure("Writes sent", "writes"),
    "acknowledged": measure("Acknowledged writes", "writes", headline=True, help="The user was told \"saved\"."),
    "failed": measure("Refused writes", "writes", headline=True, help="Writes that got an error (the cache was down)."),
    "degraded": measure("Degraded writes", "writes", help="Write-through: in the database, not in the cache."),
    "applied": measure("Applied to the database", "writes"),
    "lost_writes": measure("Lost writes", "writes", headline=True,
                           help="Acknowledged, yet not in the database after recovery: counted row by row."),
    "queue_depth_at_crash": measure("Queued at the crash", "writes", headline=True,
                                    help="Acknowledged writes still in the cache's queue when it was killed."),
    "in_flusher_at_crash": measure("In the flusher's hands at the crash", "writes"),
    "recovered_pending": measure("Re-read from the stream's pending list", "writes", headline=True),
    "entities_wrong_in_db": measure("Users wrong in the database", "users", headline=True,
                                    help="Rows whose value is not the last acknowledged write."),
    "stale_cache_entries": measure("Stale cache entries", "keys"), "flushes": measure("Flushes", "flushes"),
    "flush_db_simulated_ms": measure("Database time of the flushes", "ms", help="SIMULATED network + measured SQLite."),
    "server_name": measure("Server", "text"), "server_version": measure("Server version", "text"),
    "restart_ms": measure("Restart took", "ms", help="Measured."), "run_s": measure("Run took", "s", help="Measured."),
    "seq": measure("Write number", "rank"), "entity": measure("User", "text"), "value": measure("Value", "text"),
    "t_ms": measure("Time", "ms", help="On the virtual clock: write i happens at i ms."),
    "event": measure("Event", "text"), "queue_depth": measure("Queued writes", "writes"),
    "detail": measure("Detail", "text"),
}


@register("patterns-crash", title="Crash the cache during write-behind",
          summary="Kill the cache server mid-run and count the acknowledged writes that never reach the database.",
          params=CrashParams, page="app_pages/patterns.py", measures=CRASH_MEASURES)
def run(params: CrashParams, *, backend: Any = None, db: PrimaryDB | None = None, ns: Namespace | None = None,
        on_progress: Callable[[float], None] | None = None, log: Any = None) -> Result:
    """Run on a private server started here (``backend`` is not used: the shared server is never killed)."""
    t0 = time.perf_counter()
    server = _start_server(params.durable)
    owned_db = db is None
    try:
        if db is None:
            db = PrimaryDB.open_private_copy(ensure_seeded(default_db_path()).path,
                                             latency=LATENCY_PRESETS[DB_LATENCY].model, rng=random.Random(params.seed))
        ns = (ns or Namespace(new_session_id())).for_lab("patterns")
        client = server.client()
        server_name, version = _ident(client)
        behind = params.strategy == "write-behind"
        strategy: Any = (WriteBehind(client, db, ns, queue=params.queue, batch=params.batch,
                                     interval_ms=params.interval_ms) if behind else WriteThrough(client, db, ns))
        rng = random.Random(params.seed)
        acked: list[tuple[int, int, str]] = []
        reached_db: set[int] = set()        # write-through: the writes the request itself put in the DB
        failed = degraded = 0
        timeline: list[dict[str, Any]] = []
        seen = 0

        def log(t: float | None, event: str = "", detail: str = "") -> None:
            """Copy the flusher's new events into the timeline, then add this one (if any)."""
            nonlocal seen
            for e in getattr(strategy, "log", [])[seen:]:
                timeline.append({"t_ms": e["t_ms"], "event": e["event"], "queue_depth": e["queue_depth"],
                                 "detail": f"{e['items']} item(s)" + (f"; {e['detail']}" if e["detail"] else "")})
            seen = len(getattr(strategy, "log", []))
            if event:
                timeline.append({"t_ms": t, "event": event, "queue_depth": strategy.queue_depth(), "detail": detail})

        depth_at_crash, in_flight, queued_at_crash = 0, [], []
        for i in range(1, params.writes + 1):
            entity = rng.randint(1, params.entities)
            value = f"bio #{i} (user {entity})"
            op = strategy.write(entity, value)
            if op.ok:
                acked.append((i, entity, value))
                reached_db.update([i] if op.db_writes else [])
                degraded += bool(op.error)
            else:
                failed += 1
            event = ("write failed" if not op.ok else "write degraded" if op.error else "write acknowledged")
            log(float(i), event, f"seq {i}, user {entity}")
            strategy.tick(float(i))
            if i == params.crash_after:
                if behind and params.flusher_dies_mid_batch:
                    strategy.flush(crash_after_read=True)
                    in_flight = strategy.in_flight() + strategy.dropped
                queued_at_crash = strategy.queued() if behind else []
                depth_at_crash = strategy.queue_depth()
                server.crash()
                log(float(i), "cache server killed (SIGKILL)",
                    f"{depth_at_crash} queued, {len(in_flight)} in the flusher's hands")
            if on_progress:
                on_progress(i / params.writes)
        end = float(params.writes)
        recovered, restart_ms = 0, None
        if params.restart:
            r0 = time.perf_counter()
            try:
                server.restart()
            except (ServerUnavailable, OSError) as exc:
                raise ValueError(f"The cache server did not come back after the crash: {exc}") from None
            restart_ms = (time.perf_counter() - r0) * 1e3
            client = server.client()
            log(end, "cache server restarted", "with its append-only file" if params.durable else "empty (no AOF)")
            if behind:
                recovered = strategy.recover(client)
                log(end, "recover + drain", f"{recovered} pending entries re-read")
            else:
                strategy.client = client
        elif behind:
            strategy.drain()  # the cache is dead: nothing can be flushed
            log(end, "no restart", "the queue stays out of reach")
        log(None)
        applied = set(strategy.applied) if behind else reached_db
        lost = strategy.lost_writes() if behind else [e for e in acked if e[0] not in applied]
        wrong, stale = _check(db, client if params.restart else None, strategy, acked)
        metrics = {
            "strategy": params.strategy, "queue": params.queue if behind else "-",
            "durable": params.durable, "restart": params.restart,
            "writes": params.writes, "acknowledged": len(acked), "failed": failed, "degraded": degraded,
            "applied": len(applied), "lost_writes": len(lost), "queue_depth_at_crash": depth_at_crash,
            "in_flusher_at_crash": len(in_flight), "recovered_pending": recovered,
            "entities_wrong_in_db": wrong, "stale_cache_entries": stale,
            "flushes": strategy.flush_stats.flushes if behind else 0,
            "flush_db_simulated_ms": strategy.flush_stats.db_simulated_ns / 1e6 if behind else 0.0,
            "server_name": server_name, "server_version": version,
            "restart_ms": restart_ms if restart_ms is not None else float("nan"),
            "run_s": time.perf_counter() - t0,
        }
    finally:
        server.stop()
        if owned_db and db is not None:
            db.close()
    frames = {"lost": pd.DataFrame(lost, columns=["seq", "entity", "value"]),
              "timeline": pd.DataFrame(timeline, columns=["t_ms", "event", "queue_depth", "detail"]),
              "queued_at_crash": pd.DataFrame(queued_at_crash, columns=["seq", "entity", "value"])}
    return Result(metrics, frames, _notes(params, metrics, backend))


def _check(db: PrimaryDB, client: Any, strategy: Any, acked: list[tuple[int, int, str]]) -> tuple[int, int]:
    """Entities whose DB value is not their last acknowledged value; cached rows disagreeing with the DB."""
    last: dict[int, str] = {}
    for _seq, entity, value in acked:
        last[entity] = value
    wrong = stale = 0
    for entity, value in last.items():
        row = db.get(TABLE, entity).value
        wrong += row[FIELD] != value
        if client is not None:
            try:
                cached = cache_get(client, strategy.key(entity))
            except CACHE_ERRORS:
                continue
            stale += cached is not MISS and cached is not None and cached.get(FIELD) != row[FIELD]
    return wrong, stale


def _notes(params: CrashParams, m: dict[str, Any], backend: Any) -> list[str]:
    aof = ("with an append-only file (appendonly yes, appendfsync always: every write fsynced before the reply)"
           if params.durable else "without persistence (no AOF, no RDB)")
    where = f" The chosen backend ({getattr(backend, 'kind', backend)}) was not used." if backend is not None else ""
    notes = [f"Killed: a private {m['server_name']} {m['server_version']} server started for this run, {aof}, "
             f"with SIGKILL right after write {params.crash_after} — no shutdown, no final save. "
             f"It is never the shared server.{where}",
             "Database time is SIMULATED (remote Postgres model); the writes run on a virtual clock, one per ms."]
    if params.strategy == "write-through":
        notes.append(f"Write-through writes the database inside the request: {m['degraded']} write(s) after the "
                     "crash succeeded degraded (database updated, cache not), so "
                     f"{m['lost_writes']} acknowledged write(s) were lost.")
        if m["stale_cache_entries"]:
            notes.append(f"{m['stale_cache_entries']} cached row(s) came back from the AOF older than the "
                         "database: the degraded writes never reached the cache, so reads serve stale data "
                         "until the TTL ends.")
        return notes
    notes.append(f"Write-behind refused the {m['failed']} write(s) that met the dead cache (not acknowledged, so not "
                 f"lost); {m['queue_depth_at_crash']} acknowledged write(s) were queued and unflushed at the crash.")
    if params.flusher_dies_mid_batch:
        notes.append("The flusher died holding a batch: " + (
            "with a list, LPOP had already removed those items, so they are gone even if Redis survives."
            if params.queue == "list" else
            "with a stream, the batch stayed in the consumer group's Pending Entries List until XACK."))
    if not params.restart:
        notes.append("The server was not restarted: whatever was queued is out of reach, so it counts as lost.")
    elif not params.durable:
        notes.append("The server restarted empty (no AOF): the queued writes lived only in its memory "
                     "and died with it.")
    elif params.queue == "stream":
        notes.append("The server replayed its AOF: the stream and the consumer group's pending entries came back, "
                     "recover() re-read them (XREADGROUP … 0), applied and XACKed them.")
    else:
        notes.append("The server replayed its AOF: the list came back and was drained; only items already popped "
                     "by a dying flusher could be lost.")
    if m["stale_cache_entries"]:
        notes.append(f"{m['stale_cache_entries']} cached row(s) show an acknowledged value the database never got: "
                     "readers see it until the TTL ends, then the write silently disappears.")
    notes.append(f"Result: {m['lost_writes']} acknowledged write(s) never reached the database "
                 f"({m['entities_wrong_in_db']} user row(s) end with a value other than the last acknowledged one).")
    return notes
