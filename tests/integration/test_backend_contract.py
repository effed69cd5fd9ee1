"""One contract, every backend: what the labs rely on must hold on sandbox, embedded, live and a cluster."""
from __future__ import annotations

import pytest

from labs.core.backends import Backend, open_embedded, open_live, open_sandbox
from labs.home.first_read import FirstReadParams, run
from labs.core.namespace import Namespace, audit_ttls, learner_keys, new_session_id, reset

pytestmark = pytest.mark.integration


def _open(kind: str, request) -> Backend:
    if kind == "sandbox":
        b = open_sandbox()
    elif kind == "embedded":
        b = open_embedded(maxmemory="64mb")
    elif kind == "live":
        b = open_live(request.getfixturevalue("live_url"))
    else:
        b = open_live(request.getfixturevalue("cluster_url"))
    return b


@pytest.fixture(params=["sandbox", "embedded", "live", "cluster"])
def backend(request) -> Backend:
    b = _open(request.param, request)
    yield b
    b.close()


@pytest.fixture(params=["embedded", "live", "cluster"])
def shared_backend(request) -> Backend:
    """Servers other learners or applications use too (the sandbox is one learner's own)."""
    b = _open(request.param, request)
    yield b
    b.close()


def test_strings_with_a_ttl(backend):
    ns = Namespace(new_session_id())
    key = ns.key("greeting")
    backend.client.set(key, "hello", ex=30)
    assert backend.client.get(key) == b"hello"
    assert 0 < backend.client.ttl(key) <= 30
    assert backend.client.ttl(ns.key("absent")) == -2
    reset(backend.client, ns)


def test_a_transaction_over_one_learners_keys(backend):
    """Every learner key shares a hash tag, so MULTI/EXEC works even on a cluster."""
    ns = Namespace(new_session_id(), "chat")
    pipe = backend.client.pipeline(transaction=True)
    pipe.rpush(ns.key("history"), "a", "b", "c").ltrim(ns.key("history"), -2, -1).expire(ns.key("history"), 60)
    pipe.set(ns.key("count"), 2, ex=60)
    pipe.execute()
    assert backend.client.lrange(ns.key("history"), 0, -1) == [b"b", b"c"]
    reset(backend.client, ns)


def test_reset_removes_only_this_learners_keys(backend):
    me, other = Namespace(new_session_id()), Namespace(new_session_id())
    for i in range(50):
        backend.client.set(me.for_lab("x").key(f"k{i}"), i, ex=60)
    backend.client.set(other.key("theirs"), 1, ex=60)
    assert len(learner_keys(backend.client, me)) == 50
    assert reset(backend.client, me) == 50
    assert learner_keys(backend.client, me) == []
    assert backend.client.exists(other.key("theirs")) == 1
    reset(backend.client, other)


def test_first_experiment_runs_and_leaves_only_keys_with_a_ttl(backend, db):
    ns = Namespace(new_session_id())
    result = run(FirstReadParams(samples=10), backend=backend, db=db, ns=ns)
    m = result.metrics
    assert m["hit_ratio"] == 0.5 and m["cache_errors"] == 0
    assert m["hit_median_us"] < m["miss_median_us"]
    audit = audit_ttls(backend.client, ns)
    assert audit.keys == 1 and audit.ok
    reset(backend.client, ns)


def test_capabilities_are_probed_not_assumed(backend):
    caps = backend.caps
    assert caps.kind == backend.kind and caps.version
    if backend.kind == "embedded":
        assert caps.info and caps.memory_usage and caps.object_cmd and caps.reconfigurable
        assert caps.maxmemory == 64 * 1024 * 1024
    if backend.kind == "live":
        assert not caps.reconfigurable  # the lab never reconfigures a server it does not own
    if backend.kind == "sandbox":
        assert not (caps.info or caps.memory_usage or caps.object_cmd)
    assert "s3cret" not in backend.label


def test_a_cluster_seed_node_url_opens_a_cluster_client(cluster_url):
    from redis.cluster import RedisCluster

    backend = open_live(cluster_url)
    try:
        assert backend.caps.cluster and isinstance(backend.client, RedisCluster)
        assert any("hash tag" in line for line in backend.caps.limitations())
    finally:
        backend.close()


