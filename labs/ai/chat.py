"""Chat memory in a Redis list: the last N messages of a conversation, trimmed on every append, with a TTL.

LLMs are stateless: every request carries the conversation so far (the *context window*). The course's
recipe keeps that history in one list per conversation and appends with ONE pipeline of three commands:

* ``RPUSH key message`` — append the newest message at the tail;
* ``LTRIM key -N -1`` — keep only the last N (negative indexes count from the tail; redis.io LTRIM:
  "a common use of LTRIM is together with LPUSH/RPUSH", which keeps a capped list in O(1) amortised);
* ``EXPIRE key ttl`` — restart the lease, because ``RPUSH`` alone never touches a TTL (redis.io EXPIRE:
  "the timeout will only be cleared by commands that delete or overwrite the contents of the key …
  pushing a new value into a list with LPUSH … will leave the timeout untouched").

:func:`context_tokens` is an APPROXIMATE token counter: ceil(characters / 4) per message, OpenAI's rule
of thumb for English text ("one token generally corresponds to ~4 characters", OpenAI help center, "What
are tokens and how to count them?"), plus 3 tokens of chat framing per message and 3 to prime the reply
(OpenAI cookbook, "How to count tokens with tiktoken"). Real tokenizers differ, especially on code and
non-English text. :func:`simulated_reply` is a SIMULATED assistant: deterministic text, no model.

:class:`MessageTable` is the primary-DB alternative: a ``messages`` table in a private in-memory SQLite
(sqlite-utils), read with ``ORDER BY seq DESC LIMIT N``; its time is measured and a SIMULATED network
(:class:`labs.core.db.LatencyModel`) is drawn per query and reported apart.
"""
from __future__ import annotations

import json
import math
import random
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from labs.core.db import LatencyModel
from labs.core.namespace import check_ttl

LAB = "chat"
PAGE = "app_pages/ai_cache.py"
DEFAULT_MAX_MESSAGES = 20
DEFAULT_TTL_S = 86_400
MAX_MESSAGES_LIMIT = 10_000
CHARS_PER_TOKEN = 4          # OpenAI's rule of thumb for English text
TOKENS_PER_MESSAGE = 3       # chat framing per message (OpenAI cookbook)
TOKENS_REPLY_PRIMING = 3     # every reply is primed with the assistant's header (OpenAI cookbook)
ROLES = ("system", "user", "assistant")
SYSTEM_PROMPT = "You are a helpful assistant for the Redis caching course."


# --------------------------------------------------------------------------- the recipe

