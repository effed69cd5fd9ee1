"""Sets: tags and followers — membership in O(1), mutual followers with SINTER, counts with SCARD."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.core.experiment import check_ranges, knob, label_of, register
from labs.core.measures import measure
from labs.core.namespace import DEFAULT_TTL_S
from labs.structures.common import run_recipe

PAGE = "app_pages/structures.py"


@dataclass(frozen=True)
class FollowersParams:
    alice: int = knob(40, min=0, max=5000, label="Alice's followers", help="How many users follow Alice.")
    bob: int = knob(30, min=0, max=5000, label="Bob's followers", help="How many users follow Bob.")
    mutual: int = knob(12, min=0, max=5000, label="mutual followers", help="How many of them follow both.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Which users (same seed, same people).")

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.mutual > min(self.alice, self.bob):
            raise ValueError(f"{label_of(self, 'mutual')} ({self.mutual}) cannot exceed the smaller of "
                             f"{label_of(self, 'alice')} and {label_of(self, 'bob')} ({min(self.alice, self.bob)}).")


def _people(p: FollowersParams) -> tuple[list[str], list[str]]:
    rng = random.Random(p.seed)
    people = p.alice + p.bob - p.mutual  # user ids beyond the seed's 2,000 are fine: members are only names
    pool = [f"user:{i}" for i in rng.sample(range(1, max(2000, people) + 1), people)]
    both, only_a, only_b = pool[:p.mutual], pool[p.mutual:p.alice], pool[p.alice:]
    return both + only_a, both + only_b


FOLLOWERS_MEASURES = {
    "alice_followers": measure("Alice's followers", "users", headline=True, help="SCARD followers:alice."),
    "bob_followers": measure("Bob's followers", "users", headline=True, help="SCARD followers:bob."),
    "mutual": measure("Mutual followers", "users", headline=True, help="SINTER of both sets, on the server."),
    "probe_user": measure("Checked user", "text", help="The user SISMEMBER looked up."),
    "probe_follows_alice": measure("Checked user follows Alice", "yes/no", headline=True, help="SISMEMBER, O(1)."),
    "tags": measure("Tags on the post", "count", headline=True,
                    help="SCARD after adding redis, caching, python and redis again: a set ignores the duplicate."),
    "user": measure("Follows both", "text"),
}


@register("set-followers", title="Followers, tags and mutual friends", params=FollowersParams, page=PAGE,
          summary="SADD followers, SISMEMBER checks, SINTER for mutual followers, SCARD counts, tags per post.",
          measures=FOLLOWERS_MEASURES)
def followers(params: FollowersParams, *, backend: Any = None, ns: Any = None, log: Any = None):
    alice, bob = _people(params)

    def recipe(r: Any, ns: Any):
        ka, kb, tags = ns.key("followers:alice"), ns.key("followers:bob"), ns.key("tags:post:1")
        r.delete(ka, kb, tags)
        pipe = r.pipeline(transaction=False)
        for key, members in ((ka, alice), (kb, bob)):
            if members:
                pipe.sadd(key, *members)
            pipe.expire(key, DEFAULT_TTL_S)
        pipe.sadd(tags, "redis", "caching", "python", "redis")  # the duplicate is ignored
        pipe.expire(tags, DEFAULT_TTL_S)
        pipe.execute()
        probe = alice[0] if alice else "user:0"
        mutual = sorted(m.decode() for m in r.sinter(ka, kb))
        metrics = {"alice_followers": r.scard(ka), "bob_followers": r.scard(kb), "mutual": len(mutual),
                   "probe_user": probe, "probe_follows_alice": bool(r.sismember(ka, probe)), "tags": r.scard(tags)}
        return metrics, {"mutual": pd.DataFrame({"user": mutual})}, [
            "SISMEMBER answers in O(1) however large the set; SINTER works on the server, "
            "so only the answer crosses the network."]

    return run_recipe(backend, ns, log, recipe)
