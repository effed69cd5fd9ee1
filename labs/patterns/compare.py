"""Run every strategy on the same trace and compare latency, load on the database, hit ratio, stale reads.

Each strategy gets its own copy of the primary database and its own cache keys, so they never see each
other's writes. Requests arrive on a virtual clock (write-behind flushes on it); Redis and SQLite calls
are real and measured, the database's network and query time is simulated. A read is *stale* when the
value it returns differs from the last write the application acknowledged for that entity.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from labs.core.backends import open_backend_for
from labs.core.db import LATENCY_PRESETS, PrimaryDB, default_db_path, ensure_seeded, load_seed_rows
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import percentiles
from labs.core.namespace import Namespace, check_ttl, new_session_id
from labs.patterns.base import FIELD, CacheAside, NoCache, Strategy, WriteThrough
from labs.core.servers import fail_fast_options
from labs.core.workload import TraceSpec, make_trace

STRATEGIES = ("no cache", "cache-aside", "write-through", "write-behind")


@dataclass(frozen=True)
class CompareParams:
    requests: int = knob(2000, min=10, max=20_000, help="Requests in the trace (the same for every strategy).")
    entities: int = knob(200, min=1, max=2000, help="Distinct users the requests touch.")
    write_fraction: float = knob(0.1, min=0.0, max=1.0, label="write fraction", help="Share of requests that write.")
    zipf_alpha: float = knob(0.9, min=0.0, max=2.0, label="Zipf α", help="Key popularity skew; 0 = uniform.")
    ttl_s: int = knob(60, min=1, max=3600, unit="s", label="cache TTL", help="Lease of a cached row (SET … EX).")
    db_latency: str = knob("remote Postgres, same region", choices=tuple(LATENCY_PRESETS), label="database latency",
                           help="Simulated network + query time of the primary database.")
    queue: str = knob("list", choices=("list", "stream"), label="write-behind queue",
                      help="Where write-behind keeps pending writes: a Redis list or a Stream with a consumer group.")
    batch: int = knob(50, min=1, max=1000, label="flush batch", help="Write-behind flushes after this many writes…")
    interval_ms: float = knob(100.0, min=1.0, max=60_000.0, unit="ms", label="flush interval",
                              help="…or after this long on the virtual clock.")
    rate_per_s: float = knob(1000.0, min=1.0, max=100_000.0, unit="req/s", label="request rate",
                             help="Arrival rate on the virtual clock.")
    cache_down_at: float = knob(1.0, min=0.0, max=1.0, label="cache down after",
                                help="Fraction of the run after which Redis becomes unreachable (1 = never).")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same trace and same simulated latencies.")

    def __post_init__(self) -> None:
        check_ranges(self)
        check_ttl(self.ttl_s)


def _make(name: str, client: Any, db: PrimaryDB, ns: Namespace, p: CompareParams) -> Strategy:
    if name == "no cache":
        return NoCache(client, db, ns, ttl_s=p.ttl_s)
    if name == "cache-aside":
        return CacheAside(client, db, ns, ttl_s=p.ttl_s)
    if name == "write-through":
        return WriteThrough(client, db, ns, ttl_s=p.ttl_s)
    from labs.patterns.write_behind import WriteBehind

    return WriteBehind(client, db, ns, ttl_s=p.ttl_s, queue=p.queue, batch=p.batch, interval_ms=p.interval_ms)


def dead_client() -> Any:
    """A client for a Redis that cannot be reached (nothing listens on port 1): fails at once."""
    import redis

    return redis.Redis(host="127.0.0.1", port=1, **fail_fast_options(0.5))


def run_strategy(strategy: Strategy, trace: pd.DataFrame, *, down_from: int | None = None) -> pd.DataFrame:
    """Replay ``trace`` through one strategy; one row per request, plus the queue depth after it."""
    truth = {row["id"]: row[FIELD] for row in load_seed_rows("users")}
    rows = []
    for req in trace.itertuples(index=False):
        if down_from is not None and req.index == down_from and strategy.uses_cache:
            strategy.client = dead_client()
        strategy.tick(req.t_ms)
        if req.op == "read":
            op = strategy.read(int(req.entity))
            stale = bool(op.value is not None and op.value.get(FIELD) != truth[req.entity])
        else:
            value = f"v{req.index}"
            op = strategy.write(int(req.entity), value)
            if op.ok:
                truth[req.entity] = value
            stale = False
        rows.append((req.index, req.t_ms, req.op, req.entity, op.ok, op.hit, stale, op.measured_ns / 1000,
                     op.db_simulated_ns / 1000, op.total_ns / 1000, op.db_reads, op.db_writes, op.error or "",
                     strategy.queue_depth()))
    strategy.drain()
    return pd.DataFrame(rows, columns=["index", "t_ms", "op", "entity", "ok", "hit", "stale", "measured_us",
                                       "simulated_us", "total_us", "db_reads", "db_writes", "error", "queue_depth"])


def hit_curve(requests: pd.DataFrame, window: int = 100, points: int = 200) -> pd.DataFrame:
    """Hit ratio over the request index (a moving window of reads): the cold-start curve, per strategy."""
    out = []
    for name, g in requests[(requests.op == "read") & requests.hit.notna()].groupby("strategy", sort=False):
        ratio = g.hit.astype(float).rolling(window, min_periods=1).mean()
        step = max(1, len(g) // points)
        out.append(pd.DataFrame({"strategy": name, "request": g["index"].to_numpy()[::step],
                                 "hit_ratio": ratio.to_numpy()[::step]}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["strategy", "request", "hit_ratio"])


def latency_curve(requests: pd.DataFrame, window: int = 50, points: int = 200) -> pd.DataFrame:
    """Median read time over the request index (a moving window): shows the jump when the cache goes down."""
    out = []
    for name, g in requests[requests.op == "read"].groupby("strategy", sort=False):
        median_ms = g.total_us.rolling(window, min_periods=1).median() / 1000
        step = max(1, len(g) // points)
        out.append(pd.DataFrame({"strategy": name, "request": g["index"].to_numpy()[::step],
                                 "read_ms": median_ms.to_numpy()[::step]}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["strategy", "request", "read_ms"])


def summarize(requests: pd.DataFrame, background: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per strategy: latency percentiles, hit ratio, database load (requests' queries plus any
    background writes, e.g. write-behind's flusher), stale reads, failures."""
    background = background or {}
    out = []
    for name, g in requests.groupby("strategy", sort=False):
        reads, writes = g[g.op == "read"], g[g.op == "write"]
        hits = reads.hit.dropna()
        row = {"strategy": name, "reads": len(reads), "writes": len(writes),
               "hit_ratio": float(hits.astype(bool).mean()) if len(hits) else float("nan"),
               "db_queries": int(g.db_reads.sum() + g.db_writes.sum()) + background.get(name, 0),
               "stale_reads": int(reads.stale.sum()),
               "failed": int((~g.ok).sum()), "degraded": int(g.error.str.startswith("degraded").sum()),
               "max_queue_depth": int(g.queue_depth.max())}
        for label, frame in (("read", reads), ("write", writes)):
            for name_p, us in percentiles(frame.total_us).items():
                row[f"{label}_{name_p}_ms"] = us / 1000
        out.append(row)
    return pd.DataFrame(out)


