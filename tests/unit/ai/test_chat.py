"""Chat memory in a Redis list (labs/ai/chat.py, labs/ai/chat_experiments.py), on fakeredis.

Known result (the course's add_message, redis.io LTRIM and EXPIRE pages): 50 messages through
add_message with N = 20 → LLEN 20, the 30 oldest gone, TTL ≈ 86400 and refreshed by each append —
because the pipeline re-sends EXPIRE; RPUSH alone leaves a TTL untouched (redis.io EXPIRE: "pushing a
new value into a list with LPUSH … will leave the timeout untouched").
"""
from __future__ import annotations

import random


import fakeredis
import pytest
import time_machine

from labs.ai import chat
from labs.ai import chat_experiments as exps
from labs.core.backends import open_sandbox
from labs.core.experiment import params_from_strings
from labs import load_all
from labs.core.metrics import CommandLog, instrument
from labs.core.namespace import Namespace

KEY = Namespace("abcd1234", "chat").key("conv:1")


@pytest.fixture
def r():
    return fakeredis.FakeRedis()


@pytest.fixture
def sandbox():
    backend = open_sandbox()
    yield backend
    backend.close()


def test_fifty_messages_with_n_20_keep_the_newest_20_with_a_day_ttl_refreshed_by_each_append(r):
    """Known result: LLEN 20, messages 1-30 gone, TTL ≈ 86400, and every append restarts the lease
    (redis.io LTRIM: capped lists with RPUSH + LTRIM; redis.io EXPIRE: the pipeline's EXPIRE resets it)."""
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        for i in range(1, 51):
            length = chat.add_message(r, KEY, "user", f"message {i}", max_messages=20)
            assert length == min(i, 20)
            assert r.ttl(KEY) == 86_400
            clock.shift(3600)  # an hour passes between messages: the lease counts down …
            assert r.ttl(KEY) == 86_400 - 3600  # … until the next append resets it
        assert r.llen(KEY) == 20
        kept = [m["content"] for m in chat.load_context(r, KEY, system_prompt=None)]
        assert kept == [f"message {i}" for i in range(31, 51)]
        # 50 hours after the first message the conversation is still there: the TTL followed the last append
        assert r.exists(KEY)


def test_add_message_is_one_pipeline_of_rpush_ltrim_expire(r):
    log = CommandLog()
    chat.add_message(instrument(r, log), KEY, "user", "hi", max_messages=20, ttl_seconds=86_400)
    records = log.records()
    assert len(records) == 1
    parts = [p.strip() for p in records[0].command.split(";")]
    assert parts[0] == "MULTI" and parts[-1] == "EXEC"
    assert [p.split()[0] for p in parts[1:-1]] == ["RPUSH", "LTRIM", "EXPIRE"]
    assert parts[2].endswith("-20 -1") and parts[3].endswith("86400")


@pytest.mark.parametrize("n,ttl,why", [(0, 60, "keeps the whole list"), (-3, 60, "between 1"),
                                       (2.5, 60, "whole number"), (20, 0, "at least 1 second"),
                                       (20, 86_401, "at most 24 h")])
def test_bad_n_or_ttl_is_refused_with_a_reason(r, n, ttl, why):
    with pytest.raises(ValueError, match=why):
        chat.add_message(r, KEY, "user", "hi", max_messages=n, ttl_seconds=ttl)
    assert not r.exists(KEY)


def test_bad_role_or_empty_text_is_refused(r):
    with pytest.raises(ValueError, match="role"):
        chat.add_message(r, KEY, "robot", "hi")
    with pytest.raises(ValueError, match="text"):
        chat.add_message(r, KEY, "user", "   ")


def test_without_ltrim_the_list_keeps_everything(r):
    for i in range(50):
        chat.add_message_without_ltrim(r, KEY, "user", f"m{i}")
    assert r.llen(KEY) == 50 and 0 < r.ttl(KEY) <= 86_400


def test_rpush_alone_does_not_refresh_the_ttl(r):
    """redis.io EXPIRE: a push leaves the timeout untouched (neither cleared nor restarted)."""
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        chat.add_message(r, KEY, "user", "first", ttl_seconds=600)
        clock.shift(500)
        r.rpush(KEY, chat.encode_message("user", "second"))
        assert r.ttl(KEY) == 100
        clock.shift(101)
        assert not r.exists(KEY)  # the conversation vanished mid-chat, 101 s after its last message


