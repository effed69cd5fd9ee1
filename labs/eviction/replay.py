"""How faithful is the simulator? Replay one trace on a real private server and on the simulator.

:func:`replay_on_server` runs a key trace as cache-aside (``GET k``; on nil ``SET k value``) against a
private server the lab starts and owns, paced over ``duration_s`` of wall time so that the server's
1-second LRU clock (and the LFU minute clock) advance as the simulator's virtual clock does. Replayed
too fast, every request falls in the same LRU-clock second, every idle time is 0 and every
``maxmemory-samples`` behaves like random eviction (FIELD_NOTES); paced, approximated LRU shows.
:func:`compare` runs the same trace through the simulator (:func:`labs.eviction.fast.run`, identical
to the reference policies) — with the timestamps at which each request really left for the server,
recorded during the replay, so a pacer that falls behind (a busy machine) shifts both alike — and
through the server for each policy configuration and tabulates both hit ratios.

The mapping from keys to bytes (the simulator counts keys, the server counts ``used_memory`` bytes):

* keys are named ``b"k" + str(id).rjust(key_bytes − 1, "0")`` (every name the same length) and every
  value is ``value_bytes`` bytes, so every key costs the same, up to allocator rounding;
* calibration (policy ``noeviction``): write exactly ``capacity_keys`` keys *through the same path the
  replay uses* (one ``SET`` per round trip, so the same client buffers), read the ``used_memory`` growth,
  ``FLUSHALL SYNC`` on the private server (valkey 9 frees lazily by default, so a plain FLUSHALL would still hold the
  memory when the baseline is read); ``bytes_per_key`` = growth / ``capacity_keys``. Measured at
  the capacity itself, the growth includes the keyspace hash table at the size it has when the
  cache is full (the table grows by powers of two, so bytes per key measured at another count
  would put the limit on the wrong side of a resize);
* ``maxmemory`` = ``used_memory`` of the empty server after 1.5 s idle (baseline: the server, the
  client's connection and buffers) + ``capacity_keys`` × ``bytes_per_key``.
* That only *aims* at ``capacity_keys``: the baseline itself moves by a few hundred KB on valkey 9.1
  (client buffers grown by a burst are shrunk later by ``clientsCron``; seen here: 1.20 MB right after
  a fill, 1.00 MB a second later, so a limit computed from the first held ~30 % more keys than asked).
  So the replay *measures* the capacity the server really held — ``DBSIZE`` once a second after the
  first eviction (``held_median``, ``held_min``, ``held_max``; it stayed within ±0.2 % in the runs
  seen here) — and :func:`compare` gives the simulator that capacity. The fidelity question is
  whether the *policy* picks the same victims, so both must hold the same number of keys.

Known differences from the simulator (documented, not corrected): the server evicts *before each
command* while ``used_memory`` > ``maxmemory`` (so after a fill it briefly holds one key more and the
new key is itself a candidate), the simulator evicts before the insert; the server samples whole hash
buckets from a random position, the simulator samples uniformly — on Redis (and Valkey up to 8.0) with
``dict.c``'s ``dictGetSomeKeys``, which walks chained buckets whose chains hold the newest key first
(``dictAddRaw`` inserts at the head), on Valkey 8.1+ (the default valkey 9.1.2 here) with
``hashtable.c``'s ``hashtableSampleEntries``, which scans buckets of up to 7 keys (plus child buckets)
from a random cursor and reservoir-samples when a bucket yields more than asked, so no newest-first
order; the server's RNG cannot be seeded, so
``allkeys-random``, the samples and the LFU increments differ run to run; the server's LRU clock is
refreshed by ``serverCron`` (``hz`` = 10: up to 100 ms late).

Each request is its own round trip (``GET``, then ``SET`` on nil), not pipelined: per-request
semantics exactly (a key requested twice in a row misses once and hits once, as in the simulator),
and the client's query/reply buffers — which count in ``used_memory`` and so in eviction — stay tiny
and steady. (A first version pipelined ``EVALSHA`` of a GET-or-SET script: the pipeline's query
buffer, tens of KB, and the Lua VM's garbage moved ``used_memory`` by hundreds of keys' worth and
the server held 60 % more keys than asked.) At ~1,000–2,000 requests/s this costs a few % of a core.
"""
from __future__ import annotations

import bisect
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from labs.eviction import fast

KEY_BYTES = 16
VALUE_BYTES = 100
# (maxmemory-policy, maxmemory-samples): the configurations compare() measures by default
CONFIGS: tuple[tuple[str, int], ...] = (("allkeys-lru", 1), ("allkeys-lru", 3), ("allkeys-lru", 5),
                                        ("allkeys-lru", 10), ("allkeys-lfu", 5), ("allkeys-random", 5))
