"""Hashes lab: the profile recipe, and JSON string vs hash (memory, bytes per update, lost updates).

RESP sizes follow the RESP specification (redis.io "Redis serialization protocol"): a request is an
array ``*<n>\\r\\n`` of bulk strings ``$<len>\\r\\n<arg>\\r\\n``.
"""
from __future__ import annotations

import json

import pytest

from labs.core.backends import open_sandbox
from labs.core.experiment import REGISTRY
from labs.core.namespace import Namespace, audit_ttls
from labs.structures import hashes
from labs.structures.common import lab_namespace
from labs.structures.hashes import (HashProfileParams, JsonVsHashParams, bulk_reply_bytes, estimate_hash_bytes,
                                    estimate_string_bytes, integer_reply_bytes, predicted_hash_encoding,
                                    resp_bytes, resp_encode)

SID = "abcd1234"


@pytest.fixture
def sandbox():
    backend = open_sandbox()
    yield backend
    backend.close()


def test_both_experiments_are_registered_for_the_structures_page():
    for name, title in (("hash-profile", "A user profile in a hash"), ("json-vs-hash", "JSON string or hash?")):
        assert REGISTRY[name].title == title
        assert REGISTRY[name].page == "app_pages/structures.py"


def test_profile_hset_expire_hget_hincrby_hgetall(sandbox):
    ns = Namespace(SID)
    result = hashes.run_profile(HashProfileParams(user_id=1, ttl_s=120), backend=sandbox, ns=ns)
    m = result.metrics
    assert m["fields"] == 5 and m["name"] == "Ada Lovelace"
    assert m["visits_after"] == m["visits_before"] + 1
    commands = result.frames["commands"].command.str.split().str[0].tolist()
    assert commands[:5] == ["HSET", "EXPIRE", "HGET", "HINCRBY", "HGETALL"]
    assert not result.frames["commands"].command.str.contains(SID).any()  # the learner's prefix is hidden
    profile = dict(zip(result.frames["profile"].field, result.frames["profile"].value))
    assert set(profile) == {"name", "email", "city", "plan", "visits"} and profile["visits"] == "43"
    key = lab_namespace(ns).key("user:1:profile")
    assert 0 < sandbox.client.ttl(key) <= 120
    assert audit_ttls(sandbox.client, ns).ok


def test_resp_encoding_matches_a_hand_computed_example():
    # *2\r\n $3\r\n GET\r\n $1\r\n k\r\n  → 4 + 4 + 5 + 4 + 3 = 20 bytes
    assert resp_encode("GET", "k") == b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
    assert resp_bytes("GET", "k") == 20
    # *4\r\n (4) $4\r\nHSET\r\n (10) $6\r\nuser:1\r\n (12) $4\r\ncity\r\n (10) $6\r\nLisbon\r\n (12) = 48
    assert resp_bytes("HSET", "user:1", "city", "Lisbon") == 48
    # an integer argument travels as its decimal text; a 10-byte argument needs a 2-digit length
    assert resp_encode("EXPIRE", "k", 60) == b"*3\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$2\r\n60\r\n"
    assert resp_bytes("SET", "k", "0123456789") == 4 + 9 + 7 + len("$10\r\n0123456789\r\n")
    assert "é".encode() == b"\xc3\xa9" and resp_bytes("GET", "é") == 4 + 9 + len("$2\r\n") + 2 + 2  # bytes, not chars
    assert bulk_reply_bytes("hello") == 11 and bulk_reply_bytes(None) == 5  # $5\r\nhello\r\n, $-1\r\n
    assert integer_reply_bytes(0) == 4  # :0\r\n


def test_update_bytes_are_the_resp_size_of_what_each_approach_sends(sandbox):
    ns = Namespace(SID)
    result = hashes.run(JsonVsHashParams(user_id=1, extra_fields=5, ttl_s=600), backend=sandbox, ns=ns)
    m = result.metrics
    lab = lab_namespace(ns)
    hash_key, json_key = lab.key("user:1:hash"), lab.key("user:1:json")
    # hash: one HSET key city Lisbon, counted by hand
    by_hand = 4 + 10 + len(f"${len(hash_key)}\r\n{hash_key}\r\n") + 10 + 12
    assert m["update_bytes_hash"] == by_hand == resp_bytes("HSET", hash_key, "city", "Lisbon")
    # JSON: GET key + SET key <whole new document> EX 600
    new_doc = sandbox.client.get(json_key).decode()
    assert json.loads(new_doc)["city"] == "Lisbon"
    json_by_hand = (4 + 9 + len(f"${len(json_key)}\r\n{json_key}\r\n")
                    + 4 + 9 + len(f"${len(json_key)}\r\n{json_key}\r\n")
                    + len(f"${len(new_doc)}\r\n{new_doc}\r\n") + 8 + 9)
    assert m["update_bytes_json"] == json_by_hand
    assert m["update_bytes_ratio"] == pytest.approx(json_by_hand / by_hand) and m["update_bytes_ratio"] > 3
    assert m["update_reply_bytes_hash"] == 4  # :0\r\n — the field already existed
    assert result.frames["update"].request_bytes.sum() == m["update_bytes_json"] + m["update_bytes_hash"]
    assert sandbox.client.hget(hash_key, "city") == b"Lisbon"


