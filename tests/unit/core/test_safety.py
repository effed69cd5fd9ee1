"""Safety on a shared server: the per-learner rate limit and size caps, learners' isolation in the
console, and secrets never shown (labs/core/safety.py, labs/core/backends.py, labs/structures/console.py)."""
from __future__ import annotations

import itertools
from pathlib import Path

import fakeredis
import pytest
import redis

from labs.core.backends import Backend, BackendError, Capabilities, for_learner, open_sandbox, redact_url
from labs.core.namespace import Namespace
from labs.core.safety import DEFAULT_LIMITS, LearnerGuard, LimitExceeded, SafetyLimits, TokenBucket, limit_client
from labs.structures.console import ConsoleLimits, SafeConsole
from labs.structures.console_commands import COMMANDS

ROOT = Path(__file__).resolve().parents[3]
ME = Namespace("a1b2c3d4e5", "structures")
OTHER = Namespace("ffff0000ee", "structures")


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def server():
    return fakeredis.FakeServer()


@pytest.fixture
def raw(server):
    return fakeredis.FakeRedis(server=server)


def limited(raw, clock=None, **limits):
    guard = LearnerGuard(ME, SafetyLimits(**limits), clock=clock or Clock())
    return limit_client(raw, guard), guard


# --------------------------------------------------------------------------- the token bucket

def test_token_bucket_grants_the_burst_then_refills_at_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=10, capacity=5, clock=clock)
    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() == pytest.approx(0.1)   # one token comes back in 1/rate s
    clock.t += 0.25                               # 2.5 tokens back
    assert bucket.take(2) == 0.0 and bucket.take(1) == pytest.approx(0.05)
    clock.t += 3600                               # a long pause banks at most the capacity
    assert bucket.tokens == 5


def test_a_refused_take_takes_nothing():
    clock = Clock()
    bucket = TokenBucket(rate=1, capacity=3, clock=clock)
    assert bucket.take(3) == 0.0
    assert bucket.take(2) == pytest.approx(2.0)
    clock.t += 1
    assert bucket.take(1) == 0.0


# --------------------------------------------------------------------------- the client layer

def test_rate_limit_refuses_with_a_message_and_sends_nothing(raw):
    clock = Clock()
    client, guard = limited(raw, clock, rate_per_s=2, burst=3)
    for i in range(3):
        client.set(ME.key(f"k{i}"), i, ex=60)
    with pytest.raises(LimitExceeded) as info:
        client.set(ME.key("late"), 1, ex=60)
    err = info.value
    assert err.reason == "rate-limit" and isinstance(err, BackendError) and isinstance(err, redis.RedisError)
    assert "3 at once, then 2 per second" in err.message and "Wait about 1 s" in err.hint
    assert raw.exists(ME.key("late")) == 0          # refused before it was sent
    clock.t += 0.5                                  # one token back
    assert client.set(ME.key("late"), 1, ex=60) and guard.refused == {"rate-limit": 1}


def test_every_queued_pipeline_command_takes_a_token(raw):
    client, _ = limited(raw, rate_per_s=1, burst=4)
    pipe = client.pipeline(transaction=True)
    for i in range(4):
        pipe.set(ME.key(f"p{i}"), i, ex=60)
    with pytest.raises(LimitExceeded):               # refused when queued: the transaction is never sent
        pipe.set(ME.key("p4"), 4, ex=60)
    pipe.reset()
    assert raw.exists(*[ME.key(f"p{i}") for i in range(5)]) == 0


def test_a_value_over_the_cap_is_refused_whole(raw):
    client, guard = limited(raw, max_value_bytes=1024, max_command_bytes=4096)
    client.set(ME.key("ok"), "x" * 1024, ex=60)
    with pytest.raises(LimitExceeded, match="1,025 bytes") as info:
        client.set(ME.key("big"), "x" * 1025, ex=60)
    assert info.value.reason == "too-big" and raw.exists(ME.key("big")) == 0
    with pytest.raises(LimitExceeded, match="limit of 4,096 bytes"):   # many values, each under the cap
        client.hset(ME.key("h"), mapping={f"f{i}": "v" * 1000 for i in range(5)})
    assert raw.exists(ME.key("h")) == 0
    with pytest.raises(LimitExceeded):               # non-ASCII text is counted in bytes, not characters
        client.set(ME.key("utf8"), "é" * 600, ex=60)
    assert guard.refused["too-big"] == 3


def test_the_key_cap_counts_on_the_server_and_frees_up_on_delete(raw):
    client, guard = limited(raw, max_keys=3)
    for name in ("a", "b", "c"):
        client.set(ME.key(name), 1, ex=60)
    client.set(ME.key("a"), 2, ex=60)                                 # an existing key: allowed
    client.set(OTHER.key("not-mine-to-count"), 1, ex=60)              # outside my prefix: not counted
    with pytest.raises(LimitExceeded, match="at most 3") as info:
        client.rpush(ME.for_lab("chat").key("d"), "x")                # any lab of mine counts
    assert info.value.reason == "too-many-keys" and "Reset my lab" in info.value.hint
    raw.delete(ME.key("b"))                                           # e.g. Reset, or a TTL ran out
    client.rpush(ME.for_lab("chat").key("d"), "x")                    # the recount finds room
    with pytest.raises(LimitExceeded):
        client.sadd(ME.key("e"), "x")
    assert sorted(k.decode() for k in raw.scan_iter(match=ME.learner_prefix + "*")) == \
        sorted([ME.key("a"), ME.key("c"), ME.for_lab("chat").key("d")])


