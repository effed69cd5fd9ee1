"""Hashes: a user profile as one hash, and the JSON-string-or-hash question measured three ways.

* ``hash-profile`` — ``HSET`` a profile, ``EXPIRE`` it, ``HGET`` one field, ``HINCRBY`` a counter, ``HGETALL``.
* ``json-vs-hash`` — the same profile as a JSON string (``SET … EX``) and as a hash (``HSET`` + ``EXPIRE``):
  memory (real ``MEMORY USAGE`` when the server answers it, otherwise a labelled estimate), the RESP bytes
  each approach sends to change one field, and what happens when two clients change different fields at
  the same time (JSON read-modify-write loses one change; ``HSET`` of separate fields keeps both).

Sources: redis.io "Hashes" data-type page (HSET/HGET/HINCRBY, field-level updates), "Memory optimization"
(small hashes are listpacks up to ``hash-max-listpack-entries`` 512 fields / ``hash-max-listpack-value``
64 bytes), the RESP protocol specification (``*<n>\\r\\n$<len>\\r\\n<arg>\\r\\n``), and the lab's field notes
(Redis 7.0, MEMORY USAGE: small string 72 B, 5-field hash (listpack) 144 B).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.core.backends import open_backend_for
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import CommandLog, cli_form
from labs.core.namespace import Namespace, check_ttl
from labs.core.recipe import commands_frame, transcript
from labs.structures.common import lab_namespace
from labs.structures.encoding import lp_entry_bytes

PROFILES: dict[int, dict[str, str]] = {
    1: {"name": "Ada Lovelace", "email": "ada@example.com", "city": "London", "plan": "pro", "visits": "42"},
    2: {"name": "Alan Turing", "email": "alan@example.org", "city": "Manchester", "plan": "free", "visits": "7"},
    3: {"name": "Grace Hopper", "email": "grace@example.net", "city": "Arlington", "plan": "team", "visits": "128"},
    4: {"name": "Edsger Dijkstra", "email": "edsger@example.com", "city": "Austin", "plan": "free", "visits": "3"},
    5: {"name": "Barbara Liskov", "email": "barbara@example.org", "city": "Boston", "plan": "pro", "visits": "64"},
}

# Sandbox estimate, calibrated on Debian redis-server 7.0.15 (jemalloc) with MEMORY USAGE SAMPLES 0.
KEY_OVERHEAD_B = 72         # robj + dict entry + expiry + allocator rounding, per key
HT_FIELD_OVERHEAD_B = 38    # per field of a hashtable-encoded hash (dict entry + two sds headers)
LISTPACK_MAX_ENTRIES, LISTPACK_MAX_VALUE = 512, 64  # server defaults (redis.conf)


@dataclass(frozen=True)
class HashProfileParams:
    user_id: int = knob(1, min=1, max=len(PROFILES), label="user ID", help="Which sample profile to store.")
    ttl_s: int = knob(3600, min=1, max=86400, unit="s", label="TTL", help="The lease of the profile key (EXPIRE).")

    def __post_init__(self) -> None:
        check_ranges(self)
        check_ttl(self.ttl_s)


@dataclass(frozen=True)
class JsonVsHashParams:
    user_id: int = knob(1, min=1, max=len(PROFILES), label="user ID", help="Which sample profile to store.")
    extra_fields: int = knob(5, min=0, max=1000, label="extra fields",
                             help="Fields added to the 5-field profile. Up to 512 fields in all a hash is a "
                                  "listpack; past that it becomes a hashtable.")
    ttl_s: int = knob(3600, min=1, max=86400, unit="s", label="TTL", help="The lease of every key written.")

    def __post_init__(self) -> None:
        check_ranges(self)
        check_ttl(self.ttl_s)


# --------------------------------------------------------------------------- RESP and the estimate


def _arg_bytes(arg: Any) -> bytes:
    return arg if isinstance(arg, bytes) else str(arg).encode()


def resp_encode(*args: Any) -> bytes:
    """A command as the client sends it: ``*<n>\\r\\n`` then ``$<len>\\r\\n<arg>\\r\\n`` per argument."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = _arg_bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def resp_bytes(*args: Any) -> int:
    """How many bytes a command takes on the wire (RESP2/RESP3 requests are the same)."""
    return len(resp_encode(*args))


