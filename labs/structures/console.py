"""A safe, redis-cli-like console scoped to one learner.

``SafeConsole.execute("SET greeting hello")`` parses the line exactly as redis-cli does (``sdssplitargs``),
checks it against an allow-list (``console_commands``), rewrites every key into the learner's namespace,
sends it on a RESP2 connection of its own (so redis-py post-processes nothing) and prints the reply as
redis-cli would. Commands that could touch other learners' keys or the server itself are refused with a
reason and never sent; every key a write leaves without a TTL gets the lab's lease. ``execute`` never raises.
"""
from __future__ import annotations

import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

import redis

from labs.core.backends import connection_kwargs
from labs.core.metrics import CommandLog, CommandRecord
from labs.core.namespace import DEFAULT_TTL_S, MAX_TTL_S, Namespace, check_ttl
from labs.core.safety import DEFAULT_LIMITS
from labs.structures.console_commands import (COMMANDS, DENIED, FAMILIES, LENGTH_COMMAND, SCRIPT_REASON,
                                              SCRIPTING, ErrorReply, Spec, Status, cli_repr, error_text,
                                              format_reply, shown_form, split_args, strict_int)

__all__ = ["ConsoleLimits", "ConsoleReply", "SafeConsole", "cli_repr", "format_reply", "split_args"]

UNKNOWN_REASON = "not a command the lab console allows"


@dataclass(frozen=True)
class ConsoleLimits:
    max_value_bytes: int = 64 * 1024      # per argument
    max_args: int = 1_000                 # words in one command, its name included
    max_collection_len: int = DEFAULT_LIMITS.max_collection_len  # elements in a list/set/hash/zset/stream after a write
    rate_commands: int = 30               # at most this many commands …
    rate_window_s: float = 10.0           # … in this sliding window (per console)
    max_block_s: float = 2.0              # BLPOP/BRPOP/BLMOVE wait at most this long
    default_ttl_s: int = DEFAULT_TTL_S    # the lease a key without a TTL gets
    max_command_bytes: int = 1 << 20      # all arguments of one command together
    scan_count_cap: int = 1_000
    max_output_chars: int = 1_000_000     # longer printouts are cut (the page must stay usable)

    def __post_init__(self) -> None:
        check_ttl(self.default_ttl_s)


@dataclass(frozen=True)
class ConsoleReply:
    line: str                   # what was typed
    shown: str                  # the command as sent, without the learner's prefix
    output: str                 # what redis-cli would print
    ok: bool
    refused: str | None = None  # why the lab did not send it
    elapsed_ns: int = 0         # round trip of the command (0 when not sent)
    notes: tuple[str, ...] = ()


def _human_s(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60:g} min"
    return f"{seconds:g} s"


# --------------------------------------------------------------------------- the wire

def _read_resp2(sock: socket.socket) -> Any:
    """One RESP2 reply read straight from the socket, keeping status and error replies apart."""
    buf, pos = bytearray(), 0

    def need(size: int) -> None:
        while len(buf) < size:
            chunk = sock.recv(65536)
            if not chunk:
                raise redis.ConnectionError("the server closed the connection")
            buf.extend(chunk)

    def line() -> bytes:
        nonlocal pos
        while (end := buf.find(b"\r\n", pos)) < 0:
            need(len(buf) + 1)
        out, pos = bytes(buf[pos:end]), end + 2
        return out

    def item() -> Any:
        nonlocal pos
        raw = line()
        kind, rest = raw[:1], raw[1:]
        if kind == b"+":
            return Status(rest)
        if kind == b"-":
            return ErrorReply(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"*") and int(rest) < 0:
            return None
        if kind == b"$":
            need(pos + int(rest) + 2)
            data, pos = bytes(buf[pos:pos + int(rest)]), pos + int(rest) + 2
            return data
        if kind == b"*":
            return [item() for _ in range(int(rest))]
        raise redis.ConnectionError(f"unexpected reply type {kind!r} from the server")

    return item()


def _resp2_pool(source: Any) -> redis.ConnectionPool:
    """A pool like ``source`` (same server, credentials, timeouts) whose connections speak RESP2."""
    kwargs = connection_kwargs(source)
    kwargs.update(protocol=2, decode_responses=False)
    return redis.ConnectionPool(connection_class=source.connection_class, **kwargs)


