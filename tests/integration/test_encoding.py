"""Memory by encoding on real servers: the encodings and the conversion sizes the docs describe.

Sources: redis.io "Memory optimization" (small hashes, lists, sets and sorted sets use a compact
encoding up to a configured size), redis.io "Data types" pages and ``OBJECT ENCODING``; the example
``redis.conf`` defaults (``hash-max-listpack-entries 512``, ``set-max-intset-entries 512``,
``set-max-listpack-entries 128``, ``zset-max-listpack-entries 128``, ``list-max-listpack-size -2``);
redis/redis PR #11303 and commit 4e472a1 (listpack lists and listpack sets arrived in Redis 7.2, so
Redis 7.0 keeps every list a quicklist and every set of strings a hashtable). Each assertion reads the
limit from the server's own ``CONFIG GET`` (the thresholds frame) rather than assuming it.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from labs.core import servers
from labs.core.backends import open_sandbox
from labs.structures import encoding
from labs.structures.encoding import EncodingParams, needs_real_server, run, sample_sizes

pytestmark = pytest.mark.integration

BINARIES = ["default", pytest.param("redis-server on PATH", marks=pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="no redis-server on PATH"))]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:2])


@pytest.fixture(scope="module", params=BINARIES)
def measured(request):
    try:
        result = run(EncodingParams(max_elements=1000, element_size=10, binary=request.param))
    except ValueError as exc:
        from tests.support import skip_or_fail

        skip_or_fail("LAB_REQUIRE_REDIS", str(exc))
    th = result.frames["thresholds"].set_index("structure")
    return result, th, result.frames["growth"]


def _encoding_at(growth, structure: str, n: int) -> str:
    row = growth[(growth.structure == structure) & (growth.elements == n)]
    assert len(row) == 1, f"{structure} was not sampled at {n}"
    return row.encoding.iloc[0]


def test_the_server_is_named_and_the_estimate_caveat_is_stated(measured):
    result, _, _ = measured
    m = result.metrics
    assert m["server_name"] in ("valkey", "redis") and m["server_version"][0].isdigit()
    assert m["allocator"] not in ("", "?")
    assert any(m["allocator"] in n and m["server_version"] in n for n in result.notes)
    assert any("MEMORY USAGE" in n and "estimate" in n and "allocator" in n for n in result.notes)
    print(f"{m['server']} ({m['allocator']}):",
          {s: (m[f"{s}_conversion_at"], round(m[f"{s}_jump_ratio"], 2)) for s in encoding.STRUCTURES})


def test_small_hash_is_a_listpack_and_a_hashtable_at_configured_plus_one(measured):
    """redis.io Memory optimization: hashes up to hash-max-listpack-entries (default 512) are listpacks."""
    _, th, growth = measured
    row = th.loc["hash"]
    assert row.config in ("hash-max-listpack-entries", "hash-max-ziplist-entries")
    assert row.configured == 512  # the redis.conf default (the private server runs without a config file)
    assert row.observed_conversion == row.configured + 1
    assert (row.encoding_before, row.encoding_after) == ("listpack", "hashtable")
    assert _encoding_at(growth, "hash", 1) == "listpack"
    assert _encoding_at(growth, "hash", row.configured) == "listpack"
    assert _encoding_at(growth, "hash", row.configured + 1) == "hashtable"
    # every size in the window threshold-2 … threshold+2 was sampled, so the chart shows the exact jump
    sampled = set(growth[growth.structure == "hash"].elements)
    assert set(range(row.configured - 2, row.configured + 3)) <= sampled


def test_integer_set_is_an_intset_until_set_max_intset_entries(measured):
    """redis.io Memory optimization: sets of integers are intsets up to set-max-intset-entries (512)."""
    _, th, growth = measured
    row = th.loc["set (integers)"]
    assert row.configured == 512
    assert _encoding_at(growth, "set (integers)", 1) == "intset"
    assert row.observed_conversion == row.configured + 1
    assert row.encoding_before == "intset" and row.encoding_after in ("listpack", "hashtable")


def test_sorted_set_listpack_becomes_skiplist(measured):
    """redis.io Memory optimization / Sorted sets: listpack up to zset-max-listpack-entries (128)."""
    _, th, growth = measured
    row = th.loc["sorted set"]
    assert row.configured == 128
    assert _encoding_at(growth, "sorted set", 1) == "listpack"
    assert row.observed_conversion == row.configured + 1
    assert (row.encoding_before, row.encoding_after) == ("listpack", "skiplist")


def test_list_listpack_while_small_quicklist_when_large(measured):
    """Redis ≥ 7.2 (and Valkey): small lists are listpacks, limited by list-max-listpack-size (-2 = 8 KB);
    before 7.2 every list is a quicklist (redis/redis #11303)."""
    result, th, growth = measured
    row = th.loc["list"]
    assert row.configured == -2
    assert _encoding_at(growth, "list", 1000) == "quicklist"
    if _version(result.metrics["redis_version"]) >= (7, 2):
        assert _encoding_at(growth, "list", 1) == "listpack"
        assert (row.encoding_before, row.encoding_after) == ("listpack", "quicklist")
        assert row.observed_conversion == row.predicted_conversion  # 8 KB of 12-byte entries: 683
    else:
        assert _encoding_at(growth, "list", 1) == "quicklist"
        assert pd.isna(row.observed_conversion)  # no listpack lists before Redis 7.2


def test_string_set_listpack_then_hashtable(measured):
    """Redis ≥ 7.2: sets of strings are listpacks up to set-max-listpack-entries (128); before, hashtables."""
    result, th, growth = measured
    row = th.loc["set (strings)"]
    if _version(result.metrics["redis_version"]) >= (7, 2):
        assert row.configured == 128
        assert row.observed_conversion == row.configured + 1
        assert (row.encoding_before, row.encoding_after) == ("listpack", "hashtable")
    else:
        assert _encoding_at(growth, "set (strings)", 1) == "hashtable"
        assert row.encoding_before == row.encoding_after == "hashtable"


def test_bytes_per_element_jump_up_at_every_conversion(measured):
    result, th, _ = measured
    converted = th[th.observed_conversion.notna()]
    assert len(converted) >= 3
    assert (converted.bytes_per_element_after > converted.bytes_per_element_before).all()
    assert (converted.jump_ratio > 1).all()
    for structure in encoding.STRUCTURES:
        if encoding.LABELS[structure] in converted.index:
            assert result.metrics[f"{structure}_conversion_at"] == converted.loc[encoding.LABELS[structure]].observed_conversion


def test_large_elements_skip_the_compact_encoding():
    """hash-max-listpack-value 64: a 100-byte value makes the hash a hashtable from its first field."""
    result = run(EncodingParams(max_elements=20, element_size=100, structures="hash"))
    growth = result.frames["growth"]
    assert set(growth.encoding) == {"hashtable"}
    assert list(result.frames["thresholds"].structure) == ["hash"]


def test_the_private_server_is_stopped_even_on_error(monkeypatch):
    started: list = []
    real_start = servers.PrivateServer.start

    def spy(self, *a, **k):
        started.append(self)
        return real_start(self, *a, **k)

    def boom(self, n):
        raise RuntimeError("failure in the middle of the run")

    monkeypatch.setattr(servers.PrivateServer, "start", spy)
    monkeypatch.setattr(encoding._Grower, "trace", boom)
    with pytest.raises(RuntimeError):
        run(EncodingParams(max_elements=10, structures="hash"))
    assert len(started) == 1 and not started[0].running
    assert started[0] not in servers._running


def test_no_server_binary_is_a_clear_value_error(monkeypatch):
    monkeypatch.setenv("LAB_SERVER_BINARY", "none")
    with pytest.raises(ValueError, match="Memory by encoding needs a real private server; none could start"):
        run(EncodingParams(max_elements=10))


def test_needs_real_server_speaks_for_the_sandbox_only(private_server):
    from labs.core.backends import Backend, probe

    message = needs_real_server(open_sandbox())
    assert message and "sandbox" in message and "MEMORY USAGE" in message
    client = private_server.client()
    real = Backend("embedded", client, probe(client, "embedded", owned=True), "private server")
    assert needs_real_server(real) is None


def test_sample_sizes_are_log_spaced_plus_threshold_windows():
    sizes = sample_sizes(1000, [512, 128])
    assert sizes[0] == 1 and sizes[-1] == 1000 and sizes == sorted(set(sizes))
    assert {126, 127, 128, 129, 130, 510, 511, 512, 513, 514} <= set(sizes)
    assert len(sizes) < 60
