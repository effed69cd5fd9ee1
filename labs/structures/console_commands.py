"""What the safe console knows of redis-cli: its command table, its line grammar and its printout.

The table says which commands a learner may run and where their keys are.

Key positions follow ``COMMAND INFO``: ``(first, last, step)`` with a negative ``last`` counted from
the end (``-1`` = the last argument, ``-2`` = all but the last, as in ``BLPOP k1 k2 timeout``).
Commands with a ``numkeys`` argument (``SINTERCARD 2 a b``, ``EVAL script 1 k``) name its index;
exactly that many keys follow it. Every key found here is rewritten into the learner's namespace, so a
command whose keys cannot all be found must not be on this list (``SORT … BY``, ``MIGRATE``, ``XREAD``).
``split_args`` splits a line as redis-cli's ``sdssplitargs`` does; ``format_reply`` prints a reply as
redis-cli does on a terminal (``cliFormatReplyTTY``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

Args = Sequence[bytes]
Growth = Callable[[Args], list[tuple[int, int]]]  # argv -> [(key index, elements it may add)]

_INT = re.compile(rb"^-?[0-9]{1,19}$")  # what Redis' string2ll accepts is a subset of this


def strict_int(arg: bytes) -> int | None:
    return int(arg) if _INT.match(arg) else None


@dataclass(frozen=True)
class Spec:
    keys: tuple[int, int, int] | None = (1, 1, 1)
    numkeys: int | None = None        # index of a numkeys argument; that many keys follow it
    write: bool = False               # written keys get the lab's lease afterwards
    kind: str | None = None           # the type it grows (for the length cap): list, set, hash, zset, stream, string
    grow: Growth | None = None
    store: str | None = None          # the destination (index 1) gets at most sum/min/first of the sources
    block: bool = False               # the last argument is a blocking timeout
    status: Callable[[Args], bool] | None = None  # the reply is a status line (+OK), printed bare
    reply_keys: str | None = None     # "scan": reply[1] lists keys; "pop": reply[0] is a key
    randcount: bool = False           # argument 2 is a count that may repeat elements (SRANDMEMBER k -N)
    script: bool = False              # a script: refused on a shared server

    def key_indexes(self, argv: Args) -> list[int]:
        """Indexes of every key argument in ``argv`` (only positions that exist)."""
        n = len(argv)
        out: list[int] = []
        if self.keys is not None:
            first, last, step = self.keys
            last = n + last if last < 0 else last
            out += [i for i in range(first, min(last, n - 1) + 1, step)]
        if self.numkeys is not None and self.numkeys < n:
            count = strict_int(argv[self.numkeys])
            if count is not None and 0 <= count <= n - self.numkeys - 1:
                out += range(self.numkeys + 1, self.numkeys + 1 + count)
        return sorted(set(out))


def _always(argv: Args) -> bool:
    return True


def _set_status(argv: Args) -> bool:       # SET … GET replies with the old value (a bulk string)
    return not any(a.upper() == b"GET" for a in argv[3:])


def _ping_status(argv: Args) -> bool:      # PING -> PONG (status); PING msg -> "msg" (bulk)
    return len(argv) == 1


def _tail(start: int) -> Growth:
    return lambda a: [(1, max(0, len(a) - start))]


def _one(index: int) -> Growth:
    return lambda a: [(index, 1)]


def _pairs(a: Args) -> list[tuple[int, int]]:
    return [(1, max(0, len(a) - 2) // 2)]


def _zadd(a: Args) -> list[tuple[int, int]]:
    i = 2
    while i < len(a) and a[i].upper() in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"):
        i += 1
    return [(1, max(0, len(a) - i) // 2)]


def _append(a: Args) -> list[tuple[int, int]]:
    return [(1, len(a[2]) if len(a) > 2 else 0)]


R = Spec()
W = Spec(write=True)
ALL = (1, -1, 1)
TWO = (1, 2, 1)
STATUS = Spec(write=True, status=_always)

COMMANDS: dict[str, Spec] = {
    # strings
    "GET": R, "SET": Spec(write=True, status=_set_status), "SETEX": STATUS, "PSETEX": STATUS,
    "SETNX": W, "GETSET": W, "GETEX": W, "GETDEL": W, "MGET": Spec(keys=ALL),
    "MSET": Spec(keys=(1, -1, 2), write=True, status=_always), "MSETNX": Spec(keys=(1, -1, 2), write=True),
    "INCR": W, "INCRBY": W, "DECR": W, "DECRBY": W, "INCRBYFLOAT": W,
    "APPEND": Spec(write=True, kind="string", grow=_append), "STRLEN": R, "GETRANGE": R,
    "SETRANGE": Spec(write=True, kind="string"),
    # keyspace
    "DEL": Spec(keys=ALL, write=True), "UNLINK": Spec(keys=ALL, write=True), "EXISTS": Spec(keys=ALL),
    "TYPE": Spec(status=_always), "TTL": R, "PTTL": R, "EXPIRETIME": R, "PEXPIRETIME": R,
    "EXPIRE": W, "PEXPIRE": W, "EXPIREAT": W, "PEXPIREAT": W, "PERSIST": W,
    "RENAME": Spec(keys=TWO, write=True, status=_always), "RENAMENX": Spec(keys=TWO, write=True),
    "COPY": Spec(keys=TWO, write=True),
    "OBJECT ENCODING": Spec(keys=(2, 2, 1)), "OBJECT FREQ": Spec(keys=(2, 2, 1)),
    "OBJECT IDLETIME": Spec(keys=(2, 2, 1)), "OBJECT REFCOUNT": Spec(keys=(2, 2, 1)),
    "MEMORY USAGE": Spec(keys=(2, 2, 1)),
    "SCAN": Spec(keys=None, reply_keys="scan"),
    # lists
    "LPUSH": Spec(write=True, kind="list", grow=_tail(2)), "RPUSH": Spec(write=True, kind="list", grow=_tail(2)),
    "LPUSHX": Spec(write=True, kind="list", grow=_tail(2)), "RPUSHX": Spec(write=True, kind="list", grow=_tail(2)),
    "LPOP": W, "RPOP": W, "LLEN": R, "LRANGE": R, "LINDEX": R, "LSET": STATUS, "LREM": W,
    "LTRIM": STATUS, "LINSERT": Spec(write=True, kind="list", grow=_one(1)), "LPOS": R,
    "LMOVE": Spec(keys=TWO, write=True, kind="list", grow=_one(2)),
    "RPOPLPUSH": Spec(keys=TWO, write=True, kind="list", grow=_one(2)),
    "BLPOP": Spec(keys=(1, -2, 1), write=True, block=True, reply_keys="pop"),
    "BRPOP": Spec(keys=(1, -2, 1), write=True, block=True, reply_keys="pop"),
    "BLMOVE": Spec(keys=TWO, write=True, kind="list", grow=_one(2), block=True),
    # hashes
    "HSET": Spec(write=True, kind="hash", grow=_pairs),
    "HMSET": Spec(write=True, kind="hash", grow=_pairs, status=_always),
    "HSETNX": Spec(write=True, kind="hash", grow=_one(1)), "HGET": R, "HMGET": R, "HGETALL": R,
    "HDEL": W, "HEXISTS": R, "HINCRBY": Spec(write=True, kind="hash", grow=_one(1)),
    "HINCRBYFLOAT": Spec(write=True, kind="hash", grow=_one(1)), "HKEYS": R, "HVALS": R, "HLEN": R,
    "HSTRLEN": R, "HRANDFIELD": Spec(randcount=True), "HSCAN": R,
    # sets
    "SADD": Spec(write=True, kind="set", grow=_tail(2)), "SREM": W, "SMEMBERS": R, "SISMEMBER": R,
    "SMISMEMBER": R, "SCARD": R, "SINTER": Spec(keys=ALL), "SUNION": Spec(keys=ALL), "SDIFF": Spec(keys=ALL),
    "SINTERSTORE": Spec(keys=ALL, write=True, kind="set", store="min"),
    "SUNIONSTORE": Spec(keys=ALL, write=True, kind="set", store="sum"),
    "SDIFFSTORE": Spec(keys=ALL, write=True, kind="set", store="first"),
    "SINTERCARD": Spec(keys=None, numkeys=1), "SRANDMEMBER": Spec(randcount=True), "SPOP": W,
    "SMOVE": Spec(keys=TWO, write=True, kind="set", grow=_one(2)), "SSCAN": R,
    # sorted sets
    "ZADD": Spec(write=True, kind="zset", grow=_zadd), "ZINCRBY": Spec(write=True, kind="zset", grow=_one(1)),
    "ZSCORE": R, "ZMSCORE": R, "ZRANK": R, "ZREVRANK": R, "ZRANGE": R, "ZREVRANGE": R,
    "ZRANGEBYSCORE": R, "ZREVRANGEBYSCORE": R, "ZRANGEBYLEX": R, "ZLEXCOUNT": R, "ZCOUNT": R, "ZCARD": R,
    "ZREM": W, "ZREMRANGEBYSCORE": W, "ZREMRANGEBYRANK": W, "ZPOPMIN": W, "ZPOPMAX": W,
    "ZRANDMEMBER": Spec(randcount=True), "ZSCAN": R,
    "ZUNION": Spec(keys=None, numkeys=1), "ZINTER": Spec(keys=None, numkeys=1), "ZDIFF": Spec(keys=None, numkeys=1),
    "ZUNIONSTORE": Spec(numkeys=2, write=True, kind="zset", store="sum"),
    "ZINTERSTORE": Spec(numkeys=2, write=True, kind="zset", store="min"),
    "ZDIFFSTORE": Spec(numkeys=2, write=True, kind="zset", store="first"),
    "ZRANGESTORE": Spec(keys=TWO, write=True, kind="zset", store="first"),
    # HyperLogLog
    "PFADD": W, "PFCOUNT": Spec(keys=ALL), "PFMERGE": Spec(keys=ALL, write=True, status=_always),
    # streams
    "XADD": Spec(write=True, kind="stream", grow=_one(1)), "XLEN": R, "XRANGE": R, "XREVRANGE": R,
    "XDEL": W, "XTRIM": W,
    # server, harmless
    "PING": Spec(keys=None, status=_ping_status), "ECHO": Spec(keys=None), "TIME": Spec(keys=None),
    # scripts: only on the learner's own server (refused when shared)
    "EVAL": Spec(keys=None, numkeys=2, write=True, script=True),
    "EVALSHA": Spec(keys=None, numkeys=2, write=True, script=True),
    "EVAL_RO": Spec(keys=None, numkeys=2, script=True), "EVALSHA_RO": Spec(keys=None, numkeys=2, script=True),
    "SCRIPT LOAD": Spec(keys=None, script=True), "SCRIPT EXISTS": Spec(keys=None, script=True),
}

FAMILIES = {"OBJECT", "MEMORY", "SCRIPT"}  # looked up as "NAME SUBCOMMAND"
LENGTH_COMMAND = {b"list": b"LLEN", b"set": b"SCARD", b"hash": b"HLEN", b"zset": b"ZCARD",
                  b"stream": b"XLEN", b"string": b"STRLEN"}

_SHARED_SERVER = "it changes the server for everyone who uses it"
_ONE_AT_A_TIME = ("the console sends one command at a time, so a transaction (MULTI … EXEC, WATCH) "
                  "cannot span lines here")
_HOLDS = "it holds the connection open waiting for messages; the console is one command, one reply"
_SAVE = "it writes the whole dataset to disk, a server-wide job"
SCRIPT_REASON = "a script can reach keys outside your namespace"

DENIED: dict[str, str] = {  # refused, never sent
    "FLUSHALL": "it would delete other learners' keys", "FLUSHDB": "it would delete other learners' keys",  # refused
    "KEYS": "it blocks the server while it walks every key; use SCAN",
    "CONFIG": _SHARED_SERVER, "DEBUG": "it can stall or crash the server", "SHUTDOWN": "it would stop the server",
    "MONITOR": "it streams every learner's commands and holds the connection",
    "SUBSCRIBE": _HOLDS, "PSUBSCRIBE": _HOLDS, "SSUBSCRIBE": _HOLDS,
    "CLIENT": "it acts on connections, other learners' included (CLIENT KILL)",
    "MODULE": "it loads code into the server", "FUNCTION": "it loads code into the server",
    "ACL": "it changes who may do what on the server",
    "REPLICAOF": "it would make the server a replica of another (and wipe it)",
    "SLAVEOF": "it would make the server a replica of another (and wipe it)",
    "SAVE": _SAVE, "BGSAVE": _SAVE, "BGREWRITEAOF": _SAVE,
    "SELECT": "it switches to another database, outside your namespace",
    "SWAPDB": "it swaps whole databases for everyone", "MOVE": "it moves a key to another database",
    "MIGRATE": "it moves keys to another server", "WAIT": "it blocks the connection waiting for replicas",
    "WAITAOF": "it blocks the connection waiting for the disk",
    "MULTI": _ONE_AT_A_TIME, "EXEC": _ONE_AT_A_TIME, "DISCARD": _ONE_AT_A_TIME,
    "WATCH": _ONE_AT_A_TIME, "UNWATCH": _ONE_AT_A_TIME,
    "SORT": "its BY and GET patterns read keys outside your namespace",
    "SORT_RO": "its BY and GET patterns read keys outside your namespace",
    "RANDOMKEY": "it would show other learners' keys", "DBSIZE": "it counts other learners' keys too",
    "CLUSTER": _SHARED_SERVER, "FAILOVER": _SHARED_SERVER,
    "HELLO": "it changes the protocol of the lab's connection", "AUTH": "it changes the lab connection's user",
    "RESET": "it resets the lab's connection", "QUIT": "it closes the lab's connection",
}
SCRIPTING = {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO", "SCRIPT"}


# --------------------------------------------------------------------------- parsing (sdssplitargs)

_SPACE = frozenset(b" \t\n\v\f\r")          # isspace(): skipped between arguments, required after a quote
_PLAIN = re.compile(rb"[^ \n\r\t\"']+")     # an unquoted run ends at these (and at a quote)
_DQ_RUN, _SQ_RUN = re.compile(rb"[^\"\\]+"), re.compile(rb"[^'\\]+")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}


def split_args(line: str) -> list[bytes] | None:
    """The arguments of ``line`` as redis-cli splits them, or None for unbalanced or misplaced quotes."""
    data = line.encode("utf-8", "surrogatepass").split(b"\0", 1)[0]  # C strings end at NUL
    n, i, args = len(data), 0, []
    while True:
        while i < n and data[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        cur, mode = bytearray(), None
        while True:
            if mode is None:
                m = _PLAIN.match(data, i)
                if m:
                    cur += m.group()
                    i = m.end()
                    continue
                if i >= n or data[i] not in b"\"'":
                    break
                mode, i = data[i], i + 1
                continue
            m = (_DQ_RUN if mode == 34 else _SQ_RUN).match(data, i)
            if m:
                cur += m.group()
                i = m.end()
                continue
            if i >= n:
                return None  # unterminated quotes
            if data[i] == 92:  # backslash
                nxt = data[i + 1] if i + 1 < n else None
                if mode == 34 and nxt == ord("x") and i + 3 < n and data[i + 2] in _HEX and data[i + 3] in _HEX:
                    cur.append(int(data[i + 2:i + 4], 16))
                    i += 4
                elif mode == 34 and nxt is not None:
                    cur += _ESCAPES.get(nxt, bytes([nxt]))
                    i += 2
                elif mode == 39 and nxt == 39:
                    cur.append(39)
                    i += 2
                else:
                    cur.append(92)
                    i += 1
                continue
            if i + 1 < n and data[i + 1] not in _SPACE:
                return None  # a closing quote must be followed by a space or the end
            i += 1
            break
        args.append(bytes(cur))


# --------------------------------------------------------------------------- printing (redis-cli TTY form)

class Status(bytes):
    """A status reply (+OK): redis-cli prints it bare."""


class ErrorReply(str):
    """An error reply's full text, e.g. ``WRONGTYPE Operation against …``."""


