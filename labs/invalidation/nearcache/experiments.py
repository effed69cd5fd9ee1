"""The near cache measured on the learner's backend: where a read is answered and what it costs, and the
stale window — how long after another client's acknowledged write the reader still holds the old copy.

Three readers run the same seeded trace (reads and writes, Zipf popularity) against the primary database:
no cache, cache-aside in Redis, and the near cache (a local LRU with a TTL backstop over Redis, kept fresh
by ``CLIENT TRACKING``). Writes come from another client — the database UPDATE, then DEL of the Redis key —
so every invalidation the reader receives was caused by someone else, as in production. Redis and SQLite
times are measured; each strategy runs once, and the chart adds a SIMULATED database latency to every
database call (0 … 50 ms, the crossover sweep of the Patterns page, now with a third line).

Known result (redis.io client-side caching reference): once the server has sent the invalidation, the
reader's next read is fresh — measured here as the stale window, p50/p99 over many writes.
Source: https://redis.io/docs/latest/develop/reference/client-side-caching/
"""
from __future__ import annotations

import gc
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.core.db import LatencyModel, PrimaryDB, default_db_path, ensure_seeded
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import percentiles
from labs.core.recipe import commands_frame
from labs.core.workload import TraceSpec, make_trace
from labs.invalidation.nearcache.common import PAGE, TRACKING_CHOICES, open_reader, server_name, traced_run
from labs.invalidation.nearcache.links import NONE, REDIRECT, RESP3
from labs.invalidation.nearcache.local import LocalCache
from labs.invalidation.nearcache.reader import ABSENT, LOCAL
from labs.patterns.crossover import LATENCIES_MS, crossing_point

TABLE, FIELD = "users", "bio"
SHORT = {RESP3: "RESP3", REDIRECT: "RESP2 + REDIRECT", NONE: "no tracking"}  # for tile labels
STRATEGIES = ("no cache", "cache-aside (Redis)", "near cache")


@dataclass(frozen=True)
class NearLatencyParams:
    requests: int = knob(2000, min=100, max=20_000, help="Reads and writes in the trace (the same trace for all three).")
    keys: int = knob(200, min=1, max=2000, help="Distinct users read (fewer → more local hits).")
    zipf_alpha: float = knob(0.9, min=0.0, max=2.0, label="Zipf α", help="Key popularity skew; 0 = uniform.")
    write_fraction: float = knob(0.05, min=0.0, max=0.5, unit="fraction",
                                 help="Share of requests that are another client's writes (UPDATE + DEL).")
    local_capacity: int = knob(100, min=1, max=10_000, unit="entries",
                               help="How many copies the reader keeps in its own memory (LRU beyond that).")
    local_ttl_s: int = knob(60, min=1, max=3600, unit="s", label="TTL backstop",
                            help="The longest a local copy is served, whatever the invalidations say.")
    tracking: str = knob(RESP3, choices=TRACKING_CHOICES,
                         help="How invalidations reach the reader; redis-py's own cache needs Redis ≥ 7.4.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same trace.")

    def __post_init__(self) -> None:
        check_ranges(self)


def _row(db: PrimaryDB, entity: int) -> tuple[bytes, int]:
    got = db.get(TABLE, entity)
    return json.dumps(got.value, separators=(",", ":")).encode(), got.real_ns


def _pass(name: str, trace: pd.DataFrame, db: PrimaryDB, writer: Any, key: Any, reader: Any, ttl_s: int) -> list[dict]:
    """One strategy over the whole trace; the reads, timed (reads only), with where each was answered."""
    truth: dict[int, bytes] = {}
    rows = []
    for i, (op, entity) in enumerate(zip(trace.op, trace.entity.astype(int))):
        if op == "write":
            db.update(TABLE, entity, {FIELD: f"edited at request {i}"})
            if name != "no cache":
                writer.delete(key(entity))
            truth[entity] = _row(db, entity)[0]
            continue
        start = time.perf_counter_ns()
        if name == "no cache":
            value, _ = _row(db, entity)
            tier, db_calls = "database", 1
        else:
            got = reader.read(key(entity)) if name == "near cache" else None
            if got is not None and got.tier != ABSENT:
                value, tier, db_calls = got.value, got.tier, 0
            elif got is None and (cached := writer.get(key(entity))) is not None:
                value, tier, db_calls = cached, "redis", 0
            else:
                value, _ = _row(db, entity)
                tier, db_calls = "database", 1
                if name == "near cache":
                    reader.fill(key(entity), value, ttl_s)
                else:
                    writer.set(key(entity), value, ex=ttl_s)
        elapsed = time.perf_counter_ns() - start
        rows.append({"strategy": name, "entity": entity, "answered_by": tier, "measured_us": elapsed / 1000,
                     "db_calls": db_calls, "stale": entity in truth and value != truth[entity]})
    return rows


