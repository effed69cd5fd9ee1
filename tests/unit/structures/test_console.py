"""The safe console on fakeredis: parsing, namespacing, refusals, caps, leases, printing, and a fuzz."""
from __future__ import annotations

import random
import threading
import time

import fakeredis
import pytest

from labs.core.metrics import CommandLog
from labs.core.namespace import DEFAULT_TTL_S, MAX_TTL_S, Namespace
from labs.structures.console import (ConsoleLimits, ConsoleReply, SafeConsole, cli_repr, format_reply,
                                     split_args)
from labs.structures.console_commands import COMMANDS

ME = Namespace("a1b2c3d4e5", "structures")
OTHER = Namespace("ffff0000ee", "structures")
P = ME.prefix.encode()


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def server():
    return fakeredis.FakeServer()


@pytest.fixture
def client(server):
    """The test's own view of the server (its commands are not spied on)."""
    return fakeredis.FakeRedis(server=server)


@pytest.fixture
def console_client(server):
    return fakeredis.FakeRedis(server=server)


@pytest.fixture
def sent(console_client):
    """Every command the console sends (redis-py's connection handshake left out)."""
    seen: list[list[bytes]] = []
    base = console_client.connection_pool.connection_class

    class Spy(base):
        def send_command(self, *args, **kwargs):
            cmd = [a if isinstance(a, bytes) else str(a).encode() for a in args]
            if cmd[0].upper() != b"HELLO" and cmd[:2] != [b"CLIENT", b"SETINFO"]:
                seen.append(cmd)
            return super().send_command(*args, **kwargs)

    console_client.connection_pool.connection_class = Spy
    return seen


@pytest.fixture
def make(console_client, sent):
    consoles = []

    def factory(shared: bool = True, **kwargs) -> SafeConsole:
        console = SafeConsole(console_client, ME, shared=shared, **kwargs)
        consoles.append(console)
        return console

    yield factory
    for c in consoles:
        c.close()


@pytest.fixture
def console(make):
    return make(limits=ConsoleLimits(rate_commands=10_000))


def names(sent):
    return [cmd[0].upper() for cmd in sent]


# --------------------------------------------------------------------------- parsing like redis-cli


@pytest.mark.parametrize("line, args", [
    ('SET "a b" "c d"', [b"SET", b"a b", b"c d"]),
    (r'"\x41\n\t\\\"\r\b\a"', [b'A\n\t\\"\r\b\a']),
    (r'"\xff\x00"', [b"\xff\x00"]),
    (r'"\x"', [b"x"]),                       # \x without two hex digits: just x
    (r'"\xZZ"', [b"xZZ"]),
    (r'"\q"', [b"q"]),                       # an unknown escape is the character itself
    (r"'it\'s'", [b"it's"]),                 # in single quotes only \' is an escape
    (r"'a\nb'", [b"a\\nb"]),
    ('""', [b""]),
    ("''", [b""]),
    ('a"b c"', [b"ab c"]),                   # a quote inside a word starts a quoted part
    ("  \t SET   k\tv  \n", [b"SET", b"k", b"v"]),
    ("a\vb", [b"a\vb"]),                     # only space, tab, CR and LF end a bare word
    ('"a"\v', [b"a"]),                       # ... but any isspace() may follow a closing quote
    ("GET k\x00 ignored", [b"GET", b"k"]),   # a C string ends at NUL
    ("SET 😀 é", [b"SET", "😀".encode(), "é".encode()]),
    ("", []),
    ("   \t\n ", []),
])
def test_split_args_follows_sdssplitargs(line, args):
    assert split_args(line) == args


@pytest.mark.parametrize("line", ['"abc', "'abc", '"a"b', "'a'b", '"abc\\"', 'SET k "v', "'", '"', '"\\'])
def test_split_args_rejects_what_redis_cli_rejects(line):
    assert split_args(line) is None


def test_unbalanced_quotes_print_invalid_arguments_and_send_nothing(console, sent):
    reply = console.execute('SET k "unclosed')
    assert (reply.output, reply.ok, reply.refused, reply.elapsed_ns) == ("Invalid argument(s)", False, None, 0)
    assert sent == []


@pytest.mark.parametrize("line", ["", "   ", "\t\n"])
def test_empty_input_is_no_command(console, sent, line):
    reply = console.execute(line)
    assert (reply.output, reply.ok, reply.refused, reply.shown) == ("", True, None, "")
    assert sent == []


