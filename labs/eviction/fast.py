"""The compiled fast path: the same policies as the pure-Python reference, in numba, on arrays.

Every policy of :data:`labs.eviction.POLICIES` (the ten Redis 8.6 ``maxmemory-policy`` values and the
exact ``lru``, ``lfu`` and ``fifo`` baselines) is re-implemented here step for step — the eviction
pool of ``evict.c``, the 1-second LRU clock (stamped by reads and writes for LRU, by writes only for
LRM), the Morris LFU counter with decay, the swap-remove key lists that sampling draws from, passive
expiry, overwrites of cached keys by write requests — and draws its random numbers from the same
:class:`~labs.eviction.prng.SplitMix64` stream in the same order. So for a seed the fast path gives the
*identical* hits, misses, writes, evictions, rejected writes and expiries as the reference (tests/unit/
eviction/test_eviction_fast.py checks every policy on several workloads). Belady's OPT is a separate kernel.

The exact-LFU heap moves and the exact-LRU list moves are written out where they happen rather than
called as helpers: factored into ``@njit`` helpers (inlined or not) they measured 2× slower here on the
bench trace (exact LRU 78 → 31–41 M req/s, exact LFU 32 → 16 M req/s), so the repetition is kept on
purpose; the tests compare every path with the reference.

Keys are mapped to dense ids first (``np.unique``); times, sizes and TTLs (NaN = no TTL) are arrays.
:func:`miss_ratio_curve` runs every (policy, capacity) pair in parallel (``numba.prange``) — the
miss-ratio curve redraws while a slider moves. Kernels are compiled on first use and cached on disk
(``cache=True``), so only the first run after an install pays the compile (a few seconds).
"""
from __future__ import annotations

import math
import threading
from typing import Iterable, Sequence

import numba
import numpy as np
import pandas as pd

from labs.eviction.policies import Stats

CODES = {"noeviction": 0, "allkeys-lru": 1, "volatile-lru": 2, "allkeys-lfu": 3, "volatile-lfu": 4,
         "allkeys-random": 5, "volatile-random": 6, "volatile-ttl": 7, "lru": 8, "lfu": 9, "fifo": 10,
         "allkeys-lrm": 11, "volatile-lrm": 12}
OPT = "opt"
EVPOOL_SIZE = 16
# numba's fallback "workqueue" threading layer (used when no OpenMP/TBB library is found) must not be
# entered by two threads at once, and Streamlit runs every session in its own thread.
_PARALLEL = threading.Lock()
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U30, _U27, _U31, _U11, _U32 = (np.uint64(v) for v in (30, 27, 31, 11, 32))


# -- SplitMix64, as labs.eviction.prng ---------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def _next64(state):
    state[0] = state[0] + _GAMMA
    z = state[0]
    z = (z ^ (z >> _U30)) * _MIX1
    z = (z ^ (z >> _U27)) * _MIX2
    return z ^ (z >> _U31)


@numba.njit(cache=True, inline="always")
def _random(state):
    return float(_next64(state) >> _U11) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def _below(state, n):
    return np.int64(((_next64(state) >> _U32) * np.uint64(n)) >> _U32)


# -- key lists: dense array + position, swap-remove (labs.eviction.policies.KeyList) ------------------
@numba.njit(cache=True, inline="always")
def _kl_add(items, pos, count, key):
    if pos[key] < 0:
        pos[key] = count[0]
        items[count[0]] = key
        count[0] += 1


@numba.njit(cache=True, inline="always")
def _kl_discard(items, pos, count, key):
    i = pos[key]
    if i < 0:
        return
    pos[key] = -1
    count[0] -= 1
    last = items[count[0]]
    if i < count[0]:
        items[i] = last
        pos[last] = i


