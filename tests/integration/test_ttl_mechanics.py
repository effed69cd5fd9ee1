"""Known results of the TTL commands (redis.io EXPIRE, https://redis.io/docs/latest/commands/expire/):
GT applies only a greater expiry, LT only a smaller one, NX only when the key has none, XX only when it
has one; PERSIST and a plain SET remove the TTL (-1); HEXPIRE gives a hash field its own TTL (redis.io
HEXPIRE; Redis 7.4, Valkey 9.0)."""
from __future__ import annotations

import pytest

from labs.core.namespace import DEFAULT_TTL_S, Namespace, audit_ttls, new_session_id, reset
from labs.core.recipe import supports
from labs.ttl.mechanics import TTLMechanicsParams, run, ttl_of

pytestmark = pytest.mark.integration


@pytest.fixture
def ns(backend):
    n = Namespace(new_session_id())
    yield n
    audit = audit_ttls(backend.client, n)
    assert audit.keys >= 2 and audit.ok, "every key the recipe leaves behind must carry a TTL"
    reset(backend.client, n)


def test_expire_options(backend, ns):
    m = run(TTLMechanicsParams(), backend=backend, ns=ns).metrics
    assert m["options_supported"] and m["ttl_after_set_ex_100"] == 100
    assert m["reply_gt_50"] == 0 and 99 <= m["ttl_after_gt_50"] <= 100     # GT with a smaller value: refused
    assert m["reply_gt_200"] == 1 and 199 <= m["ttl_after_gt_200"] <= 200
    assert m["reply_lt_10"] == 1 and 9 <= m["ttl_after_lt_10"] <= 10       # LT with a smaller value: applied
    assert m["reply_nx_300_with_ttl"] == 0 and m["ttl_after_nx_300_with_ttl"] <= 10  # NX: it has a TTL
    assert m["ttl_after_persist"] == -1
    assert m["reply_nx_300"] == 1 and 299 <= m["ttl_after_nx_300"] <= 300
    assert m["reply_xx_30"] == 1 and 29 <= m["ttl_after_xx_30"] <= 30
    assert 118 <= m["ttl_after_expireat_120"] <= 120
    assert m["ttl_after_plain_set"] == -1                                  # a plain SET clears the TTL
    assert m["ttl_at_end"] == DEFAULT_TTL_S                                # and the lab's lease is restored


def test_hexpire_gives_a_field_its_own_ttl(backend, ns):
    m = run(TTLMechanicsParams(field_ttl_s=60), backend=backend, ns=ns).metrics
    assert 0 < m["hash_ttl_s"] <= 600
    if backend.kind == "embedded":
        assert m["hexpire_supported"], "Valkey 9 / Redis 7.4 have HEXPIRE"
    if not m["hexpire_supported"]:
        pytest.skip(f"{backend.caps.server_label} has no HEXPIRE")
    assert 58 <= m["httl_f"] <= 60 and m["httl_g"] == -1


def test_steps_frame_and_transcript(backend, ns):
    result = run(TTLMechanicsParams(), backend=backend, ns=ns)
    steps = result.frames["steps"]
    assert list(steps.step[:3]) == ["set_ex_100", "gt_50", "gt_200"]
    assert steps.supported.all() and "lab:{" not in " ".join(steps.command)
    assert steps.set_index("step").loc["gt_50", "reply"] == "0"
    commands = " ".join(result.frames["commands"].command)
    assert "EXPIRE ttl:k 50 GT" in commands and "HEXPIRE" in commands
    assert any(backend.kind in note for note in result.notes)


def test_ttl_of(backend, ns):
    key = ns.key("ttl-of")
    backend.client.set(key, "v", ex=30)
    ttl, pttl = ttl_of(backend.client, key)
    assert 29 <= ttl <= 30 and 29_000 <= pttl <= 30_000
    assert ttl_of(backend.client, ns.key("missing")) == (-2, -2)
    backend.client.set(ns.key("second"), "v", ex=30)  # the audit wants at least two keys with a TTL


def test_a_field_ttl_changes_the_hash_encoding(backend, ns):
    """A small hash is a listpack; HEXPIRE turns it into listpackex on Redis 7.4+ (object.c) and into a
    hashtable on Valkey 9 (measured on valkey 9.1.2, the embedded server)."""
    result = run(TTLMechanicsParams(), backend=backend, ns=ns)
    steps = result.frames["steps"].set_index("step")
    if "encoding" not in steps.index:            # the sandbox (fakeredis has no OBJECT) or a server before 7.4
        assert backend.kind != "embedded", "the embedded server has OBJECT and HEXPIRE"
        probe = ns.key("encoding-probe")
        backend.client.hset(probe, "f", "v")
        backend.client.expire(probe, 30)
        lacks_object = not supports(backend.client, "OBJECT", "ENCODING", probe)
        assert lacks_object or any("HEXPIRE" in note for note in result.notes), result.notes
        return
    before, after = steps.loc["encoding", "reply"].split(" → ")
    assert before == "listpack" and after in ("listpackex", "hashtable")
    if "valkey" in backend.caps.server_label.lower():
        assert after == "hashtable"