_SUMMARY_MEASURES = {
    "strategy": measure("Strategy", "text"), "reads": measure("Reads", "reads"), "writes": measure("Writes", "writes"),
    "hit_ratio": measure("Hit ratio", "fraction", help="Reads answered by Redis ÷ reads (— without a cache)."),
    "db_queries": measure("Database queries", "queries", help="Reads and writes that reached the primary database, "
                          "write-behind's batched flushes included."),
    "stale_reads": measure("Stale reads", "reads", help="Reads that returned a value other than the last "
                           "acknowledged write of that user."),
    "failed": measure("Failed requests", "requests", help="Requests that returned an error to the user."),
    "degraded": measure("Degraded writes", "writes", help="Writes that reached the database but not the cache."),
    "max_queue_depth": measure("Longest queue", "writes",
                               help="Writes acknowledged but not yet in the database, at the worst moment."),
    "read_p50_ms": measure("Read, median", "ms", help="Measured Redis/SQLite time + simulated database network."),
    "read_p95_ms": measure("Read, 95th percentile", "ms"), "read_p99_ms": measure("Read, 99th percentile", "ms"),
    "write_p50_ms": measure("Write, median", "ms"), "write_p95_ms": measure("Write, 95th percentile", "ms"),
    "write_p99_ms": measure("Write, 99th percentile", "ms"),
}
COMPARE_MEASURES = {
    **_SUMMARY_MEASURES,
    **{f"*: {key}": measure(f"{m.label} — {{0}}", m.unit, help=m.help) for key, m in _SUMMARY_MEASURES.items()
       if key in ("hit_ratio", "read_p50_ms", "stale_reads", "db_queries", "failed")},
    "index": measure("Request", "rank"), "t_ms": measure("Arrived at", "ms", help="On the virtual clock."),
    "op": measure("Operation", "text"), "entity": measure("User", "text"), "ok": measure("Succeeded", "yes/no"),
    "hit": measure("Cache hit", "yes/no"), "stale": measure("Stale", "yes/no"),
    "measured_us": measure("Measured time", "µs"), "simulated_us": measure("Simulated database time", "µs"),
    "total_us": measure("Total time", "µs"), "db_reads": measure("Database reads", "queries"),
    "db_writes": measure("Database writes", "queries"), "error": measure("Error", "text"),
    "queue_depth": measure("Write-behind queue", "writes"), "request": measure("Request", "rank"),
    "read_ms": measure("Read time, moving median", "ms"),
}


