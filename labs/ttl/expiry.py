"""How Redis expires keys: a virtual-clock simulator of the active expire cycle, and a real server to compare.

Facts modelled (redis.io EXPIRE, "How Redis expires keys"; ``src/expire.c`` in redis/redis and
valkey-io/valkey, ``activeExpireCycle``):

* **Passive** expiry: a key past its TTL is deleted when a command touches it.
* **Active** expiry: ``serverCron`` runs a *slow* cycle ``hz`` times per second (default 10). Each loop
  looks at ``ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`` = 20 keys that have a TTL (+5 per step of
  ``active-expire-effort`` above 1), deletes the expired ones, and repeats while more than
  ``ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`` = 10 % of them were expired (minus 1 per effort step), within
  ``ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`` = 25 % (+2 per effort step) of the time between cycles. Older
  docs describe 20 *random* keys and a 25 % threshold (Redis ≤ 5).
* A *fast* cycle (≤ 1 ms, at most once per 2 ms, from ``beforeSleep``) is meant to run when the slow one
  hit its time limit *or* the estimated stale share is high; the second trigger compares a 0–1 fraction
  with a 1–10 percent and never fires in any Redis release from 6.0 until the fix merged in July 2026
  (redis/redis#15410, fixed by #15412; reported against 8.2.2), nor in Valkey.

What the simulator does: since Redis 6.0 a loop does not sample at random, it continues a *cursor scan*
of the expires table (``dictScan``/``kvstoreScan``), so each key is looked at once per lap. Keys are
simulated one by one in a power-of-two table indexed by the top bits of a random hash (so growing or
shrinking keeps the cursor's place, as the reverse-binary cursor does); a loop scans buckets from the
cursor until it has seen ``keys_per_loop`` keys (or 20× that many buckets), and Valkey's rule that a
cycle stops once the cursor wraps round is kept. The CPU time limit is a budget of loops per cycle.
Left out: several databases, hash-table rehashing steps, the 1 %-fill skip, field (HEXPIRE) expiry,
replicas, eviction, and the real cost of each loop (a loop is assumed to cost 25 ms ÷ ``budget_loops``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, label_of, register
from labs.core.measures import measure

PAGE = "app_pages/ttl_cost.py"
KEYS_PER_LOOP = 20           # ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
FAST_DURATION_US = 1000      # ACTIVE_EXPIRE_CYCLE_FAST_DURATION
SLOW_TIME_PERC = 25          # ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC
ACCEPTABLE_STALE = 10        # ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE
SAMPLE_EVERY_US = 100_000    # the timeline's resolution (the real run samples every 100 ms too)
MAX_WRITES = 2_000_000
FAST_MODES = ("after-time-cap", "stale-estimate", "off")


@dataclass(frozen=True)
class ExpiryParams:
    write_rate: int = knob(1000, min=1, max=20000, unit="keys/s", label="write rate",
                           help="New keys written per second, each with SET … EX ttl.")
    ttl_s: float = knob(10.0, min=0.1, max=3600.0, unit="s", label="TTL", help="Each key's time to live.")
    ttl_spread_s: float = knob(0.0, min=0.0, max=3600.0, unit="s", label="TTL spread",
                               help="TTLs spread uniformly over TTL ± this (must be below the TTL).")
    duration_s: float = knob(120.0, min=1.0, max=600.0, unit="s", label="duration", help="Simulated time.")
    write_for_s: float = knob(0.0, min=0.0, max=600.0, unit="s", label="write for",
                              help="Stop writing after this long (0 = write for the whole duration).")
    hz: int = knob(10, min=1, max=500, unit="/s", help="Server hz: slow expire cycles per second.")
    effort: int = knob(1, min=1, max=10, label="active-expire-effort",
                       help="1–10: +5 keys per loop, −1 % acceptable stale, +2 % CPU per step above 1.")
    acceptable_stale_pct: int = knob(10, min=1, max=50, unit="%", label="acceptable stale",
                                     help="Repeat a loop while more than this share was expired (25 in old docs).")
    budget_loops: int = knob(1000, min=1, max=100_000, label="loop budget",
                             help="Loops a slow cycle may run at hz 10, effort 1 (its 25 ms time limit); "
                                  "scaled by 10/hz and by the effort's CPU share; a fast cycle gets 1/25.")
    fast_cycle: str = knob("after-time-cap", choices=FAST_MODES, label="fast cycle",
                           help="When the 1 ms fast cycle runs: after a slow cycle hit its limit (every Redis from "
                                "6.0 until redis#15412, and Valkey), also when the stale estimate is high (that fix), "
                                "or never.")
    stale_read_fraction: float = knob(0.0, min=0.0, max=1.0, label="stale reads",
                                      help="Share of keys read once after their TTL (passive expiry).")
    read_delay_s: float = knob(1.0, min=0.01, max=600.0, unit="s", label="read delay",
                               help="A stale read comes uniformly within this long after the key expired.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Random seed (key hashes, TTL spread, reads).")

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.ttl_spread_s >= self.ttl_s and self.ttl_spread_s > 0:
            raise ValueError(f"{label_of(self, 'ttl_spread_s')} ({self.ttl_spread_s:g} s) must be smaller than the "
                             f"{label_of(self, 'ttl_s')} ({self.ttl_s:g} s).")
        if self.write_rate * self.writing_s > MAX_WRITES:
            raise ValueError(f"{label_of(self, 'write_rate')} {self.write_rate:,} keys/s for {self.writing_s:g} s is "
                             f"more than {MAX_WRITES:,} keys; shorten the {label_of(self, 'duration_s').lower()} "
                             f"or {label_of(self, 'write_for_s').lower()}, or lower the rate.")

    @property
    def writing_s(self) -> float:
        return self.duration_s if self.write_for_s == 0 else min(self.write_for_s, self.duration_s)


@dataclass(frozen=True)
class CycleConfig:
    """The per-effort constants of ``activeExpireCycle`` (expire.c), plus the loop budgets."""

    keys_per_loop: int
    acceptable_stale_pct: int
    slow_budget: int
    fast_budget: int
    fast_duration_us: int

    @classmethod
    def of(cls, p: ExpiryParams) -> "CycleConfig":
        e = p.effort - 1
        slow_perc = SLOW_TIME_PERC + 2 * e
        fast_us = FAST_DURATION_US + FAST_DURATION_US // 4 * e
        slow_budget = max(1, round(p.budget_loops * (10 / p.hz) * slow_perc / SLOW_TIME_PERC))
        fast_budget = max(1, round(p.budget_loops * fast_us / 25_000))
        return cls(KEYS_PER_LOOP + KEYS_PER_LOOP // 4 * e, max(0, p.acceptable_stale_pct - e),
                   slow_budget, fast_budget, fast_us)


def cursor_equilibrium(arrivals_per_cycle: float, keys_per_loop: int, acceptable_pct: int) -> float:
    """The stale share ``q`` just ahead of the cursor at which one slow cycle deletes what expires per cycle.

    A loop of ``k`` keys repeats while ``expired*100//k > acceptable``; with a share ``q`` expired the
    number expired is ~Binomial(k, q), so a cycle runs 1/P(stop) loops and deletes k·q/P(stop) keys.
    Behind the cursor the table is clean and the stale share grows linearly up to ``q``, so the share
    of the whole table is about q/2. That is the bound the 10 % rule gives (no fast cycles, no budget).
    """
    k = keys_per_loop
    stop_at = max(e for e in range(k + 1) if e * 100 // k <= acceptable_pct) if acceptable_pct >= 0 else -1

    def deleted(q: float) -> float:
        p_stop = sum(math.comb(k, e) * q**e * (1 - q) ** (k - e) for e in range(stop_at + 1))
        return k * q / max(p_stop, 1e-300)

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if deleted(mid) < arrivals_per_cycle else (lo, mid)
    return (lo + hi) / 2


class _Table:
    """Keys with a TTL in a power-of-two table, bucket = top bits of the key's hash (order-preserving)."""

    HASH_BITS = 30

    def __init__(self, hashes: list[int], expire_at: list[float]) -> None:
        self.hashes, self.expire_at = hashes, expire_at
        self.bits, self.cursor, self.size = 2, 0, 0     # DICT_HT_INITIAL_SIZE = 4
        self.buckets: list[list[int]] = [[] for _ in range(4)]

    def _rehash(self, bits: int) -> None:
        shift = self.HASH_BITS - bits
        buckets: list[list[int]] = [[] for _ in range(1 << bits)]
        for bucket in self.buckets:
            for k in bucket:
                buckets[self.hashes[k] >> shift].append(k)
        self.cursor = self.cursor << (bits - self.bits) if bits > self.bits else self.cursor >> (self.bits - bits)
        self.bits, self.buckets = bits, buckets

    def add(self, k: int) -> None:
        self.buckets[self.hashes[k] >> (self.HASH_BITS - self.bits)].append(k)
        self.size += 1
        if self.size > 1 << self.bits:             # grow at load factor 1
            self._rehash(self.bits + 1)

    def discard(self, k: int) -> bool:
        """Remove key ``k`` if it is still in the table (a passive deletion); True if it was."""
        bucket = self.buckets[self.hashes[k] >> (self.HASH_BITS - self.bits)]
        if k not in bucket:
            return False
        bucket.remove(k)
        self.size -= 1
        return True

    def maybe_shrink(self) -> None:                 # serverCron's tryResizeHashTables, below 1/8 full
        bits = self.bits
        while bits > 2 and self.size * 8 < (1 << bits):
            bits -= 1
        if bits != self.bits:
            self._rehash(bits)

    def scan_loop(self, now: float, num: int) -> tuple[int, int, bool]:
        """One loop: scan buckets from the cursor until ``num`` keys were seen; delete the expired ones."""
        sampled = expired = checked = 0
        mask, exp, buckets, cursor = len(self.buckets) - 1, self.expire_at, self.buckets, self.cursor
        wrapped = False
        while sampled < num and checked < num * 20:
            bucket = buckets[cursor]
            if bucket:
                sampled += len(bucket)
                for k in bucket:
                    if now > exp[k]:
                        keep = [k for k in bucket if not now > exp[k]]
                        expired += len(bucket) - len(keep)
                        buckets[cursor] = keep
                        break
            cursor = (cursor + 1) & mask
            checked += 1
            if cursor == 0:
                wrapped = True                      # Valkey: a full lap ends this database's turn
                break
        self.cursor = cursor
        self.size -= expired
        return sampled, expired, wrapped


