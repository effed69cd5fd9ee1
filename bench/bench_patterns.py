"""Caching-patterns benchmarks, side by side in one run on the embedded server:

1. the lab's instrumented GET (command log + shared-server guard) against a bare redis-py GET — target
   p50 ratio ≤ 1.2: the lab must not distort what it measures;
2. a 10,000-request comparison of all four strategies — target under 5 s wall.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.core.backends import open_embedded  # noqa: E402
from labs.core.metrics import CommandLog, instrument  # noqa: E402
from labs.patterns.compare import CompareParams, run  # noqa: E402


def get_p50_us(client, key: str, n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        client.get(key)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def main() -> None:
    backend = open_embedded()
    try:
        bare = backend.server.client()
        lab = instrument(backend.client, CommandLog())  # what a page's experiment uses
        bare.set("bench:k", "v" * 100, ex=600)
        bare_p50, lab_p50 = [], []
        for _ in range(5):  # interleave rounds so machine noise hits both alike
            bare_p50.append(get_p50_us(bare, "bench:k", 2000))
            lab_p50.append(get_p50_us(lab, "bench:k", 2000))
        b, lab_m = statistics.median(bare_p50), statistics.median(lab_p50)
        print(f"GET p50: bare redis-py {b:.1f} µs, lab-instrumented {lab_m:.1f} µs → ratio {lab_m / b:.2f} (target ≤ 1.2)")
        start = time.perf_counter()
        result = run(CompareParams(requests=10_000), backend=backend)
        wall = time.perf_counter() - start
        s = result.frames["summary"].set_index("strategy")
        print(f"10,000-request comparison of {len(s)} strategies: {wall:.2f} s wall (target < 5 s; "
              f"{wall / 5:.2f} of the budget)")
        for name, row in s.iterrows():
            print(f"  {name:14} read p50 {row.read_p50_ms:7.3f} ms  p99 {row.read_p99_ms:7.3f} ms  "
                  f"hit {row.hit_ratio:5.3f}  DB queries {int(row.db_queries):6d}  stale {row.stale_reads}")
    finally:
        backend.close()


if __name__ == "__main__":
    main()
