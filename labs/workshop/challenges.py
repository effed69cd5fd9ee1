"""Challenges: a goal over an experiment's measured ``Result.metrics``, under constraints on its params.

A challenge is checked from the run the learner just did — the params they submitted and the Result the
experiment returned — never from anything they claim. :func:`check` returns a :class:`Verdict`: passed
with the reason (the numbers that met the goal), or not passed with what missed and a hint.

Challenges are data. To add one (e.g. for a new lab at merge time), append a :class:`Challenge` to
``CHALLENGES`` below:

* ``id``: unique, lowercase words and dashes (it is stored in learners' progress; never rename one);
* ``lab``: the page stem (``app_pages/<lab>.py``) where the experiment's form lives;
* ``experiment``: a registered experiment name (``python -m labs list``);
* ``constraints``: :class:`Rule` s over the submitted params (``Rule("capacity", "<=", 1100)``), shown
  to the learner as the rules of the game;
* ``goals``: :class:`Rule` s over ``Result.metrics``. A metric name may be a glob
  (``"allkeys-*: hit_ratio"``): the goal is met when ANY matching metric meets it;
* ``hint``: what to try after a miss; ``reason``: why a pass is a pass (``{metric}`` placeholders are
  filled with the run's numbers, e.g. ``{lost_writes}``; write ``{{`` for a literal brace).

``tests/unit/test_challenges.py`` runs every challenge's ``solution`` and ``miss`` params through the real
experiment, so a new challenge must give both: one run that meets the goal and one that does not. The
``miss`` must be the experiment's defaults or a run a learner could start from: a challenge that passes on
the defaults asks for nothing.

Verdicts speak the page's words: a param is named by its form label (:func:`labs.core.experiment.knob_label`)
and a metric by its measure, with its unit ("needs Expired but present, mean share below 5.0 %; measured
15.6 %"), through the one formatter of :mod:`labs.core.measures`.
"""
from __future__ import annotations

import fnmatch
import math
import operator
import re
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from labs.core.experiment import knob_label, show_number
from labs.core.measures import Measure, describe

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq,
        "!=": operator.ne}
_WORDS = {"<=": "at most", ">=": "at least", "<": "below", ">": "above", "==": "exactly", "!=": "not",
          "in": "one of", "contains": "containing"}
_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """``key op value``: a constraint on one param, or a goal on one metric (``key`` may be a glob)."""

    key: str
    op: str
    value: Any
    label: str = ""           # the key in the learner's words, e.g. "maxmemory (keys)"

    def __post_init__(self) -> None:
        if self.op not in _OPS and self.op not in ("in", "contains"):
            raise ValueError(f"unknown rule operator {self.op!r}")

    def holds(self, actual: Any) -> bool:
        if actual is None or isinstance(actual, float) and math.isnan(actual):
            return False
        if self.op == "in":
            return actual in self.value
        if self.op == "contains":
            return str(self.value) in str(actual)
        try:
            return bool(_OPS[self.op](actual, self.value))
        except TypeError:  # a text metric compared with a number: not met
            return False

    def describe(self, label: str = "", shown: Any = None) -> str:
        """``Maxmemory (keys) at most 1,100`` — the rule as the learner reads it; ``label`` and ``shown``
        (a value formatter) give the form's or the measure's words and units when the caller knows them."""
        shown = shown or _fmt
        name = label or self.label or self.key.replace("_", " ")
        if self.op == "==" and isinstance(self.value, bool):
            return f"{name} {'on' if self.value else 'off'}"
        if self.op == "==" and isinstance(self.value, str):
            return f"{name} = {self.value}"
        value = ", ".join(map(str, self.value)) if self.op == "in" else shown(self.value)
        return f"{name} {_WORDS[self.op]} {value}"


