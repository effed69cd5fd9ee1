"""A pool of worker processes that run experiments, so one app process uses every core of the machine.

Why: one Streamlit process runs every session's script on threads under one GIL. Measured here (issue 16):
"Compare the caching patterns" took 3.3 s alone and 19 s each when six learners clicked at once — the room
was served one run at a time. A worker process has its own interpreter, so N workers run N experiments at
once.

What runs here: experiments whose backend a worker can reach by URL — the embedded server (a real server on
127.0.0.1) and a live server. The sandbox stays in the script thread: a fakeredis ``FakeServer`` lives in one
process's memory. Neither this module nor ``ui.worker`` (what runs inside a worker) imports Streamlit;
``ui.runner`` decides what runs where.

How:

* ``workers`` processes (default: the machine's cores), each a fresh ``python`` (forking a process that runs
  threads is unsafe, and multiprocessing's *spawn* re-imports the app's main module) talking to the app over a
  socket pair, each importing the labs once and keeping one client per server between jobs, so a job costs
  no connection set-up;
* a :class:`Job` carries the experiment, its params, where to connect (:class:`Target`: kind, URL,
  capabilities, label), the learner's namespace, and the learner's limits (``labs.core.safety``: the tokens
  left in their bucket and the keys they hold) — a run in a worker is limited exactly like one in the script
  thread, and the tokens it spent are charged back to the learner's session;
* the worker returns the :class:`Outcome`: the Result, the commands it sent ("What Redis saw"), the tokens
  spent, or an error as (kind, message, hint) — exceptions are turned into words in the worker, never
  pickled across;
* progress: the worker sends (fraction, text) at most every 0.1 s; **Cancel** sends the worker a message,
  which its next progress update turns into a stop; a run that does not stop within ``CANCEL_GRACE_S`` (one that
  never reports progress) is ended by stopping its worker — anything it started dies with it (private
  servers are tied to their parent process, ``labs.core.servers``) — and a new worker takes its place;
* a worker that dies (killed, out of memory, a crash inside C code) fails only its own job with
  :class:`WorkerDied`, whose message a learner can act on, and is replaced at once.

Workers exit when the app process does: at a normal exit (``shutdown``), and when the app is killed (the
kernel's parent-death signal on Linux, and their socket to it closing).
"""
from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_any
from pathlib import Path
from typing import Callable

from ui.worker import Cancelled, Job, Outcome, Target

ROOT = Path(__file__).resolve().parent.parent
CANCEL_GRACE_S = 2.0
__all__ = ["Cancelled", "Handle", "Job", "Outcome", "Target", "WorkerDied", "WorkerPool", "default_workers"]


class WorkerDied(RuntimeError):
    """The worker process running this job ended before it answered (its job is lost, the pool recovers)."""


class Handle:
    """A submitted job: its latest progress, a way to cancel it, and its outcome once done."""

    def __init__(self, job_id: int, job: Job) -> None:
        self.id, self.job = job_id, job
        self.progress: tuple[float, str] | None = None
        self.cancel_requested_at: float | None = None
        self._done = threading.Event()
        self._outcome: Outcome | None = None
        self._error: BaseException | None = None
        self.worker_pid = 0
        self._wake: Callable[[], None] = lambda: None

    def cancel(self) -> None:
        if self.cancel_requested_at is None:
            self.cancel_requested_at = time.monotonic()
            self._wake()  # the dispatcher passes it on at once

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def outcome(self, timeout: float | None = None) -> Outcome:
        """The outcome; raises :class:`WorkerDied` or :class:`Cancelled` if the job did not finish."""
        if not self._done.wait(timeout):
            raise TimeoutError("the job is still running")
        if self._error is not None:
            raise self._error
        return self._outcome

    def _finish(self, outcome: Outcome | None = None, error: BaseException | None = None) -> None:
        self._outcome, self._error = outcome, error
        self._done.set()


# --------------------------------------------------------------------------- the pool, in the app process
@dataclass
class _Worker:
    proc: subprocess.Popen
    conn: Connection
    ready: bool = False
    handle: Handle | None = None
    cancel_sent: bool = False