def bulk_reply_bytes(value: str | bytes | None) -> int:
    """Bytes of a bulk-string reply (``$<len>\\r\\n<data>\\r\\n``; ``$-1\\r\\n`` for nil)."""
    if value is None:
        return 5
    data = _arg_bytes(value)
    return len(b"$%d\r\n" % len(data)) + len(data) + 2


def integer_reply_bytes(n: int) -> int:
    return len(f":{n}\r\n")


def predicted_hash_encoding(fields: dict[str, str]) -> str:
    """listpack while ≤ 512 fields and every field and value ≤ 64 bytes (the default limits)."""
    small = all(max(len(k.encode()), len(v.encode())) <= LISTPACK_MAX_VALUE for k, v in fields.items())
    return "listpack" if small and len(fields) <= LISTPACK_MAX_ENTRIES else "hashtable"


def estimate_string_bytes(key: str, value: str) -> int:
    """Estimate: per-key overhead + key + value bytes."""
    return KEY_OVERHEAD_B + len(key.encode()) + len(value.encode())


def estimate_hash_bytes(key: str, fields: dict[str, str]) -> int:
    """Estimate: per-key overhead + key + the listpack's bytes, or per-field overhead + buckets for a hashtable."""
    base = KEY_OVERHEAD_B + len(key.encode())
    if predicted_hash_encoding(fields) == "listpack":
        return base + 7 + sum(lp_entry_bytes(k) + lp_entry_bytes(v) for k, v in fields.items())
    buckets = 1 << max(len(fields) - 1, 0).bit_length()
    return base + 8 * buckets + sum(len(k.encode()) + len(v.encode()) + HT_FIELD_OVERHEAD_B for k, v in fields.items())


def _doc(fields: dict[str, str]) -> str:
    """The JSON document an application would store: compact, visits as a number."""
    return json.dumps({k: int(v) if k == "visits" else v for k, v in fields.items()}, separators=(",", ":"))


def _other(current: str, options: tuple[str, ...]) -> str:
    return next(o for o in options if o != current)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --------------------------------------------------------------------------- hash-profile


PROFILE_MEASURES = {
    "fields": measure("Fields in the hash", "fields", headline=True, help="HLEN of the stored profile."),
    "name": measure("HGET name", "text", headline=True, help="One field read without the rest."),
    "visits_before": measure("Visits before", "count", headline=True),
    "visits_after": measure("Visits after HINCRBY", "count", headline=True, help="Atomic, on the server."),
    "ttl_s": measure("TTL of the whole hash", "s", headline=True, help="EXPIRE leases the key, not single fields."),
    "field": measure("Field", "text"), "value": measure("Value", "text"),
}


@register("hash-profile", title="A user profile in a hash",
          summary="HSET a user's profile, give it a TTL, read one field, count a visit with HINCRBY, read it all.",
          params=HashProfileParams, page="app_pages/structures.py", measures=PROFILE_MEASURES)
def run_profile(params: HashProfileParams, *, backend: Any = None, ns: Namespace | None = None,
                log: CommandLog | None = None) -> Result:
    backend, owned = open_backend_for(backend)
    ns = lab_namespace(ns)
    key = ns.key(f"user:{params.user_id}:profile")
    profile = PROFILES[params.user_id]
    try:
        with transcript(backend.client, log) as (client, own):
            client.hset(key, mapping=profile)
            client.expire(key, params.ttl_s)
            name = _text(client.hget(key, "name"))
            visits = int(client.hincrby(key, "visits", 1))
            stored = {_text(k): _text(v) for k, v in client.hgetall(key).items()}
            ttl = int(client.ttl(key))
    finally:
        for b in owned:
            b.close()
    frame = pd.DataFrame([{"field": k, "value": v} for k, v in stored.items()], columns=["field", "value"])
    return Result({"fields": len(stored), "name": name, "visits_before": int(profile["visits"]),
                   "visits_after": visits, "ttl_s": ttl},
                  {"commands": commands_frame(own, ns), "profile": frame},
                  [f"Ran on the {backend.kind} backend ({backend.caps.server_label}).",
                   "One key holds the whole profile; HGET and HINCRBY touch one field without reading the rest.",
                   f"EXPIRE gives the whole hash one lease ({params.ttl_s} s): a field cannot outlive its key."])


