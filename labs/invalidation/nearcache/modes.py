"""What tracking costs: the invalidation storm of a hot key, and the server memory of the default mode vs
OPTIN vs BCAST.

* **The storm** (learner's backend). A writer rewrites a hot key many times per read of the reader, and a
  read-mostly key rarely. In the default mode the server forgets a key once it has sent its invalidation,
  so the reader hears of a hot key at most once per read of it; in BCAST mode it hears of every write to
  every key under its prefix. Either way a hot, often-written key is read from Redis almost every time:
  redis.io's advice is not to cache keys that "change continuously".
* **The memory** (a private server the lab starts, so ``INFO`` counts only this reader). Default mode
  remembers every key the reader read (``tracking_total_keys``, memory that grows with keys × readers);
  OPTIN only the reads preceded by ``CLIENT CACHING YES``; BCAST nothing per key (``tracking_total_prefixes``),
  but it sends invalidations for keys the reader never read.

Source: https://redis.io/docs/latest/develop/reference/client-side-caching/ ("Opt-in and Opt-out caching",
"Broadcasting mode", "The NOLOOP option", "What to cache", "Limiting the amount of memory used by Redis").
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import CommandLog, instrument_all
from labs.core.namespace import Namespace, new_session_id
from labs.core.recipe import commands_frame
from labs.core.servers import start_private
from labs.invalidation.nearcache.common import LAB, PAGE, open_reader, server_name, traced_run
from labs.invalidation.nearcache.links import NONE, RESP3, UntrackedLink, connection_factory, open_link
from labs.invalidation.nearcache.local import LocalCache
from labs.invalidation.nearcache.reader import LOCAL

STORM_MODES = {"default": ("NOLOOP",), "BCAST PREFIX": ("BCAST", "PREFIX", "{prefix}", "NOLOOP")}


@dataclass(frozen=True)
class StormParams:
    reads: int = knob(500, min=20, max=2000, help="How many times the reader reads each of the two keys.")
    writes_per_read: int = knob(5, min=1, max=20, help="Writes to the hot key between two reads of it.")
    cold_every: int = knob(100, min=2, max=5000, label="read-mostly key written every",
                           help="The read-mostly key is written once per this many reads.")

    def __post_init__(self) -> None:
        check_ranges(self)


def storm(reader: Any, writer: Any, hot: str, cold: str, p: StormParams) -> list[dict]:
    """Run the two keys' traffic; per key: writes, invalidations heard, local hits, Redis reads, per second."""
    for key in (hot, cold):
        writer.set(key, b"0", ex=300)
    counts = {k: {"writes": 1, "local": 0, "redis": 0, "stale": 0} for k in (hot, cold)}  # the first SET counts
    latest = {hot: b"0", cold: b"0"}
    start = time.perf_counter()
    for i in range(1, p.reads + 1):
        for _ in range(p.writes_per_read):
            latest[hot] = str(i).encode()
            writer.set(hot, latest[hot], ex=300)
            counts[hot]["writes"] += 1
        if i % p.cold_every == 0:
            latest[cold] = str(i).encode()
            writer.set(cold, latest[cold], ex=300)
            counts[cold]["writes"] += 1
        for key in (hot, cold):
            got = reader.read(key)
            counts[key]["local" if got.tier == LOCAL else "redis"] += 1
            counts[key]["stale"] += got.value != latest[key]
    elapsed = time.perf_counter() - start
    reader.poll()
    out = []
    for key, name in ((hot, "hot (often written)"), (cold, "read-mostly")):
        heard = reader.invalidations_by_key.get(key, 0)
        c = counts[key]
        out.append({"key": name, "writes": c["writes"], "invalidations": heard, "local_reads": c["local"],
                    "redis_reads": c["redis"], "stale_reads": c["stale"], "local_hit_ratio": c["local"] / p.reads,
                    "writes_per_s": c["writes"] / elapsed, "invalidations_per_s": heard / elapsed})
    return out


@register("nearcache-storm", title="The invalidation storm: a hot key vs a read-mostly key",
          summary="A writer rewrites a hot key between the reader's reads, and a read-mostly key rarely: "
                  "invalidation messages per second and the local hit ratio of each, default mode vs BCAST.",
          params=StormParams, page=PAGE, measures={
              "*: hot invalidations/s": measure("Invalidations per second, hot key — {0}", "messages/s", headline=True),
              "*: read-mostly invalidations/s": measure("Invalidations per second, read-mostly key — {0}",
                                                        "messages/s", headline=True),
              "*: hot local hit ratio": measure("Local hits on the hot key — {0}", "fraction", headline=True),
              "*: read-mostly local hit ratio": measure("Local hits on the read-mostly key — {0}", "fraction"),
              "mode": measure("Tracking mode", "text"), "key": measure("Key", "text"),
              "writes": measure("Writes", "writes"), "invalidations": measure("Invalidations heard", "messages"),
              "local_reads": measure("Reads answered locally", "reads"),
              "redis_reads": measure("Reads sent to Redis", "reads"),
              "stale_reads": measure("Stale reads", "reads", help="Reads older than the last acknowledged write."),
              "local_hit_ratio": measure("Local hit ratio", "fraction"),
              "writes_per_s": measure("Writes per second", "/s"),
              "invalidations_per_s": measure("Invalidations per second", "messages/s"),
          })