TICK_S = 0.01          # the pacer sends what is due, then sleeps at least this long
MAX_CHUNK = 2_000      # requests per pacer tick, at most
IDLE_SETTLE_S = 1.5    # idle time before the baseline is read (clientsCron shrinks the burst's buffers)


class Cancelled(Exception):
    """A replay stopped because its ``cancel`` event was set."""


def key_name(key_id: Any, key_bytes: int = KEY_BYTES) -> bytes:
    """The server-side name of trace key ``key_id``: fixed length, so every key costs the same."""
    return b"k" + str(key_id).encode().rjust(key_bytes - 1, b"0")


def _flushall_sync(client: Any) -> None:
    try:
        client.execute_command("FLUSHALL", "SYNC")   # private server; valkey 9 would free lazily
    except Exception:
        client.flushall()                              # private server; before 6.2 it is synchronous anyway
    for _ in range(200):                               # belt and braces: nothing left to free lazily
        if int(client.info("memory").get("lazyfree_pending_objects", 0)) == 0:
            break
        time.sleep(0.01)


def _used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def _identity(client: Any) -> dict[str, str]:
    info = dict(client.info("server"))
    info.update(client.info("memory"))
    name = str(info.get("server_name") or ("valkey" if "valkey_version" in info else "redis"))
    return {"server": name, "version": str(info.get("valkey_version") or info.get("redis_version", "?")),
            "allocator": str(info.get("mem_allocator", "?"))}