def test_approximate_tokens_follow_four_characters_per_token():
    assert chat.approx_tokens("") == 0
    assert chat.approx_tokens("abcd") == 1
    assert chat.approx_tokens("abcde") == 2
    assert chat.approx_tokens("x" * 400) == 100
    messages = [{"role": "system", "content": "x" * 40}, {"role": "user", "content": "y" * 8}]
    assert chat.context_tokens(messages) == (10 + 3) + (2 + 3) + 3
    assert chat.context_tokens([]) == 0
    assert chat.input_cost_usd(2_000, 2.50) == pytest.approx(0.005)  # $2.50 per million


def test_simulated_assistant_is_deterministic_and_forgets_what_ltrim_dropped(r):
    for i in range(1, 4):
        chat.add_message(r, KEY, "user", f"question number {i}", max_messages=2)
    context = chat.load_context(r, KEY)
    reply = chat.simulated_reply(context, "question number 3")
    assert reply == chat.simulated_reply(context, "question number 3")
    assert reply.startswith("(simulated assistant)")
    assert "question number 2" in reply and "question number 1" not in reply


def test_message_table_returns_the_same_last_n_as_redis(r):
    table = chat.MessageTable(chat.LatencyModel(0, 0, 0, 0))
    table.fill(5, 10, random.Random(1))
    for i in range(30):
        role = ("user", "assistant")[i % 2]
        chat.add_message(r, KEY, role, f"m{i}", max_messages=7)
        table.append("me", role, f"m{i}")
    from_db = table.load_context("me", 7)
    assert from_db.value == chat.load_context(r, KEY, system_prompt=None)
    assert from_db.simulated_ns == 0 and from_db.real_ns > 0
    assert table.count("me") == 30 and table.count() == 80
    table.close()


def test_message_table_adds_simulated_network_apart_from_measured_time():
    table = chat.MessageTable(chat.LatencyModel(rtt_ms=5, query_ms=0, jitter_ms=0, tail_sigma=0))
    table.append("me", "user", "hello")
    loaded = table.load_context("me", 20)
    assert loaded.simulated_ns == 5_000_000 and loaded.total_ns == loaded.real_ns + 5_000_000
    table.close()


# --------------------------------------------------------------------------- experiments

def test_every_chat_experiment_is_registered_on_the_ai_page():
    registry = load_all()
    for name in ("chat-context", "chat-without-ltrim", "chat-without-expire", "chat-rpush-ttl"):
        assert registry[name].page == "app_pages/ai_cache.py"


def test_context_from_redis_and_db_agree_and_only_the_network_makes_the_db_slow(sandbox):
    ns = Namespace("abcd1234")
    result = exps.run_context(exps.ContextParams(turns=15, max_messages=6, other_conversations=20), backend=sandbox,
                              ns=ns)
    m, frame = result.metrics, result.frames["per_turn"]
    assert m["same_context_every_turn"] is True
    assert frame.messages.tolist() == [min(2 * t - 1, 6) for t in range(1, 16)]
    assert m["db_network_p50_ms_simulated"] > 1  # remote Postgres preset: ~3.5 ms, simulated
    assert (frame.db_total_ms >= frame.network_ms_simulated).all()
    assert any("SIMULATED" in n for n in result.notes) and any("MEASURED" in n for n in result.notes)
    assert not list(sandbox.client.scan_iter(match=ns.learner_prefix + "*"))  # the run cleaned up


def test_local_sqlite_preset_has_no_simulated_network(sandbox):
    result = exps.run_context(exps.ContextParams(turns=5, db_latency="local SQLite (no network)",
                                                 other_conversations=0), backend=sandbox)
    assert (result.frames["per_turn"].network_ms_simulated == 0).all()


def test_without_ltrim_tokens_grow_every_turn_and_with_ltrim_they_level_off(sandbox):
    result = exps.run_without_ltrim(exps.LtrimParams(turns=40, max_messages=10), backend=sandbox)
    frame, m = result.frames["per_turn"], result.metrics
    grow = frame[frame.variant == "without LTRIM"].tokens
    assert grow.is_monotonic_increasing and grow.diff().dropna().gt(0).all()
    capped = frame[frame.variant == "with LTRIM"]
    assert capped.messages_sent.max() == 10
    full = capped[capped.messages_sent == 10].tokens
    assert full.max() - full.min() < 0.2 * full.mean()  # levels off: only message lengths vary
    assert m["llen_with_ltrim"] == 10 and m["llen_without_ltrim"] == 80
    assert m["cost_ratio"] > 2 and m["usd_per_month_without_ltrim"] > m["usd_per_month_with_ltrim"]
    assert m["usd_per_conversation_without_ltrim"] == pytest.approx(
        frame[frame.variant == "without LTRIM"].tokens.sum() / 1e6 * exps.USD_PER_MILLION_INPUT_DEFAULT)


