"""Strings: a cached JSON API response, TTL rules, a session token, and atomic counters.

Facts it demonstrates (redis.io command pages): ``TTL`` returns -1 for a key without an expiry and -2
for a missing key; any ``SET`` without ``EX``/``PX``/``KEEPTTL`` discards the key's TTL, ``KEEPTTL``
retains it; ``GETEX`` and ``SET … GET`` exist since Redis 6.2; ``INCR`` is atomic, so concurrent
increments never lose a count.
"""
from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd
import redis

from labs.core.db import load_seed_rows
from labs.core.experiment import check_ranges, knob, register
from labs.core.measures import measure
from labs.core.namespace import DEFAULT_TTL_S
from labs.core.recipe import supports
from labs.structures.common import run_recipe

PAGE = "app_pages/structures.py"


def api_response(user_id: int) -> dict[str, Any]:
    """What ``GET /user/<id>`` would return: the user's row from the seed data."""
    for row in load_seed_rows("users"):
        if row["id"] == user_id:
            return row
    raise ValueError(f"There is no user {user_id} in the seed data (ids run from 1 to {len(load_seed_rows('users'))}).")


@dataclass(frozen=True)
class CacheJsonParams:
    user_id: int = knob(123, min=1, max=2000, label="user ID", help="Whose API response to cache.")
    ttl_s: int = knob(60, min=1, max=86400, unit="s", label="TTL", help="SET … EX: how long the copy lives.")

    def __post_init__(self) -> None:
        check_ranges(self)


CACHE_JSON_MEASURES = {
    "value_bytes": measure("Cached JSON", "bytes", headline=True, help="Length of the JSON string stored with SET."),
    "ttl_s": measure("TTL right after the SET", "s", headline=True, help="TTL replies in whole seconds."),
    "pttl_ms": measure("PTTL right after the SET", "ms", headline=True, help="PTTL replies in milliseconds."),
    "missing_key_ttl": measure("TTL of a key that does not exist", headline=True,
                               help="The raw reply: -2 means no such key (-1 would mean a key without expiry)."),
    "id": measure("User ID", "text"), "name": measure("Name", "text"), "email": measure("E-mail", "text"),
    "city": measure("City", "text"), "country": measure("Country", "text"), "plan": measure("Plan", "text"),
    "created_at": measure("Created", "text"), "bio": measure("Bio", "text"),
}


@register("string-cache-json", title="Cache an API response as JSON", params=CacheJsonParams, page=PAGE,
          summary="SET user:<id> '<json>' EX 60, read it back, and read its TTL and PTTL.",
          measures=CACHE_JSON_MEASURES)
