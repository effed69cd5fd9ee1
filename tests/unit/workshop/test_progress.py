"""Workshop progress on fakeredis and in the session: isolation between learners, the instructor's view,
TTLs on every key, cluster hash tags, and display names checked and escaped."""
from __future__ import annotations

import fakeredis
import pytest

from labs.core.namespace import MAX_TTL_S
from labs.workshop.progress import (RedisProgress, SessionProgress, anonymous_name, check_display_name,
                           escape_markdown)


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def server():
    return fakeredis.FakeServer()


def store(server, learner: str, clock=None, class_id: str = "room1", workshop_s: int = 3 * 3600) -> RedisProgress:
    return RedisProgress(fakeredis.FakeRedis(server=server), class_id, learner, workshop_s=workshop_s,
                         clock=clock or Clock())


def test_a_learners_progress_is_invisible_to_another_learner_and_the_instructor_sees_both(server):
    a, b = store(server, "aaaa1111"), store(server, "bbbb2222")
    a.set_name("Ada")
    b.set_name("Bob")
    assert a.record_pass("jitter-flatten") is True
    assert a.record_pass("jitter-flatten") is False          # a second pass does not count twice
    a.record_pass("lfu-log-factor")
    b.record_pass("expiry-effort")
    assert set(a.passed()) == {"jitter-flatten", "lfu-log-factor"}
    assert set(b.passed()) == {"expiry-effort"}                # B sees only B
    view = store(server, "cccc3333").class_view()               # the instructor (any session of the class)
    rows = {r.name: set(r.passed) for r in view.learners}
    assert rows == {"Ada": {"jitter-flatten", "lfu-log-factor"}, "Bob": {"expiry-effort"}}
    assert view.per_challenge() == {"jitter-flatten": 1, "lfu-log-factor": 1, "expiry-effort": 1}
    assert a.leaderboard() == [("Ada", 2), ("Bob", 1)]


def test_classes_do_not_see_each_other(server):
    store(server, "aaaa1111", class_id="room1").record_pass("jitter-flatten")
    other = store(server, "bbbb2222", class_id="room2")
    assert other.class_view().learners == [] and other.leaderboard() == []


def test_every_key_lives_in_the_class_hash_tag_and_expires_when_the_workshop_ends(server):
    clock = Clock()
    a = store(server, "aaaa1111", clock=clock, workshop_s=2 * 3600)
    a.set_name("Ada")
    a.record_pass("jitter-flatten")
    raw = fakeredis.FakeRedis(server=server)
    keys = sorted(k.decode() for k in raw.scan_iter(match="*"))
    assert keys == ["lab:{class:room1}:leaderboard", "lab:{class:room1}:learner:aaaa1111",
                    "lab:{class:room1}:meta", "lab:{class:room1}:seen"]
    for k in keys:
        assert 0 < raw.ttl(k) <= 2 * 3600, k
    clock.t += 3600  # an hour later the deadline has not moved: TTL = what is left of the workshop
    a.record_pass("lfu-log-factor")
    assert all(raw.ttl(k) <= 3600 for k in keys)


def test_the_workshop_length_is_capped_at_a_day(server):
    with pytest.raises(ValueError, match="24 hours"):
        store(server, "aaaa1111", workshop_s=MAX_TTL_S + 1)


def test_end_workshop_deletes_the_class_keys_only(server):
    raw = fakeredis.FakeRedis(server=server)
    raw.set("lab:{abcd1234}:home:user:1", "a learner's key", ex=60)
    raw.set("app:sentinel", "not the lab's")
    a, other = store(server, "aaaa1111"), store(server, "bbbb2222", class_id="room2")
    a.record_pass("jitter-flatten")
    other.record_pass("jitter-flatten")
    assert a.end_workshop() == 4
    assert raw.get("app:sentinel") == b"not the lab's" and raw.exists("lab:{abcd1234}:home:user:1")
    assert other.passed() == {"jitter-flatten": pytest.approx(Clock()())}
    assert a.passed() == {} and a.class_view().learners == []


def test_active_learners_are_those_seen_in_the_last_minutes(server):
    clock = Clock()
    a, b = store(server, "aaaa1111", clock=clock), store(server, "bbbb2222", clock=clock)
    a.set_name("Ada")
    clock.t += 600
    b.set_name("Bob")
    view = a.class_view()
    assert [r.name for r in view.active(clock(), within_s=300)] == ["Bob"]
    assert [r.name for r in view.active(clock(), within_s=900)] == ["Bob", "Ada"]


def test_session_progress_is_private_to_its_session():
    a, b = SessionProgress("aaaa1111", {}), SessionProgress("bbbb2222", {})
    a.set_name("Ada")
    assert a.record_pass("jitter-flatten") and not a.record_pass("jitter-flatten")
    assert b.passed() == {} and set(a.passed()) == {"jitter-flatten"}
    assert a.leaderboard() == [("Ada", 1)] and not a.shared
    assert a.end_workshop() == 1 and a.passed() == {}


@pytest.mark.parametrize("name", ["Ada", "  Grace   Hopper ", "Zoë-42", "o'neil", "team_7.b"])
def test_good_display_names_are_kept_trimmed(name):
    assert check_display_name(name) == " ".join(name.split())


@pytest.mark.parametrize("name, why", [
    ("", "Choose"), ("x" * 25, "at most 24"), ("ada@example.com", "e-mail"),
    ("<script>x</script>", "letters"), ("**bold**", "letters"), ("[link](http://x)", "letters"),
    ("bell\x07", "letters"), ("a;b", "letters")])
def test_bad_display_names_get_a_message_a_learner_can_act_on(name, why):
    with pytest.raises(ValueError, match=why):
        check_display_name(name)


def test_a_bad_name_is_never_stored(server):
    a = store(server, "aaaa1111")
    with pytest.raises(ValueError):
        a.set_name("<b>x</b>")
    assert a.name() == anonymous_name("aaaa1111")


def test_escaping_renders_learner_text_literally():
    assert escape_markdown("team_7.b") == r"team\_7\.b"
    assert escape_markdown("<b>*x*</b>") == r"\<b\>\*x\*\</b\>"


def test_anonymous_names_do_not_reveal_the_key_prefix():
    assert "aaaa1111" not in anonymous_name("aaaa1111") and anonymous_name("aaaa1111") == anonymous_name("aaaa1111")
