"""The stampede for real: N threads read one hot key on a real server while the value takes D ms to rebuild.

This is a demonstration in real time with small numbers (the simulation covers the long scenarios).
The "database" is :class:`SlowSource`: a recompute really sleeps D ms (simulated query time, real waiting)
and counts how many recomputes ran and how many overlapped. The cache calls are real Redis commands
from :mod:`labs.invalidation.stampede.strategies`, with every key namespaced and carrying a TTL.

Known result (redis.io cache-aside / stampede guidance; asserted in tests/integration/test_invalidation_real.py):
with a single-flight lock, 50 concurrent readers of a just-expired key cause exactly one recompute; with
no protection, many.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from labs.core.metrics import percentiles
from labs.core.namespace import Namespace
from labs.invalidation.stampede.strategies import STRATEGIES, Read, StampedeStrategy


@dataclass
class SlowSource:
    """A database query that takes ``delay_s`` of real time; thread-safe counters of what it was asked."""

    delay_s: float
    recomputes: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self) -> str:
        with self._lock:
            self.recomputes += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            n = self.recomputes
        try:
            time.sleep(self.delay_s)
        finally:
            with self._lock:
                self.in_flight -= 1
        return f"report #{n}"


def _strategy(name: str, client: Any, ns: Namespace, source: SlowSource, **kw: Any) -> StampedeStrategy:
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    return STRATEGIES[name](client, ns.for_lab("stampede-" + name.split()[0].lower()), source, **kw)


def _run_threads(strategy: StampedeStrategy, threads: int, duration_s: float, think_s: float) -> list[Read]:
    """``threads`` readers start together (a barrier); each reads once, then again every ``think_s``
    until ``duration_s`` has passed (``duration_s = 0``: exactly one read each)."""
    barrier = threading.Barrier(threads)
    reads: list[Read] = []
    errors: list[BaseException] = []
    out_lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            end = time.monotonic() + duration_s
            mine = [strategy.read()]
            while time.monotonic() < end:
                time.sleep(think_s)
                mine.append(strategy.read())
            with out_lock:
                reads.extend(mine)
        except BaseException as exc:  # reported to the caller, not lost in a thread
            with out_lock:
                errors.append(exc)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    strategy.join_background()
    if errors:
        raise errors[0]
    return reads


def run_real(name: str, client: Any, ns: Namespace, *, threads: int = 50, recompute_ms: float = 100.0,
             ttl_ms: float = 500.0, duration_ms: float = 0.0, think_ms: float = 10.0, beta: float = 1.0,
             seed: int = 1) -> dict[str, Any]:
    """One strategy, real threads: the hot key starts just expired; returns recomputes, latencies, sources."""
    source = SlowSource(recompute_ms / 1000)
    strategy = _strategy(name, client, ns, source, ttl_s=ttl_ms / 1000, beta=beta, rng=random.Random(seed),
                         lock_ttl_s=max(1.0, 5 * recompute_ms / 1000), stale_s=max(1.0, 4 * ttl_ms / 1000))
    strategy.prepare_just_expired()
    start = time.monotonic()
    try:
        reads = _run_threads(strategy, threads, duration_ms / 1000, think_ms / 1000)
    finally:
        strategy.cleanup()
    elapsed = time.monotonic() - start
    latency = percentiles([r.latency_s * 1000 for r in reads], (50, 99))
    sources = {s: sum(r.source == s for r in reads) for s in ("hit", "recompute", "waited", "stale", "early refresh")}
    return {"strategy": name, "lock_release": getattr(strategy, "released_with", ""),
            "threads": threads, "reads": len(reads), "db_recomputes": source.recomputes,
            "max_concurrent_recomputes": source.max_in_flight, "stale_reads": sources["stale"],
            "latency_p50_ms": latency["p50"], "latency_p99_ms": latency["p99"],
            "elapsed_s": elapsed, **{f"reads_{k.replace(' ', '_')}": v for k, v in sources.items()}}