def test_short_conversations_cost_the_same_with_or_without_ltrim(sandbox):
    result = exps.run_without_ltrim(exps.LtrimParams(turns=5, max_messages=20), backend=sandbox)
    assert result.metrics["cost_ratio"] == pytest.approx(1.0)


def test_without_expire_memory_grows_every_day_and_with_it_levels_off_at_k_times_ttl(sandbox):
    params = exps.ExpireParams(conversations_per_day=24_000, ttl_s=3600 * 6, days=7)
    result = exps.run_without_expire(params, backend=sandbox)
    m, timeline = result.metrics, result.frames["timeline"]
    assert m["conversations_with_expire"] == pytest.approx(24_000 / 4)  # Little's law: K × TTL
    assert m["conversations_without_expire"] == pytest.approx(24_000 * 7)
    without = timeline[timeline.variant == "without EXPIRE"].gb
    assert without.is_monotonic_increasing
    assert m["gb_without_expire"] > 20 * m["gb_with_expire"]
    assert m["serverless_usd_without_expire"] > m["serverless_usd_with_expire"]
    assert m["bytes_source"] == "memory model"  # fakeredis has no MEMORY USAGE
    assert any("SIMULATED" in n for n in result.notes) and any("MODELLED" in n for n in result.notes)


def test_live_conversations_follow_littles_law():
    import numpy as np

    hours = np.array([0, 12, 24, 48])
    assert exps.live_conversations(24, hours, 86_400).tolist() == [0, 12, 24, 24]
    assert exps.live_conversations(24, hours, None).tolist() == [0, 12, 24, 48]


def test_rpush_ttl_demo_on_the_sandbox(sandbox):
    result = exps.run_rpush_ttl(exps.RpushTTLParams(ttl_s=30, wait_ms=50), backend=sandbox)
    m = result.metrics
    assert m["rpush_refreshed_ttl"] is False and m["add_message_refreshed_ttl"] is True
    assert m["pttl_after_rpush_ms"] <= m["pttl_before_rpush_ms"] < m["pttl_start_ms"] <= 30_000
    assert m["pttl_after_add_message_ms"] > 29_000
    assert "RPUSH" in " ".join(result.frames["commands"].command)


@pytest.mark.parametrize("cls,values,why", [
    (exps.ContextParams, {"turns": "0"}, "Turns must be between 1"),
    (exps.ContextParams, {"db_latency": "moon base"}, "(?i)primary DB|database latency must be one of"),
    (exps.LtrimParams, {"max_messages": "0"}, "must be between 1"),
    (exps.LtrimParams, {"usd_per_million_input_tokens": "-1"}, "between 0"),
    (exps.ExpireParams, {"ttl_s": "90000"}, "must be between 60 and 86,400"),
    (exps.RpushTTLParams, {"wait_ms": "ten"}, "whole number"),
])
def test_bad_knobs_get_a_message(cls, values, why):
    with pytest.raises(ValueError, match=why):
        params_from_strings(cls, values)


def test_conversation_bytes_model_adds_the_ttl_entry():
    with_ttl = exps.conversation_bytes(exps.DEFAULT_MODEL, 30, 20, 300, ttl=True)
    without = exps.conversation_bytes(exps.DEFAULT_MODEL, 30, 20, 300, ttl=False)
    assert with_ttl - without == pytest.approx(exps.DEFAULT_MODEL.ttl_entry_bytes)
    assert with_ttl > 20 * 300


def test_user_messages_are_deterministic():
    a = chat.user_message(3, 20, random.Random(1))
    assert a == chat.user_message(3, 20, random.Random(1))
    assert 15 <= len(a.split()) <= 25 and a.startswith("Turn 3:")


def test_instrumented_copy_does_not_close_the_shared_client_when_collected(r):
    """redis-py clients close their pool (RedisCluster: its nodes manager) in __del__; the command log's
    copy must not, or the learner's shared client breaks after a rerun (tests/integration for a cluster)."""
    import gc

    traced = instrument(r, CommandLog())
    assert isinstance(traced, type(r)) and type(traced) is not type(r)
    traced.__del__()  # a no-op: nothing shared is closed
    del traced
    gc.collect()
    assert r.ping()
