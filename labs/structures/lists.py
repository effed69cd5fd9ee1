"""Lists: a message queue (RPUSH / LPOP / BLPOP) and chat history capped to the last N (RPUSH + LTRIM).

The chat recipe is the seed's ``add_message``: one pipeline of ``RPUSH``, ``LTRIM key -N -1`` and
``EXPIRE`` — trimming on every push keeps the list at N, so memory and LRANGE stay bounded
(redis.io LTRIM page: "a common use of LTRIM is together with LPUSH/RPUSH").
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.core.experiment import check_ranges, knob, register
from labs.core.measures import measure
from labs.core.namespace import DEFAULT_TTL_S
from labs.structures.common import run_recipe

PAGE = "app_pages/structures.py"


def _decode(items: list[bytes]) -> list[str]:
    return [i.decode(errors="replace") for i in items]


@dataclass(frozen=True)
class QueueParams:
    jobs: int = knob(5, min=1, max=100, help="Jobs the producer RPUSHes.")
    pops: int = knob(3, min=0, max=100, help="Jobs a worker LPOPs.")
    block_s: float = knob(0.5, min=0.1, max=1.5, unit="s", label="BLPOP timeout",
                          help="How long a worker blocks on the emptied queue before giving up.")

    def __post_init__(self) -> None:
        check_ranges(self)


QUEUE_MEASURES = {
    "pushed": measure("Jobs pushed", "jobs", headline=True, help="RPUSH, one job at a time."),
    "popped": measure("Jobs popped", "jobs", headline=True, help="LPOP by the worker, then the rest drained."),
    "first_popped": measure("First job out", "text", headline=True, help="A list queue is first in, first out."),
    "blpop_result": measure("BLPOP on the empty queue", "text", headline=True,
                            help="— (nil): nothing arrived before the timeout."),
    "blpop_waited_s": measure("BLPOP waited", "s", headline=True, help="Measured: the worker slept in Redis this long."),
    "step": measure("Step", "text"), "items": measure("Items in the list", "text"),
}


@register("list-queue", title="A message queue", params=QueueParams, page=PAGE,
          summary="RPUSH jobs, LPOP some, drain the rest, then BLPOP on the empty queue until its timeout.",
          measures=QUEUE_MEASURES)
def queue(params: QueueParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    def recipe(r: Any, ns: Any):
        key = ns.key("queue:jobs")
        snapshots = []

        def snap(step: str) -> None:
            snapshots.append({"step": step, "items": _decode(r.lrange(key, 0, -1))})

        r.delete(key)
        for i in range(1, params.jobs + 1):
            r.rpush(key, f"job-{i}")
        r.expire(key, DEFAULT_TTL_S)
        snap(f"RPUSH × {params.jobs}")
        popped = []
        for _ in range(params.pops):
            item = r.lpop(key)
            if item is None:
                break
            popped.append(item.decode())
        snap(f"LPOP × {len(popped)}")
        drained = _decode(r.lpop(key, r.llen(key)) or []) if r.llen(key) else []
        snap("drain the rest")
        start = time.perf_counter()
        got = r.blpop([key], timeout=params.block_s)
        waited = time.perf_counter() - start
        metrics = {"pushed": params.jobs, "popped": len(popped) + len(drained), "first_popped": popped[0] if popped else None,
                   "blpop_result": None if got is None else got[1].decode(), "blpop_waited_s": round(waited, 3)}
        notes = [f"BLPOP on the empty queue waited {waited:.2f} s (timeout {params.block_s} s), then answered nil: "
                 "a worker sleeps in Redis instead of polling."]
        return metrics, {"snapshots": pd.DataFrame(snapshots)}, notes

    return run_recipe(backend, ns, log, recipe)


@dataclass(frozen=True)
class ChatParams:
    messages: int = knob(50, min=1, max=1000, help="Messages added, one at a time.")
    keep: int = knob(20, min=1, max=500, label="keep last N", help="LTRIM key -N -1 after every push.")
    ttl_s: int = knob(86400, min=1, max=86400, unit="s", label="TTL", help="EXPIRE after every push (the tutorial's: one day).")

    def __post_init__(self) -> None:
        check_ranges(self)


def add_message(r: Any, key: str, message: str, keep: int, ttl_s: int) -> list:
    """The seed's add_message: RPUSH, LTRIM to the last ``keep``, EXPIRE — one round trip (MULTI/EXEC)."""
    pipe = r.pipeline(transaction=True)
    pipe.rpush(key, message)
    pipe.ltrim(key, -keep, -1)
    pipe.expire(key, ttl_s)
    return pipe.execute()


CHAT_HISTORY_MEASURES = {
    "length": measure("Messages kept", "messages", headline=True, help="LLEN at the end: LTRIM holds it at N."),
    "oldest_kept": measure("Oldest kept", "text", headline=True),
    "newest": measure("Newest", "text", headline=True),
    "ttl_s": measure("TTL", "s", headline=True, help="EXPIRE after every push renews the lease."),
    "pushed": measure("Messages pushed", "messages"), "message": measure("Message", "text"),
}


@register("list-chat-history", title="Chat history: keep the last N", params=ChatParams, page=PAGE,
          summary="Push messages with RPUSH + LTRIM -N -1 + EXPIRE in one pipeline; the list never grows past N.",
          measures=CHAT_HISTORY_MEASURES)
def chat_history(params: ChatParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    def recipe(r: Any, ns: Any):
        key = ns.key("chat:history")
        r.delete(key)
        lengths = []
        for i in range(1, params.messages + 1):
            add_message(r, key, f"message {i}", params.keep, params.ttl_s)
            lengths.append({"pushed": i, "length": r.llen(key)})
        items = _decode(r.lrange(key, 0, -1))
        metrics = {"length": len(items), "oldest_kept": items[0], "newest": items[-1], "ttl_s": r.ttl(key)}
        return metrics, {"lengths": pd.DataFrame(lengths), "history": pd.DataFrame({"message": items})}, [
            f"After {params.messages} pushes the list holds the newest {len(items)}: LTRIM dropped the rest."]

    return run_recipe(backend, ns, log, recipe)
