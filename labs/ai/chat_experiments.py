"""Chat-memory experiments: where to load the context from, and what goes wrong without each piece.

* ``chat-context`` — per turn, load the context from Redis (``LRANGE``, MEASURED) and from a primary DB
  (a ``messages`` table in SQLite: query time MEASURED + network SIMULATED with :mod:`labs.core.db`'s model).
* ``chat-without-ltrim`` — the same conversation with and without ``LTRIM`` on the selected backend:
  the list, the input tokens (APPROXIMATE, see :mod:`labs.ai.chat`) and the $ (SIMULATED price) per turn.
* ``chat-without-expire`` — K conversations a day that nobody comes back to, over a week, with and
  without ``EXPIRE``: memory (MEASURED with ``MEMORY USAGE`` where the server allows it, else the TTL
  lab's memory model) and $ (the TTL lab's illustrative node prices). Little's law: with a TTL the
  number of live conversations levels off at K × TTL; without, it grows by K every day.
* ``chat-rpush-ttl`` — MEASURED on the backend: ``RPUSH`` alone leaves the TTL counting down
  (redis.io EXPIRE: pushing onto a list "will leave the timeout untouched"); ``add_message`` resets it.
"""
from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.ai import chat
from labs.core.backends import open_backend_for
from labs.core.db import LATENCY_PRESETS
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.metrics import percentiles
from labs.core.namespace import Namespace, new_session_id
from labs.ttl.cost import (GIB, HOURS_PER_MONTH, SERVERLESS_MIN_GB, SERVERLESS_USD_PER_GB_HOUR, load_prices, monthly_cost,
                           node_for)
from labs.ttl.memory import DEFAULT_MODEL, MemoryModel

PAGE = chat.PAGE
# Bytes a list adds per element beyond its payload (listpack/quicklist entry header and back-length).
# Checked against MEMORY USAGE of 20 × 300-byte messages: model within ~2 % on valkey 9.1 and ~12 % over on
# Redis 7.0 (whose string-fitted per-byte factor, 1.12, overstates list payloads).
LIST_ENTRY_OVERHEAD_BYTES = 8
USD_PER_MILLION_INPUT_DEFAULT = 2.50  # ILLUSTRATIVE: GPT-4o input list price in 2025 (openai.com/api/pricing)


def _ns(ns: Namespace | None) -> Namespace:
    return (ns or Namespace(new_session_id())).for_lab(chat.LAB)


def _run_key(ns: Namespace, what: str) -> str:
    return ns.key(f"exp:{what}:{secrets.token_hex(3)}")


def _ms(ns: int) -> float:
    return ns / 1e6


# --------------------------------------------------------------------------- chat-context

@dataclass(frozen=True)
class ContextParams:
    turns: int = knob(30, min=1, max=500, label="turns", help="User turns in the conversation (each adds a "
                      "user message and a simulated assistant reply).")
    max_messages: int = knob(20, min=1, max=500, label="N (keep last)", help="LTRIM key -N -1, and LIMIT N in SQL.")
    words: int = knob(25, min=1, max=400, label="words per message", help="Length of each synthetic user message.")
    db_latency: str = knob("remote Postgres, same region", choices=tuple(LATENCY_PRESETS), label="primary DB",
                           help="The SIMULATED network and query latency added to each SQLite read.")
    other_conversations: int = knob(200, min=0, max=5_000, label="other conversations",
                                    help="Other users' conversations already in the messages table (20 messages each).")
    seed: int = knob(7, min=0, max=2**31 - 1, help="Seed of the synthetic messages and the simulated latency.")

    def __post_init__(self) -> None:
        check_ranges(self)


CONTEXT_MEASURES = {
    "redis_p50_ms": measure("Redis LRANGE, median", "ms", headline=True, help="Measured."),
    "sqlite_p50_ms": measure("SQLite query, median", "ms", headline=True, help="Measured, local file."),
    "db_network_p50_ms_simulated": measure("Database network, median", "ms", help="SIMULATED."),
    "db_total_p50_ms": measure("Primary database in total, median", "ms", headline=True,
                               help="Measured SQLite + simulated network."),
    "redis_faster_by": measure("Redis faster by", "×", headline=True, help="Database median ÷ Redis median."),
    "context_messages_at_end": measure("Messages in the context at the end", "messages", headline=True),
    "same_context_every_turn": measure("Same context from both", "yes/no", headline=True,
                                       help="Redis and the database returned the same messages every turn."),
    "turn": measure("Turn", "rank"), "messages": measure("Messages", "messages"), "tokens": measure("Tokens", "tokens"),
    "redis_ms": measure("Redis", "ms"), "sqlite_ms": measure("SQLite", "ms"),
    "network_ms_simulated": measure("Network (simulated)", "ms"), "db_total_ms": measure("Database in total", "ms"),
    "source": measure("Source", "text"), "ms": measure("Time", "ms"),
}


