"""The failure that matters: the connection that carries invalidations drops.

The server forgets a client's tracked keys when the client disconnects, so a write made while the reader
is away reaches no one. redis.io's rule: "Make sure that if the connection is lost, the local cache is
flushed" (redis-py's cache flushes on disconnect). Two readers live through the same drop: one flushes on
reconnect and reads the new value at once; one does not, and serves the old copy until its TTL backstop
ends — the backstop is then the only bound on staleness. The drop is real (``CLIENT KILL ID`` of the
reader's invalidation connection, sent by the writer; the reader closes its own socket where the server
refuses CLIENT KILL); the reader's later reads are spaced on a virtual clock so the backstop can be seconds
long without the page waiting.
Source: https://redis.io/docs/latest/develop/reference/client-side-caching/ ("What to do when losing
connection with the server", "Other hints for implementing client libraries").
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import redis

from labs.core.backends import Backend
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import instrument_all
from labs.core.recipe import commands_frame
from labs.core.servers import start_private
from labs.invalidation.nearcache.common import FELL_BACK, PAGE, open_reader, server_name, traced_run
from labs.invalidation.nearcache.links import NONE, REDIRECT, RESP3
from labs.invalidation.nearcache.local import LocalCache

VARIANTS = {"does not flush on reconnect": False, "flushes on reconnect": True}


@dataclass(frozen=True)
class ReconnectParams:
    ttl_backstop_s: float = knob(5.0, min=0.5, max=600.0, unit="s", label="TTL backstop",
                                 help="The longest the reader serves a local copy, whatever it was told.")
    read_every_ms: int = knob(500, min=10, max=60_000, unit="ms", label="read every",
                              help="How often the reader reads the key after the drop (virtual clock).")
    reads: int = knob(20, min=2, max=500, help="Reads after the drop.")
    tracking: str = knob(RESP3, choices=(RESP3, REDIRECT), help="Which connection carries the invalidations.")

    def __post_init__(self) -> None:
        check_ranges(self)


def _drop(reader: Any, writer: Any) -> str:
    """Cut the reader's invalidation connection; say how."""
    link = reader.link
    victim = getattr(link, "sub_id", None) or link.client_id()
    try:
        writer.execute_command("CLIENT", "KILL", "ID", victim)
        how = f"CLIENT KILL ID {victim} (the server closed it)"
    except redis.ResponseError as exc:
        link.close()
        return f"the reader closed its own socket (the server refused CLIENT KILL: {exc})"
    wire = getattr(link, "sub", None) or link.data
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # wait until the reader's socket shows the end (loopback: microseconds)
        try:
            if wire.conn.can_read(0):
                break
        except (redis.ConnectionError, OSError):
            break
        time.sleep(0.001)
    return how


def through_a_drop(reader: Any, writer: Any, key: str, now: list[float], p: ReconnectParams) -> tuple[list[dict], str]:
    """Cache v1, lose the connection, let another client write v2, then read on the virtual clock."""
    writer.set(key, b"v1", ex=600)
    reader.read(key)
    how = _drop(reader, writer)
    writer.set(key, b"v2", ex=600)
    rows = []
    for i in range(1, p.reads + 1):
        now[0] = i * p.read_every_ms / 1000
        got = reader.read(key)
        rows.append({"t_s": now[0], "value": got.value.decode(), "answered_by": got.tier,
                     "stale": got.value != b"v2", "reconnects": reader.reconnects})
    return rows, how


@register("nearcache-reconnect", title="The reconnect failure: flush the local cache, or serve stale data",
          summary="The reader caches a key, its invalidation connection drops, another client writes: a reader "
                  "that does not flush on reconnect serves the old value until its TTL backstop; one that does, never.",
          params=ReconnectParams, page=PAGE, measures={
              "does not flush on reconnect: stale reads": measure("Stale reads — no flush on reconnect", "reads",
                                                                  headline=True),
              "does not flush on reconnect: stale for": measure(
                  "Stale for — no flush on reconnect", "s", headline=True,
                  help="Virtual time from the drop to the first fresh read: the TTL backstop is the only bound."),
              "flushes on reconnect: stale reads": measure("Stale reads — flush on reconnect", "reads", headline=True),
              "flushes on reconnect: stale for": measure(
                  "Stale for — flush on reconnect", "s",
                  help="Virtual time from the drop to the first fresh read (0 when no read was stale)."),
              "reader": measure("Reader", "text"), "t_s": measure("Time after the drop (virtual)", "s"),
              "value": measure("Value served", "text"), "answered_by": measure("Answered by", "text"),
              "stale": measure("Stale", "yes/no"), "reconnects": measure("Reconnects", "count"),
          })
def run_reconnect(params: ReconnectParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                  **_: Any) -> Result:
    with traced_run(backend, ns, log) as (backend, client, ns, logs, own):
        rows, metrics, notes = _both_readers(backend, client, ns.key("reconnect"), logs, params)
        where = server_name(backend)
        if not rows:  # the backend cannot track (the sandbox): a private server can
            server = start_private("The reconnect demonstration (it needs CLIENT TRACKING)")
            try:
                private = Backend("private", server.client(), backend.caps, server.url)
                refused = notes[-1].replace(FELL_BACK, "") if notes else f"{where} cannot track."
                traced = instrument_all(private.client, own, log)
                rows, metrics, notes = _both_readers(private, traced, ns.key("reconnect"), logs, params)
                notes.insert(0, refused)
                where = f"a private {server.binary.name} the lab started (your backend cannot track)"
            finally:
                server.stop()
    notes.append(f"Commands are real, on {where}; the reads after the drop are spaced on a virtual clock (the "
                 "local cache's TTL backstop reads the same clock), so no one waits for it.")
    return Result(metrics, {"timeline": pd.DataFrame(rows), "commands": commands_frame(own, ns)}, notes)


def _both_readers(backend: Any, client: Any, key: str, logs: list, params: ReconnectParams) -> tuple[list, dict, list]:
    rows, metrics, notes = [], {}, []
    for name, flush in VARIANTS.items():
        now = [0.0]
        local = LocalCache(10, params.ttl_backstop_s, clock=lambda now=now: now[0])
        reader, used, why = open_reader(params.tracking, backend, client, logs, local, flush_on_reconnect=flush)
        try:
            if used == NONE:
                return [], {}, why
            found, how = through_a_drop(reader, client, key, now, params)
        finally:
            reader.close()
            client.delete(key)
        rows += [{"reader": name, **r} for r in found]
        stale = [r for r in found if r["stale"]]
        fresh = next((r["t_s"] for r in found if not r["stale"]), float("nan"))
        metrics.update({f"{name}: stale reads": len(stale), f"{name}: stale for": fresh if stale else 0.0})
        notes.append(f"{name}: the drop was {how}.")
    return rows, metrics, notes
