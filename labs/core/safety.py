"""Per-learner limits on a shared server: a command rate limit and size caps, enforced at the client.

A room of 30 learners shares one Redis. One learner's loop (or a Run button pressed twenty times) must not
starve the others, and no learner may fill the server with one giant value or a million keys. Every lab
client a learner's session uses on a shared backend (live, and the embedded server all sessions of the
app share) is wrapped by :func:`limit_client` with that learner's :class:`LearnerGuard`:

* **rate**: a token bucket (``rate_per_s`` tokens per second, at most ``burst`` banked). Each command, and
  each command queued in a pipeline, takes one token. The burst is sized so that the largest experiment
  at its largest parameters (about 80,000 commands, measured) runs whole; what the bucket stops is a
  learner running such experiments back to back. An empty bucket *refuses* the command
  (:class:`LimitExceeded`, a :class:`~labs.core.backends.BackendError` with a message and a hint) instead of
  sleeping: a sleep inside a timed call would show up as a fake latency in the lab's measurements.
* **size**: no argument over ``max_value_bytes``, no command over ``max_command_bytes``.
* **keys**: at most ``max_keys`` keys under the learner's prefix. The guard remembers the keys this
  session created; when that count reaches the cap it recounts on the server (SCAN MATCH on the learner's
  prefix — expired and deleted keys drop out, keys written through another replica count) and refuses a
  write that would create one more.

Scope, honestly: the bucket lives in the learner's session, in one app process. A learner who opens a
second tab gets a second session and a second bucket, and behind a load balancer each replica limits
on its own, so the server-wide worst case is ``replicas × sessions × rate``. A limit that holds across
processes needs the server's help (an INCR per window in the learner's namespace costs one round trip
per command, or a proxy/ACL in front of Redis); for a workshop the per-session bucket stops the
accidents it is meant to stop. The key cap is counted on the server, so it holds across replicas.

The console (``labs.structures.console``) has its own, stricter limits (typed commands: 30 per 10 s,
64 KiB per argument, collections of at most :data:`DEFAULT_LIMITS` ``.max_collection_len`` elements).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from labs.core.errors import BackendError
from labs.core.metrics import shallow_copy
from labs.core.namespace import Namespace

import redis


@dataclass(frozen=True)
class SafetyLimits:
    rate_per_s: float = 2_000.0          # sustained commands per second, per learner session
    burst: int = 100_000                 # commands that may be sent at once (a full experiment run)
    max_value_bytes: int = 1 << 20       # per argument (a value, a field, a member): 1 MiB
    max_command_bytes: int = 8 << 20     # all arguments of one command together
    max_keys: int = 10_000               # keys under the learner's prefix
    max_collection_len: int = 10_000     # elements a console write may leave in a list/set/hash/zset/stream

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("rate_per_s must be positive and burst at least 1")
        if min(self.max_value_bytes, self.max_command_bytes, self.max_keys, self.max_collection_len) < 1:
            raise ValueError("every cap must be at least 1")


DEFAULT_LIMITS = SafetyLimits()


class LimitExceeded(BackendError, redis.RedisError):
    """A learner went over a limit; ``message`` says which, ``hint`` what to do. Nothing was sent.

    It is a :class:`BackendError` (pages show message and hint) and a ``redis.RedisError`` (code that
    catches a failed Redis command, such as a worker thread, treats it as one rather than crashing).
    """


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` banked; starts full. Thread-safe."""

    def __init__(self, rate: float, capacity: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self.clock = float(rate), float(capacity), clock
        self._tokens, self._stamp = float(capacity), clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self, n: int = 1) -> float:
        """Take ``n`` tokens: 0.0 when granted, else the seconds until they would be (nothing taken)."""
        with self._lock:
            self._refill()
            if self._tokens >= n:
                self._tokens -= n
                return 0.0
            return (n - self._tokens) / self.rate

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens


# Commands that may create a key, and where that key is (redis-py sends the name as one word).
_FIRST = 1
_CREATES: dict[str, int] = {name: _FIRST for name in (
    "SET", "SETEX", "PSETEX", "SETNX", "GETSET", "INCR", "INCRBY", "DECR", "DECRBY", "INCRBYFLOAT", "APPEND",
    "SETRANGE", "SETBIT", "HSET", "HMSET", "HSETNX", "HINCRBY", "HINCRBYFLOAT", "LPUSH", "RPUSH", "LINSERT",
    "SADD", "ZADD", "ZINCRBY", "PFADD", "PFMERGE", "XADD", "GEOADD", "RESTORE", "SINTERSTORE", "SUNIONSTORE",
    "SDIFFSTORE", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZRANGESTORE", "JSON.SET", "BF.ADD")}
_CREATES.update({"COPY": 2, "RENAME": 2, "RENAMENX": 2, "LMOVE": 2, "RPOPLPUSH": 2, "SMOVE": 2, "BLMOVE": 2,
                 "BITOP": 2, "XGROUP": 2})


def _word(arg: Any) -> str:
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    return str(arg)


def _size(arg: Any) -> int:
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return len(arg)
    if isinstance(arg, str):
        return len(arg) if arg.isascii() else len(arg.encode("utf-8", "surrogatepass"))
    return 0  # numbers: a few bytes


class LearnerGuard:
    """One learner session's limits: the token bucket, the size caps and the key count."""

    def __init__(self, ns: Namespace, limits: SafetyLimits = DEFAULT_LIMITS, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ns, self.limits = ns, limits
        self.bucket = TokenBucket(limits.rate_per_s, limits.burst, clock)
        self._prefix = ns.learner_prefix
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        self.refused: dict[str, int] = {}   # reason -> how many commands were refused (for tests and the bench)

    def _refuse(self, reason: str, message: str, hint: str) -> LimitExceeded:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        return LimitExceeded(message, hint, reason=reason)

    # -- the checks, in the order a command meets them
    def check(self, args: tuple, counter: Any = None) -> None:
        """Raise :class:`LimitExceeded` if ``args`` may not be sent now; ``counter`` recounts keys (a client)."""
        lim = self.limits
        total = 0
        for arg in args:
            size = _size(arg)
            if size > lim.max_value_bytes:
                raise self._refuse("too-big", f"A value of {size:,} bytes is over the lab's limit of "
                                   f"{lim.max_value_bytes:,} bytes per value on a shared server.",
                                   "Use a smaller value: the other learners share this server's memory.")
            total += size
        if total > lim.max_command_bytes:
            raise self._refuse("too-big", f"A command of {total:,} bytes is over the lab's limit of "
                               f"{lim.max_command_bytes:,} bytes on a shared server.",
                               "Send fewer or smaller values per command.")
        wait = self.bucket.take(1)
        if wait:
            raise self._refuse(
                "rate-limit",
                f"You have sent commands faster than this shared server allows each learner: "
                f"{lim.burst:,} at once, then {lim.rate_per_s:,.0f} per second.",
                f"Wait about {max(1, round(wait))} s and run again (a smaller run needs fewer commands).")
        if args:
            position = _CREATES.get(_word(args[0]).upper())
            if position is not None and position < len(args):
                self._count_key(_word(args[position]), counter)

    def _count_key(self, key: str, counter: Any) -> None:
        if not key.startswith(self._prefix):
            return  # not this learner's (a class-wide key, or a probe): not counted here
        with self._lock:
            if key in self._keys:
                return
            if len(self._keys) >= self.limits.max_keys and counter is not None:
                self._keys = self._recount(counter)
                if key in self._keys:
                    return
            if len(self._keys) >= self.limits.max_keys:
                raise self._refuse("too-many-keys",
                                   f"You hold {'more than ' if len(self._keys) > self.limits.max_keys else ''}"
                                   f"{min(len(self._keys), self.limits.max_keys):,} keys on this shared server; "
                                   f"the lab allows each "
                                   f"learner at most {self.limits.max_keys:,}.",
                                   "Press \"Reset my lab\" in the sidebar, or wait for your keys' TTLs to run out.")
            self._keys.add(key)

    def _recount(self, client: Any) -> set[str]:
        """The learner's keys as the server has them now (SCAN MATCH, never KEYS)."""
        found = set()
        for k in client.scan_iter(match=self._prefix + "*", count=1000):
            found.add(_word(k))
            if len(found) > self.limits.max_keys:
                break
        return found


def limit_client(client: Any, guard: LearnerGuard) -> Any:
    """A copy of ``client`` whose every command (and every command queued in a pipeline) passes ``guard``.

    The copy shares the original's connection pool, so wrapping per learner costs no connection. The
    key recount uses the original client (it is the lab's own bookkeeping, not the learner's command).
    """
    limited = shallow_copy(client)
    execute, pipeline = client.execute_command, client.pipeline

    def execute_command(*args: Any, **options: Any) -> Any:
        guard.check(args, client)
        return execute(*args, **options)

    def limited_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = pipeline(*args, **kwargs)
        queue = pipe.execute_command  # every pipeline command method queues through this

        def checked_queue(*cmd: Any, **options: Any) -> Any:
            guard.check(cmd, client)
            return queue(*cmd, **options)

        pipe.execute_command = checked_queue
        return pipe

    limited.execute_command, limited.pipeline = execute_command, limited_pipeline
    return limited