def run_storm(params: StormParams, *, backend: Any = None, ns: Any = None, log: Any = None, **_: Any) -> Result:
    rows, metrics, notes = [], {}, []
    with traced_run(backend, ns, log) as (backend, client, ns, logs, own):
        hot, cold = ns.key("storm:hot"), ns.key("storm:read-mostly")
        for mode, options in STORM_MODES.items():
            options = tuple(o.format(prefix=ns.key("storm:")) for o in options)
            reader, used, why = open_reader(RESP3, backend, client, logs, LocalCache(10, 300), options=options)
            try:
                found = storm(reader, client, hot, cold, params)
            finally:
                reader.close()
                client.delete(hot, cold)
            notes += [n for n in why if n not in notes]
            label = mode if used != NONE else "no tracking"
            rows += [{"mode": label, **r} for r in found]
            metrics.update({f"{label}: hot invalidations/s": found[0]["invalidations_per_s"],
                            f"{label}: read-mostly invalidations/s": found[1]["invalidations_per_s"],
                            f"{label}: hot local hit ratio": found[0]["local_hit_ratio"],
                            f"{label}: read-mostly local hit ratio": found[1]["local_hit_ratio"]})
            if used == NONE:
                break
    notes.append(f"Measured on {server_name(backend)}; rates are per second of this run's wall time (writer and "
                 "reader in one process, one after the other).")
    return Result(metrics, {"storm": pd.DataFrame(rows), "commands": commands_frame(own, ns)}, notes)


@dataclass(frozen=True)
class MemoryParams:
    keys: int = knob(5000, min=100, max=50_000, help="Keys the reader reads once each.")
    optin_share: float = knob(0.1, min=0.0, max=1.0, unit="fraction", label="OPTIN: share of reads cached",
                              help="In OPTIN mode, the share of reads preceded by CLIENT CACHING YES.")
    never_read: int = knob(100, min=1, max=5000, help="Keys under the same prefix that the writer changes and "
                                                      "the reader never read.")

    def __post_init__(self) -> None:
        check_ranges(self)


CONTROL = "tracking off (control)"
MEMORY_MODES = {CONTROL: (), "default": (), "OPTIN": ("OPTIN",), "BCAST PREFIX": ("BCAST", "PREFIX", "{prefix}")}


def _stats(client: Any) -> dict[str, int]:
    stats, memory = client.info("stats"), client.info("memory")
    return {"keys": int(stats.get("tracking_total_keys", 0)), "prefixes": int(stats.get("tracking_total_prefixes", 0)),
            "memory": int(memory["used_memory"])}


def tracking_cost(client: Any, logs: list[CommandLog], mode: str, p: MemoryParams, ns: Namespace) -> dict:
    """One reader in ``mode`` on a private server: what the server remembers and which writes it is told of."""
    names = [ns.key(f"item:{i}") for i in range(p.keys)]
    for start in range(0, len(names), 200):  # small pipelines: a big query buffer would shrink mid-measurement
        pipe = client.pipeline(transaction=False)
        for name in names[start:start + 200]:
            pipe.set(name, b"x" * 16, ex=600)
        pipe.execute()
    options = tuple(o.format(prefix=ns.key("item:")) for o in MEMORY_MODES[mode])
    link = UntrackedLink(connection_factory(client), logs) if mode == CONTROL else open_link(RESP3, client, logs, options)
    try:
        before = _stats(client)
        chosen = round(p.keys * p.optin_share) if mode == "OPTIN" else p.keys
        for i, name in enumerate(names):
            if mode == "OPTIN" and i < chosen:
                link.caching_yes()
            link.get(name)
        after = _stats(client)
        info = link.trackinginfo()
        link.poll()
        heard_before, keys_before = link.messages, link.keys_heard
        pipe = client.pipeline(transaction=False)
        for i in range(p.never_read):
            pipe.set(ns.key(f"item:never-read:{i}"), b"y", ex=600)
        pipe.execute()
        time.sleep(0.05)  # let the last pushes arrive (loopback)
        link.poll()
        never_read_messages, never_read_keys = link.messages - heard_before, link.keys_heard - keys_before
    finally:
        link.close()
    flags = info.get(b"flags", info.get("flags", [])) if isinstance(info, dict) else info[1]
    return {"mode": mode, "keys_read": p.keys, "reads_tracked": chosen,
            "tracked_keys": after["keys"], "tracked_prefixes": after["prefixes"],
            "memory_delta_bytes": after["memory"] - before["memory"],
            "never_read_keys_invalidated": never_read_keys, "never_read_messages": never_read_messages,
            "flags": " ".join(f.decode() if isinstance(f, bytes) else str(f) for f in flags)}


