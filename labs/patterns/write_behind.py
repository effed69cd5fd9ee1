"""Write-behind (write-back): acknowledge a write once the CACHE has it, apply it to the database later.

A write updates the cached row and enqueues ``{seq, entity, value}`` in one ``MULTI/EXEC``; the user is
answered as soon as ``EXEC`` succeeds. A background flusher (``tick`` on the virtual clock) applies the
queue to the database in batches, when ``batch`` items are waiting or ``interval_ms`` has passed. Writes
are fast and the database sees fewer, batched updates — but until a write is flushed the cache is the
*only* copy of it. That is the seed's stated risk of write-behind: data loss if the cache dies before the
flush ("Caching patterns", write-behind: "risk of data loss").

Two queues, two failure stories:

* ``queue="list"``: ``RPUSH`` / ``LPOP key count``. A popped item is gone from Redis *before* it reaches
  the database, so a flusher that dies mid-batch loses that batch even if Redis survives.
* ``queue="stream"``: ``XADD`` / ``XREADGROUP GROUP flushers f1 COUNT n STREAMS key >`` / ``XACK``. A read
  entry stays in the consumer group's Pending Entries List (PEL) until it is acknowledged, and the
  consumer can re-read its own pending entries with ``XREADGROUP … 0`` (redis.io "Redis Streams",
  https://redis.io/docs/latest/develop/data-types/streams/ ; commands XREADGROUP and XACK,
  https://redis.io/docs/latest/commands/xreadgroup/ , https://redis.io/docs/latest/commands/xack/).

Neither survives the cache *server* dying unless it persists: with ``appendonly yes`` and
``appendfsync always`` every write is fsynced to the append-only file before it is acknowledged
(redis.io "Redis persistence", https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/).

Applied entries are idempotent by ``seq``: an entry is never applied twice, and an entry older than one
already applied for the same entity is skipped as *superseded* (re-applying it would roll the row back).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from labs.core.cache import MISS, cache_get
from labs.core.db import PrimaryDB
from labs.core.namespace import Namespace, check_ttl
from labs.patterns.base import CACHE_ERRORS, FIELD, TABLE, Op, Strategy

QUEUES = ("list", "stream")
GROUP = "flushers"
QUEUE_TTL_S = 3600          # the queue key's lease, renewed by every write (≤ the 24 h lab cap)
Entry = tuple[int, int, str]  # (seq, entity, value)
_REDIS_FAILURES = (*CACHE_ERRORS, redis.ResponseError)


@dataclass
class FlushStats:
    """What the flusher did: batches, items applied to the database and the time that took."""

    flushes: int = 0
    items: int = 0
    db_real_ns: int = 0            # measured SQLite time
    db_simulated_ns: int = 0       # SIMULATED network + query time
    errors: int = 0                # flushes that could not reach the cache (retried on a later tick)


class WriteBehind(Strategy):
    """Write to the cache + queue now, to the database later (see the module docstring)."""

    name = "write-behind"

    def background_db_writes(self) -> int:
        """Rows the flusher wrote to the database (load on the primary that no request waited for)."""
        return self.flush_stats.items

    def __init__(self, client: Any, db: PrimaryDB, ns: Namespace, *, ttl_s: int = 60, queue: str = "list",
                 batch: int = 50, interval_ms: float = 100.0, consumer: str = "f1",
                 queue_ttl_s: int = QUEUE_TTL_S) -> None:
        super().__init__(client, db, ns, ttl_s=check_ttl(ttl_s))
        if queue not in QUEUES:
            raise ValueError(f"queue must be one of {', '.join(QUEUES)}; got {queue!r}.")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a whole number ≥ 1, got {batch!r}.")
        if not isinstance(interval_ms, (int, float)) or not interval_ms >= 0:
            raise ValueError(f"interval_ms must be a number ≥ 0, got {interval_ms!r}.")
        self.queue, self.batch, self.interval_ms, self.consumer = queue, batch, float(interval_ms), consumer
        self.queue_ttl_s = check_ttl(max(queue_ttl_s, self.ttl_s))
        self.queue_key = ns.key("wb:queue" if queue == "list" else "wb:stream")
        self.acknowledged: list[Entry] = []     # answered ok to the user
        self.failed: list[Entry] = []           # refused (the cache was down): the user knows
        self.applied: list[int] = []            # seqs written to the database, in order
        self._applied: set[int] = set()
        self.superseded: list[int] = []         # skipped: a newer write of that entity was already applied
        self.dropped: list[Entry] = []          # list items popped by a flusher that died: gone
        self.gone_with_server: list[Entry] = [] # queued items a restarted server no longer had
        self.flush_stats = FlushStats()
        self.log: list[dict[str, Any]] = []     # flusher events: t_ms, event, items, queue_depth
        self.now_ms = 0.0
        self._seq = 0
        self._last_flush_ms: float | None = None
        self._waiting: dict[int, Entry] = {}    # acknowledged, still in the queue (as far as we know)
        self._taken: dict[int, Entry] = {}      # read by a flusher, not applied yet (stream: pending)
        self._entity_seq: dict[int, int] = {}   # the newest seq applied per entity
        if queue == "stream":
            try:
                self._ensure_group("$")
            except _REDIS_FAILURES:
                pass  # the cache is down: the group is created on the first flush that reaches it

    # -- writes ------------------------------------------------------------------------------------
    def write(self, entity: int, value: str) -> Op:
        """Update the cached row and enqueue the change in one MULTI/EXEC; acknowledge after EXEC."""
        self._seq += 1
        seq, op = self._seq, Op("write", entity)
        start = time.perf_counter_ns()
        try:
            row = cache_get(self.client, self.key(entity))
            if row is MISS or row is None:
                op.redis_ns += time.perf_counter_ns() - start
                found = self.db.get(TABLE, entity)
                op.db_reads, op.db_real_ns, op.db_simulated_ns = 1, found.real_ns, found.simulated_ns
                if found.value is None:
                    op.ok, op.error = False, f"no user {entity} in the database: nothing to write"
                    self.failed.append((seq, entity, value))
                    return op
                row, start = found.value, time.perf_counter_ns()
            row = {**row, FIELD: value}
            pipe = self.client.pipeline(transaction=True)
            pipe.set(self.key(entity), json.dumps(row, separators=(",", ":")), ex=self.ttl_s)
            if self.queue == "list":
                pipe.rpush(self.queue_key, json.dumps({"seq": seq, "entity": entity, "value": value}))
            else:
                pipe.xadd(self.queue_key, {"seq": seq, "entity": entity, "value": value})
            pipe.expire(self.queue_key, self.queue_ttl_s)
            pipe.execute()
        except _REDIS_FAILURES as exc:
            op.redis_ns += time.perf_counter_ns() - start
            op.ok = False
            down = isinstance(exc, CACHE_ERRORS)
            op.error = (f"the cache is down: the write was refused, not acknowledged ({exc})" if down
                        else f"the cache refused the write, not acknowledged ({exc})")
            self.failed.append((seq, entity, value))
            return op
        op.redis_ns += time.perf_counter_ns() - start
        self.acknowledged.append((seq, entity, value))
        self._waiting[seq] = (seq, entity, value)
        return op

    # -- the flusher -------------------------------------------------------------------------------
    def tick(self, now_ms: float) -> None:
        """Flush one batch if ``batch`` items wait or ``interval_ms`` passed since the last flush."""
        self.now_ms = now_ms
        if self._last_flush_ms is None:
            self._last_flush_ms = now_ms
        if len(self._waiting) >= self.batch or now_ms - self._last_flush_ms >= self.interval_ms:
            self.flush()

    def flush(self, *, crash_after_read: bool = False) -> int:
        """Take up to ``batch`` items from the queue and apply them; returns how many were read.

        ``crash_after_read=True`` simulates the flusher dying after the read and before the database:
        list items are then gone (LPOP removed them); stream entries stay pending for :meth:`recover`.
        """
        try:
            items, ids = self._read_batch(">")
        except _REDIS_FAILURES as exc:
            self.flush_stats.errors += 1
            self._last_flush_ms = self.now_ms  # retried when the next flush is due, not on every tick
            self._event("flush failed (cache unreachable)", 0, str(exc))
            return 0
        self._last_flush_ms = self.now_ms
        for entry in items:
            self._taken[entry[0]] = entry
            self._waiting.pop(entry[0], None)
        if crash_after_read:
            if self.queue == "list":
                for entry in items:
                    self.dropped.append(self._taken.pop(entry[0]))
            self._event("flusher died mid-batch", len(items))
            return len(items)
        if items or ids:
            self._apply(items, ids)
        return len(items)

    def drain(self) -> int:
        """Flush until the queue is empty (or the cache is unreachable); returns the items read."""
        total = 0
        while True:
            errors = self.flush_stats.errors
            n = self.flush()
            total += n
            if n == 0 or self.flush_stats.errors > errors:
                return total

    def recover(self, client: Any = None) -> int:
        """After a cache restart: use ``client``, account for what the server lost, and for the stream
        re-read this consumer's pending entries (``XREADGROUP … 0``), apply and XACK them, then drain.

        Returns how many pending entries were recovered. A list has nothing to recover: popped items are gone.
        """
        if client is not None:
            self.client = client
        before = len(self.applied)
        try:
            present = self._seqs_in_redis()
            if self.queue == "stream":
                self._ensure_group("0")
                while True:
                    items, ids = self._read_batch("0")
                    if not ids:
                        break
                    self._apply(items, ids)
        except _REDIS_FAILURES as exc:
            self._event("recover failed (cache unreachable)", 0, str(exc))
            return len(self.applied) - before
        recovered = len(self.applied) - before
        for store in (self._waiting, self._taken):  # what the restarted server no longer has
            for seq in [s for s in store if s not in present]:
                self.gone_with_server.append(store.pop(seq))
        self._event("recovered pending entries", recovered)
        self.drain()
        return recovered

    # -- accounting --------------------------------------------------------------------------------
    def queue_depth(self) -> int:
        """Acknowledged writes still waiting in the queue, as this process knows it (no round trip)."""
        return len(self._waiting)

    def queued(self) -> list[Entry]:
        """The acknowledged writes waiting in the queue (not yet read by a flusher), oldest first."""
        return sorted(self._waiting.values())

    def in_flight(self) -> list[Entry]:
        """Entries a flusher has read but not applied (stream: pending in the consumer group)."""
        return sorted(self._taken.values())

    def redis_queue_length(self) -> int | None:
        """The queue's length on the server (LLEN; XLEN — acknowledged entries are deleted), or None."""
        try:
            return int(self.client.llen(self.queue_key) if self.queue == "list" else self.client.xlen(self.queue_key))
        except _REDIS_FAILURES:
            return None

    def lost_writes(self) -> list[Entry]:
        """Acknowledged writes that never reached the database (exact; call after :meth:`drain`).

        A superseded entry is not lost: a newer write of the same entity is in the database."""
        done = self._applied | set(self.superseded)
        return [e for e in self.acknowledged if e[0] not in done]

    # -- internals ---------------------------------------------------------------------------------
    def _ensure_group(self, start_id: str) -> None:
        try:
            self.client.xgroup_create(self.queue_key, GROUP, id=start_id, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self.client.expire(self.queue_key, self.queue_ttl_s)

    def _read_batch(self, stream_id: str) -> tuple[list[Entry], list[Any]]:
        """Up to ``batch`` entries and (stream) their ids: new ones (``>``) or this consumer's pending (``0``)."""
        if self.queue == "list":
            raw = self.client.lpop(self.queue_key, self.batch) or []
            items = [(int(d["seq"]), int(d["entity"]), str(d["value"])) for d in map(json.loads, raw)]
            return items, []
        try:
            reply = self.client.xreadgroup(GROUP, self.consumer, {self.queue_key: stream_id}, count=self.batch)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # the server came back without the group: every entry in the stream was written since then
            self._ensure_group("0")
            reply = self.client.xreadgroup(GROUP, self.consumer, {self.queue_key: stream_id}, count=self.batch)
        out, ids = [], []
        for _name, entries in reply or []:
            for entry_id, fields in entries:
                ids.append(entry_id)
                if not fields:  # deleted while pending: nothing to apply, only to acknowledge
                    continue
                f = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                     for k, v in fields.items()}
                out.append((int(f["seq"]), int(f["entity"]), str(f["value"])))
        return out, ids

    def _apply(self, items: list[Entry], ids: list[Any]) -> None:
        """Write each entry to the database (skipping duplicates / superseded), then XACK + XDEL them."""
        applied = 0
        for seq, entity, value in items:
            self._taken.pop(seq, None)
            self._waiting.pop(seq, None)
            if seq in self._applied or seq in self.superseded:
                continue
            if self._entity_seq.get(entity, 0) > seq:
                self.superseded.append(seq)
                continue
            result = self.db.update(TABLE, entity, {FIELD: value})
            self.flush_stats.db_real_ns += result.real_ns
            self.flush_stats.db_simulated_ns += result.simulated_ns
            self.applied.append(seq)
            self._applied.add(seq)
            self._entity_seq[entity] = seq
            applied += 1
        self.flush_stats.flushes += 1
        self.flush_stats.items += applied
        if ids:
            try:
                pipe = self.client.pipeline(transaction=True)
                pipe.xack(self.queue_key, GROUP, *ids)
                pipe.xdel(self.queue_key, *ids)  # keeps XLEN = entries not yet acknowledged
                pipe.execute()
            except _REDIS_FAILURES:
                pass  # applied but not acknowledged: redelivered by recover(), skipped by seq
        self._event("flush", applied)

    def _seqs_in_redis(self) -> set[int]:
        """Every seq still stored in the queue on the server (list items, or stream entries)."""
        if self.queue == "list":
            return {int(json.loads(r)["seq"]) for r in self.client.lrange(self.queue_key, 0, -1)}
        out = set()
        for _id, fields in self.client.xrange(self.queue_key):
            seq = fields.get(b"seq", fields.get("seq"))
            if seq is not None:
                out.add(int(seq))
        return out

    def _event(self, event: str, items: int, detail: str = "") -> None:
        self.log.append({"t_ms": self.now_ms, "event": event, "items": items,
                         "queue_depth": len(self._waiting), "detail": detail})