@numba.njit(cache=True)
def _simulate(code, capacity, keys, sizes, times, ttls, writes, nkeys, samples, seed, log_factor, decay_time,
              hit_out, present_out):
    """One run of policy ``code``; returns [hits, misses, evictions, rejected_writes, expired, writes].
    ``writes`` (empty = all reads) marks write requests; ``present_out`` (empty = not wanted) receives
    which keys are cached at the end."""
    state = np.empty(1, np.uint64)
    state[0] = np.uint64(seed)
    present = np.zeros(nkeys, np.bool_)
    ksize = np.zeros(nkeys, np.int64)
    expire = np.full(nkeys, np.nan)
    all_items = np.empty(nkeys, np.int64)
    all_pos = np.full(nkeys, -1, np.int64)
    all_n = np.zeros(1, np.int64)
    ttl_items = np.empty(nkeys, np.int64)
    ttl_pos = np.full(nkeys, -1, np.int64)
    ttl_n = np.zeros(1, np.int64)
    lru = np.zeros(nkeys, np.int64)          # LRU clock stamp (Redis) or access sequence (exact LFU)
    ldt = np.zeros(nkeys, np.int64)
    counter = np.zeros(nkeys, np.int64)      # LFU counter (Redis) or frequency (exact LFU)
    prev = np.full(nkeys, -1, np.int64)      # exact LRU/FIFO: doubly linked list, head = victim
    nxt = np.full(nkeys, -1, np.int64)
    ends = np.full(2, -1, np.int64)          # head, tail
    heap = np.empty(nkeys, np.int64)         # exact LFU: min-heap on (frequency, sequence)
    hpos = np.full(nkeys, -1, np.int64)
    hn = 0
    pool_score = np.empty(EVPOOL_SIZE, np.float64)
    pool_key = np.empty(EVPOOL_SIZE, np.int64)
    pool_n = 0
    chosen = np.empty(max(samples, 1), np.int64)
    volatile = code == 2 or code == 4 or code == 6 or code == 7 or code == 12
    is_lrm = code == 11 or code == 12
    is_lru = code == 1 or code == 2
    is_clock = is_lru or is_lrm              # scored by LRU-clock idle time
    is_lfu = code == 3 or code == 4
    redis_keyspace = 1 <= code <= 7 or is_lrm
    used = 0
    hits = misses = evictions = rejected = expired = nwrites = 0
    n = keys.shape[0]
    record = hit_out.shape[0] > 0
    has_sizes = sizes.shape[0] > 0        # empty = every key costs 1
    has_ttls = ttls.shape[0] > 0          # empty = no key has a TTL
    has_writes = writes.shape[0] > 0      # empty = every request is a read
    for r in range(n):
        key = keys[r]
        now = times[r]
        is_write = has_writes and writes[r] != 0
        # -- lookup (Policy._live, then the hit or write hook)
        hit = False
        if present[key]:
            if has_ttls and not math.isnan(expire[key]) and now >= expire[key]:
                # _delete
                present[key] = False
                used -= ksize[key] if has_sizes else 1
                expire[key] = np.nan
                if redis_keyspace:
                    _kl_discard(all_items, all_pos, all_n, key)
                    _kl_discard(ttl_items, ttl_pos, ttl_n, key)
                elif code == 8 or code == 10:
                    p, q = prev[key], nxt[key]
                    if p >= 0:
                        nxt[p] = q
                    else:
                        ends[0] = q
                    if q >= 0:
                        prev[q] = p
                    else:
                        ends[1] = p
                elif code == 9:
                    i = hpos[key]
                    hpos[key] = -1
                    hn -= 1
                    if i < hn:
                        last = heap[hn]
                        heap[i] = last
                        hpos[last] = i
                        # restore heap order around i (up, then down)
                        while i > 0:
                            par = (i - 1) // 2
                            a, b = heap[i], heap[par]
                            if counter[a] < counter[b] or (counter[a] == counter[b] and lru[a] < lru[b]):
                                heap[i], heap[par] = b, a
                                hpos[b], hpos[a] = i, par
                                i = par
                            else:
                                break
                        while True:
                            l = 2 * i + 1
                            if l >= hn:
                                break
                            m = l
                            rr = l + 1
                            if rr < hn and (counter[heap[rr]] < counter[heap[l]] or (
                                    counter[heap[rr]] == counter[heap[l]] and lru[heap[rr]] < lru[heap[l]])):
                                m = rr
                            a, b = heap[m], heap[i]
                            if counter[a] < counter[b] or (counter[a] == counter[b] and lru[a] < lru[b]):
                                heap[i], heap[m] = a, b
                                hpos[a], hpos[b] = i, m
                                i = m
                            else:
                                break
                expired += 1
            else:
                hit = True
        if hit:
            if is_write:                           # Policy.write on a cached key: overwrite in place
                nwrites += 1
                if has_ttls:
                    if math.isnan(ttls[r]):
                        expire[key] = np.nan
                        if redis_keyspace:
                            _kl_discard(ttl_items, ttl_pos, ttl_n, key)
                    else:
                        expire[key] = now + ttls[r]
                        if redis_keyspace:
                            _kl_add(ttl_items, ttl_pos, ttl_n, key)
            else:
                hits += 1
                if record:
                    hit_out[r] = 1
            if is_lru or (is_lrm and is_write):
                lru[key] = np.int64(now * 1000.0) // 1000
            elif is_lfu:
                nowm = (np.int64(now) // 60) & 65535
                d = ldt[key]
                elapsed = nowm - d if nowm >= d else 65535 - d + nowm
                c = counter[key]
                if decay_time:
                    periods = elapsed // decay_time
                    c = 0 if periods > c else c - periods
                if c < 255:
                    base = c - 5
                    if base < 0:
                        base = 0
                    if _random(state) < 1.0 / (base * log_factor + 1):
                        c += 1
                counter[key] = c
                ldt[key] = nowm
            elif code == 8:
                if ends[1] != key:                 # move_to_end
                    p, q = prev[key], nxt[key]
                    if p >= 0:
                        nxt[p] = q
                    else:
                        ends[0] = q
                    prev[q] = p
                    t = ends[1]
                    prev[key] = t
                    nxt[key] = -1
                    nxt[t] = key
                    ends[1] = key
            elif code == 9:
                counter[key] += 1
                lru[key] = r
                i = hpos[key]
                while True:                        # the key only grew: sift down
                    l = 2 * i + 1
                    if l >= hn:
                        break
                    m = l
                    rr = l + 1
                    if rr < hn and (counter[heap[rr]] < counter[heap[l]] or (
                            counter[heap[rr]] == counter[heap[l]] and lru[heap[rr]] < lru[heap[l]])):
                        m = rr
                    a, b = heap[m], heap[i]
                    if counter[a] < counter[b] or (counter[a] == counter[b] and lru[a] < lru[b]):
                        heap[i], heap[m] = a, b
                        hpos[a], hpos[b] = i, m
                        i = m
                    else:
                        break
            continue
        if is_write:
            nwrites += 1
        else:
            misses += 1
        # -- insert (Policy.insert)
        size = sizes[r] if has_sizes else 1
        if size > capacity:
            rejected += 1
            continue
        stored = True
        while used + size > capacity:
            victim = -1
            if code == 0:
                victim = -1
            elif code == 8 or code == 10:
                victim = ends[0]
            elif code == 9:
                victim = heap[0] if hn else -1
            elif code == 5 or code == 6:
                if volatile:
                    if ttl_n[0]:
                        victim = ttl_items[_below(state, ttl_n[0])]
                elif all_n[0]:
                    victim = all_items[_below(state, all_n[0])]
            else:                                   # the eviction pool
                while True:
                    cnt = ttl_n[0] if volatile else all_n[0]
                    if cnt == 0:
                        victim = -1
                        break
                    # KeyList.sample: all keys in order when samples >= count, else distinct draws
                    if samples >= cnt:
                        m = cnt
                        for j in range(cnt):
                            chosen[j] = j
                    else:
                        m = 0
                        while m < samples:
                            idx = _below(state, cnt)
                            dup = False
                            for j in range(m):
                                if chosen[j] == idx:
                                    dup = True
                                    break
                            if not dup:
                                chosen[m] = idx
                                m += 1
                    for j in range(m):
                        cand = ttl_items[chosen[j]] if volatile else all_items[chosen[j]]
                        if is_clock:
                            score = float((np.int64(now * 1000.0) // 1000 - lru[cand]) * 1000)
                        elif is_lfu:
                            nowm = (np.int64(now) // 60) & 65535
                            d = ldt[cand]
                            elapsed = nowm - d if nowm >= d else 65535 - d + nowm
                            c = counter[cand]
                            if decay_time:
                                periods = elapsed // decay_time
                                c = 0 if periods > c else c - periods
                            score = float(255 - c)
                        else:
                            score = -expire[cand]
                        k = 0
                        while k < pool_n and pool_score[k] < score:
                            k += 1
                        if k == 0 and pool_n == EVPOOL_SIZE:
                            continue
                        if pool_n < EVPOOL_SIZE:
                            for z in range(pool_n, k, -1):
                                pool_score[z] = pool_score[z - 1]
                                pool_key[z] = pool_key[z - 1]
                            pool_score[k] = score
                            pool_key[k] = cand
                            pool_n += 1
                        else:
                            for z in range(0, k - 1):
                                pool_score[z] = pool_score[z + 1]
                                pool_key[z] = pool_key[z + 1]
                            pool_score[k - 1] = score
                            pool_key[k - 1] = cand
                    found = False
                    while pool_n > 0:
                        pool_n -= 1
                        cand = pool_key[pool_n]
                        if (ttl_pos[cand] if volatile else all_pos[cand]) >= 0:
                            victim = cand
                            found = True
                            break
                    if found:
                        break
            if victim < 0:
                rejected += 1
                stored = False
                break
            # _delete(victim)
            present[victim] = False
            used -= ksize[victim] if has_sizes else 1
            if has_ttls:
                expire[victim] = np.nan
            if redis_keyspace:
                _kl_discard(all_items, all_pos, all_n, victim)
                if has_ttls:
                    _kl_discard(ttl_items, ttl_pos, ttl_n, victim)
            elif code == 8 or code == 10:
                q = nxt[victim]
                ends[0] = q
                if q >= 0:
                    prev[q] = -1
                else:
                    ends[1] = -1
            elif code == 9:                         # pop the heap's root
                hpos[victim] = -1
                hn -= 1
                if hn:
                    last = heap[hn]
                    heap[0] = last
                    hpos[last] = 0
                    i = 0
                    while True:
                        l = 2 * i + 1
                        if l >= hn:
                            break
                        m = l
                        rr = l + 1
                        if rr < hn and (counter[heap[rr]] < counter[heap[l]] or (
                                counter[heap[rr]] == counter[heap[l]] and lru[heap[rr]] < lru[heap[l]])):
                            m = rr
                        a, b = heap[m], heap[i]
                        if counter[a] < counter[b] or (counter[a] == counter[b] and lru[a] < lru[b]):
                            heap[i], heap[m] = a, b
                            hpos[a], hpos[b] = i, m
                            i = m
                        else:
                            break
            evictions += 1
        if not stored:
            continue
        present[key] = True
        if has_sizes:
            ksize[key] = size
        used += size
        ttl = ttls[r] if has_ttls else np.nan
        if not math.isnan(ttl):
            expire[key] = now + ttl
        if redis_keyspace:
            _kl_add(all_items, all_pos, all_n, key)
            if not math.isnan(ttl):
                _kl_add(ttl_items, ttl_pos, ttl_n, key)
            if is_clock:
                lru[key] = np.int64(now * 1000.0) // 1000
            elif is_lfu:
                ldt[key] = (np.int64(now) // 60) & 65535
                counter[key] = 5
        elif code == 8 or code == 10:               # append at the tail
            t = ends[1]
            prev[key] = t
            nxt[key] = -1
            if t >= 0:
                nxt[t] = key
            else:
                ends[0] = key
            ends[1] = key
        elif code == 9:                             # frequency 1, newest: sift up from the bottom
            counter[key] = 1
            lru[key] = r
            i = hn
            heap[i] = key
            hpos[key] = i
            hn += 1
            while i > 0:
                par = (i - 1) // 2
                a, b = heap[i], heap[par]
                if counter[a] < counter[b] or (counter[a] == counter[b] and lru[a] < lru[b]):
                    heap[i], heap[par] = b, a
                    hpos[b], hpos[a] = i, par
                    i = par
                else:
                    break
    if present_out.shape[0] > 0:
        present_out[:] = present
    out = np.empty(6, np.int64)
    out[0], out[1], out[2], out[3], out[4], out[5] = hits, misses, evictions, rejected, expired, nwrites
    return out


@numba.njit(cache=True)
def _opt(keys, nkeys, capacity):
    """Belady's MIN on unit sizes: [hits, misses, evictions]. Ties (keys never used again) are all
    equivalent, so the counts do not depend on how the heap breaks them."""
    n = keys.shape[0]
    nxt = np.empty(n, np.int64)
    last = np.full(nkeys, n, np.int64)
    for i in range(n - 1, -1, -1):
        nxt[i] = last[keys[i]]
        last[keys[i]] = i
    cached_next = np.full(nkeys, -1, np.int64)   # -1 = not cached
    heap_v = np.empty(n, np.int64)              # max-heap of next use (lazy: stale entries skipped)
    heap_k = np.empty(n, np.int64)
    hn = 0
    cached = hits = misses = evictions = 0
    for i in range(n):
        k = keys[i]
        if cached_next[k] >= 0:
            hits += 1
        else:
            misses += 1
            if cached >= capacity:
                while True:                         # pop the farthest next use still current
                    v, vk = heap_v[0], heap_k[0]
                    hn -= 1
                    if hn:
                        heap_v[0], heap_k[0] = heap_v[hn], heap_k[hn]
                        j = 0
                        while True:
                            l = 2 * j + 1
                            if l >= hn:
                                break
                            m = l
                            if l + 1 < hn and heap_v[l + 1] > heap_v[l]:
                                m = l + 1
                            if heap_v[m] > heap_v[j]:
                                heap_v[j], heap_v[m] = heap_v[m], heap_v[j]
                                heap_k[j], heap_k[m] = heap_k[m], heap_k[j]
                                j = m
                            else:
                                break
                    if cached_next[vk] == v:
                        cached_next[vk] = -1
                        cached -= 1
                        evictions += 1
                        break
            cached += 1
        cached_next[k] = nxt[i]
        j = hn                                      # push (next use, key)
        heap_v[j], heap_k[j] = nxt[i], k
        hn += 1
        while j > 0:
            par = (j - 1) // 2
            if heap_v[j] > heap_v[par]:
                heap_v[j], heap_v[par] = heap_v[par], heap_v[j]
                heap_k[j], heap_k[par] = heap_k[par], heap_k[j]
                j = par
            else:
                break
    out = np.empty(3, np.int64)
    out[0], out[1], out[2] = hits, misses, evictions
    return out


@numba.njit(cache=True, parallel=True)
def _curve(codes, capacities, keys, sizes, times, ttls, nkeys, samples, seed, log_factor, decay_time):
    jobs = codes.shape[0] * capacities.shape[0]
    out = np.zeros((jobs, 6), np.int64)
    empty = np.zeros(0, np.uint8)
    no_present = np.zeros(0, np.bool_)
    for job in numba.prange(jobs):
        code = codes[job // capacities.shape[0]]
        cap = capacities[job % capacities.shape[0]]
        if code < 0:
            o = _opt(keys, nkeys, cap)
            out[job, 0], out[job, 1], out[job, 2] = o[0], o[1], o[2]
        else:
            out[job, :] = _simulate(code, cap, keys, sizes, times, ttls, empty, nkeys, samples, seed,
                                    log_factor, decay_time, empty, no_present)
    return out


# -- Python entry points ------------------------------------------------------------------------------
def prepare(keys: Sequence, times: Sequence[float] | None = None, ttls: Sequence | None = None,
            sizes: Sequence[int] | None = None) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    """Key ids and float/int arrays the kernels take: ``(ids, nkeys, sizes, times, ttls)``.

    No sizes / no TTLs are passed as empty arrays (every key costs 1 / none expires).
    Non-negative integer keys below ``max(4·n, 65536)`` are used as they are (ids need not be dense,
    only small); anything else is renumbered densely with ``np.unique``."""
    arr = np.asarray(keys)
    n = len(arr)
    if arr.dtype.kind in "iu" and n and arr.min() >= 0 and arr.max() < max(4 * n, 1 << 16):
        ids, nkeys = arr.astype(np.int64, copy=False), int(arr.max()) + 1   # already small ids
    else:
        uniq, ids = np.unique(arr, return_inverse=True)
        nkeys = len(uniq)
    t = np.zeros(n) if times is None else np.asarray(times, dtype=np.float64)
    s = np.zeros(0, np.int64) if sizes is None else np.asarray(sizes, dtype=np.int64)
    if ttls is None:
        tt = np.zeros(0)
    else:
        tt = np.array([np.nan if v is None else v for v in ttls], dtype=np.float64)
    return ids.astype(np.int64, copy=False), nkeys, s, t, tt


def _code(name: str) -> int:
    if name == OPT:
        return -1
    try:
        return CODES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; choose from {sorted(CODES)} and opt") from None


def run(name: str, capacity: int, keys: Sequence, times: Sequence[float] | None = None,
        ttls: Sequence | None = None, sizes: Sequence[int] | None = None, *, writes: Sequence | None = None,
        samples: int = 5, seed: int = 0, lfu_log_factor: float = 10, lfu_decay_time: int = 1,
        record_hits: bool = False) -> Stats | tuple[Stats, np.ndarray]:
    """One trace through one policy: the same :class:`Stats` as ``run_trace(make(name, …), …)``.
    ``writes`` marks write requests (true = ``Policy.write``). With ``record_hits`` also a 0/1
    array, one entry per request."""
    stats, hits, _ = _run(name, capacity, keys, times, ttls, sizes, writes, samples, seed, lfu_log_factor,
                          lfu_decay_time, record_hits, False)
    return (stats, hits) if record_hits else stats


def run_detail(name: str, capacity: int, keys: Sequence, times: Sequence[float] | None = None,
               ttls: Sequence | None = None, sizes: Sequence[int] | None = None, *,
               writes: Sequence | None = None, samples: int = 5, seed: int = 0, lfu_log_factor: float = 10,
               lfu_decay_time: int = 1) -> tuple[Stats, np.ndarray, np.ndarray]:
    """:func:`run` with both per-request arrays: ``(stats, hit, cached)`` — ``hit[i]`` is 1 when read
    ``i`` hit, ``cached[i]`` is whether request ``i``'s key is still cached after the last request."""
    if name == OPT:
        raise ValueError("opt has no per-key state to report; choose a real policy.")
    return _run(name, capacity, keys, times, ttls, sizes, writes, samples, seed, lfu_log_factor,
                lfu_decay_time, True, True)


def _run(name, capacity, keys, times, ttls, sizes, writes, samples, seed, lfu_log_factor, lfu_decay_time,
         record_hits, record_cached):
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1, got {capacity}.")
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}.")
    ids, nkeys, s, t, tt = prepare(keys, times, ttls, sizes)
    code = _code(name)
    if code < 0:
        if writes is not None and np.any(np.asarray(writes, dtype=bool)):
            raise ValueError("opt (Belady) is defined for reads only; drop it from a trace with writes.")
        o = _opt(ids, nkeys, int(capacity))
        return Stats(hits=int(o[0]), misses=int(o[1]), evictions=int(o[2])), np.zeros(0, np.uint8), None
    w = np.zeros(0, np.uint8) if writes is None else np.asarray(writes, dtype=np.uint8)
    if len(w) and len(w) != len(ids):
        raise ValueError(f"writes has {len(w)} entries for {len(ids)} requests.")
    hit_out = np.zeros(len(ids) if record_hits else 0, np.uint8)
    present = np.zeros(nkeys if record_cached else 0, np.bool_)
    o = _simulate(code, int(capacity), ids, s, t, tt, w, nkeys, int(samples), int(seed), float(lfu_log_factor),
                  int(lfu_decay_time), hit_out, present)
    stats = Stats(hits=int(o[0]), misses=int(o[1]), evictions=int(o[2]), rejected_writes=int(o[3]),
                  expired=int(o[4]), writes=int(o[5]))
    return stats, hit_out, (present[ids] if record_cached else None)


def miss_ratio_curve(policy_names: Iterable[str], keys: Sequence, capacities: Iterable[int], *,
                     times: Sequence[float] | None = None, ttls: Sequence | None = None,
                     sizes: Sequence[int] | None = None, samples: int = 5, seed: int = 0,
                     lfu_log_factor: float = 10, lfu_decay_time: int = 1) -> pd.DataFrame:
    """The frame :func:`labs.eviction.simulate.miss_ratio_curve` returns, every run in parallel."""
    names = list(policy_names)
    caps = np.asarray(list(capacities), dtype=np.int64)
    if (caps < 1).any():
        raise ValueError("every capacity must be at least 1.")
    codes = np.asarray([_code(n) for n in names], dtype=np.int64)
    ids, nkeys, s, t, tt = prepare(keys, times, ttls, sizes)
    with _PARALLEL:
        out = _curve(codes, caps, ids, s, t, tt, nkeys, int(samples), int(seed), float(lfu_log_factor),
                     int(lfu_decay_time))
    rows = []
    for job, (hits, misses, evictions, rejected, _expired, _writes) in enumerate(out.tolist()):
        requests = hits + misses
        rows.append({"policy": names[job // len(caps)], "capacity": int(caps[job % len(caps)]),
                     "miss_ratio": misses / requests if requests else 0.0, "hits": hits,
                     "misses": misses, "evictions": evictions, "rejected_writes": rejected})
    return pd.DataFrame(rows, columns=["policy", "capacity", "miss_ratio", "hits", "misses",
                                       "evictions", "rejected_writes"])


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel on a tiny trace."""
    keys = np.arange(40) % 7
    miss_ratio_curve(list(CODES) + [OPT], keys, [2, 3], times=np.arange(40.0),
                     ttls=[None if k % 2 else 60.0 for k in keys])
    run("allkeys-lru", 3, keys, record_hits=True)
    run_detail("allkeys-lrm", 3, keys, writes=keys % 3 == 0)
