"""Measurement: nanosecond timers, percentiles and the command log ("what Redis saw").

Every figure the lab shows as *measured* comes from ``time.perf_counter_ns`` around a real call.
The command log records the last N commands a lab sent, in redis-cli form, with reply and latency,
so a page can show exactly what the server was asked to do.
"""
from __future__ import annotations

import copy
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import numpy as np


def percentiles(values: Sequence[float] | np.ndarray, ps: Iterable[float] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., "p95": ..., "p99": ...}``; NaN for an empty sample (never a made-up zero)."""
    arr = np.asarray(values, dtype=float)
    ps = list(ps)
    if arr.size == 0:
        return {f"p{p:g}": float("nan") for p in ps}
    return {f"p{p:g}": float(v) for p, v in zip(ps, np.percentile(arr, ps))}


def format_duration_ns(ns: float) -> str:
    """Human units: 850 ns, 38.2 µs, 4.10 ms, 1.25 s."""
    if ns != ns:  # NaN
        return "n/a"
    if ns < 1_000:
        return f"{ns:.0f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.1f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


# --------------------------------------------------------------------------- command log

def _cli_arg(arg: Any) -> str:
    if isinstance(arg, bytes):
        try:
            arg = arg.decode()
        except UnicodeDecodeError:
            return repr(arg)
    text = str(arg)
    if text == "" or any(c in text for c in " \"'\n\t"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def cli_form(args: Sequence[Any], max_len: int = 160) -> str:
    """A command as a learner would type it in redis-cli, e.g. ``SET user:1 "{...}" EX 60``."""
    args = list(args)
    if args and isinstance(args[0], str) and " " in args[0] and args[0].replace(" ", "").isalpha():
        args[:1] = args[0].split()  # redis-py sends e.g. "MEMORY USAGE" as one argument
    text = " ".join(_cli_arg(a) for a in args)
    return text if len(text) <= max_len else text[: max_len - 1] + "…"


def reply_form(reply: Any, max_len: int = 120) -> str:
    """A short redis-cli style rendering of a reply."""
    if reply is None:
        text = "(nil)"
    elif isinstance(reply, bool):
        text = "OK" if reply else "(integer) 0"
    elif isinstance(reply, int):
        text = f"(integer) {reply}"
    elif isinstance(reply, bytes):
        text = _cli_arg(reply) if reply else '""'
    elif isinstance(reply, (list, tuple, set)):
        text = f"({len(reply)} items) " + ", ".join(reply_form(r, 30) for r in list(reply)[:5])
    elif isinstance(reply, dict):
        text = f"({len(reply)} fields)"
    else:
        text = str(reply)
    return text if len(text) <= max_len else text[: max_len - 1] + "…"


@dataclass(frozen=True)
class CommandRecord:
    """One command the lab sent: what, the reply (short form), how long the round trip took."""

    command: str
    reply: str
    elapsed_ns: int
    error: str | None = None


class CommandLog:
    """The last ``maxlen`` commands a lab sent (thread-safe).

    Commands are kept raw and put into redis-cli form only when read, so logging costs the timed path
    almost nothing (the lab must not distort the latencies it measures: see bench/bench_patterns.py).
    """

    def __init__(self, maxlen: int = 200) -> None:
        self._records: deque[CommandRecord | tuple] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, record: CommandRecord) -> None:
        with self._lock:
            self._records.append(record)

    def add_raw(self, args: tuple, reply: Any, elapsed_ns: int, error: str | None = None) -> None:
        """Record a command's arguments and reply as they are; formatted when read."""
        self._records.append((args, reply, elapsed_ns, error))  # deque.append is atomic

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def records(self) -> list[CommandRecord]:
        with self._lock:
            items = list(self._records)
        return [item if isinstance(item, CommandRecord) else
                CommandRecord(cli_form(item[0]), "(error)" if item[3] else reply_form(item[1]), item[2], item[3])
                for item in items]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[CommandRecord]:
        return iter(self.records())


_KEEP_OPEN: dict[type, type] = {}


def shallow_copy(client: Any) -> Any:
    """A copy of a client that shares its connections and leaves them open when it is garbage-collected.

    redis-py's ``Redis.__del__`` and ``RedisCluster.__del__`` call ``close()``: a plain ``copy.copy`` that
    goes out of scope would disconnect the shared pool — or, on a cluster, reset the shared nodes manager
    (its default node becomes None and every later command fails).
    """
    wrapped = copy.copy(client)
    cls = type(client)
    if hasattr(cls, "__del__"):
        if cls not in _KEEP_OPEN:
            _KEEP_OPEN[cls] = type(cls.__name__, (cls,), {"__del__": lambda self: None, "__module__": cls.__module__})
        wrapped.__class__ = _KEEP_OPEN[cls]
    return wrapped


def instrument_all(client: Any, *logs: CommandLog | None) -> Any:
    """:func:`instrument` into each of ``logs`` (a None is skipped: e.g. no page log in a headless run)."""
    for log in logs:
        if log is not None:
            client = instrument(client, log)
    return client


def instrument(client: Any, log: CommandLog) -> Any:
    """A shallow copy of a redis-py (or fakeredis) client whose every command is timed and logged.

    The copy shares the original's connection pool, so instrumenting per learner costs no connection.
    Pipelines are logged as one record (``MULTI … EXEC`` or ``PIPELINE …``) when they execute.
    """
    wrapped = shallow_copy(client)
    original_execute = client.execute_command
    original_pipeline = client.pipeline

    def execute_command(*args: Any, **options: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            reply = original_execute(*args, **options)
        except Exception as exc:
            log.add_raw(args, None, time.perf_counter_ns() - start, str(exc))
            raise
        log.add_raw(args, reply, time.perf_counter_ns() - start)
        return reply

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = original_pipeline(*args, **kwargs)
        transaction = kwargs.get("transaction", args[0] if args else True)
        original_pipe_execute = pipe.execute

        def execute(raise_on_error: bool = True) -> Any:
            stack = [cli_form(c[0], 200) for c in getattr(pipe, "command_stack", [])]
            label = ("MULTI; " if transaction else "PIPELINE; ") + "; ".join(stack) + ("; EXEC" if transaction else "")
            start = time.perf_counter_ns()
            try:
                replies = original_pipe_execute(raise_on_error=raise_on_error)
            except Exception as exc:
                log.add(CommandRecord(label[:1000], "(error)", time.perf_counter_ns() - start, str(exc)))
                raise
            log.add(CommandRecord(label[:1000], reply_form(replies),
                                  time.perf_counter_ns() - start))
            return replies

        pipe.execute = execute
        return pipe

    wrapped.execute_command = execute_command
    wrapped.pipeline = pipeline
    return wrapped