def check_max_messages(n: Any) -> int:
    """N for ``LTRIM key -N -1``: a whole number ≥ 1 (``LTRIM key -0 -1`` would keep everything)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"max_messages must be a whole number, got {n!r}.")
    if not 1 <= n <= MAX_MESSAGES_LIMIT:
        raise ValueError(f"max_messages must be between 1 and {MAX_MESSAGES_LIMIT:,}, got {n}: with 0, "
                         "LTRIM key -0 -1 is LTRIM key 0 -1, which keeps the whole list.")
    return n


def encode_message(role: str, content: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}.")
    if not isinstance(content, str) or not content.strip():
        raise ValueError("A message needs some text.")
    return json.dumps({"role": role, "content": content}, ensure_ascii=False)


def decode_message(raw: bytes | str) -> dict[str, str]:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    data = json.loads(text)
    return {"role": str(data["role"]), "content": str(data["content"])}


def add_message(client: Any, key: str, role: str, content: str, *, max_messages: int = DEFAULT_MAX_MESSAGES,
                ttl_seconds: int = DEFAULT_TTL_S) -> int:
    """Append one message: ONE pipeline of ``RPUSH``, ``LTRIM key -N -1``, ``EXPIRE key ttl``.

    Returns the list length after the trim (min(length after RPUSH, N)). The TTL is the lab's lease:
    1 s … 24 h (86,400 s, the recipe's default, is the cap).
    """
    n = check_max_messages(max_messages)
    ttl = check_ttl(ttl_seconds)
    pipe = client.pipeline(transaction=True)  # MULTI/EXEC: no reader sees the list untrimmed
    pipe.rpush(key, encode_message(role, content))
    pipe.ltrim(key, -n, -1)
    pipe.expire(key, ttl)
    pushed, _trimmed, _expired = pipe.execute()
    return min(int(pushed), n)


def add_message_without_ltrim(client: Any, key: str, role: str, content: str, *,
                              ttl_seconds: int = DEFAULT_TTL_S) -> int:
    """The broken variant for the experiment: ``RPUSH`` + ``EXPIRE``, no trim (the list grows forever)."""
    pipe = client.pipeline(transaction=True)
    pipe.rpush(key, encode_message(role, content))
    pipe.expire(key, check_ttl(ttl_seconds))
    pushed, _ = pipe.execute()
    return int(pushed)


def load_context(client: Any, key: str, *, system_prompt: str | None = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """The messages that would be sent to the model: the system prompt, then ``LRANGE key 0 -1``."""
    history = [decode_message(m) for m in client.lrange(key, 0, -1)]
    return ([{"role": "system", "content": system_prompt}] if system_prompt else []) + history


# --------------------------------------------------------------------------- tokens and cost

def approx_tokens(text: str) -> int:
    """APPROXIMATE tokens of one text: ceil(characters / 4), OpenAI's rule of thumb for English."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def context_tokens(messages: list[dict[str, str]]) -> int:
    """APPROXIMATE input tokens of a chat request: content tokens + 3 per message + 3 reply priming."""
    if not messages:
        return 0
    return sum(approx_tokens(m["content"]) + TOKENS_PER_MESSAGE for m in messages) + TOKENS_REPLY_PRIMING


def input_cost_usd(tokens: int, usd_per_million_tokens: float) -> float:
    """$ for ``tokens`` input tokens at a price quoted per million tokens (as providers quote it)."""
    return tokens / 1_000_000 * usd_per_million_tokens


# --------------------------------------------------------------------------- the simulated assistant

def _clip(text: str, words: int = 8) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def simulated_reply(context: list[dict[str, str]], user_text: str) -> str:
    """A SIMULATED assistant (no model): a deterministic reply that shows what it can still "remember".

    It names how many messages it was sent and quotes the oldest user message in its context — once
    LTRIM has dropped the start of the conversation, that quote moves forward: the model forgets.
    """
    history = [m for m in context if m["role"] != "system"]
    users = [m["content"] for m in history if m["role"] == "user"]
    oldest = users[0] if users else user_text
    return (f"(simulated assistant) I was sent {len(history)} message(s) of our conversation, about "
            f"{context_tokens(context)} tokens with the system prompt. The oldest thing you said that I can still "
            f"see: “{_clip(oldest)}”. You just said: “{_clip(user_text)}”.")


_TOPICS = ("my order", "the invoice", "two-factor login", "a refund", "the delivery date", "my password",
           "the premium plan", "an API key", "the shipping address", "a discount code")
_VERBS = ("Can you help with", "I have a question about", "What happens to", "Please explain",
          "I still do not understand", "Tell me more about")


def user_message(turn: int, words: int, rng: random.Random) -> str:
    """A deterministic synthetic user message of about ``words`` words (for the experiments)."""
    head = f"Turn {turn}: {rng.choice(_VERBS)} {rng.choice(_TOPICS)}?"
    filler = " ".join(rng.choice(("please", "thanks", "also", "today", "again", "details", "account", "because",
                                  "order", "help", "when", "where", "maybe", "quickly", "status"))
                      for _ in range(max(0, words - len(head.split()))))
    return (head + " " + filler).strip()


# --------------------------------------------------------------------------- the primary-DB alternative

@dataclass(frozen=True)
class Timed:
    """A value with its MEASURED time and a SIMULATED network time, kept apart."""

    value: Any
    real_ns: int
    simulated_ns: int = 0

    @property
    def total_ns(self) -> int:
        return self.real_ns + self.simulated_ns


class MessageTable:
    """A ``messages`` table (conversation_id, seq, role, content) in a private in-memory SQLite.

    Real query time is measured; each call also draws a SIMULATED network + query latency from
    ``latency`` (a :class:`labs.core.db.LatencyModel`), reported apart, never slept.
    """

    def __init__(self, latency: LatencyModel = LatencyModel(), rng: random.Random | None = None) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self.db = sqlite_utils.Database(self._conn)
        self.db["messages"].create({"id": int, "conversation_id": str, "seq": int, "role": str, "content": str},
                                   pk="id")
        self.db["messages"].create_index(["conversation_id", "seq"], unique=True)
        self.latency = latency
        self.rng = rng or random.Random(0)

    def _sim_ns(self) -> int:
        return int(self.latency.sample_ms(self.rng) * 1e6)

    def append(self, conversation_id: str, role: str, content: str) -> Timed:
        encode_message(role, content)  # same validation as the Redis side
        start = time.perf_counter_ns()
        self._conn.execute(
            "INSERT INTO messages (conversation_id, seq, role, content) VALUES (?, "
            "(SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE conversation_id = ?), ?, ?)",
            (conversation_id, conversation_id, role, content))
        self._conn.commit()
        return Timed(None, time.perf_counter_ns() - start, self._sim_ns())

    def fill(self, conversations: int, messages_each: int, rng: random.Random, words: int = 20) -> None:
        """Other users' conversations, so the index has real work to do (not timed)."""
        rows = ({"conversation_id": f"other-{c}", "seq": s + 1, "role": ("user", "assistant")[s % 2],
                 "content": user_message(s + 1, words, rng)}
                for c in range(conversations) for s in range(messages_each))
        self.db["messages"].insert_all(rows, batch_size=2000)

    def load_context(self, conversation_id: str, max_messages: int) -> Timed:
        """The last N messages, oldest first: ``ORDER BY seq DESC LIMIT N`` on the (conversation, seq) index."""
        start = time.perf_counter_ns()
        rows = self._conn.execute(
            "SELECT role, content FROM (SELECT seq, role, content FROM messages WHERE conversation_id = ? "
            "ORDER BY seq DESC LIMIT ?) ORDER BY seq", (conversation_id, max_messages)).fetchall()
        real = time.perf_counter_ns() - start
        return Timed([{"role": r, "content": c} for r, c in rows], real, self._sim_ns())

    def count(self, conversation_id: str | None = None) -> int:
        if conversation_id is None:
            return self._conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        return self._conn.execute("SELECT count(*) FROM messages WHERE conversation_id = ?",
                                  (conversation_id,)).fetchone()[0]

    def close(self) -> None:
        self._conn.close()


def timed_load_context(client: Any, key: str) -> Timed:
    """``LRANGE key 0 -1`` (decoded), MEASURED round trip."""
    start = time.perf_counter_ns()
    raw = client.lrange(key, 0, -1)
    real = time.perf_counter_ns() - start
    return Timed([decode_message(m) for m in raw], real)