@register("chat-context", title="Load the context: primary DB or Redis",
          summary="Every turn, read the last N messages from a SQLite messages table and from a Redis list; "
                  "time both.", params=ContextParams, page=PAGE, measures=CONTEXT_MEASURES)
def run_context(params: ContextParams, *, backend: Any = None, ns: Any = None,
                on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    """Redis and SQLite time MEASURED here; the DB's network is SIMULATED (labs.core.db.LatencyModel), apart."""
    rng = random.Random(params.seed)
    preset = LATENCY_PRESETS[params.db_latency]
    backend, opened = open_backend_for(backend)
    table = chat.MessageTable(preset.model, random.Random(params.seed + 1))
    key = _run_key(_ns(ns), "context")
    rows, same = [], True
    try:
        table.fill(params.other_conversations, 20, random.Random(params.seed + 2), params.words)
        client = backend.client
        for turn in range(1, params.turns + 1):
            text = chat.user_message(turn, params.words, rng)
            chat.add_message(client, key, "user", text, max_messages=params.max_messages)
            table.append("me", "user", text)
            from_redis = chat.timed_load_context(client, key)
            from_db = table.load_context("me", params.max_messages)
            same &= from_redis.value == from_db.value
            context = [{"role": "system", "content": chat.SYSTEM_PROMPT}] + from_redis.value
            reply = chat.simulated_reply(context, text)
            chat.add_message(client, key, "assistant", reply, max_messages=params.max_messages)
            table.append("me", "assistant", reply)
            rows.append({"turn": turn, "messages": len(from_redis.value), "tokens": chat.context_tokens(context),
                         "redis_ms": _ms(from_redis.real_ns), "sqlite_ms": _ms(from_db.real_ns),
                         "network_ms_simulated": _ms(from_db.simulated_ns), "db_total_ms": _ms(from_db.total_ns)})
            if on_progress:
                on_progress(turn / params.turns)
        client.unlink(key)
    finally:
        table.close()
        for b in opened:
            b.close()
    frame = pd.DataFrame(rows)
    long = frame.melt(id_vars="turn", value_vars=["redis_ms", "sqlite_ms", "db_total_ms"], var_name="source",
                      value_name="ms")
    long["source"] = long.source.map({"redis_ms": "Redis LRANGE (measured)", "sqlite_ms": "SQLite query (measured)",
                                      "db_total_ms": "SQLite + simulated network"})
    redis_p50 = percentiles(frame.redis_ms)["p50"]
    db_p50 = percentiles(frame.db_total_ms)["p50"]
    metrics = {"redis_p50_ms": redis_p50, "sqlite_p50_ms": percentiles(frame.sqlite_ms)["p50"],
               "db_network_p50_ms_simulated": percentiles(frame.network_ms_simulated)["p50"],
               "db_total_p50_ms": db_p50, "redis_faster_by": db_p50 / redis_p50 if redis_p50 else float("nan"),
               "context_messages_at_end": int(frame.messages.iloc[-1]), "same_context_every_turn": same}
    notes = [f"MEASURED on the {backend.kind} backend ({backend.caps.server_label}): LRANGE round trips, and the "
             "SQLite query (an in-memory messages table with an index on conversation and sequence, "
             f"{table_rows(params):,} rows) in this process.",
             f"SIMULATED: the primary DB's network and server time, '{params.db_latency}' — {preset.model.describe()}. "
             "Nothing sleeps; the simulated part is added to the measured SQLite time and shown apart.",
             "A local SQLite read is about as fast as a Redis round trip (or faster): Redis pays off here only because "
             "a real primary DB sits across a network. Switch the primary DB to 'local SQLite' to see the crossover."]
    return Result(metrics, {"per_turn": frame, "latency": long}, notes)


def table_rows(params: ContextParams) -> int:
    return params.other_conversations * 20 + 2 * params.turns


# --------------------------------------------------------------------------- chat-without-ltrim

@dataclass(frozen=True)
class LtrimParams:
    turns: int = knob(60, min=1, max=1_000, label="turns", help="User turns (each adds 2 messages).")
    max_messages: int = knob(20, min=1, max=500, label="N (keep last)", help="LTRIM key -N -1 in the trimmed variant.")
    words: int = knob(40, min=1, max=400, label="words per message", help="Length of each synthetic user message.")
    usd_per_million_input_tokens: float = knob(USD_PER_MILLION_INPUT_DEFAULT, min=0.0, max=1_000.0, unit="$",
                                               label="$ per million input tokens",
                                               help="SIMULATED price of input tokens, quoted per million as providers "
                                                    "do ($2.50 per million = $0.0025 per 1k); illustrative.")
    conversations_per_day: int = knob(1_000, min=1, max=10_000_000, label="conversations a day",
                                      help="To project the monthly bill (30 days) from one conversation's cost.")
    seed: int = knob(7, min=0, max=2**31 - 1, help="Seed of the synthetic messages.")

    def __post_init__(self) -> None:
        check_ranges(self)


LTRIM_MEASURES = {
    "tokens_last_turn_with_ltrim": measure("Tokens sent on the last turn, with LTRIM", "tokens", headline=True),
    "tokens_last_turn_without_ltrim": measure("Tokens sent on the last turn, without", "tokens", headline=True),
    "usd_per_conversation_with_ltrim": measure("Cost per conversation, with LTRIM", "$", fmt=",.4f",
                                               help="SIMULATED input-token price."),
    "usd_per_conversation_without_ltrim": measure("Cost per conversation, without", "$", fmt=",.4f"),
    "cost_ratio": measure("Cost without LTRIM ÷ with", "×", headline=True),
    "usd_per_month_with_ltrim": measure("Monthly bill, with LTRIM", "$/month", headline=True,
                                        help="Cost per conversation × conversations a day × 30 (simulated prices)."),
    "usd_per_month_without_ltrim": measure("Monthly bill, without", "$/month", headline=True),
    "llen_with_ltrim": measure("List length at the end, with LTRIM", "messages"),
    "llen_without_ltrim": measure("List length at the end, without", "messages"),
    "turn": measure("Turn", "rank"), "variant": measure("Variant", "text"),
    "messages_sent": measure("Messages sent", "messages"), "tokens": measure("Tokens", "tokens"),
    "cost_usd": measure("Cost", "$", fmt=",.4f"), "lrange_ms": measure("LRANGE", "ms", help="Measured."),
    "memory_bytes": measure("Memory of the list", "bytes"), "cumulative_cost_usd": measure("Cost so far", "$", fmt=",.4f"),
}


@register("chat-without-ltrim", title="Without LTRIM, the context grows every turn",
          summary="The same conversation with and without LTRIM: messages, input tokens and $ per turn.",
          params=LtrimParams, page=PAGE, measures=LTRIM_MEASURES)
def run_without_ltrim(params: LtrimParams, *, backend: Any = None, ns: Any = None,
                      on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    """Lists, LRANGE times and MEMORY USAGE MEASURED on the backend; tokens APPROXIMATE; price SIMULATED."""
    backend, opened = open_backend_for(backend)
    lab_ns = _ns(ns)
    keys = {"with LTRIM": _run_key(lab_ns, "trimmed"), "without LTRIM": _run_key(lab_ns, "untrimmed")}
    memory = backend.caps.memory_usage
    rows = []
    try:
        client = backend.client
        rng = random.Random(params.seed)
        for turn in range(1, params.turns + 1):
            text = chat.user_message(turn, params.words, rng)
            for variant, key in keys.items():
                if variant == "with LTRIM":
                    chat.add_message(client, key, "user", text, max_messages=params.max_messages)
                else:
                    chat.add_message_without_ltrim(client, key, "user", text)
                loaded = chat.timed_load_context(client, key)
                context = [{"role": "system", "content": chat.SYSTEM_PROMPT}] + loaded.value
                tokens = chat.context_tokens(context)
                reply = chat.simulated_reply(context, text)
                if variant == "with LTRIM":
                    chat.add_message(client, key, "assistant", reply, max_messages=params.max_messages)
                else:
                    chat.add_message_without_ltrim(client, key, "assistant", reply)
                rows.append({"turn": turn, "variant": variant, "messages_sent": len(loaded.value), "tokens": tokens,
                             "cost_usd": chat.input_cost_usd(tokens, params.usd_per_million_input_tokens),
                             "lrange_ms": _ms(loaded.real_ns),
                             "memory_bytes": int(client.memory_usage(key, samples=0)) if memory else np.nan})
            if on_progress:
                on_progress(turn / params.turns)
        kept = {v: int(client.llen(k)) for v, k in keys.items()}
        client.unlink(*keys.values())
    finally:
        for b in opened:
            b.close()
    frame = pd.DataFrame(rows)
    frame["cumulative_cost_usd"] = frame.groupby("variant").cost_usd.cumsum()
    last = frame.groupby("variant").last()
    per_conv = {v: float(frame[frame.variant == v].cost_usd.sum()) for v in keys}
    month = {v: c * params.conversations_per_day * 30 for v, c in per_conv.items()}
    metrics = {"tokens_last_turn_with_ltrim": int(last.loc["with LTRIM", "tokens"]),
               "tokens_last_turn_without_ltrim": int(last.loc["without LTRIM", "tokens"]),
               "usd_per_conversation_with_ltrim": per_conv["with LTRIM"],
               "usd_per_conversation_without_ltrim": per_conv["without LTRIM"],
               "cost_ratio": per_conv["without LTRIM"] / per_conv["with LTRIM"] if per_conv["with LTRIM"] else float("nan"),
               "usd_per_month_with_ltrim": month["with LTRIM"], "usd_per_month_without_ltrim": month["without LTRIM"],
               "llen_with_ltrim": kept["with LTRIM"], "llen_without_ltrim": kept["without LTRIM"]}
    if memory:
        metrics["memory_bytes_with_ltrim"] = int(last.loc["with LTRIM", "memory_bytes"])
        metrics["memory_bytes_without_ltrim"] = int(last.loc["without LTRIM", "memory_bytes"])
    notes = [f"MEASURED on the {backend.kind} backend ({backend.caps.server_label}): both lists, their LRANGE "
             "round trips" + (" and MEMORY USAGE" if memory else " (this backend has no MEMORY USAGE)") + ".",
             "APPROXIMATE tokens: ceil(characters / 4) per message (OpenAI's rule of thumb for English) + 3 per "
             "message + 3 for the reply; the system prompt is counted every turn.",
             f"SIMULATED price: ${params.usd_per_million_input_tokens:g} per million input tokens "
             f"(${params.usd_per_million_input_tokens / 1000:g} per 1,000; illustrative), input only; "
             f"the monthly figure assumes {params.conversations_per_day:,} such conversations a day for 30 days.",
             "Without LTRIM the input grows by two messages a turn, so the cost of a conversation grows with the "
             "square of its length; with LTRIM it levels off once the list holds N messages — and the model "
             "forgets what was said before them (see the assistant's quote of your oldest message)."]
    return Result(metrics, {"per_turn": frame}, notes)


# --------------------------------------------------------------------------- chat-without-expire

@dataclass(frozen=True)
class ExpireParams:
    conversations_per_day: int = knob(100_000, min=1, max=100_000_000, label="conversations a day",
                                      help="New conversations a day; nobody comes back to them afterwards.")
    messages: int = knob(20, min=1, max=500, label="messages kept",
                         help="Messages each conversation keeps (its N).")
    message_bytes: int = knob(300, min=10, max=100_000, unit="bytes", label="message size",
                              help="Bytes of one stored message (JSON with role and content).")
    ttl_s: int = knob(86_400, min=60, max=86_400, unit="s", label="TTL", help="EXPIRE on each append (the lease).")
    days: int = knob(7, min=1, max=90, label="days", help="How long to simulate.")
    reserved_fraction: float = knob(0.25, min=0.0, max=0.9, label="reserved memory",
                                    help="Share of a node's memory kept for overhead (ElastiCache default 25 %).")

    def __post_init__(self) -> None:
        check_ranges(self)


def conversation_bytes(model: MemoryModel, key_bytes: int, messages: int, message_bytes: int, ttl: bool) -> float:
    """MODELLED bytes of one conversation list: the TTL lab's per-key model with the list's payload as value."""
    return model.bytes_per_key(key_bytes, messages * (message_bytes + LIST_ENTRY_OVERHEAD_BYTES), ttl)


def measure_conversation_bytes(client: Any, key: str, messages: int, message_bytes: int) -> int:
    """MEMORY USAGE of a real conversation of ``messages`` × ``message_bytes`` (written with add_message)."""
    filler = "x" * max(1, message_bytes - len(chat.encode_message("user", "x")) + 1)
    for i in range(messages):
        chat.add_message(client, key, ("user", "assistant")[i % 2], filler, max_messages=messages, ttl_seconds=600)
    try:
        return int(client.memory_usage(key, samples=0))
    finally:
        client.unlink(key)


def live_conversations(per_day: float, hours: np.ndarray, ttl_s: float | None) -> np.ndarray:
    """Conversations still in RAM at each hour: arrivals × min(age, TTL) (Little's law); all of them without a TTL."""
    alive_h = hours if ttl_s is None else np.minimum(hours, ttl_s / 3600)
    return per_day / 24 * alive_h


EXPIRE_MEASURES = {
    "bytes_per_conversation": measure("Memory per conversation", "bytes/conversation"),
    "bytes_source": measure("Memory per conversation from", "text"),
    "conversations_with_expire": measure("Conversations held, with EXPIRE", "conversations"),
    "gb_with_expire": measure("Memory, with EXPIRE", "GB", headline=True, help="Settles at rate × TTL × bytes."),
    "node_with_expire": measure("Node, with EXPIRE", "text"),
    "usd_per_month_with_expire": measure("Node cost, with EXPIRE", "$/month", headline=True, help="Illustrative prices."),
    "serverless_usd_with_expire": measure("Serverless storage, with EXPIRE", "$/month"),
    "conversations_without_expire": measure("Conversations held, without EXPIRE", "conversations"),
    "gb_without_expire": measure("Memory at the end, without EXPIRE", "GB", headline=True, help="And still growing."),
    "node_without_expire": measure("Node, without EXPIRE", "text"),
    "usd_per_month_without_expire": measure("Node cost, without EXPIRE", "$/month", headline=True),
    "serverless_usd_without_expire": measure("Serverless storage, without EXPIRE", "$/month"),
    "growth_gb_per_day_without_expire": measure("Growth without EXPIRE", "GB/day", headline=True),
    "hour": measure("Hour", "h"), "day": measure("Day", "days"), "variant": measure("Variant", "text"),
    "conversations": measure("Conversations held", "conversations"), "gb": measure("Memory", "GB"),
    "node_type": measure("Node", "text"), "memory_gib": measure("Memory", "GiB"), "usd_per_hour": measure("Price", "$/h"),
    "family": measure("Family", "text"), "as_of": measure("Price as of", "text"), "source": measure("Source", "text"),
    "usable_gib": measure("Usable memory", "GiB"), "usd_per_month": measure("Price", "$/month"),
    "fits_with_expire": measure("Fits with EXPIRE", "yes/no"), "fits_without_expire": measure("Fits without EXPIRE", "yes/no"),
}


@register("chat-without-expire", title="Without EXPIRE, abandoned chats stay in RAM",
          summary="K conversations a day that nobody resumes: memory and $ over a week with and without EXPIRE.",
          params=ExpireParams, page=PAGE, measures=EXPIRE_MEASURES)
def run_without_expire(params: ExpireParams, *, backend: Any = None, ns: Any = None,
                       model: MemoryModel = DEFAULT_MODEL, prices: pd.DataFrame | None = None, **_: Any) -> Result:
    """SIMULATED on a virtual clock (no key lives a week); bytes per conversation MEASURED when the server allows."""
    prices = load_prices() if prices is None else prices
    lab_ns = _ns(ns)
    key = lab_ns.key("conv:000000")
    key_bytes = len(key.encode())
    backend, opened = open_backend_for(backend)
    try:
        measured = None
        if backend.caps.memory_usage:
            measured = measure_conversation_bytes(backend.client, _run_key(lab_ns, "size"), params.messages,
                                                  params.message_bytes)
    finally:
        for b in opened:
            b.close()
    modelled = conversation_bytes(model, key_bytes, params.messages, params.message_bytes, ttl=True)
    with_ttl = float(measured) if measured is not None else modelled
    # without EXPIRE the key has no entry in the server's expires dictionary
    without_ttl = with_ttl - model.ttl_entry_bytes
    hours = np.arange(0, params.days * 24 + 1, dtype=float)
    frames = []
    for label, ttl, per_conv in (("with EXPIRE", params.ttl_s, with_ttl), ("without EXPIRE", None, without_ttl)):
        n = live_conversations(params.conversations_per_day, hours, ttl)
        frames.append(pd.DataFrame({"hour": hours, "day": hours / 24, "variant": label, "conversations": n,
                                    "gb": n * per_conv / 1e9}))
    timeline = pd.concat(frames, ignore_index=True)
    end = timeline[timeline.hour == hours[-1]].set_index("variant")
    metrics: dict[str, Any] = {"bytes_per_conversation": with_ttl,
                               "bytes_source": "MEMORY USAGE (measured)" if measured is not None else "memory model"}
    for label, short in (("with EXPIRE", "with_expire"), ("without EXPIRE", "without_expire")):
        gb = float(end.loc[label, "gb"])
        node = node_for(gb * 1e9, prices, params.reserved_fraction)
        billed_gb = np.maximum(timeline[timeline.variant == label].gb.to_numpy(), SERVERLESS_MIN_GB["Redis OSS"])
        gb_hours = float(np.trapezoid(billed_gb, hours))
        metrics[f"conversations_{short}"] = float(end.loc[label, "conversations"])
        metrics[f"gb_{short}"] = gb
        metrics[f"node_{short}"] = str(node["node_type"]) if node is not None else "none fits"
        metrics[f"usd_per_month_{short}"] = monthly_cost(node) if node is not None else float("nan")
        metrics[f"serverless_usd_{short}"] = gb_hours * SERVERLESS_USD_PER_GB_HOUR["Redis OSS"]
    metrics["growth_gb_per_day_without_expire"] = params.conversations_per_day * without_ttl / 1e9
    nodes = prices.assign(usable_gib=prices.memory_gib * (1 - params.reserved_fraction),
                          usd_per_month=prices.usd_per_hour * HOURS_PER_MONTH)
    nodes["fits_with_expire"] = nodes.usable_gib * GIB >= metrics["gb_with_expire"] * 1e9
    nodes["fits_without_expire"] = nodes.usable_gib * GIB >= metrics["gb_without_expire"] * 1e9
    source = (f"MEASURED with MEMORY USAGE on the {backend.kind} backend ({backend.caps.server_label}): one real "
              f"conversation of {params.messages} × {params.message_bytes} B, deleted right after."
              if measured is not None else
              f"MODELLED (this backend has no MEMORY USAGE): the TTL lab's memory model ({model.source}) with the "
              f"list's payload as value and {LIST_ENTRY_OVERHEAD_BYTES} B per message of list overhead "
              f"(model {modelled:,.0f} B).")
    notes = [f"SIMULATED on a virtual clock over {params.days} days: no key is kept that long. Each conversation is "
             "written at once and never resumed; with EXPIRE its list is deleted one TTL after its last message "
             "(live conversations level off at K × TTL, Little's law), without EXPIRE it stays until someone deletes it.",
             "Bytes per conversation: " + source,
             f"$: the TTL lab's ILLUSTRATIVE on-demand node prices (one node, {params.reserved_fraction:.0%} reserved) and "
             f"ElastiCache Serverless storage at {SERVERLESS_USD_PER_GB_HOUR['Redis OSS']} $/GB-hour for the "
             f"{params.days}-day window (storage only, at least {SERVERLESS_MIN_GB['Redis OSS']:g} GB metered; check the AWS "
             "pricing page)."]
    return Result(metrics, {"timeline": timeline, "nodes": nodes}, notes)


# --------------------------------------------------------------------------- chat-rpush-ttl

@dataclass(frozen=True)
class RpushTTLParams:
    ttl_s: int = knob(60, min=2, max=3_600, unit="s", label="TTL", help="The lease add_message sets.")
    wait_ms: int = knob(300, min=20, max=3_000, unit="ms", label="wait",
                        help="Real time waited between steps, so the countdown shows.")

    def __post_init__(self) -> None:
        check_ranges(self)


RPUSH_TTL_MEASURES = {
    "pttl_start_ms": measure("PTTL after RPUSH + LTRIM + EXPIRE", "ms"),
    "pttl_before_rpush_ms": measure("PTTL before a bare RPUSH", "ms"),
    "pttl_after_rpush_ms": measure("PTTL after a bare RPUSH", "ms", headline=True),
    "rpush_refreshed_ttl": measure("RPUSH renewed the lease", "yes/no", headline=True),
    "pttl_before_add_message_ms": measure("PTTL before RPUSH + LTRIM + EXPIRE", "ms"),
    "pttl_after_add_message_ms": measure("PTTL after RPUSH + LTRIM + EXPIRE", "ms", headline=True),
    "add_message_refreshed_ttl": measure("RPUSH + LTRIM + EXPIRE renewed the lease", "yes/no", headline=True),
    "lost_by_rpush_only_ms": measure("Lease lost by RPUSH alone", "ms", headline=True),
    "step": measure("Step", "text"), "pttl_ms": measure("PTTL", "ms"), "lease_used_ms": measure("Lease used", "ms"),
    "llen": measure("LLEN", "messages"), "redis.io says": measure("What redis.io says", "text"),
}


@register("chat-rpush-ttl", title="RPUSH alone does not refresh a TTL",
          summary="Set a lease with add_message, wait, RPUSH without EXPIRE, wait, then add_message: PTTL after each.",
          params=RpushTTLParams, page=PAGE, measures=RPUSH_TTL_MEASURES)
def run_rpush_ttl(params: RpushTTLParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                  **_: Any) -> Result:
    """MEASURED on the backend in real time (two short waits)."""
    from labs.core.recipe import commands_frame, transcript

    backend, opened = open_backend_for(backend)
    lab_ns = _ns(ns)
    key = _run_key(lab_ns, "ttl")
    rows = []
    try:
        with transcript(backend.client, log) as (client, own):
            def step(name: str, expected: str) -> int:
                pttl = int(client.pttl(key))
                rows.append({"step": name, "pttl_ms": pttl, "lease_used_ms": params.ttl_s * 1000 - pttl,
                             "llen": int(client.llen(key)), "redis.io says": expected})
                return pttl

            chat.add_message(client, key, "user", "hello", ttl_seconds=params.ttl_s)
            start = step("add_message (RPUSH + LTRIM + EXPIRE)", f"lease of {params.ttl_s} s")
            time.sleep(params.wait_ms / 1000)
            before = step(f"wait {params.wait_ms} ms", "the lease counts down")
            client.rpush(key, chat.encode_message("assistant", "hi"))
            after_rpush = step("RPUSH alone", "untouched: still counting down")
            time.sleep(params.wait_ms / 1000)
            before_add = step(f"wait {params.wait_ms} ms", "the lease counts down")
            chat.add_message(client, key, "user", "still there?", ttl_seconds=params.ttl_s)
            after_add = step("add_message again", f"reset to {params.ttl_s} s")
            client.unlink(key)
    finally:
        for b in opened:
            b.close()
    metrics = {"pttl_start_ms": start, "pttl_before_rpush_ms": before, "pttl_after_rpush_ms": after_rpush,
               "rpush_refreshed_ttl": after_rpush > before, "pttl_before_add_message_ms": before_add,
               "pttl_after_add_message_ms": after_add, "add_message_refreshed_ttl": after_add > before_add,
               "lost_by_rpush_only_ms": start - before_add}
    notes = [f"MEASURED on the {backend.kind} backend ({backend.caps.server_label}) in real time; PTTL is in ms.",
             "redis.io EXPIRE: the timeout is cleared only by commands that delete or overwrite the key (DEL, SET, "
             "GETSET, *STORE); pushing onto a list leaves it untouched — it neither clears nor restarts it. So a chat "
             "that appends with RPUSH alone expires TTL seconds after its FIRST message, mid-conversation."]
    return Result(metrics, {"steps": pd.DataFrame(rows), "commands": commands_frame(own, lab_ns)}, notes)