class SafeConsole:
    """One learner's console on ``client``; ``shared`` = other learners or applications use the server."""

    def __init__(self, client: Any, ns: Namespace, *, shared: bool, clock: Callable[[], float] = time.monotonic,
                 log: CommandLog | None = None, limits: ConsoleLimits = ConsoleLimits()) -> None:
        self.client, self.ns, self.shared, self.clock, self.log, self.limits = client, ns, shared, clock, log, limits
        self._prefix = ns.prefix.encode()
        self._recent: deque[float] = deque()
        self._pools: dict[str, redis.ConnectionPool] = {}
        self._lock = threading.Lock()

    def execute(self, line: str) -> ConsoleReply:
        """Run one typed line; never raises."""
        try:
            with self._lock:
                return self._execute(line if isinstance(line, str) else str(line))
        except Exception as exc:  # a bug must not take the page down: say what happened
            return ConsoleReply(str(line), "", f"(error) the lab console failed: {type(exc).__name__}: {exc}",
                                ok=False)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.disconnect()
        self._pools.clear()

    # -- the steps of one command
    def _execute(self, line: str) -> ConsoleReply:
        lim = self.limits
        if not line.strip(" \t\n\v\f\r\0"):
            return ConsoleReply(line, "", "", ok=True)
        now = self.clock()
        while self._recent and self._recent[0] <= now - lim.rate_window_s:
            self._recent.popleft()
        if len(self._recent) >= lim.rate_commands:
            why = f"slow down: at most {lim.rate_commands} commands in {lim.rate_window_s:g} s"
            return ConsoleReply(line, "", f"(error) {why}", ok=False, refused=why)
        self._recent.append(now)
        argv = split_args(line)
        if argv is None:
            return ConsoleReply(line, "", "Invalid argument(s)", ok=False)
        if not argv:
            return ConsoleReply(line, "", "", ok=True)

        def refuse(why: str, output: str | None = None, notes: tuple[str, ...] = ()) -> ConsoleReply:
            return ConsoleReply(line, shown_form(argv), output or f"(error) the lab console refused this: {why}",
                                ok=False, refused=why, notes=notes)

        if len(argv) > lim.max_args:
            return refuse(f"{len(argv):,} arguments; the lab allows at most {lim.max_args:,}")
        big = max(len(a) for a in argv)
        if big > lim.max_value_bytes:
            return refuse(f"an argument of {big:,} bytes; the lab allows at most {lim.max_value_bytes:,}")
        if sum(map(len, argv)) > lim.max_command_bytes:
            return refuse(f"the command is over {lim.max_command_bytes:,} bytes in all")
        name = argv[0].decode("utf-8", "replace").upper()
        if name in SCRIPTING and self.shared:
            return refuse(SCRIPT_REASON, f"(error) {name} is refused on a shared server: {SCRIPT_REASON}")
        if name in DENIED:
            return refuse(DENIED[name], f"(error) the lab console does not send {name}: {DENIED[name]}")
        if name in FAMILIES and len(argv) > 1:
            spec = COMMANDS.get(f"{name} {argv[1].decode('utf-8', 'replace').upper()}")
        else:
            spec = Spec(keys=None) if name in FAMILIES else COMMANDS.get(name)
        if spec is None:
            typed = "".join(f"'{a.decode('utf-8', 'replace')}' " for a in argv[1:])[:128]
            text = f"(error) ERR unknown command '{argv[0].decode('utf-8', 'replace')[:128]}', " \
                   f"with args beginning with: {typed}"
            return refuse(UNKNOWN_REASON, re.sub(r"[\r\n]", " ", text),
                          ("the lab console runs data commands: strings, keys, lists, hashes, sets, sorted sets, "
                           "HyperLogLog, streams",))
        return self._run(line, argv, name, spec, refuse)

    def _run(self, line: str, argv: list[bytes], name: str, spec: Spec, refuse: Callable) -> ConsoleReply:
        lim, notes = self.limits, []
        idx = spec.key_indexes(argv)
        sent = [self._prefix + a if i in idx else a for i, a in enumerate(argv)]
        if name == "SCAN":
            scan = self._scan_args(argv, notes)
            if scan is None:
                return ConsoleReply(line, shown_form(argv), "(error) ERR syntax error", ok=False)
            sent, idx = scan
        if name == "COPY" and any(a.upper() == b"DB" for a in argv[3:]):
            return refuse("COPY … DB writes into another database, outside your namespace")
        if name == "SETRANGE" and len(argv) == 4 and (off := strict_int(argv[2])) is not None \
                and off + len(argv[3]) > lim.max_value_bytes:
            return refuse(f"it would make a string of {off + len(argv[3]):,} bytes; "
                          f"the lab allows at most {lim.max_value_bytes:,}")
        if spec.randcount and len(argv) > 2 and (count := strict_int(argv[2])) is not None \
                and abs(count) > lim.max_collection_len:
            return refuse(f"a count of {abs(count):,} would build a huge reply; "
                          f"the lab allows at most {lim.max_collection_len:,}")
        read_timeout = None
        if spec.block and len(argv) > 2:
            text = argv[-1].decode("ascii", "replace")
            if not re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", text):
                return ConsoleReply(line, shown_form(argv), "(error) ERR timeout is not a float or out of range",
                                    ok=False)
            if float(text) == 0 or float(text) > lim.max_block_s:
                sent[-1] = f"{lim.max_block_s:g}".encode()
                notes.append(f"the lab capped the timeout at {lim.max_block_s:g} s "
                             f"({'0 means wait forever' if float(text) == 0 else 'the console waits no longer'})")
            read_timeout = lim.max_block_s + 2.0
        shown = shown_form([a[len(self._prefix):] if i in idx and a.startswith(self._prefix) else a
                            for i, a in enumerate(sent)])
        conn, pool, leases = None, None, []
        try:
            pool = self._pool()
            conn = pool.get_connection()
            too_long = self._length_check(conn, spec, sent, idx)
            if too_long:
                return refuse(too_long)
            start = time.perf_counter_ns()
            reply = self._call(conn, sent, spec, read_timeout)
            elapsed = time.perf_counter_ns() - start
            failed = isinstance(reply, (ErrorReply, BaseException))
            if spec.write and not failed:
                notes += self._lease(conn, [sent[i] for i in idx], leases)
        except (redis.RedisError, OSError) as exc:
            if conn is not None:
                conn.disconnect()
            down = isinstance(exc, (redis.ConnectionError, redis.TimeoutError, OSError))
            text = f"the server is not answering: {error_text(exc)}" if down else error_text(exc)
            return ConsoleReply(line, shown, f"(error) {text}", ok=False, notes=tuple(notes))
        finally:
            if conn is not None:
                pool.release(conn)
        reply = self._strip_keys(reply, spec.reply_keys)
        output = format_reply(reply).rstrip("\n").replace(self.ns.prefix, "") if failed \
            else format_reply(reply).rstrip("\n")
        if len(output) > lim.max_output_chars:
            output = output[:lim.max_output_chars] + "…"
            notes.append(f"the printout was cut at {lim.max_output_chars:,} characters")
        if self.log is not None:
            self.log.add(CommandRecord(shown, output.replace("\n", " ")[:120], elapsed,
                                       output[len("(error) "):] if failed else None))
            for record in leases:
                self.log.add(record)
        return ConsoleReply(line, shown, output, ok=not failed, elapsed_ns=elapsed, notes=tuple(notes))

    def _scan_args(self, argv: list[bytes], notes: list[str]) -> tuple[list[bytes], list[int]] | None:
        """``SCAN cursor [MATCH p] [COUNT n] [TYPE t]`` limited to the learner's keys; None if malformed."""
        if len(argv) < 2 or len(argv) % 2:
            return None
        pattern, options = b"*", []
        for opt, value in zip(argv[2::2], argv[3::2]):
            opt = opt.upper()
            if opt == b"MATCH":
                pattern = value
            elif opt == b"COUNT":
                count = strict_int(value)
                if count is not None and count > self.limits.scan_count_cap:
                    notes.append(f"the lab capped COUNT at {self.limits.scan_count_cap:,}")
                    value = str(self.limits.scan_count_cap).encode()
                options += [b"COUNT", value]
            elif opt == b"TYPE":
                options += [b"TYPE", value]
            else:
                return None
        notes.append("SCAN lists only your keys: the lab puts your prefix in front of MATCH")
        escaped = re.sub(rb"([*?\[\]\\])", rb"\\\1", self._prefix)
        return [b"SCAN", argv[1], b"MATCH", escaped + pattern, *options], [3]

    def _strip_keys(self, reply: Any, where: str | None) -> Any:
        def strip(key: Any) -> Any:
            return key[len(self._prefix):] if isinstance(key, bytes) and key.startswith(self._prefix) else key

        if where == "scan" and isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], list):
            return [reply[0], [strip(k) for k in reply[1]]]
        if where == "pop" and isinstance(reply, list) and reply:
            return [strip(reply[0]), *reply[1:]]
        return reply

    # -- the server
    def _pool(self) -> redis.ConnectionPool:
        """The RESP2 pool for the server holding the learner's keys (on a cluster: their slot's node)."""
        client, name, source = self.client, "main", None
        if hasattr(client, "get_node_from_key") and hasattr(client, "nodes_manager"):
            node = client.get_node_from_key(self.ns.prefix)
            name, source = node.name, node.redis_connection.connection_pool
        if name not in self._pools:
            self._pools[name] = _resp2_pool(source or client.connection_pool)
        return self._pools[name]

    def _call(self, conn: Any, args: list[bytes], spec: Spec | None = None, timeout: float | None = None) -> Any:
        """Send one command and read its raw reply; an error reply is returned, not raised."""
        conn.send_command(*args)
        sock = getattr(conn, "_sock", None)
        if isinstance(sock, socket.socket):  # a real server: read RESP2 ourselves (status vs bulk kept)
            old = sock.gettimeout()
            try:
                if timeout is not None:
                    sock.settimeout(timeout)
                return _read_resp2(sock)
            except socket.timeout:
                raise redis.TimeoutError("no reply in time") from None
            except BaseException:
                conn.disconnect()
                raise
            finally:
                if conn._sock is sock:
                    sock.settimeout(old)
        try:  # fakeredis: its connection hands over decoded values (a status is plain bytes)
            reply = conn.read_response(disable_decoding=True)
        except redis.ResponseError as exc:
            return ErrorReply(error_text(exc))
        if spec is not None and spec.status is not None and type(reply) is bytes and spec.status(args):
            return Status(reply)
        return reply

    def _length(self, conn: Any, key: bytes) -> tuple[bytes, int]:
        kind = self._call(conn, [b"TYPE", key])
        if not isinstance(kind, bytes) or bytes(kind) not in LENGTH_COMMAND:
            return (bytes(kind) if isinstance(kind, bytes) else b"?"), 0
        kind = bytes(kind)
        n = self._call(conn, [LENGTH_COMMAND[kind], key])
        return kind, n if isinstance(n, int) else 0

    def _length_check(self, conn: Any, spec: Spec, sent: list[bytes], idx: list[int]) -> str | None:
        """Why the write would make a collection (or string) too long, or None."""
        lim = self.limits
        cap = lim.max_value_bytes if spec.kind == "string" else lim.max_collection_len
        unit = "bytes" if spec.kind == "string" else "elements"
        checks: list[tuple[bytes, int]] = []
        for i, added in (spec.grow(sent) if spec.grow else []):
            if i < len(sent):
                kind, n = self._length(conn, sent[i])
                if kind in (b"none", (spec.kind or "").encode()):  # another type: the server says WRONGTYPE
                    checks.append((sent[i], n + added))
        if spec.store and len(idx) > 1:
            sizes = [self._length(conn, sent[i])[1] for i in idx[1:]]
            bound = {"sum": sum, "min": min, "first": lambda s: s[0]}[spec.store](sizes)
            checks.append((sent[idx[0]], bound))
        for key, size in checks:
            if size > cap:
                return (f"it could make '{key[len(self._prefix):].decode('utf-8', 'replace')}' {size:,} {unit} "
                        f"long; the lab allows at most {cap:,}")
        return None

    def _lease(self, conn: Any, keys: list[bytes], records: list[CommandRecord]) -> list[str]:
        """Give every written key without a TTL the default lease (and cap any TTL at 24 h)."""
        notes = []
        for key in dict.fromkeys(keys):
            ttl = self._call(conn, [b"TTL", key])
            if ttl == -1 or (isinstance(ttl, int) and ttl > MAX_TTL_S):
                seconds = self.limits.default_ttl_s if ttl == -1 else MAX_TTL_S
                start = time.perf_counter_ns()
                reply = self._call(conn, [b"EXPIRE", key, str(seconds).encode()])
                shown = key[len(self._prefix):].decode("utf-8", "replace")
                records.append(CommandRecord(shown_form([b"EXPIRE", key[len(self._prefix):], str(seconds).encode()]),
                                             format_reply(reply).strip(), time.perf_counter_ns() - start))
                notes.append(f"the lab gave '{shown}' a {_human_s(seconds)} lease (every lab key carries a TTL)"
                             if ttl == -1 else
                             f"the lab shortened '{shown}''s TTL to {_human_s(seconds)} (no lab key outlives a day)")
        return notes
