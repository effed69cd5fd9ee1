"""Sorted sets: a leaderboard (ZINCRBY, ZREVRANGE … WITHSCORES, ZREVRANK) and a sliding-window rate limiter.

The rate limiter follows Redis University RU102PY's sliding-window design: for each request, in one
MULTI/EXEC, ``ZADD key now now-id``, ``ZREMRANGEBYSCORE key 0 now-window``, ``ZCARD key``; the request
is allowed when the count is within the limit. Time comes from an injected clock (a virtual one in the
experiment), so a minute of traffic runs in milliseconds and tests never sleep.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.core.experiment import check_ranges, knob, register
from labs.core.measures import measure
from labs.core.namespace import DEFAULT_TTL_S
from labs.structures.common import run_recipe

PAGE = "app_pages/structures.py"
PLAYERS = ("ada", "grace", "linus", "margaret", "barbara", "ken", "dennis", "radia", "edsger", "frances",
           "donald", "alan")


def add_points(r: Any, key: str, player: str, points: float) -> float:
    """ZINCRBY: add points to a player (created at 0 if new); returns the new score."""
    score = r.zincrby(key, points, player)
    r.expire(key, DEFAULT_TTL_S)
    return float(score)


def top(r: Any, key: str, n: int = 10) -> pd.DataFrame:
    """ZREVRANGE key 0 n-1 WITHSCORES, as a table with 1-based ranks."""
    pairs = [(m.decode(), float(s)) for m, s in r.zrevrange(key, 0, n - 1, withscores=True)]
    return pd.DataFrame([{"rank": i + 1, "player": p, "score": s} for i, (p, s) in enumerate(pairs)],
                        columns=["rank", "player", "score"])


@dataclass(frozen=True)
class LeaderboardParams:
    players: int = knob(8, min=2, max=len(PLAYERS), help="Players in the game.")
    rounds: int = knob(20, min=1, max=500, help="Rounds played; each round one random player scores.")
    seed: int = knob(7, min=0, max=2**31 - 1, help="Who scores what (same seed, same game).")

    def __post_init__(self) -> None:
        check_ranges(self)


LEADERBOARD_MEASURES = {
    "players_scored": measure("Players who scored", "players", headline=True, help="ZCARD of the leaderboard."),
    "leader": measure("Leader", "text", headline=True, help="ZREVRANGE … 0 0: the highest score."),
    "leader_score": measure("Leader's score", "points", headline=True),
    "probe_player": measure("Looked-up player", "text", headline=True),
    "probe_rank": measure("Their rank", "rank", headline=True, help="ZREVRANK + 1 (ZREVRANK counts from 0)."),
    "rank": measure("Rank", "rank"), "player": measure("Player", "text"), "score": measure("Score", "points"),
}


@register("zset-leaderboard", title="A leaderboard", params=LeaderboardParams, page=PAGE,
          summary="ZINCRBY scores as a game is played, then ZREVRANGE … WITHSCORES for the top and ZREVRANK for a rank.",
          measures=LEADERBOARD_MEASURES)
def leaderboard(params: LeaderboardParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    rng = random.Random(params.seed)
    names = PLAYERS[: params.players]

    def recipe(r: Any, ns: Any):
        key = ns.key("leaderboard")
        r.delete(key)
        for _ in range(params.rounds):
            add_points(r, key, rng.choice(names), rng.randint(1, 100))
        board = top(r, key, 10)
        me = rng.choice(sorted(m.decode() for m in r.zrange(key, 0, -1)))
        rank = r.zrevrank(key, me)
        metrics = {"players_scored": r.zcard(key), "leader": board.player.iloc[0],
                   "leader_score": float(board.score.iloc[0]), "probe_player": me,
                   "probe_rank": None if rank is None else rank + 1}
        return metrics, {"top": board}, ["ZREVRANK is 0-based; the table shows ranks from 1."]

    return run_recipe(backend, ns, log, recipe)


def allow_request(r: Any, key: str, now_ms: int, *, limit: int, window_ms: int, request_id: str,
                  count_rejected: bool = True) -> tuple[bool, int]:
    """One sliding-window check (RU102PY): add this request, drop those older than the window, count.

    With ``count_rejected`` (RU102PY's design) rejected requests stay in the window, so a client that
    keeps hammering stays blocked until it slows down; without it a rejected request is removed again
    (one more command, ZREM), so only allowed requests use up the limit.
    Returns (allowed, requests in the window including this one).
    """
    member = f"{now_ms}-{request_id}"
    pipe = r.pipeline(transaction=True)
    pipe.zadd(key, {member: now_ms})
    pipe.zremrangebyscore(key, 0, now_ms - window_ms)
    pipe.zcard(key)
    pipe.expire(key, max(1, -(-window_ms // 1000)) + 1)
    _, _, count, _ = pipe.execute()
    allowed = count <= limit
    if not allowed and not count_rejected:
        r.zrem(key, member)
    return allowed, int(count)


@dataclass(frozen=True)
class RateLimitParams:
    limit: int = knob(10, min=1, max=1000, help="Requests allowed per window.")
    window_ms: int = knob(1000, min=100, max=60_000, unit="ms", label="window", help="The sliding window.")
    requests: int = knob(60, min=1, max=2000, help="Requests the client sends.")
    rate_per_s: float = knob(20.0, min=0.1, max=1000.0, unit="req/s", label="request rate",
                             help="How fast the client sends them (on the lab's virtual clock).")
    burst: int = knob(0, min=0, max=2000, help="Extra requests sent all at once at the start.")
    count_rejected: bool = knob(False, label="rejected requests count too",
                                help="RU102PY's stricter variant: a client that keeps hammering stays blocked.")

    def __post_init__(self) -> None:
        check_ranges(self)


RATE_LIMIT_MEASURES = {
    "allowed": measure("Requests allowed", "requests", headline=True),
    "rejected": measure("Requests rejected", "requests", headline=True),
    "first_rejected_at_request": measure("First rejected request", "rank", headline=True,
                                         help="The number of the first request over the limit (— if none was)."),
    "request": measure("Request", "rank"), "t_ms": measure("Sent at", "ms", help="On the lab's virtual clock."),
    "in_window": measure("Requests in the window", "requests", help="ZCARD after this request was added."),
}


@register("rate-limiter", title="A sliding-window rate limiter", params=RateLimitParams, page=PAGE,
          summary="Per request, in one MULTI/EXEC: ZADD now, ZREMRANGEBYSCORE older than the window, ZCARD; allow if ≤ limit.",
          measures=RATE_LIMIT_MEASURES)
def rate_limiter(params: RateLimitParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    gap_ms = 1000.0 / params.rate_per_s
    times = [0.0] * params.burst + [i * gap_ms for i in range(params.requests)]

    def recipe(r: Any, ns: Any):
        key = ns.key("ratelimit:api-key-1")
        r.delete(key)
        rows = []
        for i, t in enumerate(times):
            allowed, count = allow_request(r, key, int(t), limit=params.limit, window_ms=params.window_ms,
                                           request_id=str(i), count_rejected=params.count_rejected)
            rows.append({"request": i + 1, "t_ms": t, "allowed": allowed, "in_window": count})
        frame = pd.DataFrame(rows)
        allowed_n = int(frame.allowed.sum())
        metrics = {"allowed": allowed_n, "rejected": len(frame) - allowed_n,
                   "first_rejected_at_request": int(frame[~frame.allowed].request.min()) if allowed_n < len(frame) else None}
        notes = ["Times are on a virtual clock (request timestamps computed from the rate): the commands are real, "
                 "the waiting is not."]
        return metrics, {"requests": frame}, notes

    return run_recipe(backend, ns, log, recipe)
