"""The first experiment: one cache-aside read that misses, then hits — measured, many times over.

Each sample deletes the learner's cached copy of ``users[user_id]``, reads it through cache-aside (a
miss: GET, database query, SET with a TTL) and reads it again (a hit: one GET). Redis and SQLite times
are measured with ``perf_counter_ns``; the database's network and query time is SIMULATED by the
latency model (a local SQLite file answers in microseconds — faster than any cache over a network — so
without the model caching would not pay, which is itself a lesson the page states).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.backends import open_backend_for
from labs.core.cache import cache_aside_read
from labs.core.db import LATENCY_PRESETS, PrimaryDB, default_db_path, ensure_seeded
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import percentiles
from labs.core.namespace import Namespace, check_ttl, new_session_id

DEFAULT_PRESET = "remote Postgres, same region"


@dataclass(frozen=True)
class FirstReadParams:
    user_id: int = knob(123, min=1, max=2000, label="user ID", help="Which user row to read (GET /user/<id>).")
    ttl_s: int = knob(60, min=1, max=3600, unit="s", label="TTL", help="How long the cached copy lives (SET … EX).")
    samples: int = knob(30, min=1, max=500, help="How many miss/hit pairs to measure.")
    db_latency: str = knob(DEFAULT_PRESET, choices=tuple(LATENCY_PRESETS), label="database latency",
                           help="Simulated network + query time of the primary database.")
    seed: int = knob(7, min=0, max=2**31 - 1, help="Seed of the simulated latency (same seed, same draws).")

    def __post_init__(self) -> None:
        check_ranges(self)
        check_ttl(self.ttl_s)


def _us(ns: int) -> float:
    return ns / 1_000


FIRST_READ_MEASURES = {
    "samples": measure("Miss/hit pairs", "count"),
    "hit_ratio": measure("Hit ratio", "fraction", help="Hits ÷ reads."),
    "miss_median_us": measure("First read (miss), median", "µs", headline=True,
                              help="GET + database (measured SQLite + simulated network) + SET."),
    "hit_median_us": measure("Second read (hit), median", "µs", headline=True, help="One GET, measured."),
    "hit_p95_us": measure("Hit, 95th percentile", "µs"), "miss_p95_us": measure("Miss, 95th percentile", "µs"),
    "speedup": measure("Hit faster than miss by", "×", headline=True, help="Miss median ÷ hit median."),
    "miss_measured_median_us": measure("Miss, measured part only, median", "µs",
                                       help="Without the simulated network."),
    "hit_measured_median_us": measure("Hit, measured part only, median", "µs"),
    "measured_only_ratio": measure("Miss ÷ hit, measured parts only", "×"),
    "db_only_median_us": measure("No cache at all, median", "µs", headline=True,
                                 help="The same read straight from the database: measured SQLite + simulated network."),
    "hit_vs_db_only": measure("Hit faster than no cache by", "×", help="No-cache median ÷ hit median."),
    "db_real_median_us": measure("SQLite lookup, median", "µs", help="Measured."),
    "db_simulated_median_us": measure("Simulated network and query, median", "µs", help="SIMULATED."),
    "redis_get_median_us": measure("Redis GET, median", "µs", help="Measured."),
    "db_queries": measure("Database queries", "queries", headline=True, help="One per miss; hits never touch the database."),
    "cache_errors": measure("Cache errors", "count", headline=True, help="Redis calls that failed (the read fell back)."),
    "sample": measure("Pair", "rank"), "read": measure("Read", "text"), "outcome": measure("Outcome", "text"),
    "source": measure("Answered from", "text"), "redis_get_us": measure("Redis GET", "µs"),
    "db_real_us": measure("SQLite query", "µs"), "db_simulated_us": measure("Simulated network and query", "µs"),
    "redis_set_us": measure("Redis SET", "µs"), "measured_us": measure("Measured time", "µs"),
    "total_us": measure("Total time", "µs", help="Measured + simulated."), "cache_error": measure("Cache error", "text"),
}


@register("first-read", title="Your first cache-aside read",
          summary="Read a user through the cache: the first read misses and fills it, the next one hits.",
          params=FirstReadParams, page="app_pages/home.py", measures=FIRST_READ_MEASURES)
def run(params: FirstReadParams, *, backend: Any = None, db: PrimaryDB | None = None,
        ns: Namespace | None = None, on_progress: Callable[[float], None] | None = None) -> Result:
    backend, owned = open_backend_for(backend)
    if db is None:
        seed = ensure_seeded(default_db_path())
        db = PrimaryDB.open_private_copy(seed.path, latency=LATENCY_PRESETS[params.db_latency].model,
                                         rng=random.Random(params.seed))
        owned.append(db)
    else:  # the learner's own copy: the experiment sets its latency model and seed
        db.latency, db.rng = LATENCY_PRESETS[params.db_latency].model, random.Random(params.seed)
    ns = (ns or Namespace(new_session_id())).for_lab("home")
    key = ns.key(f"user:{params.user_id}")
    client = backend.client
    rows = []
    try:
        for i in range(params.samples):
            try:
                client.delete(key)  # start cold: not timed, not part of the read
            except Exception:
                pass  # a cache that is down is handled (and reported) by the read itself
            for kind in ("first read", "second read"):
                out = cache_aside_read(client, db, "users", params.user_id, key, params.ttl_s)
                rows.append({"sample": i, "read": kind, "outcome": "hit" if out.hit else "miss",
                             "source": out.source, "redis_get_us": _us(out.redis_get_ns),
                             "db_real_us": _us(out.db_real_ns), "db_simulated_us": _us(out.db_simulated_ns),
                             "redis_set_us": _us(out.redis_set_ns), "measured_us": _us(out.measured_ns),
                             "total_us": _us(out.total_ns), "cache_error": out.cache_error or ""})
            if on_progress:
                on_progress((i + 1) / params.samples)
        if rows and rows[-1]["source"] == "cache":
            value = rows[-1]
        else:
            value = None
    finally:
        for resource in owned:
            resource.close()
    reads = pd.DataFrame(rows)
    return Result(_metrics(reads, params), {"reads": reads}, _notes(reads, params, backend, value))


def _metrics(reads: pd.DataFrame, params: FirstReadParams) -> dict[str, Any]:
    misses = reads[reads.outcome == "miss"]
    hits = reads[reads.outcome == "hit"]

    def med(frame: pd.DataFrame, col: str) -> float:
        return float(np.median(frame[col])) if len(frame) else float("nan")

    miss_total, hit_total = med(misses, "total_us"), med(hits, "total_us")
    db_only = float(np.median(misses.db_real_us + misses.db_simulated_us)) if len(misses) else float("nan")
    miss_measured, hit_measured = med(misses, "measured_us"), med(hits, "measured_us")
    return {
        "samples": params.samples,
        "hit_ratio": float(len(hits) / len(reads)) if len(reads) else float("nan"),
        "miss_median_us": miss_total,
        "hit_median_us": hit_total,
        "hit_p95_us": percentiles(hits.total_us, (95,))["p95"],
        "miss_p95_us": percentiles(misses.total_us, (95,))["p95"],
        "speedup": miss_total / hit_total if len(hits) and hit_total > 0 else float("nan"),
        "miss_measured_median_us": miss_measured,
        "hit_measured_median_us": hit_measured,
        "measured_only_ratio": miss_measured / hit_measured if len(hits) and hit_measured > 0 else float("nan"),
        "db_only_median_us": db_only,
        "hit_vs_db_only": db_only / hit_total if len(hits) and hit_total > 0 else float("nan"),
        "db_real_median_us": med(misses, "db_real_us"),
        "db_simulated_median_us": med(misses, "db_simulated_us"),
        "redis_get_median_us": med(reads, "redis_get_us"),
        "db_queries": int(len(misses)),
        "cache_errors": int((reads.cache_error != "").sum()) if len(reads) else 0,
    }


def _notes(reads: pd.DataFrame, params: FirstReadParams, backend: Any, last_hit: Any) -> list[str]:
    caps = backend.caps
    notes = [f"Measured on the {backend.kind} backend ({caps.server_label}, {backend.label}).",
             f"Database time includes SIMULATED network and query time ('{params.db_latency}': "
             f"{LATENCY_PRESETS[params.db_latency].description.rstrip('.')}); the real SQLite call is measured separately."]
    if backend.kind == "sandbox":
        notes.append("Sandbox: Redis is fakeredis inside this Python process, so 'Redis' times are "
                     "Python function calls, not network round trips.")
    if len(reads) and (reads.cache_error != "").any():
        notes.append("The cache was unreachable for some reads: they were served from the database "
                     "(cache-aside keeps working, only slower).")
    elif last_hit is None and len(reads):
        notes.append("No read hit the cache.")
    return notes
