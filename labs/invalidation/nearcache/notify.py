"""Keyspace notifications as an invalidation channel, and what they guarantee next to tracking.

A reader subscribes to ``__keyevent@0__:set``, ``:del`` and ``:expired`` and drops its local copy of the key
each event names. This needs ``CONFIG SET notify-keyspace-events`` — a server-wide setting — so it runs on a
private server the lab starts (or on the learner's own sandbox, whose fakeredis sends ``set``/``del`` events
but no ``expired`` ones), never on a shared server. Measured: the delivery delay after the write's
acknowledgement; the lag of ``expired`` events (sent when the server deletes the key, not when its TTL hits
zero); and the at-most-once delivery of Pub/Sub — a subscriber that reconnects has missed what happened
meanwhile, and only its TTL backstop bounds how long it serves the old copy. A tracking reader on the same
server gives the other column of the comparison.
Source: https://redis.io/docs/latest/develop/pubsub/keyspace-notifications/ ("fire and forget", "Timing of
expired events", "Events in a cluster"); https://redis.io/docs/latest/develop/reference/client-side-caching/
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import CommandLog, instrument_all, percentiles
from labs.core.recipe import commands_frame
from labs.core.servers import start_private
from labs.invalidation.nearcache.common import PAGE, traced_run
from labs.invalidation.nearcache.links import RESP3, TrackingUnavailable, as_text, open_link
from labs.invalidation.nearcache.local import LocalCache

FLAGS = "E$gx"      # keyevent channels; string commands (set), generic (del), expired
EVENTS = ("set", "del", "expired")


class NotifiedCache:
    """A local cache whose copies are dropped by keyspace-event messages (a Pub/Sub subscriber)."""

    def __init__(self, client: Any, local: LocalCache, log: CommandLog, db: int = 0) -> None:
        self.client, self.local, self.log, self.db = client, local, log, db
        self.events: list[tuple[str, str, int]] = []    # (event, key, perf_counter_ns when handled)
        self.pubsub = None
        self.subscribe()

    def subscribe(self) -> None:
        channels = [f"__keyevent@{self.db}__:{e}" for e in EVENTS]
        start = time.perf_counter_ns()
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(*channels)
        self.log.add_raw(("SUBSCRIBE", *channels), f"subscribed to {len(channels)} channels",
                         time.perf_counter_ns() - start)

    def disconnect(self) -> None:
        self.pubsub.close()

    def poll(self) -> int:
        handled = 0
        while (message := self.pubsub.get_message(timeout=0)) is not None:
            if message.get("type") != "message":
                continue
            event = as_text(message["channel"]).rsplit(":", 1)[-1]
            key = as_text(message["data"])
            self.local.drop(key)
            self.events.append((event, key, time.perf_counter_ns()))
            handled += 1
        return handled

    def read(self, key: str) -> tuple[Any, bool]:
        """(value, from the local copy?)"""
        self.poll()
        found, value = self.local.get(key)
        if found:
            return value, True
        value = self.client.get(key)
        if value is not None:
            self.local.put(key, value)
        return value, False

    def wait_for(self, event: str, key: str, since_ns: int, timeout_s: float) -> int | None:
        deadline = time.perf_counter_ns() + int(timeout_s * 1e9)
        seen = len(self.events)  # events are in time order: skip those before the write, so no scan of the
        while seen and self.events[seen - 1][2] >= since_ns:  # whole history delays the next poll (and the delay)
            seen -= 1
        while time.perf_counter_ns() < deadline:
            self.poll()
            for e, k, at in self.events[seen:]:
                if e == event and k == key and at >= since_ns:
                    return at
            seen = len(self.events)
        return None


@dataclass(frozen=True)
class NotifyParams:
    writes: int = knob(200, min=10, max=2000, help="SETs and DELs whose events are timed (each).")
    expiring: int = knob(50, min=1, max=1000, help="Keys written with a short TTL, whose 'expired' event is timed.")
    ttl_ms: int = knob(100, min=10, max=5000, unit="ms", label="their TTL", help="The short TTL of those keys.")
    missed: int = knob(5, min=1, max=200, help="Keys changed while the subscriber is disconnected.")
    ttl_backstop_s: float = knob(5.0, min=0.5, max=600.0, unit="s", label="TTL backstop",
                                 help="The longest the subscriber serves a local copy.")

    def __post_init__(self) -> None:
        check_ranges(self)


def delivery(reader: NotifiedCache, writer: Any, ns: Any, writes: int) -> list[dict]:
    rows = []
    for i in range(writes):
        key = ns.key(f"notify:{i % 20}")
        for event, act in (("set", lambda: writer.set(key, str(i), ex=600)), ("del", lambda: writer.delete(key))):
            act()
            acked = time.perf_counter_ns()
            at = reader.wait_for(event, key, acked, 1.0)
            rows.append({"event": event, "delay_us": (at - acked) / 1000 if at else float("nan")})
    return rows


def expiry_lag(writer: Any, ns: Any, p: NotifyParams, reader: NotifiedCache, tracker: Any,
               grace_ms: int = 3000) -> list[dict]:
    """Keys with a short TTL: when does each channel hear of the expiry (ms after the TTL ran out)?"""
    keys = [ns.key(f"expiring:{i}") for i in range(p.expiring)]
    due: dict[str, int] = {}
    for key in keys:
        writer.set(key, b"x", px=p.ttl_ms)
        due[key] = time.perf_counter_ns() + p.ttl_ms * 1_000_000
        if tracker is not None:
            tracker.read(key)
    heard_tracking = tracker.dropped_at if tracker is not None else {}
    deadline = time.perf_counter_ns() + (p.ttl_ms + grace_ms) * 1_000_000
    start = len(reader.events)
    while time.perf_counter_ns() < deadline:
        reader.poll()
        if tracker is not None:
            tracker.poll()
        heard = {k for e, k, _ in reader.events[start:] if e == "expired"}
        if len(heard) == len(keys) and (tracker is None or all(k in heard_tracking for k in keys)):
            break
        time.sleep(0.0005)
    notified = {k: at for e, k, at in reader.events[start:] if e == "expired"}
    return [{"key": k.rsplit(":", 1)[-1], "notification_lag_ms": (notified[k] - due[k]) / 1e6 if k in notified else None,
             "tracking_lag_ms": (heard_tracking[k] - due[k]) / 1e6 if k in heard_tracking else None} for k in keys]


def missed_while_away(reader: NotifiedCache, writer: Any, ns: Any, p: NotifyParams, now: list[float]) -> dict:
    keys = [ns.key(f"away:{i}") for i in range(p.missed)]
    for key in keys:
        writer.set(key, b"old", ex=600)
        reader.read(key)
    reader.disconnect()
    for key in keys:
        writer.set(key, b"new", ex=600)
    reader.subscribe()
    before = len(reader.events)
    time.sleep(0.05)
    reader.poll()
    heard = sum(1 for _, k, _ in reader.events[before:] if k in keys)
    stale_reads, stale_for, start = 0, float("nan"), now[0]
    for step in range(1, 13):  # reads every tenth of the backstop, on the virtual clock
        now[0] = start + step * p.ttl_backstop_s / 10
        values = [reader.read(k)[0] for k in keys]
        stale_reads += sum(v == b"old" for v in values)
        if b"old" not in values:
            stale_for = round(now[0] - start, 9)
            break
    return {"changed_while_away": len(keys), "events_heard_after": heard, "stale_reads": stale_reads,
            "stale_for_s": stale_for}


def _p(values: list, unit: str = "µs") -> str:
    got = [v for v in values if v is not None and v == v]
    if not got:
        return "no event received"
    pct = percentiles(got, (50, 99))
    return f"{pct['p50']:,.1f} / {pct['p99']:,.1f} {unit}"


def compare(delays: dict[str, list], never_read: dict[str, int], expiry: list[dict], tracking_ok: bool) -> pd.DataFrame:
    """What each channel guarantees and costs; the first three rows are this run's measurements."""
    t = (lambda text: text) if tracking_ok else (lambda text: "not measured: this server cannot track")
    rows = [
        ("Delivery after the write's acknowledgement, p50 / p99 (this run)", t(_p(delays["tracking"])),
         _p(delays["set"])),
        ("Messages for 20 writes to keys this reader never read (this run)", t(str(never_read["tracking"])),
         str(never_read["notifications"])),
        ("Expiry heard after the TTL ran out, p50 / p99 (this run)",
         t(_p([r["tracking_lag_ms"] for r in expiry], "ms")), _p([r["notification_lag_ms"] for r in expiry], "ms")),
        ("Who is told", "only connections that read the key since it last changed (BCAST: every reader of a prefix)",
         "every subscriber of the channel, about every key on the server"),
        ("Server setup", "none: each connection sends CLIENT TRACKING ON",
         "CONFIG SET notify-keyspace-events for the whole server (CPU on every write)"),
        ("Server memory", "an entry per tracked key (see the tracking-memory experiment); none in BCAST",
         "none beyond Pub/Sub output buffers"),
        ("After a disconnect", "what changed meanwhile is never sent: flush the local cache on reconnect",
         "events are fire and forget (at most once): only the TTL backstop bounds the staleness"),
        ("Redis Cluster", "per node: a reader is told by the node it read from",
         "events are node-specific: subscribe on every node"),
    ]
    return pd.DataFrame(rows, columns=["aspect", "tracking", "notifications"])


