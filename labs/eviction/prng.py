"""The simulator's random numbers: SplitMix64, small enough to write identically in pure Python and in
the compiled fast path (:mod:`labs.eviction.fast`), so both draw the same numbers for the same seed and
can be tested for *identical* results.

SplitMix64 is Steele, Lea & Flood, "Fast splittable pseudorandom number generators" (OOPSLA 2014), with
the finaliser constants Vigna publishes at https://prng.di.unimi.it/splitmix64.c. It is not a
cryptographic generator and needs none of Mersenne Twister's state: one 64-bit word.

The methods are the subset of :class:`random.Random` the policies use — ``random()``, ``randrange(n)``
and ``sample(population, k)`` — so a policy accepts either generator; only this one matches the fast
path draw for draw. ``randrange`` maps the top 32 bits onto ``[0, n)`` by multiply-shift (Lemire,
"Fast random integer generation in an interval", 2019, without the rejection step: the bias is below
n / 2**32, irrelevant here). ``sample`` draws indices until it has ``k`` distinct ones, in draw order.
"""
from __future__ import annotations

from typing import Sequence

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


class SplitMix64:
    __slots__ = ("state",)

    def __init__(self, seed: int = 0) -> None:
        self.state = int(seed) & MASK64

    def next64(self) -> int:
        self.state = (self.state + GAMMA) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * MIX1) & MASK64
        z = ((z ^ (z >> 27)) * MIX2) & MASK64
        return z ^ (z >> 31)

    def random(self) -> float:
        """Uniform in [0, 1) with 53 random bits."""
        return (self.next64() >> 11) * TWO_POW_MINUS_53

    def randrange(self, n: int) -> int:
        """Uniform-ish integer in [0, n) for 1 ≤ n < 2**32."""
        return ((self.next64() >> 32) * n) >> 32

    def sample(self, population: Sequence, k: int) -> list:
        """``k`` distinct elements in draw order (all of them, in order, when ``k`` ≥ the length)."""
        n = len(population)
        if k >= n:
            return list(population)
        chosen: list[int] = []
        while len(chosen) < k:
            i = ((self.next64() >> 32) * n) >> 32
            if i not in chosen:
                chosen.append(i)
        return [population[i] for i in chosen]