def test_the_recount_sees_keys_written_elsewhere(raw):
    """Once the session's own count reaches the cap, the server decides: keys another replica (or the
    console) wrote count too, so the learner is refused although this session wrote fewer."""
    for i in range(4):
        raw.set(ME.key(f"elsewhere{i}"), 1, ex=60)
    client, _ = limited(raw, max_keys=4)
    for i in range(4):                     # this session's own count: 4 (no server round trip)
        client.set(ME.key(f"here{i}"), 1, ex=60)
    with pytest.raises(LimitExceeded, match="You hold more than 4 keys"):   # the recount stops at cap + 1
        client.set(ME.key("here4"), 1, ex=60)
    assert raw.exists(ME.key("here4")) == 0


def test_defaults_let_the_largest_experiment_run_whole():
    """The burst must cover one run at the largest parameters; measured on this code base: about 80,000
    commands (string-counter 16 clients x 5,000 INCRs; patterns-compare at 20,000 requests ~70,000)."""
    assert DEFAULT_LIMITS.burst >= 16 * 5_000 + 2
    assert DEFAULT_LIMITS.max_collection_len == ConsoleLimits().max_collection_len


def test_for_learner_wraps_shared_backends_only(raw):
    guard = LearnerGuard(ME, SafetyLimits(burst=1), clock=Clock())
    sandbox = open_sandbox()
    assert for_learner(sandbox, guard) is sandbox                      # the learner's own fakeredis
    caps = Capabilities(kind="live", server="redis", version="7")
    for kind in ("live", "embedded"):
        shared = for_learner(Backend(kind, raw, caps, "redis://h:6379"), guard)
        assert shared.client is not raw
    shared.client.ping()
    with pytest.raises(LimitExceeded):
        shared.client.ping()
    assert raw.ping()                                                  # the shared client itself is untouched
    sandbox.close()


# --------------------------------------------------------------------------- isolation in the console

SECRET = "TOPSECRET-of-another-learner"


def _plant(raw) -> list[str]:
    theirs = {"str": OTHER.key("s"), "hash": OTHER.key("h"), "list": OTHER.key("l"), "set": OTHER.key("t"),
              "zset": OTHER.key("z"), "stream": OTHER.key("x")}
    raw.set(theirs["str"], SECRET, ex=600)
    raw.hset(theirs["hash"], SECRET, SECRET)
    raw.rpush(theirs["list"], SECRET)
    raw.sadd(theirs["set"], SECRET)
    raw.zadd(theirs["zset"], {SECRET: 1})
    raw.xadd(theirs["stream"], {SECRET: SECRET})
    return list(theirs.values())


def test_no_allowed_command_reads_another_learners_key(server, raw):
    """Every command the console allows, given the other learner's full key names (and their short
    names) in every position, never prints the other learner's data nor changes it."""
    theirs = _plant(raw)
    console = SafeConsole(fakeredis.FakeRedis(server=server), ME, shared=True,
                          limits=ConsoleLimits(rate_commands=10**9))
    names = sorted({c.split()[0] for c in COMMANDS} | {c for c in COMMANDS if " " in c})
    fills = [theirs, [k.rsplit(":", 1)[1] for k in theirs], ["1"], ["0", "-1"], ["*"]]
    sent = 0
    for name in names:
        for fill in fills:
            for n in range(1, 5):
                args = list(itertools.islice(itertools.cycle(fill), n))
                if name in ("SCAN",):
                    args = ["0", "MATCH", "*"]
                reply = console.execute(f"{name} {' '.join(args)}")
                sent += 1
                assert SECRET not in reply.output, f"{name} {args} printed another learner's data"
    assert sent > 300
    assert raw.get(theirs[0]) == SECRET.encode() and raw.lrange(theirs[2], 0, -1) == [SECRET.encode()]
    reply = console.execute("SCAN 0 MATCH lab:* COUNT 1000")
    assert "ffff0000ee" not in reply.output


# --------------------------------------------------------------------------- secrets

def test_redact_url_hides_every_credential_form():
    cases = {
        "redis://user:pa@ss@host:6379/0": "redis://user:***@host:6379/0",      # an unescaped @ in it
        "redis://u:p/w@h/0": "redis://u:***@h/0",                              # an unescaped / in it
        "rediss://tok3n@h:6380": "rediss://***@h:6380",                        # a lone token
        "redis://h:6379/0?password=x&ssl_cert_reqs=none": "redis://h:6379/0?password=***&ssl_cert_reqs=none",
        "unix://:pw@/tmp/redis.sock?db=0": "unix://:***@/tmp/redis.sock?db=0",
        "redis://h:6379": "redis://h:6379",
    }
    for url, shown in cases.items():
        assert redact_url(url) == shown


