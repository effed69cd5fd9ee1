"""Where a learner's run happens: a worker process, the app's cache, or the script thread.

* **Deterministic simulations** (:data:`SIMULATIONS`: a virtual clock and a fixed seed, no server — the
  eviction curves, the stampede and expiry simulations, the lease planner…) give the same result for the
  same parameters and code, so a result computed for one learner serves every learner of the app process
  who asks for the same parameters (``st.cache_data``, keyed by experiment, parameters and a hash of the
  lab's code and data). The page then says so: "served from the app's cache — computed N s ago". Which
  experiments qualify is checked by a test that runs each twice on a backend that refuses every command.
* **Measured experiments are never served from a cache**: they run again, on the learner's backend. The
  ones whose work is CPU (:data:`POOLED`: a tenth of a second of CPU or more at their defaults, measured
  headless here) run in the worker pool (``ui.pool``) when the backend is one a worker can reach by URL
  (embedded, live), so the room's heavy runs use every core. The rest stay in the script thread: recipes
  that cost a few milliseconds (in a pool they would queue behind the heavy runs: measured, the median run
  of a 30-learner room tripled when every recipe went to the pool), runs that mostly wait on real time
  (sleeps, BLPOP, real expiry: they hold no GIL while waiting, but would hold a worker), the sandbox (a
  FakeServer lives in this process) and the semantic cache (its model is loaded once, in this process).
* ``LAB_POOL_WORKERS=0`` turns the pool off: everything runs in the script thread.
"""
from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from labs import load_all
from labs.core.errors import BackendError
from labs.core.experiment import Result
from ui.pool import Cancelled, Job, Target, WorkerDied, WorkerPool, default_workers

ROOT = Path(__file__).resolve().parent.parent

SIMULATIONS = frozenset({
    "eviction-compare", "eviction-mrc", "eviction-test-lru", "lfu-counter", "lease-planner", "expiry-jitter", "stampede-sim", "xfetch-probability", "invalidation-staleness", "negative-caching",
})
# CPU seconds at the defaults, headless on the embedded server (one run, 2-core machine): patterns-compare 0.59,
# patterns-crossover 0.53, patterns-crash 0.09, eviction-fidelity 5.9, memory-calibration 5.8, memory-by-encoding
# 0.12, stampede-real 0.20, active-expiry 0.21. Everything else measured below 0.07 s of CPU, or waits on real time.
POOLED = frozenset({"patterns-compare", "patterns-crossover", "patterns-crash", "eviction-fidelity",
                    "memory-calibration", "memory-by-encoding", "stampede-real", "active-expiry"})
POOLED_KINDS = ("embedded", "live")

_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def worker_pool() -> WorkerPool | None:
    """The app process's pool (started on first use, stopped at exit), or None when ``LAB_POOL_WORKERS=0`` or
    when its workers cannot start (then every run happens in the app process, as without a pool).

    One per process, not a Streamlit cache entry: clearing the caches must not restart the workers."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = default_workers()
            if workers == 0:
                return None
            _pool = WorkerPool(workers)
            atexit.register(_pool.shutdown)
        return None if _pool.broken else _pool


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the labs' code and the seed data: a cached simulation is only served by the code that made it."""
    digest = hashlib.sha256()
    for path in sorted([*ROOT.joinpath("labs").rglob("*.py"), *ROOT.joinpath("data").glob("*.csv")]):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _params_json(params: Any) -> str:
    return json.dumps(dataclasses.asdict(params), sort_keys=True, default=str)


def _target(backend: Any) -> Target | None:
    """Where a worker should connect for ``backend``, or None when it cannot (the sandbox, no URL)."""
    if backend is None or backend.kind not in POOLED_KINDS:
        return None
    if backend.kind == "embedded":
        url = backend.server.url if backend.server is not None else ""
    else:
        url = st.session_state.get("live_url", "")
    return Target(backend.kind, url, backend.caps, backend.label) if url else None


