"""The key inspector: type, TTL, encoding and memory of one of the learner's keys, as the server sees it.

``OBJECT ENCODING`` and ``MEMORY USAGE`` need a real server (fakeredis does not implement them): on the
sandbox those fields are None and the page says why, rather than showing a made-up figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from labs.core.namespace import Namespace

_LENGTH = {"list": "LLEN", "hash": "HLEN", "set": "SCARD", "zset": "ZCARD", "string": "STRLEN", "stream": "XLEN"}


@dataclass(frozen=True)
class KeyInfo:
    name: str                   # without the learner's prefix
    exists: bool
    type: str | None = None
    ttl_s: int | None = None    # -1: no expiry
    pttl_ms: int | None = None
    length: int | None = None   # elements (or bytes, for a string)
    encoding: str | None = None
    memory_bytes: int | None = None


def learner_key_names(client: Any, ns: Namespace, limit: int = 500) -> list[str]:
    """This lab's keys of the learner, without the prefix, found with SCAN (never KEYS)."""
    names = []
    for key in client.scan_iter(match=ns.prefix + "*", count=500):
        names.append((key.decode() if isinstance(key, bytes) else key)[len(ns.prefix):])
        if len(names) >= limit:
            break
    return sorted(names)


def _optional(client: Any, *args: Any) -> Any:
    try:
        return client.execute_command(*args)
    except redis.ResponseError:  # unknown command on this server (e.g. the sandbox)
        return None


def key_of(ns: Namespace, name: str) -> str:
    """The full key of one of the learner's keys, as SCAN listed it (without the prefix).

    The console may create names ``Namespace.key`` would refuse (``SET "a b" 1``: a space), so the name is
    appended to the prefix as it is: whatever follows the prefix, the key stays in the learner's namespace.
    """
    return ns.prefix + str(name)


def inspect_key(client: Any, ns: Namespace, name: str) -> KeyInfo:
    """Ask the server about the learner's key ``name``."""
    key = key_of(ns, name)
    kind = client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    if kind == "none":
        return KeyInfo(name, False)
    encoding = _optional(client, "OBJECT", "ENCODING", key)
    memory = _optional(client, "MEMORY", "USAGE", key)
    length = client.execute_command(_LENGTH[kind], key) if kind in _LENGTH else None
    return KeyInfo(name, True, kind, client.ttl(key), client.pttl(key), length,
                   encoding.decode() if isinstance(encoding, bytes) else encoding,
                   int(memory) if memory is not None else None)