def replay_on_server(keys: Sequence, *, policy: str, samples: int = 5, capacity_keys: int,
                     value_bytes: int = VALUE_BYTES, duration_s: float, seed: int = 0,
                     binary: str = "default", key_bytes: int = KEY_BYTES,
                     lfu_log_factor: int = 10, lfu_decay_time: int = 1,
                     progress: Callable[[int], None] | None = None,
                     cancel: threading.Event | None = None) -> dict[str, Any]:
    """Replay ``keys`` as cache-aside on a fresh private server, paced over ``duration_s`` seconds.

    ``progress(requests_done)`` is called about once a pacer tick (from this thread); setting
    ``cancel`` stops the replay at the next tick with :class:`Cancelled` (the server is stopped).

    Request ``i`` is due at ``start_unix + times[i]`` with ``times = np.linspace(0, duration_s, n)``;
    ``start_unix`` is a whole second, so the server's LRU-clock ticks fall where the simulator's do
    for ``times`` (pass ``start_unix + times`` to the simulator to align the LFU minute too).
    ``seed`` is recorded only: the server's RNG cannot be seeded.

    Returns ``hit_ratio, hits, requests, evictions`` (``INFO stats`` ``evicted_keys``),
    ``maxmemory, bytes_per_key, baseline_bytes, keys_at_end, server, version, allocator, policy,
    samples, capacity_keys, start_unix, wall_s, max_lag_s`` (how late the pacer sent a request at
    worst), ``keyspace_hits`` / ``keyspace_misses`` (the server's own counts, ``INFO stats``: a cross-check
    of ``hits``) and ``hot_key_object`` — what an operator would ask about the trace's most requested key at
    the end: ``OBJECT FREQ`` under an LFU policy, else ``OBJECT IDLETIME`` (neither touches the key).
    """
    from labs.core.servers import start_private

    n = len(keys)
    if n < 2:
        raise ValueError("a trace needs at least two requests")
    if capacity_keys < 1:
        raise ValueError(f"capacity_keys must be at least 1, got {capacity_keys}")
    if key_bytes < len(str(max(max(keys), capacity_keys))) + 1:
        raise ValueError(f"key_bytes={key_bytes} is too short to name every key")
    names = [key_name(k, key_bytes) for k in keys]
    times = np.linspace(0.0, float(duration_s), n).tolist()
    value = b"v" * value_bytes
    server = start_private("the eviction-fidelity replay", binary=binary, maxmemory="0",
                           policy="noeviction", extra={"maxmemory-samples": str(samples), "hz": "10"})
    try:
        client = server.client(socket_timeout=30)
        ident = _identity(client)
        get, set_ = client.get, client.set
        # valkey 8+ defaults lazyfree-lazy-eviction to yes: evicted values may be freed later by a
        # background thread, so used_memory (and the keys held) would depend on timing
        for option in ("lazyfree-lazy-eviction", "lazyfree-lazy-user-flush"):
            try:
                client.config_set(option, "no")
            except Exception:
                pass
        # -- calibration: capacity_keys keys through the replay's own write path (one SET each).
        # A first fill + flush settles one-off allocations (~80 KB on valkey 9.1) that would
        # otherwise inflate the first growth measured.
        fill = [key_name(i, key_bytes) for i in range(capacity_keys)]
        for _ in range(2):
            _flushall_sync(client)
            before = _used_memory(client)
            for start in range(0, capacity_keys, 1_000):
                if cancel is not None and cancel.is_set():  # a large fill takes seconds: stay cancellable
                    raise Cancelled("the replay was cancelled")
                for name in fill[start:start + 1_000]:
                    set_(name, value)
            bytes_per_key = (_used_memory(client) - before) / capacity_keys
        _flushall_sync(client)
        time.sleep(IDLE_SETTLE_S)            # serverCron shrinks client buffers of the burst above
        baseline = _used_memory(client)
        maxmemory = int(math.ceil(baseline + capacity_keys * bytes_per_key))
        client.config_set("maxmemory", "0")
        _flushall_sync(client)
        client.config_set("maxmemory-policy", policy)
        client.config_set("maxmemory-samples", str(samples))
        if "lfu" in policy:
            client.config_set("lfu-log-factor", str(lfu_log_factor))
            client.config_set("lfu-decay-time", str(lfu_decay_time))
        client.config_set("maxmemory", str(maxmemory))
        client.config_resetstat()
        # -- the paced replay: start on a whole second so the clocks' ticks line up
        start_unix = math.floor(time.time()) + 1
        time.sleep(max(0.0, start_unix - time.time()))
        t0 = time.perf_counter() - (time.time() - start_unix)
        hits = i = 0
        max_lag = 0.0
        sent = [0.0] * n                     # when each request really left (unix seconds)
        clock = time.time
        held: list[int] = []                 # DBSIZE once a second after the first eviction
        next_probe = 1.0
        while i < n:
            if cancel is not None and cancel.is_set():
                raise Cancelled("the replay was cancelled")
            elapsed = time.perf_counter() - t0
            j = min(bisect.bisect_right(times, elapsed, lo=i), i + MAX_CHUNK)
            if j == i:
                time.sleep(max(times[i] - elapsed, 0.0005))
                continue
            max_lag = max(max_lag, elapsed - times[i])
            for idx in range(i, j):          # one request at a time: exact cache-aside semantics
                sent[idx] = clock()
                if get(names[idx]) is None:
                    set_(names[idx], value)
                else:
                    hits += 1
            i = j
            if progress is not None:
                progress(i)
            if elapsed >= next_probe:
                next_probe = elapsed + 1.0
                if int(client.info("stats")["evicted_keys"]):
                    held.append(int(client.dbsize()))
            if i < n:
                time.sleep(max(min(times[i] - (time.perf_counter() - t0), TICK_S), 0.0))
        wall_s = time.perf_counter() - t0
        stats = client.info("stats")
        keys_at_end = int(client.dbsize())
        hot_key_object = _hot_key_object(client, names, keys, policy)
        return {"policy": policy, "samples": samples, "capacity_keys": capacity_keys,
                "requests": n, "hits": hits, "hit_ratio": hits / n,
                "evictions": int(stats["evicted_keys"]), "keyspace_hits": int(stats["keyspace_hits"]),
                "keyspace_misses": int(stats["keyspace_misses"]), "hot_key_object": hot_key_object,
                "maxmemory": maxmemory, "bytes_per_key": bytes_per_key, "baseline_bytes": baseline,
                "keys_at_end": keys_at_end, "held_median": int(np.median(held)) if held else keys_at_end,
                "held_min": min(held, default=keys_at_end), "held_max": max(held, default=keys_at_end),
                "value_bytes": value_bytes, "key_bytes": key_bytes,
                "duration_s": float(duration_s), "start_unix": start_unix, "wall_s": wall_s,
                "max_lag_s": max_lag, "seed": seed, "sent_unix": sent, **ident}
    finally:
        server.stop()


def _hot_key_object(client: Any, names: list[bytes], keys: Sequence, policy: str) -> str:
    """``OBJECT FREQ`` (LFU policies) or ``OBJECT IDLETIME`` (the others) of the most requested key, as text;
    "evicted" when it is not held at the end (redis.io OBJECT FREQ / OBJECT IDLETIME)."""
    ids, counts = np.unique(np.asarray(keys), return_counts=True)
    hot = names[list(keys).index(ids[int(np.argmax(counts))])]
    sub = "FREQ" if "lfu" in policy else "IDLETIME"
    try:
        value = client.execute_command("OBJECT", sub, hot)
    except Exception as exc:                      # e.g. FREQ refused when the policy is not LFU
        return f"OBJECT {sub}: {exc}"
    return "evicted" if value is None else f"OBJECT {sub} {int(value)}{' s' if sub == 'IDLETIME' else ''}"


