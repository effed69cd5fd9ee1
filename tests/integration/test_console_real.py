"""The safe console against real servers: a private server, a stopped one, and a 3-master cluster."""
from __future__ import annotations

import re
import time

import pytest

from labs.core.backends import guard_shared, open_live
from labs.core.namespace import DEFAULT_TTL_S, Namespace, new_session_id
from labs.core.servers import PrivateServer
from labs.structures.console import ConsoleLimits, SafeConsole

pytestmark = pytest.mark.integration

FAST = ConsoleLimits(rate_commands=10_000)


@pytest.fixture
def raw(private_server):
    client = private_server.client()
    yield client
    client.close()


@pytest.fixture
def ns():
    return Namespace(new_session_id(), "structures")


@pytest.fixture
def console(private_server, ns):
    """The way the page builds it: on the guarded client of a server every learner shares."""
    console = SafeConsole(guard_shared(private_server.client(), "the shared test server"), ns, shared=True,
                          limits=FAST)
    yield console
    console.close()


def _calls(client) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in client.info("commandstats").items()}


def test_set_get_with_spaces_and_the_lease(console, raw, ns):
    assert console.execute('SET "a b" "c d"').output == "OK"
    assert console.execute('GET "a b"').output == '"c d"'
    assert raw.get(ns.prefix + "a b") == b"c d"
    assert 0 < raw.ttl(ns.prefix + "a b") <= DEFAULT_TTL_S


DENIED = ["FLUSHALL", "FLUSHDB ASYNC", "KEYS *", "CONFIG SET maxmemory 1mb", "DEBUG SLEEP 0", "SHUTDOWN NOSAVE",
          "MONITOR", "SUBSCRIBE ch", "PSUBSCRIBE *", "SSUBSCRIBE ch", "CLIENT KILL TYPE normal", "MODULE LIST",
          "ACL SETUSER mallory on", "REPLICAOF 127.0.0.1 1", "SAVE", "BGSAVE", "BGREWRITEAOF", "SELECT 1",
          "SWAPDB 0 1", "MIGRATE 127.0.0.1 1 k 0 10", "WAIT 1 0", "MULTI", "EXEC", "WATCH k",
          "EVAL \"return redis.call('FLUSHALL')\" 0", "SCRIPT FLUSH", "NOTACOMMAND x"]


def test_refused_commands_never_reach_the_server(console, raw):
    survivor = Namespace(new_session_id()).key("survivor")
    raw.set(survivor, "still here", ex=60)
    before = _calls(raw)
    for line in DENIED:
        reply = console.execute(line)
        assert reply.refused and not reply.ok and reply.elapsed_ns == 0, line
    after = _calls(raw)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"cmdstat_info"}, changed  # only the INFO this test itself sent
    assert raw.get(survivor) == b"still here"


def test_server_errors_are_the_servers_own_text(console):
    assert console.execute("GET").output == "(error) ERR wrong number of arguments for 'get' command"
    console.execute("SET s v")
    reply = console.execute("LPUSH s x")
    assert reply.output == "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    assert (reply.ok, reply.refused) == (False, None)


def test_replies_print_as_redis_cli_prints_them(console):
    console.execute("ZADD z 1 a 2.5 b")
    assert console.execute("ZRANGE z 0 -1 WITHSCORES").output == '1) "a"\n2) "1"\n3) "b"\n4) "2.5"'
    assert console.execute("ZSCORE z b").output == '"2.5"'
    console.execute("HSET h f v")
    assert console.execute("HGETALL h").output == '1) "f"\n2) "v"'
    console.execute("SET n 12")
    assert console.execute("OBJECT ENCODING n").output == '"int"'
    assert console.execute("MEMORY USAGE n").output.startswith("(integer) ")
    assert console.execute("TYPE z").output == "zset"
    console.execute("XADD st 1-1 f v")
    assert console.execute("XRANGE st - +").output == '1) 1) "1-1"\n   2) 1) "f"\n      2) "v"'


def test_status_and_bulk_replies_differ_on_a_real_server(private_server, ns):
    own = SafeConsole(private_server.client(), ns, shared=False, limits=FAST)
    try:
        assert own.execute("EVAL \"return redis.call('SET', KEYS[1], 'x')\" 1 k").output == "OK"
        assert own.execute("EVAL \"return 'OK'\" 0").output == '"OK"'
        assert own.execute("EVAL \"return redis.error_reply('OOPS broken')\" 0").output == "(error) OOPS broken"
    finally:
        own.close()


def test_scan_and_isolation(console, raw, ns):
    theirs = Namespace(new_session_id(), "structures").key("secret")
    raw.set(theirs, "s3cret", ex=60)
    console.execute(f"SET {theirs} mine")
    console.execute(f"DEL {theirs}")
    console.execute("SET k v")
    assert raw.get(theirs) == b"s3cret"
    reply = console.execute("SCAN 0 COUNT 1000")
    assert reply.output.startswith('1) "') and '"k"' in reply.output
    assert "lab:{" not in reply.output and "secret" not in reply.output


def test_blocking_is_clamped_and_outlives_the_fail_fast_socket_timeout(private_server, ns):
    """The page's client gives up on a read after 2 s; a clamped 2 s BLPOP must still get its (nil)."""
    console = SafeConsole(private_server.client(), ns, shared=True, limits=FAST)
    try:
        start = time.perf_counter()
        reply = console.execute("BLPOP q 0")
        took = time.perf_counter() - start
        assert reply.output == "(nil)" and reply.ok, reply.output
        assert 1.9 < took < 3.5
        assert console.execute("PING").output == "PONG"  # the connection is still in step
    finally:
        console.close()


def test_a_stopped_server_gives_an_error_line(ns):
    server = PrivateServer(maxmemory="16mb").start()
    client = server.client()
    console = SafeConsole(client, ns, shared=True)
    assert console.execute("SET k v").ok
    server.stop()
    reply = console.execute("GET k")
    assert reply.output.startswith("(error) the server is not answering") and not reply.ok
    console.close()


def test_on_a_cluster_the_console_talks_to_the_node_of_the_learners_slot(cluster_url):
    from redis.cluster import key_slot

    backend = open_live(cluster_url)
    try:
        ns = Namespace(new_session_id(), "structures")
        while key_slot(ns.prefix.encode()) < 16384 // 3:  # not on the seed node: routing must work
            ns = Namespace(new_session_id(), "structures")
        console = SafeConsole(backend.client, ns, shared=True, limits=FAST)
        assert console.execute("MSET a 1 b 2").output == "OK"
        assert console.execute("MGET a b").output == '1) "1"\n2) "2"'
        scan = console.execute("SCAN 0 COUNT 1000").output.split("\n")
        assert scan[0] == '1) "0"' and sorted(re.findall(r'"([^"]*)"', "\n".join(scan[1:]))) == ["a", "b"], scan
        assert backend.client.get(ns.key("a")) == b"1" and backend.client.ttl(ns.key("a")) > 0
        console.close()
    finally:
        backend.close()
