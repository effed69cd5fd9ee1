"""What runs inside a worker process of the pool (``ui.pool``): one job at a time, on a limited, logged client.

A worker is a fresh ``python`` started by the pool; it imports the labs once (never Streamlit) and keeps one
client per server between jobs. A :class:`Job` carries the experiment, its params, where to connect
(:class:`Target`), the learner's namespace and limits (``labs.core.safety``: the tokens left in their bucket
and the keys they hold), so a run here is limited exactly like one in the app's script thread. The
:class:`Outcome` goes back with the Result, the commands sent ("What Redis saw"), the tokens spent, or the
error in words — exceptions are described here, never pickled across. Between two progress updates the worker
looks for a cancel message; the kernel's parent-death signal ends it with the app. Workers run at a lower CPU
priority (nice 5) than the app process, so drawing a page is not queued behind a long experiment.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
import signal
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Callable

PROGRESS_EVERY_S = 0.1


class Cancelled(BaseException):
    """The learner cancelled the run (raised in the worker at a progress update, and by ``Handle.outcome``).

    A BaseException, like Streamlit's own stop: an experiment's ``except Exception`` must not swallow it."""


@dataclass(frozen=True)
class Target:
    """Where a worker connects: the backend's kind, its URL, and what the app already knows of it."""

    kind: str                  # "embedded" or "live"
    url: str
    caps: Any                  # labs.core.backends.Capabilities (a frozen dataclass)
    label: str


@dataclass(frozen=True)
class Job:
    experiment: str
    params: Any
    target: Target | None = None        # None: the experiment opens what it needs (e.g. a private server)
    ns: Any = None                      # labs.core.namespace.Namespace
    limits: Any = None                  # labs.core.safety.SafetyLimits, or None: no learner limits
    tokens: float = 0.0                 # what is left in the learner's token bucket
    keys: frozenset[str] = frozenset()  # keys the learner's session knows it created
    progress: bool = False              # pass on_progress to the experiment
    kwargs: dict = field(default_factory=dict)  # more keyword arguments for ``run`` (e.g. the planner's prices)


@dataclass
class Outcome:
    result: Any = None
    commands: list = field(default_factory=list)   # labs.core.metrics.CommandRecord, oldest first
    tokens_used: int = 0
    keys: frozenset[str] = frozenset()
    error: tuple[str, str, str] | None = None       # (kind, message, hint): "value", "backend", "cancelled", "crash"
    worker_pid: int = 0
    seconds: float = 0.0


def _connect(target: Target, cache: dict) -> Any:
    """The worker's backend for ``target`` (one per server, reused between jobs)."""
    from labs.core.backends import Backend, guard_shared, open_live
    from labs.core.servers import fail_fast_options

    key = (target.kind, target.url)
    if key not in cache:
        if target.kind == "live":
            cache[key] = open_live(target.url)
        else:  # the embedded server: the app owns it; the worker only connects
            import redis

            client = redis.Redis.from_url(target.url, **fail_fast_options())
            client = guard_shared(client, "the embedded server every learner of this app shares")
            cache[key] = Backend(target.kind, client, target.caps, target.label)
    return cache[key]


def run_job(job: Job, cache: dict, on_progress: Callable[[float, str], None] | None = None) -> Outcome:
    """Run one job in this process (a worker, or a test): the experiment on a limited, logged client."""
    from labs import load_all
    from labs.core.backends import for_learner
    from labs.core.metrics import CommandLog, instrument
    from labs.core.safety import LearnerGuard

    exp = load_all()[job.experiment]
    backend, guard, log = None, None, CommandLog(maxlen=200)
    if job.target is not None:
        backend = _connect(job.target, cache)
        if job.limits is not None and job.ns is not None:
            guard = LearnerGuard(job.ns, job.limits)
            guard.bucket.take(max(0, int(job.limits.burst - job.tokens)))  # start where the session's bucket is
            guard._keys = set(job.keys)  # noqa: SLF001 — the session's key count carries into this run
            check, sent = guard.check, [0]

            def counted(args: tuple, counter: Any = None) -> None:
                check(args, counter)
                sent[0] += 1

            guard.check = counted
            backend = for_learner(backend, guard)
        backend = dataclasses.replace(backend, client=instrument(backend.client, log))
    kwargs: dict[str, Any] = {**job.kwargs, "backend": backend, "ns": job.ns, "log": log}
    if job.progress and on_progress is not None and "on_progress" in inspect.signature(exp.run).parameters:
        kwargs["on_progress"] = on_progress
    start = time.perf_counter()
    outcome = Outcome(worker_pid=os.getpid())
    try:
        outcome.result = exp.run(job.params, **kwargs)
    except Cancelled:
        outcome.error = ("cancelled", "The run was cancelled.", "")
    except ValueError as exc:
        outcome.error = ("value", str(exc), "")
    except Exception as exc:  # noqa: BLE001 — every failure goes back as words, never as a pickled exception
        outcome.error = _describe(exc, backend)
    outcome.seconds = time.perf_counter() - start
    outcome.commands = log.records()
    if guard is not None:
        outcome.tokens_used = sent[0]
        outcome.keys = frozenset(guard._keys)  # noqa: SLF001
    return outcome


def _describe(exc: BaseException, backend: Any) -> tuple[str, str, str]:
    import redis

    from labs.core.backends import classify_error
    from labs.core.errors import BackendError

    if isinstance(exc, BackendError):
        return ("backend", exc.message, exc.hint)
    if isinstance(exc, (redis.RedisError, OSError)):
        err = classify_error(exc, backend.label if backend is not None else "the server")
        return ("backend", err.message, err.hint)
    return ("crash", f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=20))


def _die_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the thread that started this worker ends (the pool's dispatcher thread,
    which lives as long as the app); elsewhere the closed pipe ends the worker at its next read."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 — not Linux
        return
    if os.getppid() != parent:  # the app died before prctl took effect
        os._exit(1)


def worker_main(fd: int, parent: int) -> None:
    """A worker's loop: receive (job id, job), send progress and the outcome; exit on None or a closed pipe.

    Between two progress updates the worker looks for a ("cancel", id) message: Cancel stops the run there."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the app's to handle; it stops the workers
    _die_with_parent(parent)
    try:
        os.nice(5)  # a page a learner waits for (the app process) goes before a long experiment
    except (AttributeError, OSError):
        pass
    conn = Connection(fd)
    from labs import load_all

    load_all()
    conn.send(("ready", 0, os.getpid()))
    cache: dict = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "cancel":
            continue  # for a job that already ended
        _, job_id, job = message
        last = [0.0]

        def progress(done: float, text: str = "", job_id: int = job_id) -> None:
            while conn.poll():
                if conn.recv() == ("cancel", job_id):
                    raise Cancelled()
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or done >= 1.0:
                last[0] = now
                conn.send(("progress", job_id, float(done), str(text)))

        conn.send(("done", job_id, run_job(job, cache, progress)))