def simulate(keys: Sequence, *, policy: str, samples: int = 5, capacity_keys: int,
             times: Sequence[float], seed: int = 0, lfu_log_factor: int = 10,
             lfu_decay_time: int = 1) -> dict[str, Any]:
    """The simulator on the timestamps the replay really sent each request at (unix seconds, so the
    LRU-clock seconds and LFU-clock minutes tick where the server's did, even where the pacer fell
    behind its schedule). Runs the compiled path, identical to the reference for a seed."""
    stats = fast.run(policy, capacity_keys, keys, times, samples=samples, seed=seed,
                     lfu_log_factor=lfu_log_factor, lfu_decay_time=lfu_decay_time)
    return {"hit_ratio": stats.hit_ratio, "hits": stats.hits, "evictions": stats.evictions}


def compare(keys: Sequence, *, capacity_keys: int, duration_s: float,
            configs: Sequence[tuple[str, int]] = CONFIGS, value_bytes: int = VALUE_BYTES,
            seed: int = 0, binary: str = "default", parallel: int = 1,
            lfu_log_factor: int = 10, lfu_decay_time: int = 1,
            on_progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """Simulated against real hit ratio for each ``(policy, samples)`` in ``configs``, same trace.

    ``parallel`` replays run at once, each on its own private server (the replays are paced, mostly
    idle, so a few fit on two cores). Columns: ``policy, samples, simulated_hit_ratio,
    real_hit_ratio, difference_pp`` (real − simulated, percentage points), then
    ``simulated_evictions, real_evictions`` (``INFO stats`` ``evicted_keys``), ``keyspace_hits,
    keyspace_misses, hot_key_object`` (the operator's counters), ``keys_held`` (the capacity both ran with) ``, held_min,
    held_max, keys_at_end, bytes_per_key, maxmemory, max_lag_s,
    server``.
    """
    keys = list(keys)
    done = [0] * len(configs)
    cancel = threading.Event()

    def one(index: int) -> dict[str, Any]:
        policy, samples = configs[index]

        def progress(i: int) -> None:
            done[index] = i

        return replay_on_server(keys, policy=policy, samples=samples, capacity_keys=capacity_keys,
                                value_bytes=value_bytes, duration_s=duration_s, seed=seed,
                                binary=binary, lfu_log_factor=lfu_log_factor,
                                lfu_decay_time=lfu_decay_time, progress=progress, cancel=cancel)

    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    futures = [pool.submit(one, i) for i in range(len(configs))]
    try:
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5)
            if on_progress is not None:      # may raise (e.g. Streamlit stopping the script): cancel
                ready = sum(done) / (len(keys) * len(configs))
                on_progress(ready, f"replayed {sum(done):,} of {len(keys) * len(configs):,} requests "
                                   f"({len(configs) - len(pending)} of {len(configs)} servers done)")
        real = [f.result() for f in futures]
    finally:
        cancel.set()                         # no-op when all finished; stops the rest otherwise
        pool.shutdown(wait=True)
    rows = []
    for (policy, samples), r in zip(configs, real):
        sim = simulate(keys, policy=policy, samples=samples, capacity_keys=r["held_median"],
                       times=r["sent_unix"], seed=seed, lfu_log_factor=lfu_log_factor,
                       lfu_decay_time=lfu_decay_time)
        rows.append({"policy": policy, "samples": samples,
                     "simulated_hit_ratio": sim["hit_ratio"], "real_hit_ratio": r["hit_ratio"],
                     "difference_pp": (r["hit_ratio"] - sim["hit_ratio"]) * 100,
                     "simulated_evictions": sim["evictions"], "real_evictions": r["evictions"],
                     "keyspace_hits": r["keyspace_hits"], "keyspace_misses": r["keyspace_misses"],
                     "hot_key_object": r["hot_key_object"],
                     "keys_held": r["held_median"], "held_min": r["held_min"], "held_max": r["held_max"],
                     "keys_at_end": r["keys_at_end"], "bytes_per_key": r["bytes_per_key"],
                     "maxmemory": r["maxmemory"], "max_lag_s": r["max_lag_s"],
                     "server": f"{r['server']} {r['version']}"})
    return pd.DataFrame(rows)


__all__ = ["CONFIGS", "Cancelled", "compare", "key_name", "replay_on_server", "simulate"]