def _sweep(reads: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float | None]]:
    rows = []
    for lat in LATENCIES_MS:
        for name, group in reads.groupby("strategy", sort=False):
            rows.append({"db_latency_ms": lat, "strategy": name,
                         "mean_read_us": float((group.measured_us + group.db_calls * lat * 1000).mean())})
    sweep = pd.DataFrame(rows)
    wide = sweep.pivot(index="db_latency_ms", columns="strategy", values="mean_read_us")
    cross = {s: crossing_point(wide.index.to_numpy(), (wide["no cache"] / wide[s]).to_numpy())
             for s in STRATEGIES[1:]}
    return sweep, cross


@register("nearcache-latency", title="Near cache: local hit vs Redis hit vs the database",
          summary="One trace, three readers (no cache, Redis cache-aside, near cache with tracking); another "
                  "client writes. Where each read was answered, what it cost, and the crossover with a third line.",
          params=NearLatencyParams, page=PAGE, measures={
              "local_hit_us": measure("Local hit, median", "µs", headline=True,
                                      help="A read answered from the reader's own memory, including the check "
                                           "of the socket for invalidations (measured)."),
              "redis_hit_us": measure("Redis hit, median", "µs", headline=True,
                                      help="A read the near cache had to send to Redis (measured round trip)."),
              "database_us": measure("Database read, median", "µs", headline=True,
                                     help="A read that went to SQLite (measured; no simulated network)."),
              "local_hit_ratio": measure("Reads answered locally", "fraction", headline=True,
                                         help="Share of the near cache's reads served from its own memory."),
              "stale_reads": measure("Stale reads (near cache)", "reads", headline=True,
                                     help="Reads that returned a value older than the last acknowledged write."),
              "crossover_near_ms": measure("Near cache pays from", "ms", headline=True,
                                           help="Simulated database latency above which the near cache beats no cache."),
              "crossover_redis_ms": measure("Redis cache-aside pays from", "ms",
                                            help="The same crossing for cache-aside in Redis only."),
              "invalidations": measure("Invalidations received", "messages",
                                       help="Invalidation messages the reader got from the server."),
              "tracking": measure("Tracking used", "text", help="How invalidations reached the reader in this run."),
              "strategy": measure("Reader", "text"), "answered_by": measure("Answered by", "text"),
              "reads": measure("Reads", "count"), "median_us": measure("Median", "µs", fmt=",.1f"),
              "p99_us": measure("p99", "µs", fmt=",.1f"),
              "entity": measure("User id", ""), "measured_us": measure("Measured time", "µs"),
              "db_calls": measure("Database calls", "calls"), "stale": measure("Stale", "yes/no"),
              "db_latency_ms": measure("Database latency (simulated)", "ms"),
              "mean_read_us": measure("Mean read time", "µs", fmt=",.1f",
                                      help="Measured time plus the simulated latency of each database call."),
          })
def run_latency(params: NearLatencyParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                **_: Any) -> Result:
    trace = make_trace(TraceSpec(requests=params.requests, entities=params.keys, write_fraction=params.write_fraction,
                                 zipf_alpha=params.zipf_alpha, seed=params.seed))
    seed_path = ensure_seeded(default_db_path()).path
    rows: list[dict] = []
    gc_was_enabled = gc.isenabled()
    with traced_run(backend, ns, log) as (backend, client, ns, logs, own):
        def key(entity: int) -> str:
            return ns.key(f"user:{entity}")

        keys = [key(e) for e in trace.entity.unique()]
        reader, used, notes = open_reader(params.tracking, backend, client, logs,
                                          LocalCache(params.local_capacity, params.local_ttl_s))
        try:
            gc.disable()  # as timeit does: a collector pause inside a loop is not the cache's cost
            for name in STRATEGIES:
                db = PrimaryDB.open_private_copy(seed_path, latency=LatencyModel(0, 0, 0, 0))
                try:
                    client.delete(*keys)
                    rows += _pass(name, trace, db, client, key, reader, params.local_ttl_s)
                finally:
                    db.close()
            client.delete(*keys)
        finally:
            if gc_was_enabled:
                gc.enable()
            reader.close()
    reads = pd.DataFrame(rows)
    near = reads[reads.strategy == "near cache"]
    tiers = (reads.groupby(["strategy", "answered_by"], sort=False).measured_us
             .agg(reads="size", median_us="median", p99_us=lambda s: float(np.percentile(s, 99))).reset_index())
    sweep, cross = _sweep(reads)

    def median(tier: str) -> float:
        part = near[near.answered_by == tier].measured_us
        return float(part.median()) if len(part) else float("nan")

    metrics = {"local_hit_us": median(LOCAL), "redis_hit_us": median("redis"),
               "database_us": float(reads[reads.answered_by == "database"].measured_us.median()),
               "local_hit_ratio": float((near.answered_by == LOCAL).mean()), "stale_reads": int(near.stale.sum()),
               "crossover_near_ms": cross["near cache"], "crossover_redis_ms": cross["cache-aside (Redis)"],
               "invalidations": int(getattr(reader, "invalidated_keys", 0)), "tracking": used}
    notes += [f"Measured on {server_name(backend)}: every Redis and SQLite time is real; the database latency on the "
              "chart's x axis is SIMULATED and added to each database call of the one measured pass.",
              "Writes are another client's (UPDATE, then DEL of the Redis key); only reads are timed."]
    if used != NONE:
        notes.append("A local hit includes a non-blocking check of the socket for invalidations, as redis-py does.")
    else:
        notes.append("No tracking: the reader never hears about the writes; its copies go stale until the TTL backstop.")
    return Result(metrics, {"tiers": tiers, "sweep": sweep, "reads": reads, "commands": commands_frame(own, ns)}, notes)