def test_the_sidebar_never_holds_the_configured_password(monkeypatch):
    """The URL field is a password field, but its eye icon would reveal a pre-filled value: the
    configured URL is shown redacted, and Connect with the redacted text still uses the real one."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("REDIS_URL", "redis://alice:s3cr3t-pw@127.0.0.1:1/0")
    monkeypatch.delenv("LAB_BACKEND", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    field = at.sidebar.text_input[0]
    assert field.value == "redis://alice:***@127.0.0.1:1/0"
    shown = " ".join(str(getattr(e, "value", "")) for e in at.sidebar) + " ".join(
        str(getattr(e, "value", "")) for e in at.main)
    assert "s3cr3t-pw" not in shown
    assert at.session_state["live_url"].endswith("s3cr3t-pw@127.0.0.1:1/0")

    from ui import backend as ui_backend   # Connect with the redacted text: the configured URL is used

    calls = []

    def refuse(kind, url):
        calls.append(url)
        raise BackendError("refused", reason="refused")

    monkeypatch.setattr(ui_backend, "_open", refuse)
    monkeypatch.setattr(ui_backend.st, "session_state", {"live_url": "redis://alice:s3cr3t-pw@127.0.0.1:1/0"})
    ui_backend.switch_backend("live", "redis://alice:***@127.0.0.1:1/0")
    ui_backend.switch_backend("live", "redis://bob:other@127.0.0.1:2/0")   # a URL the learner typed: as typed
    assert calls == ["redis://alice:s3cr3t-pw@127.0.0.1:1/0", "redis://bob:other@127.0.0.1:2/0"]


def test_no_page_renders_html_from_text():
    """No ``unsafe_allow_html`` anywhere in the app: learner text (names, console input) is never HTML."""
    offenders = [str(p.relative_to(ROOT)) for folder in ("app_pages", "ui") for p in (ROOT / folder).glob("*.py")
                 if "unsafe_allow_html" in p.read_text()] + (["app.py"] if "unsafe_allow_html" in
                                                             (ROOT / "app.py").read_text() else [])
    assert offenders == []


# --------------------------------------------------------------------------- resuming a learner elsewhere

def test_resume_token_derives_a_stable_namespace_and_rejects_forgeries():
    from labs.workshop.resume import new_resume_token, session_from_token, valid_token

    token = new_resume_token()
    assert valid_token(token) and len(token) == 32 and token != new_resume_token()
    sid = session_from_token(token)
    assert sid == session_from_token(token) and Namespace(sid).learner_prefix == f"lab:{{{sid}}}:"
    assert sid not in token                       # the namespace does not reveal the token
    for bad in ("", "zz", token.upper(), token[:-1], token + "0", sid, "../" + token[3:], None, 12):
        assert not valid_token(bad)
    with pytest.raises(ValueError, match="32 lowercase hex"):
        session_from_token(sid)


def test_a_resume_link_opens_the_same_namespace_and_leaves_the_address_bar(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from labs.workshop.resume import session_from_token

    monkeypatch.setenv("LAB_BACKEND", "sandbox")
    token = "0123456789abcdef0123456789abcdef"
    sessions = []
    for given in (token, token, "not-a-token", None):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if given is not None:
            at.query_params["learner"] = given
        at.run()
        assert not at.exception
        assert "learner" not in at.query_params   # read once, then removed
        sessions.append(at.session_state["lab_session_id"])
        if given == "not-a-token":
            assert any("not valid" in w.value for w in at.sidebar.warning)
        link = [m.value.strip("`") for m in at.sidebar.markdown if "learner=" in m.value]
        assert link and session_from_token(link[0].rsplit("=", 1)[1]) == sessions[-1]
    assert sessions[0] == sessions[1] == session_from_token(token)
    assert len(set(sessions)) == 3                # a bad token and no token: two new learners


def test_a_collected_shallow_copy_leaves_the_shared_pool_open():
    """redis-py's ``__del__`` closes a ``from_url`` client's pool: a per-learner copy (the limits, the
    command log) collected after a rerun must not disconnect every other learner's commands."""
    import copy
    import gc

    from labs.core.metrics import shallow_copy, instrument, CommandLog

    original = redis.Redis.from_url("redis://127.0.0.1:1/0")
    closed = []
    original.connection_pool.close = lambda: closed.append("pool")
    plain = copy.copy(original)
    del plain
    gc.collect()
    assert closed == ["pool"]                      # the hazard: a plain shallow copy closes the shared pool
    closed.clear()
    for make in (shallow_copy, lambda c: instrument(c, CommandLog()),
                 lambda c: limit_client(c, LearnerGuard(ME))):
        twin = make(original)
        assert isinstance(twin, redis.Redis) and twin.connection_pool is original.connection_pool
        del twin
        gc.collect()
    assert closed == []
    explicit = shallow_copy(original)
    explicit.close()                               # an explicit close still closes
    assert closed == ["pool"]