@register("patterns-compare", title="Compare the caching patterns", params=CompareParams,
          page="app_pages/patterns.py", measures=COMPARE_MEASURES,
          summary="No cache, cache-aside, write-through and write-behind on the same trace: latency, load, stale reads.")
def run(params: CompareParams, *, backend: Any = None, ns: Namespace | None = None, log: Any = None,
        strategies: tuple[str, ...] = STRATEGIES, on_progress: Callable[[float], None] | None = None) -> Result:
    backend, opened = open_backend_for(backend)
    ns = ns or Namespace(new_session_id())
    trace = make_trace(TraceSpec(requests=params.requests, entities=params.entities,
                                 write_fraction=params.write_fraction, zipf_alpha=params.zipf_alpha,
                                 rate_per_s=params.rate_per_s, seed=params.seed))
    down_from = int(params.cache_down_at * params.requests) if params.cache_down_at < 1 else None
    seed_path = ensure_seeded(default_db_path()).path
    frames, background = [], {}
    try:
        for i, name in enumerate(strategies):
            db = PrimaryDB.open_private_copy(seed_path, latency=LATENCY_PRESETS[params.db_latency].model,
                                             rng=random.Random(params.seed))
            lab = ns.for_lab("patterns-" + name.replace(" ", "-"))
            strategy = _make(name, backend.client, db, lab, params)
            try:
                frames.append(run_strategy(strategy, trace, down_from=down_from).assign(strategy=name))
                background[name] = strategy.background_db_writes()
            finally:
                db.close()
            if on_progress:
                on_progress((i + 1) / len(strategies))
    finally:
        for b in opened:
            b.close()
    requests = pd.concat(frames, ignore_index=True)
    summary = summarize(requests, background)
    extra = {"hit_curve": hit_curve(requests), "latency_curve": latency_curve(requests), "queue": requests[requests.strategy == "write-behind"][["t_ms", "queue_depth"]]}
    metrics = {f"{r.strategy}: {k}": v for r in summary.itertuples(index=False)
               for k, v in r._asdict().items() if k in ("hit_ratio", "read_p50_ms", "stale_reads", "db_queries", "failed")}
    return Result(metrics, {"summary": summary, "requests": requests, **extra}, _notes(params, backend, down_from))


def _notes(p: CompareParams, backend: Any, down_from: int | None) -> list[str]:
    notes = [f"Redis calls measured on the {backend.kind} backend ({backend.caps.server_label}); SQLite calls measured; "
             f"the database's network and query time is SIMULATED ('{p.db_latency}').",
             f"Requests arrive on a virtual clock at {p.rate_per_s:g}/s; the cache TTL ({p.ttl_s} s) runs on real time, "
             "so entries only expire within the run if the TTL is shorter than the run itself.",
             "A stale read returns a value other than the last acknowledged write of that user."]
    if down_from is not None:
        notes.append(f"Redis became unreachable at request {down_from} (the client now points at a closed port).")
    return notes
