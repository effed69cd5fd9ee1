"""Stampede benchmarks, side by side in one run:

1. the discrete-event simulation's speed: virtual requests simulated per wall second (target: the page's
   default, 30,000 requests × 5 strategies, in under 2 s);
2. the real-thread burst on the embedded server (N = 50, D = 100 ms): DB recomputes per strategy and the
   burst's wall time as a multiple of D (target: single-flight ≤ 3 × D — waiters poll every 5 ms, so
   the lock costs little beyond the one rebuild).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.core.backends import open_embedded  # noqa: E402
from labs.core.namespace import Namespace, new_session_id  # noqa: E402
from labs.invalidation.stampede.real import run_real  # noqa: E402
from labs.invalidation.stampede.simulate import SIM_STRATEGIES, SimSpec, simulate  # noqa: E402
from labs.invalidation.stampede.strategies import STRATEGIES  # noqa: E402


def main() -> None:
    spec = SimSpec()
    start = time.perf_counter()
    requests = sum(len(simulate(name, spec)["times"]) for name in SIM_STRATEGIES)
    wall = time.perf_counter() - start
    print(f"simulation: {requests:,} virtual requests in {wall:.2f} s wall "
          f"({requests / wall:,.0f} requests/s; target < 2 s: {'OK' if wall < 2 else 'SLOW'})")
    backend = open_embedded()
    try:
        ns = Namespace(new_session_id())
        for name in STRATEGIES:
            out = run_real(name, backend.client, ns, threads=50, recompute_ms=100)
            print(f"real burst, {name:24} recomputes {out['db_recomputes']:3}  wall {out['elapsed_s'] / 0.1:4.1f} × D  "
                  f"p99 {out['latency_p99_ms']:6.1f} ms")
    finally:
        backend.close()


if __name__ == "__main__":
    main()