# --------------------------------------------------------------------------- json-vs-hash


JSON_VS_HASH_MEASURES = {
    "json_bytes": measure("Memory, JSON string", "bytes", headline=True, help="MEMORY USAGE, or the lab's estimate."),
    "hash_bytes": measure("Memory, hash", "bytes", headline=True, help="MEMORY USAGE, or the lab's estimate."),
    "json_over_hash": measure("Memory, JSON ÷ hash", "×", help="Above 1: the JSON string takes more memory."),
    "memory_source": measure("Memory measured by", "text"),
    "hash_encoding": measure("Hash encoding", "text", headline=True,
                             help="OBJECT ENCODING: listpack (compact) up to 512 fields, then hashtable."),
    "update_bytes_json": measure("Sent to change one field, JSON", "bytes", help="GET + SET of the whole document."),
    "update_bytes_hash": measure("Sent to change one field, hash", "bytes", help="One HSET of the field."),
    "update_bytes_ratio": measure("Bytes sent per update, JSON ÷ hash", "×", headline=True,
                                  help="Exact RESP request sizes of a one-field update."),
    "update_reply_bytes_json": measure("Reply bytes per update, JSON", "bytes", help="The document comes back on GET."),
    "update_reply_bytes_hash": measure("Reply bytes per update, hash", "bytes", help="HSET answers an integer."),
    "update_round_trips_json": measure("Round trips per update, JSON", "round trips"),
    "update_round_trips_hash": measure("Round trips per update, hash", "round trips"),
    "lost_updates_json": measure("Lost updates, JSON", "updates", headline=True,
                                 help="Two clients change different fields; read-modify-write drops one."),
    "lost_updates_hash": measure("Lost updates, hash", "updates", headline=True, help="HSET of separate fields."),
    "fields": measure("Fields in the profile", "fields"),
    "json_doc_bytes": measure("JSON document", "bytes", help="The document's own length, without key overhead."),
    "approach": measure("Approach", "text"), "bytes": measure("Memory", "bytes"), "encoding": measure("Encoding", "text"),
    "source": measure("Measured by", "text"), "request_bytes": measure("Request", "bytes"),
    "reply_bytes": measure("Reply", "bytes"), "step": measure("Step", "rank"), "client": measure("Client", "text"),
    "saw": measure("What it saw", "text"),
}


@register("json-vs-hash", title="JSON string or hash?",
          summary="Store one profile both ways and compare memory, bytes sent per one-field update, and lost updates.",
          params=JsonVsHashParams, page="app_pages/structures.py", measures=JSON_VS_HASH_MEASURES)
def run(params: JsonVsHashParams, *, backend: Any = None, ns: Namespace | None = None,
        log: CommandLog | None = None) -> Result:
    backend, owned = open_backend_for(backend)
    ns = lab_namespace(ns)
    uid, ttl = params.user_id, params.ttl_s
    fields = dict(PROFILES[uid])
    fields.update({f"extra_{i:03d}": f"value-{i:03d}" for i in range(params.extra_fields)})
    json_key, hash_key = ns.key(f"user:{uid}:json"), ns.key(f"user:{uid}:hash")
    caps = backend.caps
    try:
        with transcript(backend.client, log) as (client, own):
            doc = _doc(fields)
            client.set(json_key, doc, ex=ttl)
            pipe = client.pipeline(transaction=True)  # HSET + EXPIRE together: never a hash without a lease
            pipe.hset(hash_key, mapping=fields)
            pipe.expire(hash_key, ttl)
            pipe.execute()
            memory = _memory(client, caps, json_key, doc, hash_key, fields)
            update = _one_field_update(client, ns, json_key, hash_key, fields, ttl)
            race, lost_json, lost_hash = _race(client, ns, uid, ttl)
    finally:
        for b in owned:
            b.close()
    metrics = {**memory["metrics"], **update["metrics"], "lost_updates_json": lost_json,
               "lost_updates_hash": lost_hash, "fields": len(fields), "json_doc_bytes": len(doc.encode())}
    frames = {"commands": commands_frame(own, ns), "memory": memory["frame"], "update": update["frame"],
              "interleaving": race}
    return Result(metrics, frames, _notes(backend, metrics))