# --------------------------------------------------------------------------- the basics and the lease


def test_set_get_with_spaces_lands_in_the_namespace_with_a_lease(console, client):
    first = console.execute('SET "a b" "c d"')
    assert (first.output, first.ok, first.refused) == ("OK", True, None)
    assert first.shown == 'SET "a b" "c d"'
    assert first.elapsed_ns > 0
    assert any("1 h lease" in n and "'a b'" in n for n in first.notes)
    assert console.execute('GET "a b"').output == '"c d"'
    assert client.get(P + b"a b") == b"c d"
    assert 0 < client.ttl(P + b"a b") <= DEFAULT_TTL_S
    assert client.exists(b"a b") == 0


def test_every_write_leaves_a_ttl_even_after_persist_and_rename(console, client):
    console.execute("SET k v")
    assert console.execute("PERSIST k").notes  # the lab put a lease back
    assert client.ttl(P + b"k") > 0
    console.execute("RENAME k k2")
    assert client.ttl(P + b"k2") > 0
    console.execute("RPUSH l a")
    console.execute("LMOVE l dst LEFT RIGHT")
    assert client.ttl(P + b"dst") > 0
    console.execute("EXPIRE k2 999999")
    assert client.ttl(P + b"k2") <= MAX_TTL_S
    assert console.execute("GET k2").notes == ()  # reads leave TTLs alone


def test_an_existing_ttl_is_kept(console, client):
    reply = console.execute("SET k v EX 100")
    assert reply.notes == ()
    assert 90 < client.ttl(P + b"k") <= 100


def test_the_lease_follows_the_limits(make, client):
    make(limits=ConsoleLimits(default_ttl_s=600)).execute("SADD s x")
    assert 590 < client.ttl(P + b"s") <= 600
    with pytest.raises(ValueError):
        ConsoleLimits(default_ttl_s=0)


def test_the_log_gets_the_command_and_the_lease_without_the_prefix(make):
    log = CommandLog()
    make(log=log).execute("SET k v")
    records = log.records()
    assert [r.command for r in records] == ["SET k v", f"EXPIRE k {DEFAULT_TTL_S}"]
    assert records[0].reply == "OK" and records[0].elapsed_ns > 0
    assert all("lab:{" not in r.command + r.reply for r in records)


# --------------------------------------------------------------------------- server errors


def test_wrong_arity_prints_the_servers_own_error(console):
    reply = console.execute("GET")
    assert reply.output == "(error) ERR wrong number of arguments for 'get' command"
    assert (reply.ok, reply.refused) == (False, None)


def test_wrongtype_is_a_server_error_not_a_refusal(console):
    console.execute("SET s v")
    reply = console.execute("SADD s x")
    assert reply.output == "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    assert (reply.ok, reply.refused) == (False, None)
    assert reply.elapsed_ns > 0


def test_unknown_command_is_refused_like_redis_would(console, sent):
    reply = console.execute("FOO bar baz")
    assert reply.output == "(error) ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' "
    assert reply.refused == "not a command the lab console allows"
    assert not reply.ok and reply.elapsed_ns == 0
    assert sent == []


def test_a_down_server_gives_an_error_line_not_an_exception():
    server = fakeredis.FakeServer()
    server.connected = False
    console = SafeConsole(fakeredis.FakeRedis(server=server), ME, shared=True)
    reply = console.execute("GET k")
    assert reply.output.startswith("(error) the server is not answering")
    assert not reply.ok and reply.refused is None


# --------------------------------------------------------------------------- refusals

DENIED_LINES = [
    ("FLUSHALL", "other learners"), ("flushdb", "other learners"), ("KEYS *", "SCAN"),
    ("CONFIG SET maxmemory 1", "server"), ("CONFIG GET *", "server"), ("DEBUG SLEEP 1", "server"),
    ("SHUTDOWN NOSAVE", "server"), ("MONITOR", "connection"), ("SUBSCRIBE news", "connection"),
    ("PSUBSCRIBE n*", "connection"), ("SSUBSCRIBE news", "connection"), ("CLIENT KILL ID 1", "connections"),
    ("client list", "connections"), ("MODULE LIST", "code"), ("ACL SETUSER x on", "who may do what"),
    ("REPLICAOF 10.0.0.1 6379", "replica"), ("SLAVEOF NO ONE", "replica"), ("SAVE", "disk"),
    ("BGSAVE", "disk"), ("BGREWRITEAOF", "disk"), ("SELECT 1", "database"), ("SWAPDB 0 1", "databases"),
    ("MIGRATE 10.0.0.1 6379 k 0 100", "another server"), ("WAIT 1 0", "replicas"),
    ("MULTI", "one command at a time"), ("EXEC", "one command at a time"), ("WATCH k", "one command at a time"),
    ("SORT k BY nosort GET *", "outside your namespace"),
    ("EVAL \"return 1\" 0", "outside your namespace"), ("EVALSHA abc 0", "outside your namespace"),
    ("FCALL f 0", "outside your namespace"), ("SCRIPT FLUSH", "outside your namespace"),
]