def _open_target(backend: Any, client: Any, own: CommandLog, log: Any) -> tuple[Any, Any, str]:
    """(client, private server or None, where): a private server, else the learner's own sandbox."""
    try:
        server = start_private("Keyspace notifications (they need CONFIG SET, never sent to a shared server)")
    except ValueError:
        if backend.kind != "sandbox":
            raise
        return client, None, "your own sandbox (fakeredis sends set and del events, no expired events)"
    return instrument_all(server.client(), own, log), server, f"a private {server.binary.name} the lab started"


@register("nearcache-notifications", title="Keyspace notifications as an invalidation channel",
          summary="On a private server: drop local copies on `__keyevent@0__:set`, `:del`, `:expired`. Delivery delay, the lag "
                  "of expired events, what a subscriber misses while disconnected, and tracking side by side.",
          params=NotifyParams, page=PAGE, measures={
              "set_delay_p50_us": measure("Event after a SET, p50", "µs", headline=True,
                                          help="From the writer's acknowledged SET to the subscriber handling the event."),
              "tracking_delay_p50_us": measure("Tracking invalidation after a SET, p50", "µs", headline=True),
              "expired_lag_p50_ms": measure("Expired event after the TTL ran out, p50", "ms", headline=True,
                                            help="Sent when the server deletes the key (lazily or by its expire "
                                                 "cycle), not when the TTL reaches zero."),
              "events_missed": measure("Events missed while disconnected", "messages", headline=True),
              "stale_for_s": measure("Stale after reconnecting for", "s", headline=True,
                                     help="Virtual seconds until the subscriber's first fresh read: its TTL backstop."),
              "expired_events": measure("Expired events received", "messages"),
              "event": measure("Event", "text"), "delay_us": measure("Delay after the ack", "µs"),
              "key": measure("Key", "text"), "notification_lag_ms": measure("Expired event lag", "ms"),
              "tracking_lag_ms": measure("Tracking invalidation lag", "ms"),
              "changed_while_away": measure("Keys changed while away", "keys"),
              "events_heard_after": measure("Events heard after reconnecting", "messages"),
              "stale_reads": measure("Stale reads after reconnecting", "reads"),
              "aspect": measure("Aspect", "text"), "tracking": measure("Tracking (CLIENT TRACKING)", "text"),
              "notifications": measure("Keyspace notifications", "text"),
          })