@register("nearcache-tracking-memory", title="Tracking's memory on the server: default vs OPTIN vs BCAST",
          summary="On a private server: one reader reads N keys in each mode; what the server remembers "
                  "(INFO tracking_total_keys, used_memory) and which later writes it sends invalidations for.",
          params=MemoryParams, page=PAGE, measures={
              "*: tracked keys": measure("Keys the server tracks — {0}", "keys", headline=True),
              "default: per key": measure("Server memory per tracked key (default mode)", "bytes", headline=True),
              "BCAST PREFIX: tracked prefixes": measure("Prefixes the server tracks — BCAST", "count"),
              "*: memory": measure("Server memory for tracking — {0}", "bytes",
                                   help="INFO used_memory after the reads minus before, minus the same for the "
                                        "control reader with tracking off (private servers: only this reader)."),
              "BCAST PREFIX: never-read invalidations": measure(
                  "BCAST: keys never read, invalidated anyway", "keys", headline=True,
                  help="Writes to keys under the prefix that the reader never read still reach it in BCAST mode."),
              "mode": measure("Mode", "text"), "keys_read": measure("Keys read", "keys"),
              "reads_tracked": measure("Reads meant to be tracked", "reads"),
              "tracked_keys": measure("Keys the server tracks", "keys", help="INFO stats tracking_total_keys on the private server."),
              "tracked_prefixes": measure("Prefixes the server tracks", "count", help="INFO stats tracking_total_prefixes."),
              "memory_delta_bytes": measure("Change of used memory during the reads", "bytes"),
              "memory_bytes": measure("Memory for tracking", "bytes",
                                      help="The change in used_memory minus the control's (the same reads, tracking off)."),
              "bytes_per_tracked_key": measure("Per tracked key", "bytes"),
              "never_read_keys_invalidated": measure("Never-read keys it was told about", "keys"),
              "never_read_messages": measure("Messages carrying them", "messages",
                                             help="BCAST batches the keys of one event-loop turn into one message."),
              "flags": measure("CLIENT TRACKINGINFO flags", "text"),
          })
def run_tracking_memory(params: MemoryParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                        **_: Any) -> Result:
    rows = []
    ns = (ns or Namespace(new_session_id())).for_lab(LAB)
    own = CommandLog(maxlen=10_000)
    for mode in MEMORY_MODES:  # a fresh server per mode: nothing left over from the one before
        server = start_private("Measuring tracking's memory")
        try:
            client = instrument_all(server.client(), own, log)
            rows.append(tracking_cost(client, [own, log], mode, params, ns))
            info = client.info("server")
            version = info.get("valkey_version") or info.get("redis_version")
        finally:
            server.stop()
    frame = pd.DataFrame(rows)
    control = int(frame.memory_delta_bytes.iloc[0])
    frame["memory_bytes"] = frame.memory_delta_bytes - control
    frame["bytes_per_tracked_key"] = [m / k if k else float("nan") for m, k in zip(frame.memory_bytes, frame.tracked_keys)]
    rows = frame.to_dict("records")[1:]
    by_mode = {row["mode"]: row for row in rows}
    metrics: dict[str, Any] = {
        "default: tracked keys": by_mode["default"]["tracked_keys"], "default: memory": by_mode["default"]["memory_bytes"],
        "default: per key": by_mode["default"]["bytes_per_tracked_key"],
        "OPTIN: tracked keys": by_mode["OPTIN"]["tracked_keys"], "OPTIN: memory": by_mode["OPTIN"]["memory_bytes"],
        "BCAST PREFIX: tracked prefixes": by_mode["BCAST PREFIX"]["tracked_prefixes"],
        "BCAST PREFIX: never-read invalidations": by_mode["BCAST PREFIX"]["never_read_keys_invalidated"]}
    notes = [f"Measured on private {server.binary.name} {version} servers the lab started and stopped, a fresh one "
             "per mode (INFO counts are server-wide, so a shared server would mix in other readers).",
             "Memory for tracking = the change of INFO used_memory during the reads minus the change for a control "
             "reader doing the same reads with tracking off. Connection buffers move by tens of KB on their own, so "
             "BCAST's figure (no per-key table) is noise around zero, positive or negative."]
    return Result(metrics, {"modes": frame, "commands": commands_frame(own, ns)}, notes)