class WorkerPool:
    """``workers`` processes and one dispatcher thread; :meth:`submit` queues a job, returns its Handle.

    Workers are started (and replaced) by the dispatcher thread only, so the kernel's parent-death signal
    is tied to a thread that lives as long as the pool. If new workers keep dying before they are ready
    (a broken install), the pool gives up: ``broken`` says why, and submitted jobs fail with WorkerDied."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self.size = workers
        self._queue: deque[Handle] = deque()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._ids = itertools.count(1)
        self._closed = False
        self._workers: list[_Worker] = []
        self.replaced = 0            # workers that died or were stopped, and were replaced
        self.broken = ""             # why the pool gave up, if it did
        self._failed_starts = 0
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._dispatch, name="lab-pool-dispatcher", daemon=True)
        self._thread.start()
        self._started.wait(30)

    # -- public
    def submit(self, job: Job) -> Handle:
        handle = Handle(next(self._ids), job)
        handle._wake = self._wake
        if self._closed or self.broken:
            handle._finish(error=WorkerDied(self.broken or "The app is shutting down; the run was not started."))
            return handle
        with self._lock:
            self._queue.append(handle)
        self._wake()
        return handle

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers]

    def ready(self, timeout: float = 60.0) -> bool:
        """Wait until every worker has loaded the labs (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.broken or all(w.ready for w in list(self._workers)) and len(self._workers) == self.size:
                return not self.broken
            time.sleep(0.05)
        return False

    def busy(self) -> int:
        return sum(1 for w in self._workers if w.handle is not None)

    def queued(self) -> int:
        return len(self._queue)

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop every worker (jobs still queued or running fail with WorkerDied)."""
        if self._closed:
            return
        self._closed = True
        self._wake()
        self._thread.join(timeout)

    # -- inside (the dispatcher thread)
    def _wake(self) -> None:
        try:
            self._wake_w.send(b"!")
        except OSError:
            pass

    def _start_worker(self) -> _Worker:
        mine, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        code = f"from ui.worker import worker_main; worker_main({theirs.fileno()}, {os.getpid()})"
        proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),), cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL)
        theirs.close()
        return _Worker(proc, Connection(mine.detach()))

    def _stop_worker(self, w: _Worker) -> None:
        try:
            w.conn.send(None)
        except (OSError, ValueError):
            pass
        try:
            w.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait(2.0)
        w.conn.close()

    def _replace(self, w: _Worker, error: BaseException) -> None:
        if w.proc.poll() is None:
            w.proc.kill()
        w.proc.wait(2.0)
        w.conn.close()
        if w.handle is not None:
            w.handle._finish(error=error)
        if not w.ready:
            self._failed_starts += 1
        self.replaced += 1
        index = self._workers.index(w)
        if self._failed_starts >= 3:
            self.broken = (f"The app's worker processes do not start (exit code {w.proc.returncode}); "
                           "experiments run in the app process instead.")
            self._workers.pop(index)
            return
        self._workers[index] = self._start_worker()

    def _assign(self) -> None:
        for w in self._workers:
            if w.handle is not None or not w.ready:
                continue
            with self._lock:
                if not self._queue:
                    return
                handle = self._queue.popleft()
            if handle.cancel_requested_at is not None:
                handle._finish(error=Cancelled())
                continue
            try:
                w.conn.send(("run", handle.id, handle.job))
            except (OSError, ValueError):
                with self._lock:
                    self._queue.appendleft(handle)
                self._replace(w, WorkerDied("A worker process was gone."))
                continue
            w.handle, w.cancel_sent, handle.worker_pid = handle, False, w.proc.pid

    def _cancels(self) -> None:
        now = time.monotonic()
        for w in list(self._workers):
            h = w.handle
            if h is None or h.cancel_requested_at is None:
                continue
            if not w.cancel_sent:
                w.cancel_sent = True
                try:
                    w.conn.send(("cancel", h.id))
                except (OSError, ValueError):
                    pass
            if now - h.cancel_requested_at > CANCEL_GRACE_S:  # it reports no progress: stop its worker
                self._replace(w, Cancelled())

    def _dispatch(self) -> None:
        self._workers = [self._start_worker() for _ in range(self.size)]
        self._started.set()
        try:
            while not self._closed and self._workers:
                self._assign()
                self._cancels()
                by_conn = {w.conn: w for w in self._workers}
                for ready in wait_any([self._wake_r, *by_conn], timeout=0.2):
                    if ready is self._wake_r:
                        try:
                            while self._wake_r.recv(512):
                                pass
                        except OSError:
                            pass
                        continue
                    w = by_conn[ready]
                    if w in self._workers:
                        self._receive(w)
            if self.broken:
                self._fail_queue(self.broken)
        finally:
            for w in self._workers:
                self._stop_worker(w)
                if w.handle is not None:
                    w.handle._finish(error=WorkerDied("The app is shutting down; the run was stopped."))
            self._fail_queue("The app is shutting down; the run was not started.")

    def _fail_queue(self, why: str) -> None:
        with self._lock:
            waiting, self._queue = list(self._queue), deque()
        for handle in waiting:
            handle._finish(error=WorkerDied(why))

    def _receive(self, w: _Worker) -> None:
        try:
            while w.conn.poll():
                kind, job_id, *rest = w.conn.recv()
                if kind == "ready":
                    w.ready, self._failed_starts = True, 0
                    continue
                h = w.handle
                if h is None or h.id != job_id:
                    continue
                if kind == "progress":
                    h.progress = (rest[0], rest[1])
                elif kind == "done":
                    outcome: Outcome = rest[0]
                    w.handle = None
                    if outcome.error and outcome.error[0] == "cancelled":
                        h._finish(error=Cancelled())
                    else:
                        h._finish(outcome)
        except (EOFError, OSError):
            w.proc.poll()
            self._replace(w, WorkerDied(_died_message(w)))


def _died_message(w: _Worker) -> str:
    try:
        w.proc.wait(1.0)
    except subprocess.TimeoutExpired:
        pass
    code = w.proc.returncode
    how = f"it was killed (signal {-code})" if code is not None and code < 0 else f"it exited (code {code})"
    return (f"The worker process running this experiment stopped before it finished: {how} — for example "
            "the machine ran out of memory. Nothing of yours was lost; the app started a new worker: run it again.")


def default_workers() -> int:
    """``$LAB_POOL_WORKERS`` if set (0 = no pool), else the cores this process may use."""
    configured = os.environ.get("LAB_POOL_WORKERS", "").strip()
    if configured:
        try:
            return max(0, int(configured))
        except ValueError:
            pass
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1
