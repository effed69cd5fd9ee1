"""Workshop progress: which challenges each learner passed, a class leaderboard, who is active.

Two stores behind one protocol (:class:`ProgressStore`):

* :class:`RedisProgress` — on a live server shared by a class (and by every app replica behind a load
  balancer). Every key sits under ``lab:{class:<id>}:`` — the braces are a Redis Cluster hash tag, so
  the whole class lives in one slot and pipelines/MULTI over a learner's hash and the leaderboard are
  legal on a cluster (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags):

  - ``…:learner:<learner-id>`` — a hash: ``name``, ``last_seen``, ``pass:<challenge-id>`` = epoch seconds;
  - ``…:leaderboard`` — a sorted set: learner id → challenges passed;
  - ``…:seen`` — a sorted set: learner id → last activity (epoch seconds);
  - ``…:meta`` — a hash: ``ends_at``, when the workshop (and every key of it) expires.

  Every key carries the same deadline: TTL = what is left of the workshop, never more than 24 h. "End
  workshop" deletes the class's keys only, found with SCAN MATCH on the class prefix, removed with UNLINK.
* :class:`SessionProgress` — a dict held by the learner's session (sandbox / embedded backends), so
  nothing is shared and nothing outlives the session.

Learners have no account: a random learner id (their session id) and a display name they choose, checked
by :func:`check_display_name` (short, letters/digits/space/``.-_'``, no e-mail address). Pages render it
as plain text only (:func:`escape_markdown` where markdown cannot be avoided).
"""
from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from labs.core.namespace import MAX_TTL_S