def cache_json(params: CacheJsonParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    body = json.dumps(api_response(params.user_id), separators=(",", ":"))

    def recipe(r: Any, ns: Any):
        key = ns.key(f"user:{params.user_id}")
        r.set(key, body, ex=params.ttl_s)
        cached = json.loads(r.get(key))
        ttl, pttl = r.ttl(key), r.pttl(key)
        missing = r.ttl(ns.key("user:no-such-user"))
        metrics = {"value_bytes": len(body.encode()), "ttl_s": ttl, "pttl_ms": pttl, "missing_key_ttl": missing}
        return metrics, {"value": pd.DataFrame([cached])}, [
            "TTL answers in seconds, PTTL in milliseconds; -2 means the key does not exist."]

    return run_recipe(backend, ns, log, recipe)


@dataclass(frozen=True)
class TTLRulesParams:
    ttl_s: int = knob(60, min=2, max=86400, unit="s", label="TTL", help="The expiry set by the first SET … EX.")

    def __post_init__(self) -> None:
        check_ranges(self)


TTL_RULES_MEASURES = {
    "ttl_after_set_ex": measure("TTL after SET … EX", "s", headline=True, help="The TTL reply, in seconds."),
    "ttl_after_plain_set": measure("TTL after a plain SET", headline=True,
                                   help="The raw TTL reply: -1 means the key no longer expires."),
    "ttl_after_keepttl": measure("TTL after SET … KEEPTTL", "s", headline=True, help="KEEPTTL kept the expiry."),
    "getex_supported": measure("GETEX supported", "yes/no", headline=True, help="GETEX exists since Redis 6.2."),
    "ttl_after_getex": measure("TTL after GETEX … EX", "s", headline=True,
                               help="GETEX read the value and set a new expiry (half the TTL)."),
    "set_get_returned": measure("SET … GET returned", "text", headline=True,
                                help="SET with GET replies the value it replaced."),
}


@register("string-ttl-rules", title="What a plain SET does to a TTL", params=TTLRulesParams, page=PAGE,
          summary="SET … EX, then a plain SET (TTL gone: -1), then SET … KEEPTTL (TTL kept), GETEX, SET … GET.",
          measures=TTL_RULES_MEASURES)
def ttl_rules(params: TTLRulesParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    def recipe(r: Any, ns: Any):
        key = ns.key("ttl-demo")
        try:
            return steps(r, key)
        finally:  # the lab's rule, even if a step failed: every key keeps a lease
            try:
                if r.ttl(key) == -1:
                    r.expire(key, DEFAULT_TTL_S)
            except redis.RedisError:
                pass

    def steps(r: Any, key: str):
        r.set(key, "v1", ex=params.ttl_s)
        after_ex = r.ttl(key)
        r.set(key, "v2")                      # no EX/PX/KEEPTTL: the TTL is discarded
        after_plain = r.ttl(key)
        r.set(key, "v3", ex=params.ttl_s)
        r.set(key, "v4", keepttl=True)        # KEEPTTL: value replaced, TTL retained
        after_keepttl = r.ttl(key)
        metrics: dict[str, Any] = {"ttl_after_set_ex": after_ex, "ttl_after_plain_set": after_plain,
                                   "ttl_after_keepttl": after_keepttl}
        getex = supports(r, "GETEX", key, "EX", max(1, params.ttl_s // 2))
        metrics["getex_supported"] = getex
        metrics["ttl_after_getex"] = r.ttl(key) if getex else None
        try:
            metrics["set_get_returned"] = (r.set(key, "v5", get=True, keepttl=True) or b"").decode()
        except redis.ResponseError:
            metrics["set_get_returned"] = None
        notes = ["A plain SET replaced the value and dropped the expiry (TTL -1): a cache entry that never expires."]
        if not getex:
            notes.append("This server has no GETEX (added in Redis 6.2).")
        return metrics, {}, notes

    return run_recipe(backend, ns, log, recipe)


@dataclass(frozen=True)
class SessionParams:
    ttl_s: int = knob(30, min=1, max=86400, unit="s", label="session TTL", help="How long the login lasts.")
    user_id: int = knob(123, min=1, max=2000, label="user ID", help="Who logs in.")

    def __post_init__(self) -> None:
        check_ranges(self)


SESSION_MEASURES = {
    "token": measure("Session token", "text", headline=True, help="A random URL-safe token: the key is session:<token>."),
    "created": measure("Created (SET … NX)", "yes/no", headline=True, help="NX refuses to overwrite an existing token."),
    "ttl_s": measure("TTL", "s", headline=True, help="Seconds the login has left."),
    "pttl_ms": measure("PTTL", "ms", help="The same lease in milliseconds."),
    "owner": measure("Logged-in user ID", "text", headline=True, help="The value stored under the token."),
}


@register("string-session-token", title="A session token that expires", params=SessionParams, page=PAGE,
          summary="SET session:<token> <user> EX <ttl> NX, then watch TTL/PTTL count down.",
          measures=SESSION_MEASURES)
def session_token(params: SessionParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    token = secrets.token_urlsafe(12)

    def recipe(r: Any, ns: Any):
        key = ns.key(f"session:{token}")
        created = r.set(key, params.user_id, ex=params.ttl_s, nx=True)
        metrics = {"token": token, "created": bool(created), "ttl_s": r.ttl(key), "pttl_ms": r.pttl(key),
                   "owner": int(r.get(key))}
        return metrics, {}, ["NX makes the SET fail if the token already exists, so two logins never share one."]

    return run_recipe(backend, ns, log, recipe)


@dataclass(frozen=True)
class CounterParams:
    threads: int = knob(4, min=1, max=16, help="Clients incrementing at the same time.")
    increments: int = knob(250, min=1, max=5000, help="INCRs each client sends.")

    def __post_init__(self) -> None:
        check_ranges(self)


COUNTER_MEASURES = {
    "expected": measure("INCRs sent", "commands", headline=True, help="Clients × INCRs each client sends."),
    "final": measure("Counter at the end", "count", headline=True, help="GET of the counter after every client finished."),
    "lost_counts": measure("Lost counts", "count", headline=True, help="INCRs sent minus the final value: 0 when atomic."),
    "errors": measure("Errors", "count", headline=True, help="Commands the server refused or that failed."),
}


@register("string-counter", title="Atomic counters with INCR", params=CounterParams, page=PAGE,
          summary="Several clients INCR one counter at once: the total is exact, no count is lost.",
          measures=COUNTER_MEASURES)
def counter(params: CounterParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    def recipe(r: Any, ns: Any):
        key = ns.key("page:views")
        r.set(key, 0, ex=DEFAULT_TTL_S)
        errors: list[str] = []

        def worker() -> None:
            try:
                for _ in range(params.increments):
                    r.execute_command("INCR", key)  # redis-py's incr() would send INCRBY key 1
            except redis.RedisError as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=worker) for _ in range(params.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        expected = params.threads * params.increments
        final = int(r.get(key))
        metrics = {"expected": expected, "final": final, "lost_counts": expected - final, "errors": len(errors)}
        return metrics, {}, [f"{params.threads} clients sent {expected} INCRs; Redis applied each one whole."]

    return run_recipe(backend, ns, log, recipe)
