"""Chat memory on real servers: the embedded private server, $REDIS_URL, and a 3-master cluster.

Known result (the course's add_message; redis.io LTRIM https://redis.io/docs/latest/commands/ltrim/ and
EXPIRE https://redis.io/docs/latest/commands/expire/): 50 messages through add_message with N = 20 →
LLEN 20, the 30 oldest gone, TTL ≈ 86400 and refreshed by each append; RPUSH alone leaves the TTL
counting down ("pushing a new value into a list … will leave the timeout untouched").
"""
from __future__ import annotations

import time

import pytest

from labs.ai import chat
from labs.ai import chat_experiments as exps
from labs.core.backends import Backend, open_embedded, open_live
from labs.core.namespace import Namespace, audit_ttls, learner_keys, new_session_id, reset

pytestmark = pytest.mark.integration


@pytest.fixture(params=["embedded", "live", "cluster"], scope="module")
def backend(request) -> Backend:
    if request.param == "embedded":
        b = open_embedded(maxmemory="64mb")
    else:
        b = open_live(request.getfixturevalue("live_url" if request.param == "live" else "cluster_url"))
    yield b
    b.close()


@pytest.fixture
def ns(backend):
    n = Namespace(new_session_id())
    yield n
    reset(backend.client, n)


def test_fifty_messages_n_20_on_a_real_server(backend, ns):
    """Known result: LLEN 20, the 30 oldest gone, TTL ≈ 86400 and restarted by every append."""
    key = ns.for_lab(chat.LAB).key("conversation")
    client = backend.client
    for i in range(1, 51):
        before = client.pttl(key)
        assert chat.add_message(client, key, "user", f"message {i}", max_messages=20) == min(i, 20)
        after = client.pttl(key)
        assert 86_399_000 <= after <= 86_400_000
        if i > 1:
            assert after > before, f"append {i} did not restart the lease ({before} → {after} ms)"
        time.sleep(0.02)  # let the lease count down a little between messages
    assert client.llen(key) == 20
    assert [m["content"] for m in chat.load_context(client, key, system_prompt=None)] == \
        [f"message {i}" for i in range(31, 51)]
    assert 86_399 <= client.ttl(key) <= 86_400
    audit = audit_ttls(client, ns)
    assert audit.keys == 1 and audit.ok


def test_rpush_alone_leaves_the_ttl_counting_down(backend, ns):
    m = exps.run_rpush_ttl(exps.RpushTTLParams(ttl_s=60, wait_ms=100), backend=backend, ns=ns).metrics
    assert m["rpush_refreshed_ttl"] is False and m["add_message_refreshed_ttl"] is True
    assert m["pttl_after_rpush_ms"] <= m["pttl_before_rpush_ms"] <= 59_950
    assert m["pttl_after_add_message_ms"] >= 59_900
    assert not learner_keys(backend.client, ns)  # the demo deleted its key


def test_context_from_redis_matches_the_db_on_a_real_server(backend, ns):
    result = exps.run_context(exps.ContextParams(turns=12, max_messages=8, other_conversations=10),
                              backend=backend, ns=ns)
    assert result.metrics["same_context_every_turn"] is True
    assert result.metrics["context_messages_at_end"] == 8
    assert (result.frames["per_turn"].redis_ms > 0).all()
    assert not learner_keys(backend.client, ns)


def test_without_ltrim_on_a_real_server_memory_grows_too(backend, ns):
    m = exps.run_without_ltrim(exps.LtrimParams(turns=30, max_messages=10), backend=backend, ns=ns).metrics
    assert m["llen_with_ltrim"] == 10 and m["llen_without_ltrim"] == 60
    assert m["tokens_last_turn_without_ltrim"] > 3 * m["tokens_last_turn_with_ltrim"]
    if backend.caps.memory_usage:
        assert m["memory_bytes_without_ltrim"] > 3 * m["memory_bytes_with_ltrim"]
    assert not learner_keys(backend.client, ns)


def test_conversation_size_is_measured_and_the_model_is_close(backend, ns):
    """The no-EXPIRE experiment measures one conversation with MEMORY USAGE; the TTL lab's model, with the
    list payload as value, is within 20 % of it (valkey 9.1: ~2 %; Redis 7.0: ~12 % over)."""
    if not backend.caps.memory_usage:
        pytest.skip(f"{backend.caps.server_label} does not answer MEMORY USAGE")
    m = exps.run_without_expire(exps.ExpireParams(messages=20, message_bytes=300), backend=backend, ns=ns).metrics
    assert m["bytes_source"] == "MEMORY USAGE (measured)"
    key_bytes = len(ns.for_lab(chat.LAB).key("conv:000000"))
    modelled = exps.conversation_bytes(exps.DEFAULT_MODEL, key_bytes, 20, 300, ttl=True)
    assert abs(modelled - m["bytes_per_conversation"]) / m["bytes_per_conversation"] < 0.20
    assert not learner_keys(backend.client, ns)


def test_a_collected_instrumented_copy_leaves_a_cluster_client_working(cluster_url):
    """redis-py's RedisCluster.__del__ closes its nodes manager: a plain copy.copy of the client (the page's
    command log wraps the client on every rerun) used to leave the shared client with no default node."""
    import gc

    from labs.core.metrics import CommandLog, instrument

    backend = open_live(cluster_url)
    try:
        traced = instrument(backend.client, CommandLog())
        traced.ping()
        del traced
        gc.collect()
        assert backend.client.get_default_node() is not None
        key = Namespace(new_session_id(), chat.LAB).key("conversation")
        assert chat.add_message(backend.client, key, "user", "still connected") == 1
        backend.client.unlink(key)
    finally:
        backend.close()
