"""How the server's invalidations reach a reader: the two ways ``CLIENT TRACKING`` delivers them.

* **RESP3, one connection** — after ``HELLO 3`` the data connection itself carries ``>invalidate`` push
  messages between replies, so replies and invalidations arrive in the server's order.
* **RESP2, two connections** — a second connection asks ``CLIENT ID``, subscribes to
  ``__redis__:invalidate``, and the data connection turns tracking on with ``REDIRECT <that id>``. The
  invalidation may now overtake the reply of a GET sent just before (the race redis.io describes under
  "Avoiding race conditions"), so the reader marks keys being fetched and refuses a reply that an
  invalidation overtook.

Both are dedicated connections opened from the learner's client settings (same server, credentials,
TLS, timeouts): tracking is state of one connection, so it must never go back into a shared pool. Every
command they send is timed and logged, so the page's "what Redis saw" holds both clients' commands.
redis-py's own parser dispatches the push (``set_invalidation_push_handler``, RESP3) — the lab only says
what to do with the keys. Source: https://redis.io/docs/latest/develop/reference/client-side-caching/
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

import redis

from labs.core.backends import connection_kwargs
from labs.core.metrics import CommandLog

INVALIDATE_CHANNEL = "__redis__:invalidate"
RESP3 = "RESP3 push, one connection"
REDIRECT = "RESP2 REDIRECT + __redis__:invalidate"
Handler = Callable[[list[str] | None], None]


class TrackingUnavailable(ValueError):
    """The server (or the client's connection to it) cannot do server-assisted client-side caching."""


def as_text(item: Any) -> str:
    return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)


def single_node_pool(client: Any) -> Any:
    """``client``'s connection pool; a cluster client has none, and the near cache says why it needs one."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        raise TrackingUnavailable("The near cache needs one server: on a Redis Cluster tracking is per node "
                                  "and the lab does not follow a key's node. Use the embedded server or a "
                                  "single-node URL.")
    return pool


def connection_factory(client: Any) -> Callable[[int], Any]:
    """A function opening a new connection like ``client``'s (same server and settings) in RESP2 or 3."""
    pool = single_node_pool(client)
    kwargs = connection_kwargs(pool)

    def make(protocol: int) -> Any:
        conn = pool.connection_class(**{**kwargs, "protocol": protocol})
        try:
            conn.connect()
        except redis.ResponseError as exc:  # HELLO 3 refused: a server older than Redis 6
            raise TrackingUnavailable(f"The server refused RESP3 ({exc}): tracking needs Redis 6.0 or later.") from None
        return conn

    return make


def refusal(exc: Exception, server: str = "this server") -> TrackingUnavailable:
    """Turn the server's answer to ``CLIENT TRACKING`` into a sentence a learner can act on."""
    text = str(exc)
    if "unknown command" in text.lower():
        return TrackingUnavailable(f"{server} answers \"{text.strip()}\" to CLIENT TRACKING: it has no "
                                   "server-assisted client-side caching (fakeredis 2.41 does not implement it; "
                                   "Redis ≥ 6.0 and Valkey do).")
    if "noperm" in text.lower() or "permission" in text.lower():
        return TrackingUnavailable(f"Your user may not run CLIENT TRACKING on {server} ({text}). "
                                   "Ask for the +client|tracking permission, or use the embedded server.")
    return TrackingUnavailable(f"{server} refused CLIENT TRACKING: {text}")


class Wire:
    """One dedicated connection; every command is timed and written to the logs ("what Redis saw")."""

    def __init__(self, conn: Any, logs: Iterable[CommandLog]) -> None:
        self.conn, self.logs = conn, [log for log in logs if log is not None]

    def _alive(self) -> None:
        """redis-py would silently open a new socket here — without tracking. The lab's reader must notice."""
        if getattr(self.conn, "_sock", True) is None:
            raise redis.ConnectionError("the reader's connection was closed")

    def _timed(self, label: tuple, exchange: Callable[[], Any]) -> Any:
        self._alive()
        start = time.perf_counter_ns()
        try:
            reply = exchange()
        except Exception as exc:
            for log in self.logs:
                log.add_raw(label, None, time.perf_counter_ns() - start, str(exc))
            raise
        for log in self.logs:
            log.add_raw(label, reply, time.perf_counter_ns() - start)
        return reply

    def call(self, *args: Any) -> Any:
        def exchange() -> Any:
            self.conn.send_command(*args)
            return self.conn.read_response()
        return self._timed(args, exchange)

    def pipe(self, *commands: tuple) -> list[Any]:
        """Send several commands in one write and read every reply (one round trip, one log record)."""
        def exchange() -> list[Any]:
            self.conn.send_packed_command(self.conn.pack_commands(commands))
            return [self.conn.read_response() for _ in commands]
        return self._timed(("PIPELINE",) + tuple(part for cmd in commands for part in (*cmd, ";"))[:-1], exchange)

    def pending(self) -> bool:
        """Bytes are waiting on the socket (a push, a message, or the end of the connection)."""
        self._alive()
        return bool(self.conn.can_read(0))

    def close(self) -> None:
        try:
            self.conn.disconnect()
        except Exception:  # closing a dead connection must not fail a run
            pass


