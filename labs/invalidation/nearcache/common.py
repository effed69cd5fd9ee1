"""What the near-cache experiments share: the tracking choices, opening a reader on the learner's backend
(falling back, with the reason in words, where the server cannot track), and the traced-run frame."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from labs.core.metrics import CommandLog
from labs.core.namespace import Namespace
from labs.core.recipe import traced
from labs.invalidation.nearcache.links import NONE, REDIRECT, RESP3, TrackingUnavailable, open_link
from labs.invalidation.nearcache.local import LocalCache
from labs.invalidation.nearcache.reader import NearCache, RedisPyReader

REDIS_PY = "redis-py cache_config (Redis ≥ 7.4)"
TRACKING_CHOICES = (RESP3, REDIRECT, REDIS_PY, NONE)
PAGE = "app_pages/nearcache.py"
LAB = "nearcache"
FELL_BACK = (" This run fell back to no tracking: local copies live until the TTL backstop, so the stale reads "
             "below are what tracking would have prevented.")


def server_name(backend: Any) -> str:
    return f"the {backend.kind} backend ({backend.caps.server_label})"


def open_reader(mode: str, backend: Any, client: Any, logs: list[CommandLog], local: LocalCache, *,
                options: tuple[str, ...] = ("NOLOOP",), flush_on_reconnect: bool = True) -> tuple[Any, str, list[str]]:
    """(reader, the mode it really uses, notes). A mode the server refuses falls back — redis-py's cache to
    the lab's RESP3 tracker, tracking to none (TTL backstop only) — and the notes say why, precisely."""
    where = server_name(backend)
    notes: list[str] = []
    if mode == REDIS_PY:
        try:
            return RedisPyReader(client, local.capacity, server=where), REDIS_PY, [
                "redis-py's built-in cache did the caching (no TTL backstop: redis-py has none)."]
        except TrackingUnavailable as exc:
            notes.append(f"{exc} So this run used the lab's own tracker on RESP3 instead: redis-py's cache path "
                         "was not exercised on this server.")
            mode = RESP3
    try:
        reader = NearCache(lambda: open_link(mode, client, logs, options, where), local,
                           flush_on_reconnect=flush_on_reconnect)
        return reader, mode, notes
    except TrackingUnavailable as exc:
        notes.append(f"{exc}{FELL_BACK}")
        reader = NearCache(lambda: open_link(NONE, client, logs), local, flush_on_reconnect=flush_on_reconnect)
        return reader, NONE, notes


@contextmanager
def traced_run(backend: Any, ns: Namespace | None, log: CommandLog | None) -> Iterator[tuple[Any, Any, Namespace, list, CommandLog]]:
    """:func:`labs.core.recipe.traced` for the near cache, plus the logs its dedicated connections write to."""
    with traced(backend, ns, log, LAB) as (backend, client, ns, own):
        yield backend, client, ns, [own, log], own