@pytest.mark.parametrize("command", [("FLUSHALL",), ("FLUSHDB",), ("KEYS", "*"), ("CONFIG", "SET", "maxmemory", "1mb"),
                                     ("config", "set", "maxmemory-policy", "allkeys-lru"), ("DEBUG", "SLEEP", "0"),
                                     ("SHUTDOWN", "NOSAVE")])
def test_shared_servers_refuse_destructive_commands(shared_backend, command):
    """Never FLUSHALL/FLUSHDB/KEYS/CONFIG SET/DEBUG/SHUTDOWN a server the learner does not own alone."""
    from labs.core.backends import ForbiddenCommand

    backend = shared_backend
    ns = Namespace(new_session_id())
    backend.client.set(ns.key("survivor"), 1, ex=60)
    with pytest.raises(ForbiddenCommand, match="shared"):
        backend.client.execute_command(*command)
    pipe = backend.client.pipeline()
    pipe.get(ns.key("survivor"))
    with pytest.raises(ForbiddenCommand):  # refused when queued: nothing of the pipeline is sent
        pipe.execute_command(*command)
    assert pipe.execute() == [b"1"]
    assert backend.client.get(ns.key("survivor")) == b"1" and backend.check() is None
    reset(backend.client, ns)


# --------------------------------------------------------------------------- a learner's limits, every shared server

# The experiments that send commands to the learner's own backend (measured by counting them at the
# defaults); the others start private servers or run simulators, and are covered by their own tests.
ON_LEARNERS_SERVER = ("first-read", "string-cache-json", "string-ttl-rules", "string-session-token", "string-counter",
                      "list-queue", "list-chat-history", "hash-profile", "json-vs-hash", "set-followers",
                      "zset-leaderboard", "rate-limiter", "patterns-compare", "patterns-crossover", "ttl-mechanics")


def _lab_experiments():
    from labs import load_all

    registry = load_all()
    return [registry[name] for name in ON_LEARNERS_SERVER if name in registry]


def test_every_lab_experiment_runs_under_a_learners_limits(shared_backend):
    """Each experiment that uses the learner's server runs whole through the learner's guard (rate,
    sizes, key cap) on embedded, live and the 3-master cluster, and leaves only namespaced keys with a TTL."""
    from labs.core.backends import for_learner
    from labs.core.safety import LearnerGuard

    ns = Namespace(new_session_id())
    guard = LearnerGuard(ns)
    backend = for_learner(shared_backend, guard)
    assert backend.client is not shared_backend.client
    ran = []
    for exp in _lab_experiments():
        result = exp.run(exp.params_cls(), backend=backend, ns=ns)
        assert result.metrics, exp.name
        ran.append(exp.name)
    assert len(ran) == len(ON_LEARNERS_SERVER), ran
    assert guard.refused == {}
    audit = audit_ttls(shared_backend.client, ns)
    assert audit.keys >= 1 and audit.ok, (audit.without_ttl[:5], audit.over_cap[:5])
    reset(shared_backend.client, ns)


def test_a_learner_over_the_limit_is_refused_on_every_shared_server(shared_backend):
    """The rate limit and the key cap hold on a cluster too (pipelines and the SCAN recount included)."""
    from labs.core.backends import for_learner
    from labs.core.safety import LearnerGuard, LimitExceeded, SafetyLimits

    ns = Namespace(new_session_id())
    guard = LearnerGuard(ns, SafetyLimits(rate_per_s=0.001, burst=30, max_keys=5))
    client = for_learner(shared_backend, guard).client
    pipe = client.pipeline(transaction=True)
    for i in range(5):
        pipe.set(ns.key(f"k{i}"), i, ex=60)
    assert len(pipe.execute()) == 5         # a cluster pipeline answers b"OK", a plain one True
    with pytest.raises(LimitExceeded) as info:
        client.set(ns.key("sixth"), 1, ex=60)
    assert info.value.reason == "too-many-keys"
    shared_backend.client.unlink(ns.key("k0"))
    client.set(ns.key("sixth"), 1, ex=60)          # the recount found room
    while True:
        try:
            client.get(ns.key("k1"))
        except LimitExceeded as exc:
            assert exc.reason == "rate-limit"
            break
    assert guard.refused == {"too-many-keys": 1, "rate-limit": 1}
    assert len(learner_keys(shared_backend.client, ns)) == 5
    reset(shared_backend.client, ns)