class Link:
    """A reader's tracked data connection plus the path its invalidations take (see subclasses)."""

    mode = ""
    ordered = True              # replies and invalidations share one ordered stream

    def __init__(self, make: Callable[[int], Any], logs: Iterable[CommandLog], options: tuple[str, ...] = (),
                 server: str = "this server") -> None:
        self.make, self.logs, self.options, self.server = make, list(logs), tuple(options), server
        self.on_invalidate: Handler = lambda keys: None
        self.messages = 0       # invalidation messages received
        self.keys_heard = 0     # keys they named (BCAST batches several keys into one message)
        self.data: Wire | None = None

    def _deliver(self, keys: Any) -> None:
        self.messages += 1
        self.keys_heard += len(keys or ())
        self.on_invalidate(None if keys is None else [as_text(k) for k in keys])

    def _track(self, *extra: Any) -> None:
        try:
            self.data.call("CLIENT", "TRACKING", "ON", *extra, *self.options)
        except redis.ResponseError as exc:
            self.close()
            raise refusal(exc, self.server) from None

    def get(self, key: str) -> Any:
        return self.data.call("GET", key)

    def set(self, key: str, value: Any, ttl_s: int) -> None:
        """SET, then GET in the same round trip: after its own write the connection no longer tracks the key
        (with or without NOLOOP, redis.io's NOLOOP section), so it reads it again to be told of the next change."""
        self.data.pipe(("SET", key, value, "EX", ttl_s), ("GET", key))

    def caching_yes(self) -> None:
        """OPTIN mode: track the keys of the next command only."""
        self.data.call("CLIENT", "CACHING", "YES")

    def client_id(self) -> int:
        return int(self.data.call("CLIENT", "ID"))

    def trackinginfo(self) -> Any:
        return self.data.call("CLIENT", "TRACKINGINFO")

    def poll(self) -> int:
        """Handle every invalidation already on the socket, without waiting; returns how many."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Resp3Link(Link):
    """``HELLO 3`` + ``CLIENT TRACKING ON``: invalidations are pushes on the data connection itself."""

    mode = RESP3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data = Wire(self.make(3), self.logs)
        parser = getattr(self.data.conn, "_parser", None)
        if parser is not None and hasattr(parser, "set_invalidation_push_handler"):
            parser.set_invalidation_push_handler(lambda push: self._deliver(push[1]))
        self._track()

    def poll(self) -> int:
        before = self.messages
        while self.data.pending():
            self.data.conn.read_response(push_request=True, timeout=0)
        return self.messages - before

    def close(self) -> None:
        if self.data is not None:
            self.data.close()


class UntrackedLink(Resp3Link):
    """A RESP3 data connection with tracking left off: the control a measurement of tracking compares with."""

    mode = "tracking off"

    def _track(self, *extra: Any) -> None:
        """Tracking stays off."""


class RedirectLink(Link):
    """RESP2: a subscriber connection on ``__redis__:invalidate``, and ``REDIRECT <its id>`` on the data one."""

    mode = REDIRECT
    ordered = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sub = Wire(self.make(2), self.logs)
        self.sub_id = int(self.sub.call("CLIENT", "ID"))
        self.sub.call("SUBSCRIBE", INVALIDATE_CHANNEL)
        self.data = Wire(self.make(2), self.logs)
        self._track("REDIRECT", self.sub_id)

    def poll(self) -> int:
        before = self.messages
        while self.sub.pending():
            message = self.sub.conn.read_response(timeout=0)
            if isinstance(message, list) and len(message) == 3 and as_text(message[0]) == "message":
                self._deliver(message[2])
        return self.messages - before

    def close(self) -> None:
        for wire in (self.data, getattr(self, "sub", None)):
            if wire is not None:
                wire.close()






class PlainLink(Link):
    """No tracking at all: the reader's copies live until the TTL backstop (the baseline, and the
    sandbox's only option). Commands go through ``client`` (already traced by the experiment)."""

    mode = "no tracking (TTL backstop only)"

    def __init__(self, client: Any) -> None:
        super().__init__(lambda protocol: None, ())
        self.client = client

    def get(self, key: str) -> Any:
        return self.client.get(key)

    def set(self, key: str, value: Any, ttl_s: int) -> None:
        self.client.set(key, value, ex=ttl_s)

    def poll(self) -> int:
        return 0

    def close(self) -> None:
        """Nothing of its own to close: the client belongs to the experiment."""


NONE = PlainLink.mode
LINKS: dict[str, type[Link]] = {RESP3: Resp3Link, REDIRECT: RedirectLink}


def open_link(mode: str, client: Any, logs: Iterable[CommandLog], options: tuple[str, ...] = (),
              server: str = "this server") -> Link:
    """A tracked link of ``mode`` to ``client``'s server; TrackingUnavailable says why not."""
    if mode == NONE:
        return PlainLink(client)
    if mode not in LINKS:
        raise ValueError(f"Unknown tracking mode {mode!r}; choose one of: {', '.join([*LINKS, NONE])}.")
    return LINKS[mode](connection_factory(client), logs, options, server)
