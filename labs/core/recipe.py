"""What every recipe shares: a timed transcript of the commands it sent, shown without the learner's key
prefix, and the Result that carries it (``frames["commands"]``) with a note on which backend measured it.

The structures lab's recipes, the TTL commands, the chat list and the invalidation demos all hand their
commands to a learner this way.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import pandas as pd

from labs.core.backends import open_backend_for
from labs.core.metrics import CommandLog, instrument_all
from labs.core.namespace import Namespace, new_session_id


@contextmanager
def transcript(client: Any, log: CommandLog | None = None) -> Iterator[tuple[Any, CommandLog]]:
    """An instrumented client whose commands land in a fresh log (and in ``log``, the page's, if given)."""
    own = CommandLog(maxlen=10_000)
    yield instrument_all(client, own, log), own


def commands_frame(own: CommandLog, ns: Namespace) -> pd.DataFrame:
    """The transcript as a table: command and reply in redis-cli form, without the learner's key prefix."""
    rows = [{"command": r.command.replace(ns.prefix, ""), "reply": (r.error or r.reply).replace(ns.prefix, ""),
             "latency_us": r.elapsed_ns / 1000} for r in own.records()]
    return pd.DataFrame(rows, columns=["command", "reply", "latency_us"])


@contextmanager
def traced(backend: Any, ns: Namespace | None, log: CommandLog | None,
           lab: str) -> Iterator[tuple[Any, Any, Namespace, CommandLog]]:
    """(backend, traced client, the learner's namespace for ``lab``, the run's own log) for one run: the
    backend opened when none was given (a headless run) and closed after, a fresh namespace when none was."""
    backend, opened = open_backend_for(backend)
    ns = (ns or Namespace(new_session_id())).for_lab(lab)
    try:
        with transcript(backend.client, log) as (client, own):
            yield backend, client, ns, own
    finally:
        for b in opened:
            b.close()


def run_recipe(backend: Any, ns: Namespace | None, log: CommandLog | None, body: Any, *, lab: str) -> Any:
    """Run ``body(client, ns) -> (metrics, frames, notes)`` on a traced client, in the learner's namespace
    for ``lab`` (a fresh one for a headless run); return a Result whose ``frames["commands"]`` is the
    transcript and whose notes say which backend measured it."""
    from labs.core.experiment import Result

    with traced(backend, ns, log, lab) as (backend, client, ns, own):
        metrics, frames, notes = body(client, ns)
    frames = {**frames, "commands": commands_frame(own, ns)}
    where = f"Sent to the {backend.kind} backend ({backend.caps.server_label}); latencies are measured round trips."
    return Result(metrics, frames, [*notes, where])


def supports(client: Any, *args: Any) -> bool:
    """Whether the server knows a command form (e.g. GETEX on Redis < 6.2 does not)."""
    import redis

    try:
        client.execute_command(*args)
        return True
    except redis.ResponseError as exc:
        text = str(exc).lower()
        return not ("unknown command" in text or "syntax error" in text or "unknown subcommand" in text)