def simulate(p: ExpiryParams) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the virtual clock; return the timeline (every 100 ms) and the cycle counters."""
    cfg = CycleConfig.of(p)
    rng = np.random.default_rng(p.seed)
    n = int(round(p.write_rate * p.writing_s))
    write_at = np.arange(n) / p.write_rate
    spread = rng.uniform(-p.ttl_spread_s, p.ttl_spread_s, n) if p.ttl_spread_s else 0.0
    expire_np = write_at + p.ttl_s + spread
    expire_sorted = np.sort(expire_np)
    read_mask = rng.random(n) < p.stale_read_fraction
    read_keys = np.flatnonzero(read_mask)
    read_at = expire_np[read_keys] + rng.uniform(0, p.read_delay_s, read_keys.size)
    order = np.argsort(read_at, kind="stable")
    reads = list(zip(read_at[order].tolist(), read_keys[order].tolist()))
    expire_at = expire_np.tolist()
    table = _Table(rng.integers(0, 1 << _Table.HASH_BITS, n).tolist(), expire_at)

    step_us = int(min(2 * cfg.fast_duration_us, 1e6 / p.hz))
    end_us = int(p.duration_s * 1e6)
    c = {"slow_cycles": 0, "fast_cycles": 0, "loops": 0, "time_cap_hits": 0}
    state = {"timelimit_exit": False, "stale_estimate": 0.0, "last_fast_us": -10**12}
    active = passive = written = ri = 0
    rows: list[tuple] = []

    def cycle(now: float, budget: int, kind: str) -> int:
        state["timelimit_exit"] = False
        loops = total_s = total_e = 0
        while table.size:
            sampled, expired, wrapped = table.scan_loop(now, min(cfg.keys_per_loop, table.size))
            loops += 1
            total_s += sampled
            total_e += expired
            repeat = not wrapped and (sampled == 0 or expired * 100 // sampled > cfg.acceptable_stale_pct)
            if not repeat:
                break
            if loops >= budget:
                state["timelimit_exit"] = True
                c["time_cap_hits"] += 1
                break
        c[kind] += 1
        c["loops"] += loops
        share = total_e / total_s if total_s else 0.0
        state["stale_estimate"] = 0.05 * share + 0.95 * state["stale_estimate"]
        return total_e

    def gate_open() -> bool:  # the fast cycle's condition (expire.c; the stale trigger only once fixed)
        return state["timelimit_exit"] or (p.fast_cycle == "stale-estimate"
                                           and state["stale_estimate"] * 100 >= cfg.acceptable_stale_pct)

    next_slow_us = next_sample_us = now_us = 0
    while now_us <= end_us:
        now = now_us / 1e6
        busy = False
        while written < n and write_at[written] <= now:
            table.add(written)
            written += 1
            busy = True
        while ri < len(reads) and reads[ri][0] <= now:
            k = reads[ri][1]
            ri += 1
            busy = True
            if now > expire_at[k] and table.discard(k):
                passive += 1
        if now_us >= next_slow_us:
            table.maybe_shrink()
            active += cycle(now, cfg.slow_budget, "slow_cycles")
            next_slow_us += 1e6 / p.hz
            busy = True
        if (busy and p.fast_cycle != "off" and gate_open()
                and now_us >= state["last_fast_us"] + 2 * cfg.fast_duration_us):
            state["last_fast_us"] = now_us
            active += cycle(now, cfg.fast_budget, "fast_cycles")
        if now_us >= next_sample_us and now_us <= end_us:
            expired_by_now = int(np.searchsorted(expire_sorted, now, side="left"))
            stale = expired_by_now - active - passive
            rows.append((round(now, 3), table.size - stale, stale, table.size, written, active, passive))
            next_sample_us += SAMPLE_EVERY_US
        # With the fast cycle's gate shut nothing happens between slow cycles, samples and stale reads:
        # jump to the next of them on the step grid (same result, far fewer Python iterations).
        nxt = now_us + step_us
        if p.fast_cycle == "off" or not gate_open():
            due = min(next_slow_us, next_sample_us, reads[ri][0] * 1e6 if ri < len(reads) else math.inf)
            nxt = max(nxt, math.ceil(due / step_us) * step_us)
        now_us = nxt
    frame = pd.DataFrame(rows, columns=["t_s", "live", "expired_present", "keys_in_db", "written",
                                        "deleted_active", "deleted_passive"])
    frame["expired_total"] = frame.deleted_active + frame.deleted_passive
    frame["fraction_stale"] = (frame.expired_present / frame.keys_in_db.where(frame.keys_in_db > 0)).fillna(0.0)
    c.update(writes=n, deleted_active=active, deleted_passive=passive, keys_per_loop=cfg.keys_per_loop,
             acceptable_stale_pct_effective=cfg.acceptable_stale_pct, slow_budget_loops=cfg.slow_budget,
             fast_budget_loops=cfg.fast_budget)
    return frame, c


def steady_window(frame: pd.DataFrame, p: ExpiryParams) -> pd.DataFrame:
    """The samples where keys both arrive and expire: from the longest TTL until writing stops."""
    window = frame[(frame.t_s >= p.ttl_s + p.ttl_spread_s) & (frame.t_s <= p.writing_s)]
    return window if len(window) else frame[frame.keys_in_db > 0]


_TIMELINE_MEASURES = {
    "t_s": measure("Time", "s"), "live": measure("Live keys", "keys"),
    "expired_present": measure("Expired but still in memory", "keys"),
    "fraction_stale": measure("Share expired but present", "fraction"), "keys_in_db": measure("Keys in the database", "keys",
                                                                                                help="DBSIZE: expired keys count until deleted."),
    "expired_total": measure("Deleted so far", "keys"), "deleted_active": measure("Deleted by the expire cycle", "keys"),
    "deleted_passive": measure("Deleted on read", "keys"), "written": measure("Keys written", "keys"),
}
EXPIRY_MEASURES = {
    **_TIMELINE_MEASURES,
    "mean_fraction_stale": measure("Expired but present, mean share", "fraction", headline=True,
                                   help="Of the keys in memory, the share already expired — averaged while keys "
                                        "both arrive and expire."),
    "max_fraction_stale": measure("Expired but present, worst share", "fraction", headline=True),
    "max_expired_present": measure("Most expired keys in memory at once", "keys", headline=True),
    "max_keys_in_db": measure("Most keys in the database", "keys"),
    "predicted_fraction_stale": measure("Predicted share (the 10 % rule)", "fraction", headline=True,
                                        help="What the loop's stop rule predicts at steady state."),
    "cursor_stale_share": measure("Expired share where the cursor samples", "fraction"),
    "writes": measure("Keys written", "keys"),
    "deleted_active": measure("Deleted by the expire cycle", "keys", headline=True, help="Active expiry."),
    "deleted_passive": measure("Deleted on read", "keys", headline=True, help="Passive expiry: a read found it expired."),
    "active_share": measure("Deletions by the expire cycle", "fraction"),
    "keys_left_at_end": measure("Keys left at the end", "keys"), "slow_cycles": measure("Slow cycles", "cycles"),
    "fast_cycles": measure("Fast cycles", "cycles"), "loops": measure("Sampling loops", "loops"),
    "time_cap_hits": measure("Slow cycles stopped by their time limit", "cycles"),
    "keys_per_loop": measure("Keys sampled per loop", "keys"),
    "acceptable_stale_pct_effective": measure("Acceptable stale, with the effort", "%"),
    "slow_budget_loops": measure("Loop budget of a slow cycle", "loops"),
    "fast_budget_loops": measure("Loop budget of a fast cycle", "loops"),
    "simulated_in_s": measure("Simulation took", "s", help="Measured wall time of the simulator."),
}


@register("active-expiry", title="How Redis expires keys", params=ExpiryParams, page=PAGE, measures=EXPIRY_MEASURES,
          summary="Simulate the active expire cycle (hz, effort, the 10 % rule): how many expired keys "
                  "still hold memory, and which deletions were active or passive.")
def run(params: ExpiryParams, *, backend: Any = None, ns: Any = None, log: Any = None, **_: Any) -> Result:
    t0 = time.perf_counter()
    frame, c = simulate(params)
    steady = steady_window(frame, params)
    cfg = CycleConfig.of(params)
    q = cursor_equilibrium(params.write_rate / params.hz, cfg.keys_per_loop, cfg.acceptable_stale_pct)
    deleted = c["deleted_active"] + c["deleted_passive"]
    metrics: dict[str, Any] = {
        "mean_fraction_stale": float(steady.fraction_stale.mean()) if len(steady) else 0.0,
        "max_fraction_stale": float(frame.fraction_stale.max()),
        "max_expired_present": int(frame.expired_present.max()),
        "max_keys_in_db": int(frame.keys_in_db.max()),
        "predicted_fraction_stale": q / 2, "cursor_stale_share": q,
        **{k: c[k] for k in ("writes", "deleted_active", "deleted_passive")},
        "active_share": c["deleted_active"] / deleted if deleted else 0.0,
        "keys_left_at_end": int(frame.keys_in_db.iloc[-1]),
        **{k: c[k] for k in ("slow_cycles", "fast_cycles", "loops", "time_cap_hits", "keys_per_loop",
                             "acceptable_stale_pct_effective", "slow_budget_loops", "fast_budget_loops")},
        "simulated_in_s": time.perf_counter() - t0,
    }
    notes = [
        "Simulated on a virtual clock: no server was used"
        + (f" (your {backend.kind} backend was left untouched)." if backend is not None else "."),
        f"Each loop looks at {cfg.keys_per_loop} keys and repeats while more than "
        f"{cfg.acceptable_stale_pct} % were expired (expire.c); that rule predicts about "
        f"{q / 2:.0%} of keys with a TTL expired-but-present at steady state.",
        "Expired keys still in memory count in DBSIZE and used_memory until a cycle or a read removes them.",
    ]
    if params.fast_cycle == "after-time-cap" and c["time_cap_hits"] == 0:
        notes.append("No slow cycle hit its time limit, so no fast cycle ran (as in every Redis from 6.0 until the "
                     "redis/redis#15412 fix, and in Valkey).")
    return Result(metrics, {"timeline": frame[["t_s", "live", "expired_present", "fraction_stale", "keys_in_db",
                                               "expired_total", "deleted_active", "deleted_passive", "written"]]},
                  notes)


# --------------------------------------------------------------------------- a real server, for comparison


@dataclass(frozen=True)
class RealExpiryParams:
    write_rate: int = knob(2000, min=100, max=20000, unit="keys/s", label="write rate",
                           help="New keys per second (SET … EX ttl, in small pipelines).")
    ttl_s: int = knob(1, min=1, max=10, unit="s", label="TTL", help="Each key's time to live.")
    write_for_s: float = knob(4.0, min=0.5, max=10.0, unit="s", label="write for", help="How long to write.")
    idle_s: float = knob(3.0, min=0.0, max=20.0, unit="s", label="idle", help="Then wait, sending no reads.")
    hz: int = knob(10, min=1, max=500, unit="/s", help="The private server's hz.")
    effort: int = knob(1, min=1, max=10, label="active-expire-effort", help="The private server's effort.")

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.write_rate * self.write_for_s > 200_000:
            raise ValueError(f"At most 200,000 keys per run: lower the {label_of(self, 'write_rate').lower()} "
                             f"({self.write_rate:,} keys/s) or {label_of(self, 'write_for_s').lower()} "
                             f"({self.write_for_s:g} s).")


def _sample(client: Any, t: float, written: int) -> dict[str, Any]:
    pipe = client.pipeline(transaction=False)
    pipe.dbsize()
    pipe.info("stats")
    pipe.info("memory")
    dbsize, stats, memory = pipe.execute()
    return {"t_s": round(t, 3), "keys_in_db": int(dbsize), "expired_total": int(stats.get("expired_keys", 0)),
            "used_memory": int(memory.get("used_memory", 0)), "written": written,
            "expired_stale_perc": float(stats.get("expired_stale_perc", 0.0)),
            "time_cap_reached": int(stats.get("expired_time_cap_reached_count", 0))}


def watch_real(params: RealExpiryParams, ns: Any = None) -> pd.DataFrame:
    """Start a private server, write keys with a TTL at a steady rate, sample it every 100 ms, stop it.

    Wall clock, no reads at all: every deletion is the active cycle's. DBSIZE counts keys that are
    expired but not yet deleted; INFO stats ``expired_keys`` counts deletions (redis.io INFO).
    """
    from labs.core.namespace import Namespace, new_session_id
    from labs.core.servers import PrivateServer, ServerUnavailable

    ns = (ns or Namespace(new_session_id())).for_lab("expiry")
    server = PrivateServer(maxmemory="128mb", extra={"hz": str(params.hz),
                                                      "active-expire-effort": str(params.effort)})
    try:
        server.start()
    except ServerUnavailable as exc:
        raise ValueError(f"No private server could start for this experiment ({exc}). "
                         "The simulator (active-expiry) needs no server.") from None
    try:
        client = server.client()
        total, end = int(params.write_rate * params.write_for_s), params.write_for_s + params.idle_s
        samples, written, next_sample, t0 = [], 0, 0.0, time.perf_counter()
        while True:
            t = time.perf_counter() - t0
            if t >= next_sample:
                samples.append(_sample(client, t, written))
                next_sample += SAMPLE_EVERY_US / 1e6
                if t >= end:
                    break
            due = total if t >= params.write_for_s else min(total, int(params.write_rate * t))
            while written < due:
                pipe = client.pipeline(transaction=False)
                for i in range(written, min(due, written + 100)):
                    pipe.set(ns.key(f"k:{i}"), "x", ex=params.ttl_s)
                written += len(pipe.execute())
            time.sleep(max(0.0, min(0.005, next_sample - (time.perf_counter() - t0))))
        client.close()
    finally:
        server.stop()
    return pd.DataFrame(samples)


REAL_EXPIRY_MEASURES = {
    **_TIMELINE_MEASURES,
    "written": measure("Keys written", "keys", headline=True),
    "expired_keys_end": measure("Deleted by the end", "keys", headline=True, help="INFO stats expired_keys."),
    "expired_share_end": measure("Share deleted by the end", "fraction"),
    "keys_in_db_end": measure("Keys left at the end", "keys", headline=True, help="DBSIZE after the idle time."),
    "max_keys_in_db_real": measure("Most keys in memory, real server", "keys", headline=True),
    "max_keys_in_db_sim": measure("Most keys in memory, simulator", "keys", headline=True),
    "max_keys_ratio_real_to_sim": measure("Real ÷ simulated, most keys", "×"),
    "max_used_memory": measure("Peak used memory", "bytes", headline=True, help="INFO memory used_memory, measured."),
    "expired_stale_perc_end": measure("Server's expired-stale estimate at the end", "%",
                                      help="INFO stats expired_stale_perc."),
    "time_cap_reached": measure("Cycles stopped by their time limit", "cycles",
                                help="INFO stats expired_time_cap_reached_count."),
    "source": measure("Source", "text"), "used_memory": measure("Used memory", "bytes"),
    "expired_stale_perc": measure("Expired-stale estimate", "%"),
}


@register("active-expiry-real", title="Watch a real server expire keys", params=RealExpiryParams, page=PAGE,
          measures=REAL_EXPIRY_MEASURES,
          summary="Write keys with a 1 s TTL into a private server for 4 s, then idle 3 s with no reads: "
                  "DBSIZE and expired_keys against the simulator.")
def run_real(params: RealExpiryParams, *, backend: Any = None, ns: Any = None, log: Any = None,
             **_: Any) -> Result:
    real = watch_real(params, ns)
    end_s = params.write_for_s + params.idle_s
    sim_params = ExpiryParams(write_rate=params.write_rate, ttl_s=float(params.ttl_s), hz=params.hz,
                              effort=params.effort, duration_s=max(1.0, end_s), write_for_s=params.write_for_s)
    sim, _ = simulate(sim_params)
    sim = sim[sim.t_s <= end_s + 1e-9]  # the simulator runs at least 1 s; compare the same span
    comparison = pd.concat([real.assign(source="real")[["t_s", "source", "keys_in_db", "expired_total"]],
                            sim.assign(source="simulated")[["t_s", "source", "keys_in_db", "expired_total"]]],
                           ignore_index=True)
    last, written = real.iloc[-1], int(real.written.iloc[-1])
    max_real, max_sim = int(real.keys_in_db.max()), int(sim.keys_in_db.max())
    metrics: dict[str, Any] = {
        "written": written, "expired_keys_end": int(last.expired_total),
        "expired_share_end": int(last.expired_total) / written if written else 0.0,
        "keys_in_db_end": int(last.keys_in_db), "max_keys_in_db_real": max_real, "max_keys_in_db_sim": max_sim,
        "max_keys_ratio_real_to_sim": max_real / max_sim if max_sim else float("nan"),
        "max_used_memory": int(real.used_memory.max()),
        "expired_stale_perc_end": float(last.expired_stale_perc), "time_cap_reached": int(last.time_cap_reached),
    }
    notes = [f"Measured on a private server the lab started (hz {params.hz}, effort {params.effort}) and "
             "stopped; " + (f"your {backend.kind} backend was not used. " if backend is not None else "")
             + "No key was read, so every deletion came from the active expire cycle.",
             "The simulated run has the same rate, TTL and timing (virtual clock)."]
    return Result(metrics, {"comparison": comparison, "real": real}, notes)