@pytest.mark.parametrize("line, why", DENIED_LINES)
def test_denied_commands_are_refused_with_a_reason_and_never_sent(console, client, sent, line, why):
    client.set(OTHER.key("precious"), "v")
    reply = console.execute(line)
    assert reply.refused and why in reply.refused
    assert reply.output.startswith("(error) ") and why in reply.output
    assert not reply.ok and reply.elapsed_ns == 0
    assert sent == []
    assert client.get(OTHER.key("precious")) == b"v"


def test_copy_into_another_database_is_refused(console, sent):
    assert "another database" in console.execute("COPY a b DB 1").refused
    assert sent == []


# --------------------------------------------------------------------------- namespacing


def test_another_learners_key_is_never_read_or_changed(console, client):
    theirs = OTHER.key("secret")
    client.set(theirs, "s3cret", ex=500)
    for line in [f"GET {theirs}", f"DEL {theirs}", f"SET {theirs} hacked", f"RENAME {theirs} mine",
                 f"EXPIRE {theirs} 1", f"APPEND {theirs} x", f"COPY mine {theirs} REPLACE",
                 f"EVAL_RO \"return 1\" 1 {theirs}"]:
        reply = console.execute(line)
        assert "s3cret" not in reply.output
    assert client.get(theirs) == b"s3cret"
    assert client.ttl(theirs) > 400
    assert console.execute(f"GET {theirs}").output == '"hacked"'  # the learner's own key of that name
    assert client.exists(P + theirs.encode()) == 1


def test_every_key_the_console_writes_is_under_the_prefix(console, client, sent):
    for line in ["MSET a 1 b 2 c 3", "SUNIONSTORE u s1 s2", "ZUNIONSTORE z 2 z1 z2 WEIGHTS 1 2",
                 "SINTERCARD 2 s1 s2 LIMIT 5", "BLMOVE src dst LEFT RIGHT 0.01", "HSET h f v", "PFMERGE p p1 p2",
                 "XADD st * f v"]:
        console.execute(line)
    assert [k for k in client.scan_iter() if not k.startswith(P)] == []
    mset = next(c for c in sent if c[0] == b"MSET")
    assert mset == [b"MSET", P + b"a", b"1", P + b"b", b"2", P + b"c", b"3"]
    zunion = next(c for c in sent if c[0] == b"ZUNIONSTORE")
    assert zunion == [b"ZUNIONSTORE", P + b"z", b"2", P + b"z1", P + b"z2", b"WEIGHTS", b"1", b"2"]
    card = next(c for c in sent if c[0] == b"SINTERCARD")
    assert card == [b"SINTERCARD", b"2", P + b"s1", P + b"s2", b"LIMIT", b"5"]


def test_scan_lists_only_my_keys_without_the_prefix(console, client, sent):
    client.set(OTHER.key("theirs"), "x")
    client.set("unrelated", "x")
    console.execute("SET mine 1")
    reply = console.execute("SCAN 0 COUNT 100")
    assert reply.output == '1) "0"\n2) 1) "mine"'
    assert reply.shown == "SCAN 0 MATCH * COUNT 100"
    scan = next(c for c in sent if c[0] == b"SCAN")
    assert scan[2:4] == [b"MATCH", P + b"*"]


def test_scan_match_and_count_are_rewritten(console, sent):
    console.execute("SET user:1 a")
    console.execute("SET order:1 b")
    reply = console.execute("scan 0 match user:* count 50000")
    assert reply.output == '1) "0"\n2) 1) "user:1"'
    assert "COUNT 1000" in reply.shown and any("COUNT" in n for n in reply.notes)
    assert sent[-1] == [b"SCAN", b"0", b"MATCH", P + b"user:*", b"COUNT", b"1000"]
    bad = console.execute("SCAN 0 MATCH")
    assert (bad.output, bad.ok) == ("(error) ERR syntax error", False)
    assert len([c for c in sent if c[0] == b"SCAN"]) == 1  # the malformed SCAN was not sent