@dataclass(frozen=True)
class Challenge:
    """A goal to reach with one experiment; ``solution``/``miss`` are params of a passing and a failing run."""

    id: str
    lab: str
    experiment: str
    title: str
    goal: str
    constraints: tuple[Rule, ...]
    goals: tuple[Rule, ...]
    hint: str
    reason: str
    solution: Mapping[str, Any] = field(default_factory=dict)
    miss: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.id):
            raise ValueError(f"challenge id must be lowercase words joined by dashes, got {self.id!r}")

    @property
    def page(self) -> str:
        return f"app_pages/{self.lab}.py"

    def rules_text(self) -> list[str]:
        from labs import load_all

        params_cls = load_all()[self.experiment].params_cls
        return [r.describe(*_knob_words(params_cls, r.key)) for r in self.constraints]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one run: passed + reason, or not passed + what missed + hint."""

    challenge_id: str
    passed: bool
    reason: str
    hint: str = ""
    missed: tuple[str, ...] = ()


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _knob_words(params_cls: type, name: str) -> tuple[str, Any]:
    """The form's label of a param and a formatter that prints its values with the knob's unit."""
    meta = next((f.metadata for f in fields(params_cls) if f.name == name), None)
    if meta is None:
        return "", None
    unit = f" {meta['unit']}" if meta.get("unit") else ""
    return knob_label({"name": name, **meta}), lambda v: f"{show_number(v)}{unit}"


def _metric_words(measures: Mapping[str, Measure], key: str) -> tuple[str, Any]:
    m = describe(measures, key)
    return (m.label, m.format) if m else ("", None)


def _metric_values(pattern: str, metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    if pattern in metrics:
        return [(pattern, metrics[pattern])]
    return [(k, v) for k, v in metrics.items() if fnmatch.fnmatchcase(k, pattern)]


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


def _fill(text: str, metrics: Mapping[str, Any], params: Any, measures: Mapping[str, Measure] | None = None) -> str:
    """Replace ``{name}`` with the run's param or metric, printed with its unit (names may hold ``:`` or
    spaces, as metric names do — so not ``str.format``); ``{{``/``}}`` are literal braces; unknown names stay."""
    values = {k: (_knob_words(type(params), k)[1] or _fmt)(v) for k, v in vars(params).items()}
    for k, v in metrics.items():
        m = describe(measures or {}, k)
        values[k] = m.format(v) if m else _fmt(v)

    def one(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        return values.get(match.group(1), match.group(0))

    return _PLACEHOLDER.sub(one, text)


def check(challenge: Challenge, params: Any, result: Any) -> Verdict:
    """Judge the run the learner just did: its params against the constraints, its metrics against the goals."""
    broken = []
    for rule in challenge.constraints:
        actual = getattr(params, rule.key, None)
        if not rule.holds(actual):
            label, shown = _knob_words(type(params), rule.key)
            ran = ("it on" if actual else "it off") if isinstance(actual, bool) else (shown or _fmt)(actual)
            broken.append(f"this challenge needs {rule.describe(label, shown)}; you ran with {ran}")
    if broken:
        return Verdict(challenge.id, False, "Not a try at this challenge: " + "; ".join(broken) + ".",
                       hint=challenge.hint, missed=tuple(broken))
    metrics, measures = result.metrics, getattr(result, "measures", None) or {}
    missed = []
    for rule in challenge.goals:
        found = _metric_values(rule.key, metrics)
        label, shown = _metric_words(measures, rule.key)
        if not found:
            missed.append(f"this run reports no {rule.label or label or rule.key}")
        elif not any(rule.holds(v) for _, v in found):
            if len(found) == 1:
                seen = (shown or _fmt)(found[0][1])
            else:  # a glob: each matching metric by its own label
                seen = ", ".join(f"{_metric_words(measures, k)[0] or k}: {(_metric_words(measures, k)[1] or _fmt)(v)}"
                                 for k, v in found[:4])
            missed.append(f"needs {rule.describe(label if len(found) == 1 else '', shown)}; measured {seen}")
    if missed:
        return Verdict(challenge.id, False, "Not yet: " + "; ".join(missed) + ".", hint=challenge.hint,
                       missed=tuple(missed))
    return Verdict(challenge.id, True, _fill(challenge.reason, metrics, params, measures))


def for_experiment(name: str) -> list[Challenge]:
    return [c for c in CHALLENGES if c.experiment == name]


def by_lab() -> dict[str, list[Challenge]]:
    out: dict[str, list[Challenge]] = {}
    for c in CHALLENGES:
        out.setdefault(c.lab, []).append(c)
    return out


def get(challenge_id: str) -> Challenge:
    for c in CHALLENGES:
        if c.id == challenge_id:
            return c
    raise KeyError(challenge_id)


_ONE_REDIS_POLICY = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
                     "volatile-random", "volatile-ttl")

CHALLENGES: tuple[Challenge, ...] = (
    # ---------------------------------------------------------------- data structures
    Challenge(
        "listpack-boundary", "structures", "json-vs-hash", "Find the listpack limit",
        "Grow the profile hash until it is no longer a compact listpack — with as few fields as possible.",
        constraints=(),
        goals=(Rule("hash_encoding", "contains", "hashtable", "hash encoding"),
               Rule("fields", "<=", 513, "fields in the hash")),
        hint="A hash stays a listpack up to hash-max-listpack-entries fields (512 by default); the profile "
             "has 5 fields plus the extra ones you add.",
        reason="{fields}: one past hash-max-listpack-entries (512), so the hash became a "
               "{hash_encoding}. Compare its bytes with the listpack just below the limit.",
        solution={"extra_fields": 508}, miss={"extra_fields": 507}),
    Challenge(
        "lock-out-hammering", "structures", "rate-limiter", "Keep a hammering client out",
        "A client sends 60 requests at 20/s against a limit of 10 per second. Let only its first 10 in.",
        constraints=(Rule("limit", "==", 10), Rule("window_ms", "==", 1000, "window (ms)"),
                     Rule("rate_per_s", "==", 20, "request rate (/s)"), Rule("requests", "==", 60)),
        goals=(Rule("allowed", "<=", 10, "requests allowed"),),
        hint="With the usual limiter a rejected request leaves no trace, so the client gets in again as soon "
             "as old requests slide out of the window. What if rejected requests counted too?",
        reason="{allowed} allowed, {rejected} rejected: counting rejected requests in the window keeps a "
               "client that never slows down blocked (RU102PY's stricter variant).",
        solution={"count_rejected": True}, miss={"count_rejected": False}),
    # ---------------------------------------------------------------- caching patterns
    Challenge(
        "write-behind-no-loss", "patterns", "patterns-crash", "Write-behind that loses nothing",
        "Kill the cache server mid-run — with the flusher dying mid-batch — and lose 0 acknowledged writes.",
        constraints=(Rule("strategy", "==", "write-behind"), Rule("flusher_dies_mid_batch", "==", True,
                                                                  "flusher dies mid-batch"),
                     Rule("restart", "==", True), Rule("batch", ">=", 10, "flush batch"),
                     Rule("crash_after", ">=", 100, "crash after write")),
        goals=(Rule("lost_writes", "==", 0, "lost writes"), Rule("acknowledged", ">=", 100, "acknowledged writes")),
        hint="Two things die in this crash: the queue in the server's memory, and the batch the flusher had "
             "already taken off it. One needs the server to keep its data over a restart; the other needs "
             "a queue whose read entries stay pending until acknowledged.",
        reason="{acknowledged} acknowledged, {lost_writes} lost: the append-only file brought the "
               "queue back and the stream kept the flusher's batch pending ({recovered_pending} re-read).",
        solution={"strategy": "write-behind", "flusher_dies_mid_batch": True, "queue": "stream", "durable": True},
        miss={"strategy": "write-behind", "flusher_dies_mid_batch": True, "queue": "list", "durable": True}),
    Challenge(
        "write-behind-bounded-loss", "patterns", "patterns-crash", "Bound the loss without persistence",
        "No append-only file, batches of at least 50: lose at most 5 acknowledged writes in the crash.",
        constraints=(Rule("strategy", "==", "write-behind"), Rule("durable", "==", False, "append-only file"),
                     Rule("batch", ">=", 50, "flush batch"), Rule("crash_after", ">=", 100, "crash after write"),
                     Rule("flusher_dies_mid_batch", "==", False, "flusher dies mid-batch")),
        goals=(Rule("lost_writes", "<=", 5, "lost writes"), Rule("acknowledged", ">=", 100, "acknowledged writes")),
        hint="Without persistence you lose whatever is queued at the crash. The batch size is fixed here; "
             "what else decides how long a write waits in the queue?",
        reason="{lost_writes} lost out of {acknowledged} acknowledged: a short flush interval "
               "({interval_ms}) bounds the loss window, at the cost of {flushes}.",
        solution={"interval_ms": 5.0}, miss={"interval_ms": 100.0}),
    # ---------------------------------------------------------------- TTLs, expiry, cost
    Challenge(
        "jitter-flatten", "ttl_cost", "expiry-jitter", "Flatten the thundering herd",
        "10,000 keys written at once: keep the database at or below 100 misses per second, with at most "
        "140 s of jitter.",
        constraints=(Rule("keys", "==", 10_000), Rule("jitter_s", "<=", 140, "jitter (s)")),
        goals=(Rule("peak_with_jitter", "<=", 100, "peak misses per second"),),
        hint="Spread over J seconds, 10,000 expirations average 10,000 / J per second, and random draws "
             "bunch up a little above the average: aim a bit wider than 100 s.",
        reason="Peak {peak_with_jitter} instead of {peak_no_jitter}: {jitter_s} of jitter spread "
               "the expirations.",
        solution={"jitter_s": 140}, miss={"jitter_s": 120}),
    Challenge(
        "expiry-effort", "ttl_cost", "active-expiry", "Less memory held by expired keys",
        "At the default hz 10, keep expired-but-present keys under 5 % of the keyspace on average.",
        constraints=(Rule("hz", "<=", 10), Rule("write_rate", ">=", 1000, "write rate (keys/s)"),
                     Rule("stale_read_fraction", "==", 0.0, "stale read fraction")),
        goals=(Rule("mean_fraction_stale", "<", 0.05, "mean share of expired keys still present"),),
        hint="The expire cycle stops sampling once at most 10 % of a sample was expired. Which setting "
             "samples more keys per loop and accepts less stale?",
        reason="{mean_fraction_stale} of the keys were expired-but-present on average: a higher "
               "active-expire-effort ({effort}) samples more and tolerates less.",
        solution={"effort": 10}, miss={"effort": 1}),
    # ---------------------------------------------------------------- eviction
    Challenge(
        "eviction-three-quarters", "eviction", "eviction-compare", "75 % hits from a quarter of the keys",
        "On the Zipf trace (5,000 keys, α = 1), reach a 75 % hit ratio with a Redis allkeys-* policy and "
        "maxmemory of at most 1,100 keys.",
        constraints=(Rule("workload", "==", "zipf"), Rule("keys", "==", 5000), Rule("zipf_alpha", "==", 1.0, "Zipf α"),
                     Rule("requests", ">=", 20_000), Rule("capacity", "<=", 1100, "maxmemory (keys)")),
        goals=(Rule("allkeys-*: hit_ratio", ">=", 0.75, "hit ratio of an allkeys-* policy"),),
        hint="Grow the cache towards the limit, and look at which allkeys policy keeps the popular keys on "
             "a trace whose popularity never changes.",
        reason="An allkeys policy reached the goal with {capacity} keys of memory: on a stable Zipf trace "
               "frequency (LFU) is the better guess of the future.",
        solution={"capacity": 1100}, miss={"capacity": 500}),
    Challenge(
        "eviction-scan-resistant", "eviction", "eviction-compare", "Survive the scans",
        "Batch scans sweep the keyspace between popular reads. With one Redis policy and 500 keys of "
        "memory, keep the hit ratio at or above 0.48.",
        constraints=(Rule("workload", "==", "zipf + scans"), Rule("policies", "in", _ONE_REDIS_POLICY,
                                                                   "policies (one Redis policy)"),
                     Rule("capacity", "<=", 500, "maxmemory (keys)"), Rule("keys", "==", 5000)),
        goals=(Rule("*: hit_ratio", ">=", 0.48, "hit ratio"),),
        hint="A scan touches every key once. Which policy forgets a key touched once, and which one lets "
             "it push out a key read a hundred times?",
        reason="{policies} kept the hot keys through the scans: one touch does not outweigh many.",
        solution={"workload": "zipf + scans", "policies": "allkeys-lfu"},
        miss={"workload": "zipf + scans", "policies": "allkeys-lru"}),
    Challenge(
        "lfu-log-factor", "eviction", "lfu-counter", "Count to 100,000 in eight bits",
        "Tune lfu-log-factor so that a key hit 100,000 times reads between 90 and 110 on the LFU counter.",
        constraints=(),
        goals=(Rule("counter after 100,000 hits", ">=", 90), Rule("counter after 100,000 hits", "<=", 110)),
        hint="The counter grows with probability 1 / ((counter - 5) × factor + 1): a larger factor makes "
             "it climb more slowly. The default (10) reads about 147 (131–161 over 16 seeds; redis.io says 142).",
        reason="lfu-log-factor {log_factor}: 100,000 hits read {counter after 100,000 hits}, leaving "
               "headroom below 255 for hotter keys.",
        solution={"log_factor": 30.0}, miss={"log_factor": 10.0}),
    # -- Invalidation & stampedes ----------------------------------------------------------------------
    Challenge(
        "invalidation-bound-staleness", "invalidation", "invalidation-staleness", "Stale for at most 5 seconds",
        "Half the updates go behind the app's back (another service writes the database), so no delete "
        "ever reaches the cache for them. Make sure no reader sees data more than 5 s old with TTL-only "
        "invalidation.",
        constraints=(Rule("behind_back", ">=", 0.5, "share of updates behind the app's back"),),
        goals=(Rule("TTL only: max staleness age s", "<=", 5.0, "oldest stale read (s)"),),
        hint="Nothing tells the cache about an update it did not see. What is the longest a cached copy "
             "can live?",
        reason="With a {ttl_s} TTL the oldest stale read was {TTL only: max staleness age s} old: for "
               "writes the app never sees, the TTL is the only bound on staleness.",
        solution={"behind_back": 0.5, "ttl_s": 5.0}, miss={"behind_back": 0.5, "ttl_s": 30.0}),
    Challenge(
        "stampede-xfetch-beta", "invalidation", "stampede-sim", "No misses, few recomputes",
        "One hot key, 500 reads a second, a 100 ms recompute. Tune XFetch's β so that no reader ever "
        "misses at expiry and the database recomputes the key at most 12 times in the minute.",
        constraints=(Rule("keys", "==", 1), Rule("rate_per_s", ">=", 500, "reads per second"),
                     Rule("recompute_ms", ">=", 100, "recompute (ms)")),
        goals=(Rule("XFetch: misses", "==", 0, "misses at expiry"),
               Rule("XFetch: DB recomputes", "<=", 12, "DB recomputes")),
        hint="A reader refreshes early when time_left ≤ β·δ·(−ln rand). Too small a β and nobody refreshes "
             "before the key expires; larger and one early reader usually wins well before the crowd.",
        reason="β = {beta}: {XFetch: DB recomputes} and {XFetch: misses} — one reader "
               "refreshes early, before the key can expire under the crowd (Vattani et al., PVLDB 2015).",
        solution={"beta": 2.0}, miss={"beta": 0.3}),
    Challenge(
        "stampede-jitter", "invalidation", "stampede-sim", "Spread out 100 expiries",
        "A hundred keys cached at the same moment expire together, and the database takes the whole herd. "
        "Keep the unprotected-but-jittered run under 300 DB recomputes in the minute.",
        constraints=(Rule("keys", ">=", 100), Rule("rate_per_s", ">=", 500, "reads per second")),
        goals=(Rule("TTL jitter: DB recomputes", "<=", 300, "DB recomputes with jitter"),),
        hint="Keys written together expire together. How much randomness on each TTL would spread them out "
             "so few readers find the same key missing at once?",
        reason="Up to {jitter_s} of jitter spread the expiries: {TTL jitter: DB recomputes} against "
               "{none: DB recomputes} without.",
        solution={"keys": 100, "jitter_s": 30.0}, miss={"keys": 100, "jitter_s": 2.0}),
    # -- AI apps: chat memory --------------------------------------------------------------------------
    Challenge(
        "chat-token-budget", "ai_cache", "chat-without-ltrim", "A 700-token context",
        "A 60-turn conversation of 40-word messages. Keep the context sent on the last turn at or under "
        "700 tokens by choosing how many messages LTRIM keeps.",
        constraints=(Rule("turns", ">=", 60), Rule("words", ">=", 40, "words per message")),
        goals=(Rule("tokens_last_turn_with_ltrim", "<=", 700, "tokens on the last turn"),),
        hint="LTRIM key -N -1 keeps the last N messages; every message costs about its characters / 4 in "
             "tokens. How many 40-word messages fit in 700 tokens?",
        reason="Keeping {max_messages} messages sends {tokens_last_turn_with_ltrim} on the last turn "
               "instead of {tokens_last_turn_without_ltrim} without LTRIM.",
        solution={"max_messages": 10}, miss={"max_messages": 20}),
    Challenge(
        "chat-lease-memory", "ai_cache", "chat-without-expire", "A week of chats in 300 MB",
        "100,000 new conversations a day for a week, most of them abandoned. With EXPIRE on every append, "
        "keep the memory the conversations hold at or under 0.3 GB.",
        constraints=(Rule("conversations_per_day", ">=", 100_000, "conversations a day"),
                     Rule("days", ">=", 7), Rule("messages", ">=", 20, "messages kept per conversation")),
        goals=(Rule("gb_with_expire", "<=", 0.3, "GB held with EXPIRE"),),
        hint="With a TTL, memory settles at (new conversations per second) × (TTL) × (bytes per "
             "conversation). Which factor is yours to choose?",
        reason="A {ttl_s} lease holds {gb_with_expire}, against {gb_without_expire} after a week "
               "without EXPIRE.",
        solution={"ttl_s": 36_000}, miss={"ttl_s": 86_400}),
    # -- AI apps: semantic cache -----------------------------------------------------------------------
    Challenge(
        "semantic-safe-hits", "ai_cache", "semantic-stream", "Hits without wrong answers",
        "A stream of 100 questions: 40 % exact repeats, 35 % paraphrases, 10 % hard negatives (one word "
        "flips the meaning). Serve at least 45 % from the cache without a single wrong answer.",
        constraints=(Rule("queries", ">=", 100), Rule("repeat_rate", "<=", 0.4, "share of exact repeats"),
                     Rule("hard_negative_rate", ">=", 0.1, "share of hard negatives")),
        goals=(Rule("hit_rate", ">=", 0.45, "hit rate"), Rule("wrong_answers", "==", 0, "wrong answers")),
        hint="At the default threshold some close-but-wrong matches are served — and a wrong answer, once "
             "served, is served again to every repeat of that question. What makes the cache refuse a match "
             "that is only close, even if it gives up a few paraphrase hits?",
        reason="Similarity ≥ {threshold}: {hit_rate} of questions served from the cache with {wrong_answers} — "
               "exact repeats still hit, close-but-wrong matches are refused.",
        solution={"threshold": 0.9}, miss={}),
)


def _check_catalogue() -> None:
    ids = [c.id for c in CHALLENGES]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate challenge ids: {sorted(duplicates)}")


_check_catalogue()