@dataclass(frozen=True)
class StaleWindowParams:
    writes: int = knob(300, min=10, max=3000, help="Writes by another client to a key the reader holds (per mode).")

    def __post_init__(self) -> None:
        check_ranges(self)


def stale_window(reader: Any, writer: Any, key: str, writes: int, timeout_s: float = 1.0) -> list[dict]:
    """For each write by ``writer``: the time from its acknowledgement to the reader dropping its copy, how
    many reads the reader (reading as fast as it can) still answered with the old value, and whether the
    read after that was fresh."""
    writer.set(key, b"v0", ex=60)
    reader.read(key)
    out = []
    for i in range(1, writes + 1):
        new = f"v{i}".encode()
        writer.set(key, new, ex=60)
        acked = time.perf_counter_ns()
        stale, deadline = 0, acked + int(timeout_s * 1e9)
        while (got := reader.read(key)).value != new:
            stale += 1
            if time.perf_counter_ns() >= deadline:
                break
        dropped = getattr(reader, "dropped_at", {}).get(key)
        window = (dropped - acked) / 1000 if dropped is not None and dropped >= acked else float("nan")
        out.append({"write": i, "window_us": window, "stale_reads_after_ack": stale, "fresh_after": got.value == new})
    return out


@register("nearcache-stale-window", title="The stale window after another client's write",
          summary="Another client writes a key the reader holds, again and again; the reader reads as fast as it "
                  "can. Time from the write's acknowledgement to the copy being dropped, p50/p99, for both channels.",
          params=StaleWindowParams, page=PAGE, measures={
              "*: window p50": measure("Stale window p50 — {0}", "µs", headline=True, fmt=",.1f",
                                       help="From the writer's acknowledged write to the reader dropping its copy."),
              "*: window p99": measure("Stale window p99 — {0}", "µs", headline=True, fmt=",.1f"),
              "*: stale reads": measure("Stale reads after the ack — {0}", "reads", headline=True,
                                        help="Reads served from the old copy after the write was acknowledged."),
              "*: fresh after": measure("Fresh read after the window — {0}", "fraction",
                                        help="Share of writes after which the reader's next read returned the new value."),
              "mode": measure("Channel", "text"), "write": measure("Write", ""),
              "window_us": measure("Stale window", "µs", fmt=",.1f"), "stale_reads_after_ack": measure("Stale reads", "reads"),
              "fresh_after": measure("Fresh after", "yes/no"),
          })
def run_stale_window(params: StaleWindowParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                     **_: Any) -> Result:
    frames, metrics, notes = [], {}, []
    with traced_run(backend, ns, log) as (backend, client, ns, logs, own):
        key = ns.key("stale-window")
        for mode in (RESP3, REDIRECT):
            reader, used, why = open_reader(mode, backend, client, logs, LocalCache(10, 60))
            try:
                rows = pd.DataFrame(stale_window(reader, client, key, params.writes, 1.0 if used != NONE else 0.0))
            finally:
                reader.close()
                client.delete(key)
            notes += [n for n in why if n not in notes]
            rows.insert(0, "mode", used)
            frames.append(rows)
            pct = percentiles(rows.window_us.dropna(), (50, 99))
            short = SHORT[used]
            metrics.update({f"{short}: window p50": pct["p50"], f"{short}: window p99": pct["p99"],
                            f"{short}: stale reads": int(rows.stale_reads_after_ack.sum()),
                            f"{short}: fresh after": float(rows.fresh_after.mean())})
            if used == NONE:
                break
    notes.append(f"Measured on {server_name(backend)}, one process: the writer's SET returns, then the reader reads "
                 "in a loop, each read first handling what is on its socket; the window ends when the copy is dropped.")
    return Result(metrics, {"windows": pd.concat(frames, ignore_index=True), "commands": commands_frame(own, ns)}, notes)