def _await(pool: WorkerPool, job: Job, on_progress: Callable[[float, str], None] | None) -> Any:
    """Submit ``job`` and wait, passing progress on; if the script is stopped meanwhile (Cancel, or any click
    while a progress bar shows), the job is cancelled. Returns the Outcome or raises as the run would have."""
    handle = pool.submit(job)
    try:
        shown = None
        while not handle.wait(0.1):
            if on_progress is not None and handle.progress is not None and handle.progress != shown:
                shown = handle.progress
                on_progress(*shown)  # Streamlit raises here when the learner clicked Cancel
    finally:
        if not handle.done():
            handle.cancel()
    try:
        outcome = handle.outcome()
    except WorkerDied as exc:
        raise BackendError(str(exc), reason="worker") from None
    except Cancelled:
        raise BackendError("The run was cancelled.", "Press Run to start it again.", reason="cancelled") from None
    if outcome.error is not None:
        kind, message, hint = outcome.error
        if kind == "value":
            raise ValueError(message)
        if kind == "backend":
            raise BackendError(message, hint)
        raise RuntimeError(f"{message}\n\nIn the worker process:\n{hint}")
    return outcome


def _in_pool(name: str, params: Any, backend: Any, ns: Any, log: Any,
             on_progress: Callable[[float, str], None] | None, guard: Any) -> Result | None:
    """Run a measured experiment in a worker; None when it must run here instead."""
    target = _target(backend) if name in POOLED else None
    pool = worker_pool() if target is not None else None
    if pool is None:
        return None
    job = Job(name, params, target, ns, guard.limits, guard.bucket.tokens, frozenset(guard._keys),  # noqa: SLF001
              progress=on_progress is not None)
    outcome = _await(pool, job, on_progress)
    guard.bucket.take(min(outcome.tokens_used, int(guard.bucket.tokens)))  # the worker's commands count here too
    guard._keys.update(outcome.keys)  # noqa: SLF001
    if log is not None:
        for record in outcome.commands:
            log.add(record)
    return outcome.result


@st.cache_data(max_entries=256, show_spinner=False)
def _simulate(name: str, params_json: str, version: str, kwargs: dict) -> tuple[Result, float]:
    """One simulation's Result and when it was computed (epoch s); cached per name, parameters and code."""
    params = load_all()[name].params_cls(**json.loads(params_json))
    pool = worker_pool()
    if pool is None:
        result = load_all()[name].run(params, backend=None, ns=None, log=None, **kwargs)
    else:
        result = _await(pool, Job(name, params, kwargs=kwargs), None).result
    return result, time.time()


def simulate(name: str, params: Any, **kwargs: Any) -> Result:
    """A deterministic simulation's Result, from the app's cache when any learner already ran these parameters."""
    started = time.time()
    result, computed_at = _simulate(name, _params_json(params), code_version(), kwargs)
    if computed_at < started:  # not computed by this call: say where it came from
        age = max(1, round(time.time() - computed_at))
        note = (f"Served from the app's cache — computed {age:,} s ago for these exact parameters (a simulation "
                "with a fixed seed gives the same result every time; measured experiments always run again).")
        result = dataclasses.replace(result, notes=[*result.notes, note])
    return result


def run_experiment(name: str, params: Any, backend: Any, *, ns: Any, log: Any, guard: Any,
                   on_progress: Callable[[float, str], None] | None = None) -> Result:
    """Run ``name`` for this learner: the app's cache for a simulation, a worker for a measured experiment on
    a shared backend, else the script thread. Raises ValueError / BackendError / redis errors as ``run`` does."""
    if name in SIMULATIONS:
        return simulate(name, params)
    result = _in_pool(name, params, backend, ns, log, on_progress, guard)
    if result is not None:
        return result
    extra = {"on_progress": on_progress} if on_progress is not None else {}
    return load_all()[name].run(params, backend=backend, ns=ns, log=log, **extra)
