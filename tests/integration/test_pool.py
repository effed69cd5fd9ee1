"""The worker pool (ui/pool.py) and where runs go (ui/runner.py), against a real embedded server.

* measured experiments run in worker processes, in the learner's namespace, limited by the learner's guard
  (what the workers spend is charged back), and hand back the commands they sent;
* Cancel stops a run at its next progress update, or stops a worker that reports none;
* a worker that dies fails only its job, with a message a learner can act on, and is replaced;
* every experiment the runner serves from the app's cache is a deterministic simulation: it runs twice on a
  backend that refuses every command and gives the same result.
"""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from labs import load_all
from labs.core.backends import Backend, Capabilities, open_embedded
from labs.core.errors import BackendError
from labs.core.namespace import Namespace, new_session_id
from labs.core.safety import SafetyLimits
from ui.pool import Cancelled, Job, Target, WorkerDied, WorkerPool
from ui.runner import SIMULATIONS, _await

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedded():
    backend = open_embedded(maxmemory="64mb")
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def pool():
    p = WorkerPool(2)
    assert p.ready(90), p.broken
    yield p
    p.shutdown()


def _target(backend) -> Target:
    return Target("embedded", backend.server.url, backend.caps, backend.label)


def _job(name: str, backend, params: dict | None = None, **kw) -> Job:
    exp = load_all()[name]
    return Job(name, exp.params_cls(**(params or {})), _target(backend), Namespace(new_session_id()), **kw)


def test_runs_go_to_worker_processes_in_the_learners_namespace(pool, embedded):
    limits = SafetyLimits()
    jobs = [_job("patterns-compare", embedded, limits=limits, tokens=limits.burst) for _ in range(2)]
    handles = [pool.submit(j) for j in jobs]
    outcomes = [h.outcome(120) for h in handles]
    assert {o.worker_pid for o in outcomes} <= set(pool.pids()) and os.getpid() not in {o.worker_pid for o in outcomes}
    for job, outcome in zip(jobs, outcomes):
        assert outcome.error is None and set(outcome.result.frames["summary"].strategy) >= {"cache-aside"}
        assert outcome.tokens_used > 1000 and outcome.commands          # charged back, and "what Redis saw"
        assert outcome.keys and all(k.startswith(job.ns.learner_prefix) for k in outcome.keys)
    client = embedded.server.client()
    written = list(client.scan_iter(match=jobs[0].ns.learner_prefix + "*", count=1000))
    assert written and all(client.ttl(k) > 0 for k in written)


def test_the_learners_limits_hold_in_a_worker(pool, embedded):
    """A session whose bucket is nearly empty is refused in the worker with the same words as in the app."""
    job = _job("patterns-compare", embedded, limits=SafetyLimits(rate_per_s=1, burst=100_000), tokens=50)
    outcome = pool.submit(job).outcome(60)
    assert outcome.error[0] == "backend" and "faster than this shared server allows" in outcome.error[1]


def test_cancel_stops_a_run_at_its_next_progress_update(pool, embedded):
    handle = pool.submit(_job("patterns-crash", embedded, {"writes": 5000, "crash_after": 5000},
                              progress=True))   # reports progress at every one of its 5,000 writes
    deadline = time.monotonic() + 60
    while handle.progress is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert handle.progress is not None, "no progress reported"
    replaced = pool.replaced
    handle.cancel()
    with pytest.raises(Cancelled):
        handle.outcome(10)
    assert pool.replaced == replaced                                   # stopped cooperatively, worker kept


def test_a_run_that_reports_no_progress_is_cancelled_by_stopping_its_worker(pool, embedded):
    handle = pool.submit(_job("patterns-compare", embedded, {"requests": 20_000}))   # ~10 s, no progress asked
    time.sleep(0.3)
    replaced = pool.replaced
    handle.cancel()
    with pytest.raises(Cancelled):
        handle.outcome(15)
    assert pool.replaced == replaced + 1 and pool.ready(60)


def test_a_dead_worker_fails_only_its_job_and_the_pool_recovers(pool, embedded):
    doomed = pool.submit(_job("eviction-fidelity", embedded, progress=True))
    while not doomed.worker_pid:
        time.sleep(0.05)
    os.kill(doomed.worker_pid, signal.SIGKILL)
    with pytest.raises(WorkerDied, match="killed"):
        doomed.outcome(15)
    assert pool.ready(60) and doomed.worker_pid not in pool.pids()
    assert pool.submit(_job("patterns-crossover", embedded)).outcome(60).error is None


def test_the_page_gets_a_message_it_can_show_when_its_worker_dies(pool, embedded):
    """What ui.recipes shows (a BackendError's message), not a traceback; and the next run works."""
    def kill_my_worker(_done: float, _text: str) -> None:
        for pid in pool.pids():
            if any(h.worker_pid == pid for h in _running(pool)):
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(BackendError, match="stopped before it finished.*run it again"):
        _await(pool, _job("eviction-fidelity", embedded, progress=True), kill_my_worker)
    assert pool.ready(60)
    assert _await(pool, _job("patterns-crossover", embedded), None).result is not None


def _running(pool: WorkerPool) -> list:
    return [w.handle for w in pool._workers if w.handle is not None]  # noqa: SLF001 — the test finds the busy worker


class _Refuses:
    def __getattr__(self, name):
        raise AssertionError(f"a simulation touched the backend ({name})")


@pytest.mark.parametrize("name", sorted(SIMULATIONS))
def test_what_the_app_caches_is_a_deterministic_simulation(name):
    """Same params, same result, without a single command to a server: safe to serve from the app's cache."""
    refusing = Backend("embedded", _Refuses(), Capabilities(kind="embedded", server="none", version="0"), "none")
    exp = load_all()[name]
    first, second = (json.dumps(exp.run(exp.params_cls(), backend=refusing, ns=None, log=None).to_json(),
                                sort_keys=True, default=str) for _ in range(2))
    assert first == second


def test_workers_that_cannot_start_make_the_app_run_experiments_itself(monkeypatch):
    """A broken install (here: no Python to start) must not loop forever or lose runs: after three failed
    starts the pool gives up, says why, and the runner falls back to the app process."""
    import sys

    import ui.runner as runner

    monkeypatch.setattr(sys, "executable", "/bin/false")
    broken = WorkerPool(1)
    deadline = time.monotonic() + 30
    while not broken.broken and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "do not start" in broken.broken and broken.replaced == 3
    with pytest.raises(WorkerDied, match="do not start"):
        broken.submit(Job("lfu-counter", load_all()["lfu-counter"].params_cls())).outcome(5)
    monkeypatch.setattr(runner, "_pool", broken)
    assert runner.worker_pool() is None
    broken.shutdown()


def test_what_goes_to_the_pool_and_to_the_cache_are_registered_experiments():
    from ui.runner import POOLED

    names = set(load_all())
    assert POOLED <= names and SIMULATIONS <= names and not POOLED & SIMULATIONS