def test_shown_never_contains_the_prefix(console):
    for line in ["SET k v", "MGET k x", "RPUSH q a", "BLPOP q 0.01", "SCAN 0", "RENAME k k2"]:
        reply = console.execute(line)
        assert "lab:{" not in reply.shown and "lab:{" not in reply.output


# --------------------------------------------------------------------------- printing like redis-cli


def test_integer_nil_and_empty_array(console):
    assert console.execute("INCRBY n 5").output == "(integer) 5"
    assert console.execute("GET missing").output == "(nil)"
    assert console.execute("LRANGE missing 0 -1").output == "(empty array)"
    assert console.execute("TYPE n").output == "string"          # a status reply prints bare
    assert console.execute("PING").output == "PONG"
    assert console.execute("PING hi").output == '"hi"'            # ... a bulk string quoted


def test_zrange_withscores_and_hgetall_are_flat_lists(console):
    console.execute("ZADD z 1 a 2.5 b")
    assert console.execute("ZRANGE z 0 -1 WITHSCORES").output == '1) "a"\n2) "1"\n3) "b"\n4) "2.5"'
    console.execute("HSET h f1 v1 f2 v2")
    assert console.execute("HGETALL h").output == '1) "f1"\n2) "v1"\n3) "f2"\n4) "v2"'


def test_binary_values_print_escaped(console):
    console.execute(r'SET b "\xff\x00a\"b\n"')
    assert console.execute("GET b").output == r'"\xff\x00a\"b\n"'


def test_long_arrays_right_align_their_indexes(console):
    console.execute("RPUSH l " + " ".join(str(i) for i in range(1, 12)))
    out = console.execute("LRANGE l 0 -1").output.split("\n")
    assert out[0] == ' 1) "1"' and out[9] == '10) "10"' and len(out) == 11


def test_format_reply_nests_like_redis_cli():
    assert format_reply([b"0", [b"a", b"b"]]).rstrip("\n") == '1) "0"\n2) 1) "a"\n   2) "b"'
    nested = [[b"1-0", [b"f", b"v"]]] * 10
    text = format_reply(nested).split("\n")
    assert text[0] == ' 1) 1) "1-0"' and text[1] == '    2) 1) "f"' and text[2] == '       2) "v"'
    assert format_reply([]) == "(empty array)\n"
    assert format_reply([None, 7, []]) == "1) (nil)\n2) (integer) 7\n3) (empty array)\n"


def test_cli_repr_matches_sdscatrepr():
    assert cli_repr(b"\a\n\x00foo\r") == '"\\a\\n\\x00foo\\r"'   # redis' own sds test
    assert cli_repr("é".encode()) == '"\\xc3\\xa9"'


def test_blpop_shows_the_key_without_the_prefix(console):
    console.execute("RPUSH q job1")
    assert console.execute("BLPOP q 1").output == '1) "q"\n2) "job1"'


# --------------------------------------------------------------------------- caps


def test_value_cap(make, sent):
    console = make(limits=ConsoleLimits(max_value_bytes=16))
    assert console.execute("SET k " + "x" * 16).ok
    reply = console.execute("SET k " + "x" * 17)
    assert reply.refused and "17" in reply.refused and not reply.ok
    assert [c for c in sent if c[0] == b"SET"] == [[b"SET", P + b"k", b"x" * 16]]


def test_argument_cap(make, sent):
    console = make(limits=ConsoleLimits(max_args=5))
    assert console.execute("DEL a b c d").ok
    assert "at most 5" in console.execute("DEL a b c d e").refused
    assert [c[0] for c in sent].count(b"DEL") == 1