def _memory(client: Any, caps: Any, json_key: str, doc: str, hash_key: str, fields: dict[str, str]) -> dict:
    if caps.memory_usage:
        json_b = int(client.memory_usage(json_key, samples=0))
        hash_b = int(client.memory_usage(hash_key, samples=0))
        source = f"MEMORY USAGE on {caps.server_label}"
    else:
        json_b, hash_b = estimate_string_bytes(json_key, doc), estimate_hash_bytes(hash_key, fields)
        source = ("estimate (sandbox)" if caps.kind == "sandbox"
                  else f"estimate (no MEMORY USAGE on {caps.server_label})")
    if caps.object_cmd:
        encoding = _text(client.object("encoding", hash_key))
    else:
        encoding = predicted_hash_encoding(fields) + " (predicted)"
    metrics = {"json_bytes": json_b, "hash_bytes": hash_b, "json_over_hash": json_b / hash_b,
               "memory_source": source, "hash_encoding": encoding}
    frame = pd.DataFrame([{"approach": "JSON string", "bytes": json_b, "encoding": "string", "source": source},
                          {"approach": "hash", "bytes": hash_b, "encoding": encoding, "source": source}])
    return {"metrics": metrics, "frame": frame}


def _one_field_update(client: Any, ns: Namespace, json_key: str, hash_key: str, fields: dict[str, str],
                      ttl: int) -> dict:
    """Change ``city`` both ways, counting the exact RESP bytes of what each approach sends and receives."""
    new_city = _other(fields["city"], ("Lisbon", "Oslo"))
    get_args = ("GET", json_key)
    current = client.get(json_key)
    updated = json.loads(current)
    updated["city"] = new_city
    new_doc = json.dumps(updated, separators=(",", ":"))
    set_args = ("SET", json_key, new_doc, "EX", ttl)
    client.set(json_key, new_doc, ex=ttl)
    hset_args = ("HSET", hash_key, "city", new_city)
    created = int(client.hset(hash_key, "city", new_city))
    json_sent, hash_sent = resp_bytes(*get_args) + resp_bytes(*set_args), resp_bytes(*hset_args)
    json_recv, hash_recv = bulk_reply_bytes(current) + len(b"+OK\r\n"), integer_reply_bytes(created)
    shown = {a: cli_form(a, 80 + len(ns.prefix)).replace(ns.prefix, "") for a in (get_args, set_args, hset_args)}
    rows = [{"approach": "JSON string", "command": shown[get_args], "request_bytes": resp_bytes(*get_args),
             "reply_bytes": bulk_reply_bytes(current)},
            {"approach": "JSON string", "command": shown[set_args], "request_bytes": resp_bytes(*set_args),
             "reply_bytes": len(b"+OK\r\n")},
            {"approach": "hash", "command": shown[hset_args], "request_bytes": hash_sent, "reply_bytes": hash_recv}]
    metrics = {"update_bytes_json": json_sent, "update_bytes_hash": hash_sent,
               "update_bytes_ratio": json_sent / hash_sent, "update_reply_bytes_json": json_recv,
               "update_reply_bytes_hash": hash_recv, "update_round_trips_json": 2, "update_round_trips_hash": 1}
    return {"metrics": metrics, "frame": pd.DataFrame(rows)}


