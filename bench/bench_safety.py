"""What the per-learner limits cost: GET round trips through the plain client and through the learner's
guarded client (token bucket, size caps, key count), side by side on the same private server, in one run.

The guard sits inside every timed call a lab makes on a shared server, so its cost must stay far below a
round trip (or the lab would distort the latencies it teaches with).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labs.core.metrics import percentiles  # noqa: E402
from labs.core.namespace import Namespace, new_session_id  # noqa: E402
from labs.core.safety import LearnerGuard, limit_client  # noqa: E402
from labs.core.servers import PrivateServer  # noqa: E402

N = 5_000


def timed(fn, n: int = N) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        out.append(time.perf_counter_ns() - t)
    return out


def main() -> None:
    server = PrivateServer(maxmemory="32mb").start()
    try:
        raw = server.client()
        ns = Namespace(new_session_id())
        guard = LearnerGuard(ns)
        guarded = limit_client(raw, guard)
        key = ns.key("bench")
        raw.set(key, "x" * 100, ex=60)
        for _ in range(500):  # warm both paths
            raw.get(key), guarded.get(key)
        rows: dict[str, list[float]] = {}
        pairs = {"GET": (lambda: raw.get(key), lambda: guarded.get(key)),
                 "SET": (lambda: raw.set(key, "y" * 100, ex=60), lambda: guarded.set(key, "y" * 100, ex=60))}
        for _ in range(2 * N):  # call by call, alternating: the machine's noise hits both paths alike
            for op, (plain, guarded_call) in pairs.items():
                for name, fn in ((f"plain {op}", plain), (f"guarded {op}", guarded_call)):
                    t = time.perf_counter_ns()
                    fn()
                    rows.setdefault(name, []).append(time.perf_counter_ns() - t)
        check = timed(lambda: guard.check(("GET", key)), 20_000)
        p = {k: percentiles(v, (50, 95)) for k, v in rows.items()}
        print(f"per-learner guard on a private {server.binary.name}, {2 * N} calls each, alternating (median / p95):")
        for name in ("plain GET", "guarded GET", "plain SET", "guarded SET"):
            print(f"  {name:12} {p[name]['p50'] / 1000:6.1f} µs / {p[name]['p95'] / 1000:6.1f} µs")
        print(f"  guard.check alone: median {percentiles(check, (50,))['p50'] / 1000:.2f} µs")
        print(f"  ratio guarded/plain GET median: {p['guarded GET']['p50'] / p['plain GET']['p50']:.3f}; "
              f"SET: {p['guarded SET']['p50'] / p['plain SET']['p50']:.3f}")
        raw.delete(key)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