@pytest.mark.parametrize("fill, grow, one_more, check", [
    ("RPUSH l 1 2 3 4", "RPUSH l 5 6", "RPUSH l 5", "LLEN l"),
    ("SADD s 1 2 3 4", "SADD s 5 6", "SADD s 5", "SCARD s"),
    ("HSET h a 1 b 2 c 3 d 4", "HSET h e 5 f 6", "HSET h e 5", "HLEN h"),
    ("ZADD z 1 a 2 b 3 c 4 d", "ZADD z NX 5 e 6 f", "ZADD z NX 5 e", "ZCARD z"),
    ("XADD st * a 1", "XADD st * b 2", "XLEN st", "XLEN st"),
])
def test_collection_cap(make, sent, fill, grow, one_more, check):
    console = make(limits=ConsoleLimits(max_collection_len=5 if not fill.startswith("XADD") else 1))
    assert console.execute(fill).ok
    reply = console.execute(grow)
    assert reply.refused and "at most" in reply.refused and not reply.ok
    assert grow.split()[0].encode() not in [c[0] for c in sent[-1:]]  # the write itself was not sent
    assert console.execute(check).output == ("(integer) 4" if not fill.startswith("XADD") else "(integer) 1")
    assert console.execute(one_more).ok


def test_store_and_move_commands_respect_the_collection_cap(make):
    console = make(limits=ConsoleLimits(max_collection_len=5))
    console.execute("SADD a 1 2 3")
    console.execute("SADD b 4 5 6")
    assert "could make 'u' 6 elements" in console.execute("SUNIONSTORE u a b").refused
    assert console.execute("SINTERSTORE i a b").ok
    console.execute("RPUSH full 1 2 3 4 5")
    console.execute("RPUSH src x")
    assert console.execute("LMOVE src full LEFT RIGHT").refused
    assert console.execute("LLEN src").output == "(integer) 1"


def test_strings_cannot_outgrow_the_value_cap(make, client):
    console = make(limits=ConsoleLimits(max_value_bytes=10))
    console.execute("SET s 12345678")
    assert console.execute("APPEND s ab").ok
    assert console.execute("APPEND s c").refused
    assert console.execute("SETRANGE t 536870000 x").refused
    assert client.exists(P + b"t") == 0


def test_random_counts_that_repeat_are_capped(make):
    console = make(limits=ConsoleLimits(max_collection_len=100))
    console.execute("SADD s a")
    assert console.execute("SRANDMEMBER s -1000000000").refused
    assert console.execute("SRANDMEMBER s -3").output == '1) "a"\n2) "a"\n3) "a"'


def test_rate_limit_with_an_injected_clock(make, sent):
    clock = Clock(1000.0)
    console = make(clock=clock)
    for i in range(30):
        clock.t = 1000.0 + i * 0.1
        assert console.execute("PING").ok
    clock.t = 1005.0
    reply = console.execute("PING")
    assert reply.refused == "slow down: at most 30 commands in 10 s" and not reply.ok
    assert len(sent) == 30
    clock.t = 1010.05  # the first command (t=1000.0) has left the 10 s window
    assert console.execute("PING").ok
    assert console.execute("PING").refused  # the second (t=1000.1) has not
    clock.t = 1020.1  # every earlier command has left the window
    assert all(console.execute("PING").ok for _ in range(30))


def test_the_rate_limit_is_per_console(make):
    clock = Clock()
    first, second = make(clock=clock), make(clock=clock)
    for _ in range(30):
        first.execute("PING")
    assert first.execute("PING").refused and second.execute("PING").ok


@pytest.mark.parametrize("timeout", ["0", "100"])
def test_blocking_timeouts_are_clamped_to_the_cap(make, sent, timeout):
    console = make(limits=ConsoleLimits(max_block_s=0.05))
    replies: list[ConsoleReply] = []
    worker = threading.Thread(target=lambda: replies.append(console.execute(f"BLPOP q {timeout}")), daemon=True)
    start = time.perf_counter()
    worker.start()
    worker.join(5)  # an unclamped BLPOP q 0 would wait forever: fail instead of hanging the suite
    assert not worker.is_alive() and time.perf_counter() - start < 1.5
    reply = replies[0]
    assert reply.output == "(nil)" and reply.ok and reply.refused is None
    assert reply.shown == "BLPOP q 0.05"
    assert any("0.05 s" in n for n in reply.notes)
    assert [c for c in sent if c[0] == b"BLPOP"] == [[b"BLPOP", P + b"q", b"0.05"]]


def test_a_timeout_redis_would_read_differently_is_not_sent(make, sent):
    reply = make().execute("BRPOP q 0x7fffffff")
    assert reply.output == "(error) ERR timeout is not a float or out of range" and sent == []


# --------------------------------------------------------------------------- scripts


