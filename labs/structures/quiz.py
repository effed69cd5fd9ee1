"""Check yourself: pick the Redis structure for a job, and learn why from the feedback on every choice.

Pure Python, no I/O. Each :class:`Scenario` offers four or five structures, names the best one (or
several, where more than one is an honest answer, e.g. a list or a stream for a job queue) and explains
every choice — right or wrong — with the commands it would take. :func:`grade` checks one answer,
:func:`score` totals a learner's answers, counting only the latest answer to each scenario.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

STRUCTURES = ("String", "List", "Hash", "Set", "Sorted set", "HyperLogLog", "Stream")


@dataclass(frozen=True)
class Scenario:
    id: str
    prompt: str
    choices: tuple[str, ...]
    best: tuple[str, ...]
    feedback: dict[str, str]
    commands: str  # the commands of the best answer, in redis-cli form


@dataclass(frozen=True)
class Answer:
    scenario_id: str
    choice: str
    correct: bool
    feedback: str


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        id="last-50-events",
        prompt="Keep the last 50 events of each user for an activity feed, newest first.",
        choices=("String", "List", "Set", "Sorted set", "Stream"),
        best=("List", "Stream"),
        feedback={
            "List": "Yes. LPUSH the new event, then LTRIM events:u1 0 49: the list never grows past 50, and "
                    "trimming one element per push is O(1). LRANGE events:u1 0 -1 reads them newest first.",
            "Stream": "Also a good fit. XADD events:u1 MAXLEN 50 * type login appends and caps in one command, "
                      "and every entry gets a time-based ID; XREVRANGE events:u1 + - reads newest first. "
                      "Heavier than a list, worth it when you also want IDs or consumer groups.",
            "String": "Not a good fit. One JSON array in a string means GET, parse, append, cut to 50 and SET "
                      "the whole array on every event, and two writers at once lose events.",
            "Set": "No: SMEMBERS returns a set in no particular order, so 'the last 50' cannot be asked for, "
                   "and SADD silently ignores an event identical to one already stored.",
            "Sorted set": "It works (ZADD with the timestamp as score, ZREMRANGEBYRANK events:u1 0 -51 to cap), "
                          "but every insert is O(log N) and each member carries a score: more memory for an "
                          "order a list gives you for free.",
        },
        commands="LPUSH events:u1 <event> · LTRIM events:u1 0 49 · LRANGE events:u1 0 -1",
    ),
    Scenario(
        id="unique-visitors",
        prompt="Count unique visitors (by IP address) per day on a busy site; an error of about 1 % is fine.",
        choices=("String", "Set", "Hash", "HyperLogLog", "Sorted set"),
        best=("HyperLogLog",),
        feedback={
            "HyperLogLog": "Yes. PFADD visitors:2025-06-01 <ip> on every visit and PFCOUNT visitors:2025-06-01 "
                           "for the estimate: 0.81 % standard error in at most 12 KB, however many visitors. "
                           "PFMERGE combines days into a week.",
            "Set": "Exact, but SADD keeps every IP, so memory grows with the audience: millions of visitors, "
                   "megabytes per day. Choose it when you need the exact count or the list of who visited.",
            "String": "One key per IP (SET seen:<ip> 1 NX plus an INCR when it was new) is exact but costs a "
                      "key per visitor. A bitmap (SETBIT, BITCOUNT) needs small, dense numeric IDs: one bit "
                      "for every possible IPv4 address is a 512 MB string.",
            "Hash": "HSET visitors:<day> <ip> 1 and HLEN give an exact count, but the hash stores every IP: "
                    "the same memory problem as a set.",
            "Sorted set": "ZADD with the visit time as score is exact and can tell who came when, but it is the "
                          "most memory per visitor of all: a score for a question that needs none.",
        },
        commands="PFADD visitors:<day> <ip> · PFCOUNT visitors:<day> · PFMERGE visitors:<week> <day keys>",
    ),
    Scenario(
        id="top-10-players",
        prompt="Show the top 10 players and any player's rank, while scores change all the time.",
        choices=("List", "Hash", "Set", "Sorted set", "String"),
        best=("Sorted set",),
        feedback={
            "Sorted set": "Yes. ZINCRBY board 50 alice updates a score in O(log N) and keeps the order; "
                          "ZRANGE board 0 9 REV WITHSCORES (ZREVRANGE before 6.2) is the top 10 and "
                          "ZREVRANK board alice the rank, 0-based.",
            "Hash": "HINCRBY keeps the scores, but a hash has no order: every top-10 request must HGETALL "
                    "every player and sort them in your application.",
            "List": "A list is ordered by insertion, not by score: every score change means finding the "
                    "player with LPOS (O(N)), then LREM and LINSERT to move them by hand.",
            "Set": "A set has neither scores nor order: SISMEMBER can say who plays, nothing can say who "
                   "leads.",
            "String": "One JSON leaderboard in a string must be fetched with GET, re-sorted and written back "
                      "with SET on every point scored, and concurrent updates overwrite each other.",
        },
        commands="ZINCRBY board <points> <player> · ZRANGE board 0 9 REV WITHSCORES · ZREVRANK board <player>",
    ),
    Scenario(
        id="profile-one-field",
        prompt="A user profile (name, email, city, login count) that you update one field at a time.",
        choices=("String", "Hash", "List", "Set"),
        best=("Hash",),
        feedback={
            "Hash": "Yes. HSET user:123 city Paris changes one field, HINCRBY user:123 logins 1 counts "
                    "atomically, HGET user:123 city reads one field; small hashes use the compact listpack "
                    "encoding.",
            "String": "A JSON string works for read-whole, write-whole data, but changing one field is GET, "
                      "parse, edit, SET: two clients doing it at once lose one client's change, and every "
                      "update sends the whole document.",
            "List": "A list holds values by position, not by name: 'the city' would be LINDEX user:123 2, and "
                    "LINDEX and LSET are O(N).",
            "Set": "A set holds unordered unique strings with no field names: SMEMBERS cannot tell you which "
                   "value is the email and which the city.",
        },
        commands="HSET user:123 city Paris · HINCRBY user:123 logins 1 · HGET user:123 city · HGETALL user:123",
    ),
    Scenario(
        id="mutual-followers",
        prompt="Who follows both Alice and Bob?",
        choices=("List", "Set", "Hash", "HyperLogLog", "Sorted set"),
        best=("Set",),
        feedback={
            "Set": "Yes. SADD followers:alice <user> builds each set, SINTER followers:alice followers:bob "
                   "computes the mutual followers on the server, SISMEMBER answers 'does X follow Alice?' "
                   "in O(1).",
            "List": "Lists allow duplicates and test membership in O(N) (LPOS); the intersection would have "
                    "to be computed in your application after LRANGE fetches both lists.",
            "Hash": "HSET followers:alice <user> 1 stores them, but Redis has no intersection of two hashes: "
                    "you would HKEYS both and intersect them yourself.",
            "HyperLogLog": "PFCOUNT only estimates how many followers there are; a HyperLogLog keeps no "
                           "members, so it cannot say who they are.",
            "Sorted set": "ZINTER (6.2+) can intersect them too, and a score could record when someone "
                          "followed, but if you only need who, the scores are memory spent for nothing.",
        },
        commands="SADD followers:alice <user> · SINTER followers:alice followers:bob · SISMEMBER followers:alice <user>",
    ),
    Scenario(
        id="job-queue",
        prompt="A job queue that several workers block on, waiting for the next job.",
        choices=("List", "Stream", "Set", "Sorted set", "String"),
        best=("List", "Stream"),
        feedback={
            "List": "Yes. Producers RPUSH jobs <job>, workers BLPOP jobs 5: a worker sleeps in Redis until a "
                    "job arrives or the timeout passes. A popped job is gone, so for crash safety move it to "
                    "a processing list with BLMOVE.",
            "Stream": "Also right, and the more robust choice. XADD jobs * task resize; workers XREADGROUP "
                      "GROUP workers w1 COUNT 1 BLOCK 5000 STREAMS jobs > and XACK when done, so an "
                      "unacknowledged job can be claimed by another worker (at-least-once delivery).",
            "Set": "A set has no order and SPOP hands out a random member, so jobs would not run first in, "
                   "first out, and there is no blocking set pop.",
            "Sorted set": "BZPOPMIN does block and makes a good priority or delayed-job queue (score = "
                          "priority or due time), but for plain first-in, first-out a list is simpler and O(1).",
            "String": "A string holds one value: there is no push, no pop and no blocking, so workers would "
                      "poll GET in a loop.",
        },
        commands="RPUSH jobs <job> · BLPOP jobs 5   (or XADD jobs * … · XREADGROUP … BLOCK … · XACK)",
    ),
    Scenario(
        id="session-token",
        prompt="A login token that maps to a user ID and must vanish 30 minutes after login.",
        choices=("String", "Hash", "List", "Set"),
        best=("String",),
        feedback={
            "String": "Yes. SET session:<token> 123 EX 1800 NX stores it with its expiry in one command (NX "
                      "refuses a token that already exists); GET reads it, TTL shows the time left, and "
                      "GETEX … EX 1800 would slide the expiry on each use.",
            "Hash": "Reasonable when a session carries several fields (HSET, then EXPIRE on the key), but that "
                    "is two commands; for token → user ID a string with EX is one.",
            "List": "A list is a sequence to RPUSH and LPOP; a token maps to one user ID, so there is "
                    "nothing to push or pop.",
            "Set": "Before Redis 8.12, one set of all tokens cannot expire its members one by one: a key's TTL "
                   "applies to the whole set (Redis 8.12 added SEXPIRE for set members).",
        },
        commands="SET session:<token> <user id> EX 1800 NX · GET session:<token> · TTL session:<token>",
    ),
    Scenario(
        id="rate-limit",
        prompt="Limit each API key to 100 requests in any 60-second window.",
        choices=("String", "Sorted set", "List", "Hash", "HyperLogLog"),
        best=("Sorted set",),
        feedback={
            "Sorted set": "Yes: a sliding window. Per request, in MULTI/EXEC: ZADD rl:<key> <now> <request "
                          "id>, ZREMRANGEBYSCORE rl:<key> 0 <now - 60000>, ZCARD rl:<key>; allow if the count "
                          "is at most 100. The cost: one member per request in the window.",
            "String": "INCR rl:<key>:<minute> with EXPIRE is a cheap fixed window, but the count restarts at "
                      "every minute boundary: 100 requests at 0:59 and 100 more at 1:00 all pass, so 'any "
                      "60-second window' is not enforced.",
            "List": "It can be made to work (LPUSH each timestamp, LTRIM rl:<key> 0 99, compare the oldest "
                    "with LINDEX rl:<key> -1), but dropping expired entries and counting what is left is "
                    "exactly what a sorted set's score range does.",
            "Hash": "HINCRBY on a field per minute is still a fixed window, with the same burst at every "
                    "boundary as a string counter.",
            "HyperLogLog": "PFCOUNT counts distinct items, not requests over time, and a HyperLogLog cannot "
                           "forget the ones that left the window.",
        },
        commands="MULTI · ZADD rl:<key> <now> <request id> · ZREMRANGEBYSCORE rl:<key> 0 <now - window> · "
                 "ZCARD rl:<key> · EXEC",
    ),
    Scenario(
        id="cached-json",
        prompt="Cache a JSON API response that is always read and replaced whole.",
        choices=("String", "Hash", "List", "Set"),
        best=("String",),
        feedback={
            "String": "Yes. SET api:/users/123 '<json>' EX 60 stores it with a TTL in one O(1) command and GET "
                      "returns it in one round trip. Refresh it with EX (or KEEPTTL): a plain SET drops the TTL.",
            "Hash": "A hash pays off when you read or change single fields. For a document always read whole "
                    "you would HGETALL and rebuild the JSON: more work, and nested JSON does not fit flat "
                    "fields.",
            "List": "A list is a sequence of separate values for RPUSH and LRANGE; a JSON document is one "
                    "value.",
            "Set": "A set stores unordered unique members for SADD and SMEMBERS, not one document.",
        },
        commands="SET api:/users/123 '<json>' EX 60 · GET api:/users/123 · TTL api:/users/123",
    ),
)

_BY_ID: Mapping[str, Scenario] = {s.id: s for s in SCENARIOS}


def problems(scenarios: Iterable[Scenario]) -> list[str]:
    """Everything wrong with a set of scenarios (empty when they are consistent)."""
    found: list[str] = []
    seen: set[str] = set()
    for s in scenarios:
        if s.id in seen:
            found.append(f"Scenario id {s.id!r} is used twice.")
        seen.add(s.id)
        if not 4 <= len(s.choices) <= 5:
            found.append(f"{s.id}: offers {len(s.choices)} choices; offer 4 or 5.")
        if len(set(s.choices)) != len(s.choices):
            found.append(f"{s.id}: a choice is offered twice.")
        unknown = [c for c in s.choices if c not in STRUCTURES]
        if unknown:
            found.append(f"{s.id}: {unknown} are not structures ({', '.join(STRUCTURES)}).")
        if not s.best:
            found.append(f"{s.id}: has no best answer.")
        missing_best = [b for b in s.best if b not in s.choices]
        if missing_best:
            found.append(f"{s.id}: best answer(s) {missing_best} are not among its choices.")
        without = [c for c in s.choices if not s.feedback.get(c, "").strip()]
        if without:
            found.append(f"{s.id}: no feedback for {without}.")
        extra = [c for c in s.feedback if c not in s.choices]
        if extra:
            found.append(f"{s.id}: feedback for {extra}, which are not offered.")
        if not s.commands.strip():
            found.append(f"{s.id}: no commands.")
    return found


def scenario(scenario_id: str) -> Scenario:
    """The scenario with this id, or ValueError naming the ids that exist."""
    try:
        return _BY_ID[scenario_id]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown quiz scenario {scenario_id!r}; the scenarios are: "
                         f"{', '.join(_BY_ID)}.") from None


def grade(scenario_id: str, choice: str) -> Answer:
    """Grade one answer. ValueError for an unknown scenario or a choice that scenario does not offer.

    The choice is matched ignoring case and surrounding spaces; the answer carries the offered spelling.
    """
    s = scenario(scenario_id)
    wanted = str(choice).strip().casefold()
    for offered in s.choices:
        if offered.casefold() == wanted:
            return Answer(s.id, offered, offered in s.best, s.feedback[offered])
    raise ValueError(f"{choice!r} is not a choice in {s.id!r}; choose one of: {', '.join(s.choices)}.")


def score(answers: Iterable[Answer]) -> tuple[int, int]:
    """(correct, answered): only the latest answer to each scenario counts."""
    latest: dict[str, Answer] = {}
    for answer in answers:
        latest[answer.scenario_id] = answer
    return sum(a.correct for a in latest.values()), len(latest)


_PROBLEMS = problems(SCENARIOS)
if _PROBLEMS:  # a broken question bank must fail at import, not in front of a learner
    raise ValueError("The quiz scenarios are inconsistent: " + " ".join(_PROBLEMS))
