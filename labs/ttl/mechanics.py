"""TTL commands, live: EXPIRE with NX/XX/GT/LT, PERSIST, EXPIREAT, a plain SET, and per-field HEXPIRE.

Facts it demonstrates (redis.io EXPIRE, https://redis.io/docs/latest/commands/expire/):

* ``NX`` sets an expiry only when the key has none, ``XX`` only when it has one, ``GT`` only when the new
  expiry is greater than the current one, ``LT`` only when it is less; a key without a TTL counts as an
  infinite TTL for GT and LT. The reply is 1 if the timeout was set, 0 if it was not (the condition
  failed, or the key does not exist). The options exist since Redis 7.0; older servers answer with an
  error ("wrong number of arguments" or "syntax error").
* The timeout is cleared only by commands that delete or overwrite the value — ``DEL``, ``SET``,
  ``GETSET``, ``*STORE`` — or by ``PERSIST`` (after which ``TTL`` answers -1).
* ``EXPIREAT`` takes an absolute Unix time in seconds (redis.io EXPIREAT).
* ``HEXPIRE key seconds FIELDS n field …`` gives hash *fields* their own TTL (Redis 7.4, Valkey 9.0);
  ``HTTL`` answers per field, -1 for a field without one (redis.io HEXPIRE, HTTL). ``EXPIRE`` on the
  hash still applies to the whole key. A field TTL changes the hash's encoding: a small hash becomes a
  ``listpackex`` on Redis 7.4+ (object.c) and a ``hashtable`` on Valkey 9 (measured on valkey 9.1.2: a
  two-field hash went from 48 to 224 bytes in ``MEMORY USAGE``, and ``HPERSIST`` does not convert it back).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import redis

from labs.core.experiment import check_ranges, knob, register
from labs.core.measures import measure
from labs.core.namespace import DEFAULT_TTL_S
from labs.core.recipe import run_recipe, supports

PAGE = "app_pages/ttl_cost.py"
# Its keys live in the data-structures lab's namespace, where that page's key inspector lists them.
KEYS_LAB = "structures"
_UNSUPPORTED = ("unknown command", "syntax error", "wrong number of arguments", "unknown subcommand",
                "unsupported option")


def ttl_of(client: Any, key: str) -> tuple[int, int]:
    """``(TTL, PTTL)`` of a key: seconds and milliseconds left, -1 without an expiry, -2 if missing."""
    return int(client.execute_command("TTL", key)), int(client.execute_command("PTTL", key))


def attempt(client: Any, *args: Any) -> tuple[bool, Any]:
    """Send a command; ``(False, error)`` if this server does not know that form (e.g. EXPIRE … GT before 7.0)."""
    try:
        return True, client.execute_command(*args)
    except redis.ResponseError as exc:
        if any(word in str(exc).lower() for word in _UNSUPPORTED):
            return False, str(exc)
        raise


def encoding_of(client: Any, key: str) -> str | None:
    """``OBJECT ENCODING key`` as text; None where the server has no OBJECT command (the sandbox)."""
    try:
        reply = client.execute_command("OBJECT", "ENCODING", key)
    except redis.ResponseError:
        return None
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def _server_now(client: Any) -> int:
    try:
        return int(client.time()[0])
    except (redis.ResponseError, AttributeError, TypeError):
        return int(time.time())


@dataclass(frozen=True)
class TTLMechanicsParams:
    field_ttl_s: int = knob(60, min=1, max=3600, unit="s", label="field TTL",
                            help="HEXPIRE h <this> FIELDS 1 f: the TTL of one hash field.")

    def __post_init__(self) -> None:
        check_ranges(self)


def _steps(key: str, now: int) -> list[tuple[str, tuple, str, bool]]:
    """(name, command, what redis.io says happens, needs the Redis 7.0 options). Fixed values keep the
    metric names stable (``ttl_after_gt_50`` …)."""
    return [
        ("set_ex_100", ("SET", key, "v", "EX", 100), "TTL 100", False),
        ("gt_50", ("EXPIRE", key, 50, "GT"), "refused (0): 50 is not greater than 100; TTL stays", True),
        ("gt_200", ("EXPIRE", key, 200, "GT"), "applied (1): TTL 200", True),
        ("lt_10", ("EXPIRE", key, 10, "LT"), "applied (1): TTL 10", True),
        ("nx_300_with_ttl", ("EXPIRE", key, 300, "NX"), "refused (0): the key already has a TTL", True),
        ("persist", ("PERSIST", key), "TTL -1: no expiry any more", False),
        ("nx_300", ("EXPIRE", key, 300, "NX"), "applied (1): TTL 300", True),
        ("xx_30", ("EXPIRE", key, 30, "XX"), "applied (1): TTL 30", True),
        ("expireat_120", ("EXPIREAT", key, now + 120), "applied (1): TTL about 120", False),
        ("plain_set", ("SET", key, "v2"), "TTL -1: a plain SET discards the expiry", False),
    ]


_STEP_WORDS = {"set_ex_100": "SET … EX 100", "gt_50": "EXPIRE 50 GT", "gt_200": "EXPIRE 200 GT",
               "lt_10": "EXPIRE 10 LT", "nx_300_with_ttl": "EXPIRE 300 NX on a key with a TTL", "persist": "PERSIST",
               "nx_300": "EXPIRE 300 NX", "xx_30": "EXPIRE 30 XX", "expireat_120": "EXPIREAT now + 120",
               "plain_set": "a plain SET"}
MECHANICS_MEASURES = {
    **{f"ttl_after_{step}": measure(f"TTL after {words}", help="The TTL reply: -1 = no expiry.")
       for step, words in _STEP_WORDS.items()},
    **{f"reply_{step}": measure(f"Reply to {words}", help="1 = applied, 0 = refused.") for step, words in _STEP_WORDS.items()},
    **{f"supported_{step}": measure(f"{words[:1].upper()}{words[1:]} supported", "yes/no")
       for step, words in _STEP_WORDS.items()},
    "options_supported": measure("EXPIRE NX/XX/GT/LT supported", "yes/no", headline=True, help="Since Redis 7.0."),
    "hash_ttl_s": measure("TTL of the whole hash", "s", headline=True),
    "hexpire_supported": measure("HEXPIRE supported", "yes/no", headline=True, help="Redis 7.4+, Valkey 9.0+."),
    "httl_f": measure("TTL of field f", "s", headline=True, help="HTTL: the field's own lease."),
    "httl_g": measure("TTL reply of field g", help="HTTL: -1 = this field has no TTL of its own."),
    "ttl_at_end": measure("TTL of the key at the end", "s", headline=True,
                          help="The lab gives every key a lease back after the plain SET."),
    "step": measure("Step", "text"), "command": measure("Command", "text"), "reply": measure("Reply", "text"),
    "ttl_s": measure("TTL after it", "s"), "pttl_ms": measure("PTTL after it", "ms"),
    "supported": measure("Supported here", "yes/no"), "redis.io says": measure("What redis.io says", "text"),
}


@register("ttl-mechanics", title="TTL commands, live", params=TTLMechanicsParams, page=PAGE,
          measures=MECHANICS_MEASURES,
          summary="EXPIRE with GT/LT/NX/XX, PERSIST, EXPIREAT, a plain SET that drops the TTL, and per-field "
                  "HEXPIRE on a hash: the TTL after each step.")
def run(params: TTLMechanicsParams, *, backend: Any = None, ns: Any = None, log: Any = None, **_: Any):
    def recipe(r: Any, ns: Any):
        key, hkey = ns.key("ttl:k"), ns.key("ttl:h")
        metrics: dict[str, Any] = {}
        rows = []
        options_supported = True
        for name, command, expected, needs_7 in _steps(key, _server_now(r)):
            supported, reply = attempt(r, *command)
            ttl, pttl = ttl_of(r, key)
            if isinstance(reply, bool):  # redis-py turns EXPIRE's 1/0 and SET's OK into booleans
                shown: Any = "OK" if command[0] == "SET" and reply else int(reply)
            else:
                shown = reply.decode() if isinstance(reply, bytes) else reply
            metrics[f"ttl_after_{name}"] = ttl
            metrics[f"reply_{name}"] = int(reply) if isinstance(reply, (bool, int)) else str(shown)
            if needs_7:
                metrics[f"supported_{name}"] = supported
                options_supported &= supported
            rows.append({"step": name, "command": " ".join(map(str, command)).replace(ns.prefix, ""),
                         "reply": str(shown), "ttl_s": ttl, "pttl_ms": pttl, "supported": supported,
                         "redis.io says": expected})
        metrics["options_supported"] = options_supported

        # A hash: EXPIRE covers the whole key; HEXPIRE gives one field its own TTL.
        r.execute_command("HSET", hkey, "f", "1", "g", "2")
        r.execute_command("EXPIRE", hkey, min(600, DEFAULT_TTL_S))
        metrics["hash_ttl_s"] = ttl_of(r, hkey)[0]
        before = encoding_of(r, hkey)
        hexpire = supports(r, "HEXPIRE", hkey, params.field_ttl_s, "FIELDS", 1, "f")
        metrics["hexpire_supported"] = hexpire
        metrics["httl_f"] = metrics["httl_g"] = None
        if hexpire:
            f_ttl, g_ttl = r.execute_command("HTTL", hkey, "FIELDS", 2, "f", "g")
            metrics["httl_f"], metrics["httl_g"] = int(f_ttl), int(g_ttl)
        rows.append({"step": "hexpire", "command": f"HEXPIRE h {params.field_ttl_s} FIELDS 1 f",
                     "reply": f"HTTL f={metrics['httl_f']} g={metrics['httl_g']}", "ttl_s": metrics["hash_ttl_s"],
                     "pttl_ms": None, "supported": hexpire,
                     "redis.io says": "field f expires on its own; g has none (-1); the key keeps its TTL"})
        if hexpire and before is not None:
            rows.append({"step": "encoding", "command": "OBJECT ENCODING h (before → after HEXPIRE)",
                         "reply": f"{before} → {encoding_of(r, hkey)}", "ttl_s": metrics["hash_ttl_s"],
                         "pttl_ms": None, "supported": True,
                         "redis.io says": "a field TTL changes the encoding: listpackex on Redis 7.4+, "
                                          "hashtable on Valkey 9"})

        for k in (key, hkey):  # the lab's rule: every key leaves with a lease
            ttl = ttl_of(r, k)[0]
            if ttl == -1 or ttl > DEFAULT_TTL_S:
                r.execute_command("EXPIRE", k, DEFAULT_TTL_S)
        metrics["ttl_at_end"] = ttl_of(r, key)[0]

        notes = ["GT and LT treat a key without a TTL as never expiring; NX/XX test whether it has one (redis.io EXPIRE).",
                 "A plain SET dropped the TTL (-1): the lab then gave the key its usual lease."]
        if not options_supported:
            notes.append("This server lacks EXPIRE NX/XX/GT/LT (added in Redis 7.0): those steps were skipped.")
        if not hexpire:
            notes.append("This server has no HEXPIRE (Redis 7.4+, Valkey 9.0+): only whole keys can expire.")
        return metrics, {"steps": pd.DataFrame(rows)}, notes

    return run_recipe(backend, ns, log, recipe, lab=KEYS_LAB)