def test_eval_is_refused_on_a_shared_server(make, sent):
    reply = make(shared=True).execute("EVAL \"return redis.call('SET', KEYS[1], ARGV[1])\" 1 k v")
    assert reply.refused == "a script can reach keys outside your namespace"
    assert sent == []


def test_eval_runs_on_my_own_server_with_keys_rewritten(make, client, sent):
    reply = make(shared=False).execute("EVAL \"return redis.call('SET', KEYS[1], ARGV[1])\" 1 k v")
    assert reply.ok and reply.refused is None
    assert sent[0] == [b"EVAL", b"return redis.call('SET', KEYS[1], ARGV[1])", b"1", P + b"k", b"v"]
    assert client.get(P + b"k") == b"v" and client.ttl(P + b"k") > 0
    assert client.exists(b"k") == 0


# --------------------------------------------------------------------------- robustness


def _fuzz_inputs() -> list[str]:
    rng = random.Random(1234)
    theirs = OTHER.key("precious")
    fixed = [
        '"', "'", '""', "''", '"""', "'''", '"\\x', '"\\x4', '"\\', "\\", "'\\", '"a"b"c', "SET \"k", "GET 'k",
        "\x00", "SET k \x00v", "SET \x00 v", "😀", "SET 😀 🎉", "SET k " + "v" * 70_000, "SET " + "k" * 70_000 + " v",
        "DEL " + " ".join(f"k{i}" for i in range(5000)), "SET k " + "x" * 1_000_000, "x" * 1_000_000,
        "SET\tk\tv", "SET\nk\nv", "GET\r\nk", "  \t  ", "\t", "\n\n", f"DEL {theirs}", f"SET {theirs} x",
        f"RENAME {theirs} stolen", "FLUSHALL", "KEYS *", "EVAL \"redis.call('FLUSHALL')\" 0", "SCAN 0 MATCH",
        "SCAN", "SCAN 0 TYPE", "SCAN 0 COUNT -1", "SCAN abc", "BLPOP", "BLPOP 0", "BLPOP k -1", "BLPOP k nan",
        "BLMOVE a b LEFT RIGHT 0", "SINTERCARD 99 a", "SINTERCARD -1 a", "SINTERCARD x a", "ZUNIONSTORE d 5 a",
        "OBJECT", "OBJECT ENCODING", "MEMORY", "MEMORY STATS", "SCRIPT", "COPY a b DB", "SETRANGE k -1 x",
        "SRANDMEMBER k -99999999999999999999", "HRANDFIELD", "MSET a", "MSET a 1 b", "LPUSH", "ZADD z NX",
        "SET k v EX 99999999999", "EXPIRE k -5", "XADD s * f", "PING a b c", "ECHO", "TIME now",
        '"\\xff\\xfe" "\\x00\\x01"', "SET '' ''", "GET ''", "\ud800", "SET k \udcff", "\x1b[31mGET k",
    ]
    alphabet = ['"', "'", "\\", "x", "0", "f", " ", "\t", "\n", "\x00", "é", "😀", "k", "SET", "GET", "*", "{", "}"]
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(100 - len(fixed))]
    return fixed + randoms


def test_fuzz_100_malformed_inputs_never_raise_nor_escape_the_namespace(make, client):
    inputs = _fuzz_inputs()
    assert len(inputs) == 100
    client.set(OTHER.key("precious"), "v", ex=500)
    clock = Clock()
    console = make(shared=True, clock=clock, limits=ConsoleLimits(max_block_s=0.01))
    for line in inputs:
        clock.t += 1.0
        reply = console.execute(line)
        assert isinstance(reply, ConsoleReply) and isinstance(reply.output, str)
        assert "the lab console failed" not in reply.output, (line[:80], reply.output)
        assert reply.refused is None or not reply.ok
        assert "lab:{" + ME.session_id not in reply.shown
    keys = list(client.scan_iter())
    assert [k for k in keys if not k.startswith(P) and k != OTHER.key("precious").encode()] == []
    assert client.get(OTHER.key("precious")) == b"v"
    assert all(client.ttl(k) > 0 for k in keys)


def test_every_allowed_command_has_well_formed_key_positions():
    for name, spec in COMMANDS.items():
        assert name == name.upper()
        if spec.keys is not None:
            first, last, step = spec.keys
            assert first >= 1 and step >= 1 and (last < 0 or last >= first), name
        assert spec.keys is not None or spec.numkeys is not None or not spec.write or name.startswith("EVAL"), name