_REPR = [chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in range(256)]
_REPR[ord("\\")], _REPR[ord('"')] = "\\\\", '\\"'
for _b, _s in ((b"\n", "\\n"), (b"\r", "\\r"), (b"\t", "\\t"), (b"\a", "\\a"), (b"\b", "\\b")):
    _REPR[_b[0]] = _s


def cli_repr(data: bytes) -> str:
    """A bulk string as redis-cli prints it (sdscatrepr): quoted, non-printables as ``\\xHH``."""
    return '"' + "".join(_REPR[b] for b in data) + '"'


def error_text(exc: BaseException) -> str:
    code, msg = getattr(exc, "status_code", None), str(exc)
    return f"{code} {msg}" if code and not msg.startswith(code) else msg


def _double(x: float) -> str:
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


def format_reply(reply: Any, prefix: str = "") -> str:
    """``reply`` as redis-cli prints it: ``OK``, ``(integer) 5``, ``"text"``, ``(nil)``, ``1) …``."""
    if isinstance(reply, Status):
        return reply.decode("utf-8", "replace") + "\n"
    if isinstance(reply, ErrorReply):
        return f"(error) {reply}\n"
    if isinstance(reply, BaseException):
        return f"(error) {error_text(reply)}\n"
    if reply is None:
        return "(nil)\n"
    if isinstance(reply, bool):
        return "(true)\n" if reply else "(false)\n"
    if isinstance(reply, int):
        return f"(integer) {reply}\n"
    if isinstance(reply, float):
        return f"(double) {_double(reply)}\n"
    if isinstance(reply, (bytes, bytearray, memoryview)):
        return cli_repr(bytes(reply)) + "\n"
    if isinstance(reply, str):
        return cli_repr(reply.encode()) + "\n"
    if isinstance(reply, dict):  # only from a RESP3 connection: shown flat, as RESP2 would
        reply = [x for kv in reply.items() for x in kv]
    if isinstance(reply, (list, tuple, set, frozenset)):
        items = list(reply)
        if not items:
            return "(empty array)\n"
        width = len(str(len(items)))
        inner, out = prefix + " " * (width + 2), []
        for i, item in enumerate(items):
            out.append(f"{'' if i == 0 else prefix}{i + 1:>{width}}) ")
            out.append(format_reply(item, inner))
        return "".join(out)
    return str(reply) + "\n"


def shown_form(args: list[bytes], max_arg: int = 200) -> str:
    """A command as one would type it: bare words, or quoted with redis-cli escapes; long values cut."""
    words = []
    for arg in args:
        try:
            text = arg.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text and all(c.isprintable() and not c.isspace() and c not in "\"'\\" for c in text):
            word = text
        elif text is not None:
            word = '"' + "".join(c if c.isprintable() and c not in '"\\' else cli_repr(c.encode())[1:-1]
                                 for c in text) + '"'
        else:
            word = cli_repr(arg)
        words.append(word if len(word) <= max_arg else f"{word[:max_arg]}…({len(arg)} bytes)")
    return " ".join(words)
