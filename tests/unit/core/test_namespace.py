import fakeredis
import pytest
from redis.crc import key_slot

from labs.core.namespace import MAX_TTL_S, Namespace, audit_ttls, check_ttl, learner_keys, new_session_id, reset


def test_key_format_has_the_learner_hash_tag():
    ns = Namespace("a1b2c3", "home")
    assert ns.key("user:123") == "lab:{a1b2c3}:home:user:123"
    assert ns.learner_prefix == "lab:{a1b2c3}:"


def test_all_of_a_learners_keys_share_one_cluster_slot():
    """Redis Cluster hashes only the {hash tag} (cluster spec, 'Hash tags'): one learner, one slot."""
    ns = Namespace(new_session_id())
    slots = {key_slot(ns.for_lab(lab).key(name).encode()) for lab in ("home", "patterns") for name in ("a", "b:c", "z")}
    assert len(slots) == 1
    assert key_slot(ns.key("a").encode()) == key_slot(ns.session_id.encode())


@pytest.mark.parametrize("bad", ["", "UPPER", "a*b", "ab", "x" * 40, "a{b}c"])
def test_session_ids_that_could_glob_or_escape_are_rejected(bad):
    with pytest.raises(ValueError):
        Namespace(bad)


@pytest.mark.parametrize("bad", ["", "has space", "a*b", "x" * 201])
def test_key_names_are_checked(bad):
    with pytest.raises(ValueError):
        Namespace("abcd1234").key(bad)


def test_ttl_default_and_cap():
    assert check_ttl(None) == 3600
    assert check_ttl(60) == 60
    assert check_ttl(MAX_TTL_S) == MAX_TTL_S
    for bad in (0, -5, MAX_TTL_S + 1, "10", True):
        with pytest.raises(ValueError):
            check_ttl(bad)


def _filled():
    r = fakeredis.FakeRedis()
    me, other = Namespace("aaaa1111", "home"), Namespace("bbbb2222", "home")
    for i in range(1_200):
        r.set(me.for_lab("home" if i % 2 else "patterns").key(f"k{i}"), i, ex=600)
    r.set(other.key("theirs"), 1, ex=600)
    r.set("unrelated:no-ttl", "keep me")
    r.set("lab:{aaaa1111}x:looks-alike", "keep me too")  # not under the learner prefix
    return r, me, other


def test_reset_removes_only_this_learners_keys_in_batches():
    r, me, other = _filled()
    assert reset(r, me) == 1_200
    assert learner_keys(r, me) == []
    assert r.get("unrelated:no-ttl") == b"keep me"
    assert r.get("lab:{aaaa1111}x:looks-alike") == b"keep me too"
    assert r.exists(other.key("theirs")) == 1


def test_reset_of_one_lab_keeps_the_learners_other_labs():
    r, me, _ = _filled()
    assert reset(r, me.for_lab("home"), whole_learner=False) == 600
    assert len(learner_keys(r, me)) == 600


def test_audit_finds_keys_without_ttl_or_over_the_cap():
    r = fakeredis.FakeRedis()
    ns = Namespace("cccc3333", "home")
    r.set(ns.key("ok"), 1, ex=60)
    r.set(ns.key("forever"), 1)
    r.set(ns.key("too-long"), 1, ex=MAX_TTL_S * 2)
    audit = audit_ttls(r, ns)
    assert audit.keys == 3 and not audit.ok
    assert audit.without_ttl == [ns.key("forever")]
    assert audit.over_cap == [ns.key("too-long")]
