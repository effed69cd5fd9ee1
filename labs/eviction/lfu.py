"""Redis's approximated LFU counter: an 8-bit Morris-style logarithmic counter with time decay.

Straight from ``redis/redis`` ``src/evict.c`` ("LFU (Least Frequently Used) implementation"): the 24
bits of ``robj->lru`` hold 16 bits of "last decrement time" in minutes (``LFUGetTimeInMinutes`` =
``(unixtime/60) & 65535``) and an 8-bit counter ``LOG_C``.

* ``LFULogIncr``: saturates at 255; otherwise draws ``r`` uniform in [0, 1) and increments when
  ``r < p`` with ``p = 1 / ((counter − LFU_INIT_VAL)·lfu_log_factor + 1)`` (``baseval`` clamped at 0,
  so counters at or below ``LFU_INIT_VAL`` always increment).
* ``LFUDecrAndReturn``: ``num_periods = LFUTimeElapsed(ldt) / lfu_decay_time`` (integer division,
  0 when ``lfu-decay-time`` is 0); the counter drops by ``num_periods`` (to no less than 0).
* New objects start at ``LFU_INIT_VAL`` = 5 (``src/server.h``) so a fresh key survives long enough
  to collect hits. ``lfu-log-factor`` defaults to 10 and ``lfu-decay-time`` to 1 (minute)
  (``redis.conf``; the redis.io "Key eviction" page tabulates the counter after 100 / 1K / 100K / 1M
  hits at factor 10 as 10 / 18 / 142 / 255).
* On every access (``updateLFU`` in ``src/db.c``): decay first, then one log-increment, then stamp
  the current minute as the new ``ldt``.
"""
from __future__ import annotations

import random

LFU_INIT_VAL = 5
LFU_COUNTER_MAX = 255
LFU_LOG_FACTOR_DEFAULT = 10
LFU_DECAY_TIME_DEFAULT = 1      # minutes
LDT_MASK = 65535                # 16-bit minute clock


def minutes(now: float) -> int:
    """``LFUGetTimeInMinutes``: the 16-bit minute clock at virtual time ``now`` (seconds)."""
    return (int(now) // 60) & LDT_MASK


def time_elapsed(ldt: int, now_minutes: int) -> int:
    """``LFUTimeElapsed``: minutes since ``ldt``, wrapping the 16-bit clock exactly once."""
    if now_minutes >= ldt:
        return now_minutes - ldt
    return LDT_MASK - ldt + now_minutes


def log_incr(counter: int, log_factor: float, rng: random.Random) -> int:
    """``LFULogIncr``: one probabilistic logarithmic increment, saturating at 255."""
    if counter >= LFU_COUNTER_MAX:
        return LFU_COUNTER_MAX
    baseval = counter - LFU_INIT_VAL
    if baseval < 0:
        baseval = 0
    if rng.random() < 1.0 / (baseval * log_factor + 1):
        counter += 1
    return counter


def decay(counter: int, idle_minutes: int, decay_time: int = LFU_DECAY_TIME_DEFAULT) -> int:
    """The decrement ``LFUDecrAndReturn`` applies: −1 per whole ``decay_time`` minutes idle (≥ 0)."""
    if not decay_time:
        return counter
    periods = idle_minutes // decay_time
    return 0 if periods > counter else counter - periods


def decr_and_return(ldt: int, counter: int, now: float, decay_time: int) -> int:
    """``LFUDecrAndReturn`` for an object stamped ``(ldt, counter)`` read at time ``now``."""
    return decay(counter, time_elapsed(ldt, minutes(now)), decay_time)


def counter_after(hits: int, log_factor: float = LFU_LOG_FACTOR_DEFAULT, seed: int = 0,
                  start: int = LFU_INIT_VAL) -> int:
    """The counter of a key created at ``start`` (LFU_INIT_VAL) after ``hits`` back-to-back accesses
    (no decay) — the LFU counter playground. Deterministic for a seed."""
    rng = random.Random(seed)
    counter = start
    rand = rng.random
    for _ in range(hits):
        if counter >= LFU_COUNTER_MAX:
            break
        baseval = counter - LFU_INIT_VAL
        if rand() < 1.0 / ((baseval if baseval > 0 else 0) * log_factor + 1):
            counter += 1
    return counter


def expected_hits_to_reach(counter: int, log_factor: float = LFU_LOG_FACTOR_DEFAULT,
                           start: int = LFU_INIT_VAL) -> float:
    """Expected number of hits to climb from ``start`` to ``counter``: Σ 1/p over the steps."""
    total = 0.0
    for c in range(start, min(counter, LFU_COUNTER_MAX)):
        total += max(c - LFU_INIT_VAL, 0) * log_factor + 1
    return total