def _race(client: Any, ns: Namespace, uid: int, ttl: int) -> tuple[pd.DataFrame, int, int]:
    """Two clients change different fields at once: A the city, B the plan. Run in a fixed order, no threads."""
    base = PROFILES[uid]
    want = {"A": ("city", _other(base["city"], ("Lisbon", "Oslo"))),
            "B": ("plan", _other(base["plan"], ("team", "pro")))}
    json_key, hash_key = ns.key(f"user:{uid}:race:json"), ns.key(f"user:{uid}:race:hash")
    client.set(json_key, _doc(base), ex=ttl)
    pipe = client.pipeline(transaction=True)
    pipe.hset(hash_key, mapping=base)
    pipe.expire(hash_key, ttl)
    pipe.execute()
    rows: list[dict[str, Any]] = []

    def step(approach: str, who: str, args: tuple, saw: str) -> None:
        rows.append({"step": len(rows) + 1, "approach": approach, "client": who,
                     "command": cli_form(args, 90 + len(ns.prefix)).replace(ns.prefix, ""), "saw": saw})

    copies = {}
    for who in ("A", "B"):  # both read before either writes: the interleaving that loses an update
        copies[who] = json.loads(client.get(json_key))
        step("JSON string", who, ("GET", json_key), f"city={copies[who]['city']}, plan={copies[who]['plan']}")
    for who in ("A", "B"):
        field, value = want[who]
        copies[who][field] = value
        doc = json.dumps(copies[who], separators=(",", ":"))
        client.set(json_key, doc, ex=ttl)
        step("JSON string", who, ("SET", json_key, doc, "EX", ttl), f"OK (wrote its whole copy: {field}={value})")
    final_json = json.loads(client.get(json_key))
    step("JSON string", "check", ("GET", json_key), f"city={final_json['city']}, plan={final_json['plan']}")
    for who in ("A", "B"):
        field, value = want[who]
        reply = int(client.hset(hash_key, field, value))
        step("hash", who, ("HSET", hash_key, field, value), f"(integer) {reply}: only {field} changed")
    city, plan = (_text(v) for v in client.hmget(hash_key, ["city", "plan"]))
    final_hash = {"city": city, "plan": plan}
    step("hash", "check", ("HMGET", hash_key, "city", "plan"), f"city={city}, plan={plan}")
    lost_json = sum(str(final_json[f]) != v for f, v in want.values())
    lost_hash = sum(final_hash[f] != v for f, v in want.values())
    return pd.DataFrame(rows), int(lost_json), int(lost_hash)


def _notes(backend: Any, m: dict[str, Any]) -> list[str]:
    notes = [f"Ran on the {backend.kind} backend ({backend.caps.server_label}); every key has a TTL."]
    if m["memory_source"].startswith("estimate"):
        notes.append(f"Memory is an ESTIMATE, not a measurement: JSON = {KEY_OVERHEAD_B} B per key + key name + "
                     f"document bytes; hash (listpack) = {KEY_OVERHEAD_B} B + key name + listpack bytes (header 7 B + "
                     f"per entry: encoding + data + back-length); hash (hashtable) = {KEY_OVERHEAD_B} B + key name + "
                     f"8 B per bucket + field and value bytes + {HT_FIELD_OVERHEAD_B} B per field. Constants calibrated "
                     "with MEMORY USAGE on redis-server 7.0.15 (jemalloc); the field notes saw on Redis 7.0 'small "
                     "string 72 B, 5-field hash (listpack) 144 B'. Other servers and allocators differ.")
    else:
        notes.append(f"Memory measured with {m['memory_source']} (SAMPLES 0: every field counted). It is the "
                     "server's estimate, allocator overhead included; another server or allocator gives other bytes.")
    notes.append(f"A one-field update sends {m['update_bytes_json']} B as JSON (GET + SET of the whole document, "
                 f"2 round trips) and {m['update_bytes_hash']} B as a hash (one HSET): exact RESP request sizes.")
    notes.append("Two clients changing different fields: the JSON read-modify-write lost "
                 f"{m['lost_updates_json']} update(s), HSET of separate fields lost {m['lost_updates_hash']}. "
                 "WATCH/MULTI, a Lua script or field-level updates avoid the lost update.")
    return notes
