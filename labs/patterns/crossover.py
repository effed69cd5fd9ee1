"""The crossover: when does a cache stop paying? Sweep the database latency and measure the speed-up.

For each simulated database latency (0 … 50 ms, fixed, no jitter) the same read trace runs with no cache
and with cache-aside; speed-up = mean no-cache read time / mean cache-aside read time, both measured
(Redis and SQLite) plus the simulated database time. With a local SQLite file (microseconds) a Redis
round trip costs more than it saves, so the speed-up starts below 1 and crosses 1 where the database
becomes slower than the cache's own round trip (divided by the hit ratio's share of the work).
"""
from __future__ import annotations

import gc
import math
import random
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.backends import open_backend_for
from labs.core.db import LatencyModel, PrimaryDB, default_db_path, ensure_seeded
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.namespace import Namespace, new_session_id
from labs.patterns.base import CacheAside, NoCache
from labs.core.workload import TraceSpec, make_trace

LATENCIES_MS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


@dataclass(frozen=True)
class CrossoverParams:
    reads: int = knob(400, min=20, max=5000, help="Reads per latency point (the same trace each time).")
    entities: int = knob(20, min=1, max=2000, help="Distinct users read (fewer → higher hit ratio).")
    zipf_alpha: float = knob(0.9, min=0.0, max=2.0, label="Zipf α", help="Key popularity skew; 0 = uniform.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same trace.")

    def __post_init__(self) -> None:
        check_ranges(self)


def crossing_point(latency_ms: np.ndarray, speedup: np.ndarray) -> float | None:
    """The database latency where speed-up first reaches 1 (log-linear interpolation), or None."""
    for i in range(1, len(speedup)):
        lo, hi = speedup[i - 1], speedup[i]
        if lo < 1 <= hi:
            x0, x1 = latency_ms[i - 1], latency_ms[i]
            if x0 <= 0:
                return float(x1 * (1 - lo) / (hi - lo)) if hi != lo else float(x1)
            frac = (1 - lo) / (hi - lo)
            return float(math.exp(math.log(x0) + frac * (math.log(x1) - math.log(x0))))
    return None


CROSSOVER_MEASURES = {
    "crossover_ms": measure("Caching starts to pay at", "ms", headline=True,
                            help="The simulated database latency where cache-aside becomes faster than no cache."),
    "speedup_at_0ms": measure("Speed-up with a 0 ms database", "×", headline=True,
                              help="No-cache read time ÷ cache-aside read time; below 1 the cache slows reads down."),
    "speedup_at_50ms": measure("Speed-up with a 50 ms database", "×", headline=True),
    "hit_ratio": measure("Hit ratio", "fraction", headline=True, help="Cache-aside's, the same at every latency."),
    "db_latency_ms": measure("Database latency", "ms", help="SIMULATED network + query time per database call."),
    "no_cache_us": measure("Read, no cache, mean", "µs"), "cache_aside_us": measure("Read, cache-aside, mean", "µs"),
    "speedup": measure("Speed-up", "×", help="No-cache mean ÷ cache-aside mean."),
}


@register("patterns-crossover", title="When does caching pay?", params=CrossoverParams, page="app_pages/patterns.py",
          measures=CROSSOVER_MEASURES,
          summary="Sweep the database latency from 0 to 50 ms; measure speed-up = no-cache / cache-aside read time.")
def run(params: CrossoverParams, *, backend: Any = None, ns: Namespace | None = None, log: Any = None,
        on_progress: Callable[[float], None] | None = None) -> Result:
    backend, opened = open_backend_for(backend)
    ns = (ns or Namespace(new_session_id())).for_lab("patterns-crossover")
    trace = make_trace(TraceSpec(requests=params.reads, entities=params.entities, write_fraction=0.0,
                                 zipf_alpha=params.zipf_alpha, seed=params.seed))
    seed_path = ensure_seeded(default_db_path()).path
    db = PrimaryDB.open_private_copy(seed_path)
    rows = []
    gc_was_enabled = gc.isenabled()
    try:
        NoCache(backend.client, db, ns).read(int(trace.entity.iloc[0]))  # warm SQLite's page cache
        for e in trace.entity.unique():
            db.get("users", int(e))
        gc.disable()  # as timeit does: a collector pause inside a loop is not the cache's cost
        for i, lat in enumerate(LATENCIES_MS):
            db.latency, db.rng = LatencyModel(rtt_ms=lat, query_ms=0.0, jitter_ms=0.0, tail_sigma=0.0), random.Random(0)
            means = {}
            for strategy in (NoCache(backend.client, db, ns), CacheAside(backend.client, db, ns, ttl_s=300)):
                backend.client.delete(*[strategy.key(e) for e in trace.entity.unique()])
                ops = [strategy.read(int(e)) for e in trace.entity]
                means[strategy.name] = float(np.mean([op.total_ns for op in ops])) / 1000
                if strategy.name == "cache-aside":
                    means["hit_ratio"] = float(np.mean([bool(op.hit) for op in ops]))
            rows.append({"db_latency_ms": lat, "no_cache_us": means["no cache"], "cache_aside_us": means["cache-aside"],
                         "speedup": means["no cache"] / means["cache-aside"], "hit_ratio": means["hit_ratio"]})
            if on_progress:
                on_progress((i + 1) / len(LATENCIES_MS))
        for e in trace.entity.unique():
            backend.client.delete(ns.key(f"user:{e}"))
    finally:
        if gc_was_enabled:
            gc.enable()
        db.close()
        for b in opened:
            b.close()
    sweep = pd.DataFrame(rows)
    cross = crossing_point(sweep.db_latency_ms.to_numpy(), sweep.speedup.to_numpy())
    metrics = {"crossover_ms": cross, "speedup_at_0ms": float(sweep.speedup.iloc[0]),
               "speedup_at_50ms": float(sweep.speedup.iloc[-1]), "hit_ratio": float(sweep.hit_ratio.mean())}
    notes = [f"Measured on the {backend.kind} backend ({backend.caps.server_label}): Redis and SQLite times are real; "
             "the database latency on the x axis is SIMULATED and added to each database call.",
             "Below the crossing point a cache hit costs more than the database call it saves."]
    return Result(metrics, {"sweep": sweep}, notes)