DEFAULT_WORKSHOP_S = 8 * 3600
NAME_MAX = 24
_NAME_RE = re.compile(r"^[\w .'\-]+$")
_CLASS_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,31}$")
_LEARNER_RE = re.compile(r"^[a-z0-9]{4,32}$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def check_display_name(name: str) -> str:
    """A display name, trimmed and checked: 1–24 letters, digits, spaces or . - _ ' ; else ValueError."""
    if not isinstance(name, str):
        raise ValueError("A display name must be text.")
    text = unicodedata.normalize("NFC", " ".join(name.split()))
    if not text:
        raise ValueError("Choose a display name (a nickname, not your real name).")
    if len(text) > NAME_MAX:
        raise ValueError(f"A display name may be at most {NAME_MAX} characters; this one has {len(text)}.")
    if "@" in name:
        raise ValueError("Please don't use an e-mail address: a nickname is enough, and nothing personal is stored.")
    if not _NAME_RE.match(text):
        raise ValueError("Use letters, digits, spaces and . - _ ' only.")
    return text


def escape_markdown(text: str) -> str:
    """Backslash-escape markdown and HTML punctuation so learner text renders as the literal text."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def anonymous_name(learner_id: str) -> str:
    """A stable placeholder for a learner who chose no name (a hash, so it does not reveal their key prefix)."""
    return "learner-" + hashlib.sha256(learner_id.encode()).hexdigest()[:5]


def check_class_id(class_id: str) -> str:
    if not isinstance(class_id, str) or not _CLASS_RE.match(class_id):
        raise ValueError(f"A class id is 1-32 lowercase letters, digits or dashes, got {class_id!r}.")
    return class_id


def check_workshop_seconds(seconds: int | float) -> int:
    """Workshop length in whole seconds: 1 minute … 24 hours (the lab's TTL cap)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"The workshop length must be a number of seconds, got {seconds!r}.")
    if not 60 <= seconds <= MAX_TTL_S:
        raise ValueError(f"A workshop lasts between 1 minute and 24 hours ({MAX_TTL_S} s); got {seconds} s.")
    return int(seconds)


@dataclass(frozen=True)
class LearnerRow:
    """One learner as the instructor sees them (display name only, never the learner id)."""

    name: str
    passed: tuple[str, ...]
    last_seen: float


@dataclass
class ClassView:
    """The instructor's snapshot of a class."""

    learners: list[LearnerRow] = field(default_factory=list)

    def per_challenge(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.learners:
            for cid in row.passed:
                counts[cid] = counts.get(cid, 0) + 1
        return counts

    def leaderboard(self, top: int = 20) -> list[tuple[str, int]]:
        rows = sorted(self.learners, key=lambda r: (-len(r.passed), r.name))
        return [(r.name, len(r.passed)) for r in rows[:top]]

    def active(self, now: float, within_s: float) -> list[LearnerRow]:
        return sorted((r for r in self.learners if now - r.last_seen <= within_s), key=lambda r: -r.last_seen)


class ProgressStore(Protocol):
    """Where one learner's progress lives; ``class_view`` is what the instructor sees."""

    shared: bool

    def set_name(self, name: str) -> str: ...
    def name(self) -> str: ...
    def record_pass(self, challenge_id: str) -> bool: ...
    def passed(self) -> dict[str, float]: ...
    def touch(self) -> None: ...
    def class_view(self) -> ClassView: ...
    def leaderboard(self, top: int = 20) -> list[tuple[str, int]]: ...
    def end_workshop(self) -> int: ...


class SessionProgress:
    """Progress in a dict the session holds (sandbox / embedded): private to this session."""

    shared = False

    def __init__(self, learner_id: str, state: dict | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.learner_id = learner_id
        self.state = state if state is not None else {}
        self.state.setdefault("passed", {})
        self.clock = clock

    def set_name(self, name: str) -> str:
        self.state["name"] = check_display_name(name)
        return self.state["name"]

    def name(self) -> str:
        return self.state.get("name") or anonymous_name(self.learner_id)

    def record_pass(self, challenge_id: str) -> bool:
        self.touch()
        if challenge_id in self.state["passed"]:
            return False
        self.state["passed"][challenge_id] = self.clock()
        return True

    def passed(self) -> dict[str, float]:
        return dict(self.state["passed"])

    def touch(self) -> None:
        self.state["last_seen"] = self.clock()

    def class_view(self) -> ClassView:
        return ClassView([LearnerRow(self.name(), tuple(self.state["passed"]), self.state.get("last_seen", 0.0))])

    def leaderboard(self, top: int = 20) -> list[tuple[str, int]]:
        return self.class_view().leaderboard(top)

    def end_workshop(self) -> int:
        removed = len(self.state["passed"])
        self.state["passed"].clear()
        return removed


class RedisProgress:
    """Progress of one learner in a class, on a shared Redis (every key with the workshop's TTL)."""

    shared = True

    def __init__(self, client: Any, class_id: str, learner_id: str, *, workshop_s: int = DEFAULT_WORKSHOP_S,
                 clock: Callable[[], float] = time.time) -> None:
        if not _LEARNER_RE.match(learner_id):
            raise ValueError(f"learner id must be 4-32 lowercase letters/digits, got {learner_id!r}")
        self.client = client
        self.class_id = check_class_id(class_id)
        self.learner_id = learner_id
        self.workshop_s = check_workshop_seconds(workshop_s)
        self.clock = clock

    # ---------------------------------------------------------------- keys
    @property
    def prefix(self) -> str:
        return f"lab:{{class:{self.class_id}}}:"

    def key(self, name: str) -> str:
        return self.prefix + name

    @property
    def learner_key(self) -> str:
        return self.key(f"learner:{self.learner_id}")

    def ttl_left(self) -> int:
        """Seconds until the workshop ends (it starts with the first write and lasts ``workshop_s``)."""
        now = self.clock()
        meta = self.key("meta")
        ends = self.client.hget(meta, "ends_at")
        if ends is None:
            ends_at = now + self.workshop_s
            if self.client.hsetnx(meta, "ends_at", f"{ends_at:.0f}"):
                self.client.expire(meta, self.workshop_s)
            ends = self.client.hget(meta, "ends_at") or ends_at
        left = int(float(ends) - now)
        return max(1, min(left, MAX_TTL_S))

    def _write(self, ops: Callable[[Any], None], keys: Iterable[str]) -> list:
        ttl = self.ttl_left()
        pipe = self.client.pipeline(transaction=True)
        ops(pipe)
        for k in (*keys, self.key("meta")):
            pipe.expire(k, ttl)
        return pipe.execute()

    # ---------------------------------------------------------------- the learner
    def set_name(self, name: str) -> str:
        name = check_display_name(name)
        self._write(lambda p: p.hset(self.learner_key, "name", name), [self.learner_key])
        self.touch()
        return name

    def name(self) -> str:
        raw = self.client.hget(self.learner_key, "name")
        return _text(raw) if raw else anonymous_name(self.learner_id)

    def record_pass(self, challenge_id: str) -> bool:
        """Store a pass once (HSETNX); the first pass of a challenge adds 1 to the leaderboard."""
        now = self.clock()
        new = self._write(lambda p: p.hsetnx(self.learner_key, f"pass:{challenge_id}", f"{now:.3f}"),
                          [self.learner_key])[0]
        board, seen = self.key("leaderboard"), self.key("seen")

        def ops(p: Any) -> None:
            if new:
                p.zincrby(board, 1, self.learner_id)
            else:
                p.zadd(board, {self.learner_id: 0}, nx=True)
            p.zadd(seen, {self.learner_id: now})
            p.hset(self.learner_key, "last_seen", f"{now:.3f}")

        self._write(ops, [board, seen, self.learner_key])
        return bool(new)

    def passed(self) -> dict[str, float]:
        raw = self.client.hgetall(self.learner_key)
        out = {}
        for k, v in raw.items():
            k = _text(k)
            if k.startswith("pass:"):
                out[k[5:]] = float(_text(v))
        return out

    def touch(self) -> None:
        now = self.clock()
        seen = self.key("seen")

        def ops(p: Any) -> None:
            p.zadd(seen, {self.learner_id: now})
            p.hset(self.learner_key, "last_seen", f"{now:.3f}")

        self._write(ops, [seen, self.learner_key])

    # ---------------------------------------------------------------- the instructor
    def class_view(self) -> ClassView:
        ids = [_text(m) for m in self.client.zrange(self.key("seen"), 0, -1)]
        pipe = self.client.pipeline(transaction=False)
        for lid in ids:
            pipe.hgetall(self.key(f"learner:{lid}"))
        rows = []
        for lid, raw in zip(ids, pipe.execute() if ids else []):
            data = {_text(k): _text(v) for k, v in raw.items()}
            rows.append(LearnerRow(data.get("name") or anonymous_name(lid),
                                   tuple(sorted(k[5:] for k in data if k.startswith("pass:"))),
                                   float(data.get("last_seen") or 0.0)))
        return ClassView(rows)

    def leaderboard(self, top: int = 20) -> list[tuple[str, int]]:
        """The top learners by challenges passed, from the sorted set (ties by learner id)."""
        entries = self.client.zrevrange(self.key("leaderboard"), 0, top - 1, withscores=True)
        pipe = self.client.pipeline(transaction=False)
        for member, _ in entries:
            pipe.hget(self.key(f"learner:{_text(member)}"), "name")
        names = pipe.execute() if entries else []
        rows = [(_text(n) if n else anonymous_name(_text(m)), int(s)) for (m, s), n in zip(entries, names)]
        return sorted(rows, key=lambda r: (-r[1], r[0]))  # ties by name, as ClassView.leaderboard does

    def class_keys(self) -> list[str]:
        return [_text(k) for k in self.client.scan_iter(match=self.prefix + "*", count=500)]

    def end_workshop(self, batch: int = 500) -> int:
        """Delete this class's keys only (SCAN MATCH on the class prefix + UNLINK); returns how many."""
        removed, pending = 0, []
        for key in self.class_keys():
            if not key.startswith(self.prefix):
                continue
            pending.append(key)
            if len(pending) >= batch:
                removed += int(self.client.unlink(*pending))
                pending = []
        if pending:
            removed += int(self.client.unlink(*pending))
        return removed


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