def test_json_read_modify_write_loses_one_update_hash_loses_none(sandbox):
    ns = Namespace(SID)
    result = hashes.run(JsonVsHashParams(user_id=2), backend=sandbox, ns=ns)
    assert result.metrics["lost_updates_json"] == 1
    assert result.metrics["lost_updates_hash"] == 0
    # read back independently of the experiment: A changed the city, B the plan
    lab = lab_namespace(ns)
    final_json = json.loads(sandbox.client.get(lab.key("user:2:race:json")))
    assert final_json["city"] == "Manchester"  # A's change was overwritten by B's stale copy
    assert final_json["plan"] == "team"
    assert sandbox.client.hmget(lab.key("user:2:race:hash"), ["city", "plan"]) == [b"Lisbon", b"team"]
    steps = result.frames["interleaving"]
    json_steps = steps[steps.approach == "JSON string"]
    assert json_steps.client.tolist() == ["A", "B", "A", "B", "check"]
    assert json_steps.command.str.split().str[0].tolist() == ["GET", "GET", "SET", "SET", "GET"]
    assert steps.step.tolist() == list(range(1, len(steps) + 1))


def test_sandbox_memory_is_a_labelled_estimate(sandbox):
    result = hashes.run(JsonVsHashParams(extra_fields=5), backend=sandbox)
    m = result.metrics
    assert m["memory_source"] == "estimate (sandbox)"
    assert m["hash_encoding"] == "listpack (predicted)"
    assert m["json_bytes"] > 0 and m["hash_bytes"] > 0
    assert m["json_over_hash"] == pytest.approx(m["json_bytes"] / m["hash_bytes"])
    assert any("ESTIMATE" in n and "72 B" in n for n in result.notes)
    assert set(result.frames["memory"].source) == {"estimate (sandbox)"}


def test_estimate_follows_the_encoding_limits():
    small = {f"f{i}": "v" for i in range(512)}
    assert predicted_hash_encoding(small) == "listpack"
    assert predicted_hash_encoding({**small, "one_more": "v"}) == "hashtable"
    assert predicted_hash_encoding({"f": "x" * 65}) == "hashtable"  # hash-max-listpack-value 64
    assert estimate_string_bytes("k", "abc") == hashes.KEY_OVERHEAD_B + 1 + 3
    # a listpack: 7 B of header/terminator + per entry (1 B encoding + data + 1 B back-length); "42" is a 7-bit int
    assert estimate_hash_bytes("k", {"city": "London", "n": "42"}) == hashes.KEY_OVERHEAD_B + 1 + 7 + 6 + 8 + 3 + 2


def test_many_extra_fields_predict_a_hashtable_and_the_json_becomes_smaller(sandbox):
    result = hashes.run(JsonVsHashParams(extra_fields=600), backend=sandbox)
    assert result.metrics["hash_encoding"] == "hashtable (predicted)"
    assert result.metrics["fields"] == 605
    assert result.metrics["json_over_hash"] < 1


def test_every_key_has_a_ttl(sandbox):
    ns = Namespace(SID)
    hashes.run(JsonVsHashParams(ttl_s=90), backend=sandbox, ns=ns)
    hashes.run_profile(HashProfileParams(ttl_s=90), backend=sandbox, ns=ns)
    audit = audit_ttls(sandbox.client, ns)
    assert audit.keys == 5 and audit.ok
    for key in sandbox.client.scan_iter(match=ns.learner_prefix + "*"):
        assert 0 < sandbox.client.ttl(key) <= 90


@pytest.mark.parametrize("cls", [HashProfileParams, JsonVsHashParams])
@pytest.mark.parametrize("bad", [{"ttl_s": 0}, {"ttl_s": 86401}, {"user_id": 0}, {"user_id": 6}])
def test_params_are_validated(cls, bad):
    with pytest.raises(ValueError):
        cls(**bad)


@pytest.mark.parametrize("extra", [-1, 1001, 2.5])
def test_extra_fields_range(extra):
    with pytest.raises(ValueError):
        JsonVsHashParams(extra_fields=extra)


def _private_backend(which: str):
    """A Backend on a private server: the default binary, or Debian's redis-server from PATH."""
    import shutil

    from labs.core.backends import Backend, probe
    from labs.core.servers import PrivateServer, ServerBinary, ServerUnavailable
    from tests.support import skip_or_fail

    binary = None
    if which == "redis-server":
        path = shutil.which("redis-server")
        if not path:
            pytest.skip("no redis-server on PATH")
        binary = ServerBinary(path, "redis-server", "PATH")
    try:
        server = PrivateServer(maxmemory="64mb", binary=binary).start()
    except ServerUnavailable as exc:
        skip_or_fail("LAB_REQUIRE_REDIS", f"no private server could start: {exc}")
    client = server.client()
    return Backend("embedded", client, probe(client, "embedded", owned=True), f"private {which}", server=server)


@pytest.mark.integration
@pytest.mark.parametrize("which", ["default", "redis-server"])
@pytest.mark.parametrize("extra", [5, 100])
def test_private_server_uses_real_memory_usage(which, extra):
    """On a real server the figures come from MEMORY USAGE (redis.io "MEMORY USAGE"), not the estimate.

    JSON/hash ratios observed here (reported, not asserted): valkey-server 9.1.2 (libc malloc) 1.06 with
    5 extra fields and 1.09 with 100; redis-server 7.0.15 (jemalloc) 1.00 and 1.00.
    """
    backend = _private_backend(which)
    try:
        result = hashes.run(JsonVsHashParams(extra_fields=extra), backend=backend)
        m = result.metrics
        assert m["memory_source"] == f"MEMORY USAGE on {backend.caps.server_label}"
        assert m["json_bytes"] > 0 and m["hash_bytes"] > 0
        assert m["hash_encoding"] == "listpack"  # 5 + extra ≤ hash-max-listpack-entries (512)
        assert m["lost_updates_json"] == 1 and m["lost_updates_hash"] == 0
        assert not any("ESTIMATE" in n for n in result.notes)
        print(f"{backend.caps.server_label}: extra={extra} json={m['json_bytes']} hash={m['hash_bytes']} "
              f"json/hash={m['json_over_hash']:.2f}")
    finally:
        backend.close()
