import dataclasses

import pytest

from labs.structures import quiz
from labs.structures.quiz import SCENARIOS, STRUCTURES, Answer, Scenario, grade, problems, score


def test_the_question_bank_has_eight_to_ten_scenarios_with_unique_ids():
    ids = [s.id for s in SCENARIOS]
    assert 8 <= len(SCENARIOS) <= 10
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_every_choice_has_feedback_and_every_best_answer_is_offered(s):
    assert 4 <= len(s.choices) <= 5 and len(set(s.choices)) == len(s.choices)
    assert set(s.choices) <= set(STRUCTURES)
    assert s.best and set(s.best) <= set(s.choices)
    assert set(s.feedback) == set(s.choices)
    assert all(len(s.feedback[c].split()) >= 8 for c in s.choices), "feedback should explain, not just judge"
    assert s.prompt.strip() and s.commands.strip()


REDIS_COMMANDS = {
    "GET", "SET", "GETEX", "INCR", "EXPIRE", "TTL", "SETBIT", "BITCOUNT", "LPUSH", "RPUSH", "LPOP", "BLPOP",
    "BLMOVE", "LTRIM", "LRANGE", "LINDEX", "HSET", "HGET", "HGETALL", "HINCRBY", "HKEYS", "HLEN", "SADD",
    "SPOP", "SINTER", "SISMEMBER", "ZADD", "ZINCRBY", "ZRANGE", "ZREVRANGE", "ZREVRANK", "ZREMRANGEBYRANK",
    "ZREMRANGEBYSCORE", "ZCARD", "ZINTER", "BZPOPMIN", "PFADD", "PFCOUNT", "PFMERGE", "XADD", "XREVRANGE",
    "XREADGROUP", "XACK", "MULTI", "EXEC", "SMEMBERS", "LPOS", "LREM", "LINSERT", "LSET", "HDEL",
}


def _commands_in(text):
    return {w.strip(".,:;()'") for w in text.split()} & REDIS_COMMANDS


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_feedback_for_every_choice_names_the_commands_it_is_about(s):
    for choice, text in s.feedback.items():
        assert _commands_in(text), f"{s.id}/{choice} names no Redis command: {text}"
    assert _commands_in(s.commands), f"{s.id}: the commands line names no command"


def test_the_command_check_can_fail():
    assert not _commands_in("A set has no order, so it cannot rank players.")
    assert _commands_in("Use ZADD, then ZCARD.") == {"ZADD", "ZCARD"}


def test_the_bank_validates_itself():
    assert problems(SCENARIOS) == []


def test_a_broken_bank_is_caught():
    good = SCENARIOS[0]
    broken = [
        dataclasses.replace(good, best=("Hash",)),                                  # best not offered
        dataclasses.replace(good, id="x", feedback={c: "f" for c in good.choices[1:]}),  # a choice lacks feedback
        dataclasses.replace(good, id="y", choices=("String", "List", "Set")),       # too few choices
    ]
    found = problems([good, *broken])
    assert any("used twice" in p for p in found)
    assert any("not among its choices" in p for p in found)
    assert any("no feedback for" in p for p in found)
    assert any("offers 3 choices" in p for p in found)


def test_grading_a_right_and_a_wrong_answer():
    right = grade("top-10-players", "Sorted set")
    assert right == Answer("top-10-players", "Sorted set", True, right.feedback)
    assert "ZINCRBY" in right.feedback
    wrong = grade("top-10-players", "Hash")
    assert not wrong.correct and "HGETALL" in wrong.feedback


def test_more_than_one_best_answer_can_be_right():
    assert grade("job-queue", "List").correct and grade("job-queue", "Stream").correct
    assert not grade("job-queue", "Set").correct


def test_every_offered_choice_grades_and_only_best_ones_are_correct():
    for s in SCENARIOS:
        for c in s.choices:
            a = grade(s.id, c)
            assert a.correct == (c in s.best) and a.feedback == s.feedback[c] and a.choice == c


def test_choices_match_ignoring_case_and_spaces():
    a = grade("unique-visitors", "  hyperloglog ")
    assert a.choice == "HyperLogLog" and a.correct


def test_unknown_scenario_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown quiz scenario 'nope'.*top-10-players"):
        grade("nope", "Set")


def test_a_choice_not_offered_is_a_clear_error():
    # HyperLogLog is a real structure, but not one of this question's choices.
    with pytest.raises(ValueError, match="'HyperLogLog' is not a choice in 'session-token'.*String"):
        grade("session-token", "HyperLogLog")
    with pytest.raises(ValueError, match="not a choice"):
        grade("session-token", "")


def test_score_counts_only_the_latest_answer_per_scenario():
    answers = [grade("top-10-players", "Hash"), grade("top-10-players", "Sorted set"),        # wrong, then right
               grade("mutual-followers", "List"), grade("mutual-followers", "HyperLogLog"),
               grade("mutual-followers", "Set"),                                              # finally right
               grade("cached-json", "String")]
    assert score(answers) == (3, 3)
    assert score(answers + [grade("cached-json", "Hash")]) == (2, 3)                       # right, then wrong
    assert score([]) == (0, 0)
    assert score(iter(answers)) == (3, 3)  # any iterable, e.g. the page's dict.values()


def test_score_of_every_best_answer_is_full_marks():
    answers = [grade(s.id, s.best[0]) for s in SCENARIOS]
    assert score(answers) == (len(SCENARIOS), len(SCENARIOS))


def test_scenarios_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SCENARIOS[0].id = "changed"  # type: ignore[misc]
    assert isinstance(SCENARIOS, tuple) and all(isinstance(s, Scenario) for s in SCENARIOS)


def test_scenario_lookup():
    assert quiz.scenario("rate-limit").best == ("Sorted set",)
    with pytest.raises(ValueError, match="Unknown quiz scenario"):
        quiz.scenario("rate-limiter")