def run_notifications(params: NotifyParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                      **_: Any) -> Result:
    from labs.invalidation.nearcache.experiments import stale_window
    from labs.invalidation.nearcache.reader import NearCache

    with traced_run(backend, ns, log) as (backend, client, ns, logs, own):
        target, server, where = _open_target(backend, client, own, log)
        try:
            target.config_set("notify-keyspace-events", FLAGS)
            now = [0.0]
            reader = NotifiedCache(target, LocalCache(100, params.ttl_backstop_s, clock=lambda: now[0]), own)
            try:
                tracker = NearCache(lambda: open_link(RESP3, target, [own, log]), LocalCache(1000, 600))
            except TrackingUnavailable:
                tracker = None
            try:
                sets = delivery(reader, target, ns, params.writes)
                tracking = ([r["window_us"] for r in stale_window(tracker, target, ns.key("tracked"), min(params.writes, 100))]
                            if tracker else [])
                never = [ns.key(f"never-read:{i}") for i in range(20)]
                reader.poll()
                heard_before = (tracker.link.keys_heard if tracker else 0, len(reader.events))
                for key in never:
                    target.set(key, b"1", ex=60)
                time.sleep(0.05)
                reader.poll()
                if tracker:
                    tracker.poll()
                never_read = {"tracking": tracker.link.keys_heard - heard_before[0] if tracker else 0,
                              "notifications": sum(k in never for _, k, _ in reader.events[heard_before[1]:])}
                expiry = expiry_lag(target, ns, params, reader, tracker, 3000 if server else 200)
                away = missed_while_away(reader, target, ns, params, now)
            finally:
                reader.disconnect()
                if tracker:
                    tracker.close()
        finally:
            if server is not None:
                server.stop()
            else:
                target.config_set("notify-keyspace-events", "")
    delays = pd.DataFrame(sets)
    expired = pd.DataFrame(expiry)
    table = compare({"tracking": tracking, "set": list(delays[delays.event == "set"].delay_us)},
                    never_read, expiry, tracker is not None)
    lag = [v for v in expired.notification_lag_ms if v is not None and v == v]
    metrics = {"set_delay_p50_us": percentiles(delays[delays.event == "set"].delay_us.dropna(), (50,))["p50"],
               "tracking_delay_p50_us": percentiles([t for t in tracking if t == t], (50,))["p50"],
               "expired_lag_p50_ms": percentiles(lag, (50,))["p50"], "expired_events": len(lag),
               "events_missed": away["changed_while_away"] - away["events_heard_after"],
               "stale_for_s": away["stale_for_s"]}
    notes = [f"Measured on {where}: CONFIG SET notify-keyspace-events {FLAGS} (keyevent channels; string, generic "
             "and expired events).",
             "Times are real; the reads after the reconnect are spaced on a virtual clock that the TTL backstop reads."]
    if server is None:
        notes.append("fakeredis sends no 'expired' events: the expiry row has none, and tracking was not measured.")
    return Result(metrics, {"compare": table, "delivery": delays, "expiry": expired, "away": pd.DataFrame([away]),
                            "commands": commands_frame(own, ns)}, notes)
