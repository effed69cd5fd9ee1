"""Per-learner key namespace: every key a lab writes is ``lab:{<session-id>}:<lab>:<name>``.

The braces are a Redis Cluster hash tag (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags):
only the text between them is hashed, so all of one learner's keys live in one slot and multi-key
commands, pipelines and MULTI/EXEC work on a cluster too. Every lab key carries a TTL — the lab
practises what it teaches — and "Reset my lab" deletes only this learner's keys with SCAN + UNLINK.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TTL_S = 3600          # 1 hour: the default lease of a lab key
MAX_TTL_S = 24 * 3600         # hard cap: no lab key outlives a day
_SESSION_RE = re.compile(r"^[a-z0-9]{4,32}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")


def new_session_id() -> str:
    """A short random id: lowercase letters and digits, so it is never a glob pattern."""
    return secrets.token_hex(5)


def check_ttl(seconds: int | float | None) -> int:
    """A lab TTL in whole seconds: the default when None, otherwise 1 s … 24 h, else ValueError."""
    if seconds is None:
        return DEFAULT_TTL_S
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"A TTL must be a number of seconds, got {seconds!r}.")
    ttl = int(seconds)
    if ttl < 1:
        raise ValueError(f"A TTL must be at least 1 second, got {seconds}: a key without a lease would live forever.")
    if ttl > MAX_TTL_S:
        raise ValueError(f"A lab key may live at most 24 h ({MAX_TTL_S} s); {ttl} s is too long.")
    return ttl


@dataclass(frozen=True)
class Namespace:
    """The key prefix of one learner (``session_id``) in one lab (``lab``)."""

    session_id: str
    lab: str = "home"

    def __post_init__(self) -> None:
        if not _SESSION_RE.match(self.session_id):
            raise ValueError(f"session id must be 4-32 lowercase letters/digits, got {self.session_id!r}")
        if not re.match(r"^[a-z0-9_\-]{1,40}$", self.lab):
            raise ValueError(f"lab name must be short lowercase letters/digits/-/_, got {self.lab!r}")

    @property
    def learner_prefix(self) -> str:
        """``lab:{sid}:`` — every key of this learner, in every lab, starts with it."""
        return f"lab:{{{self.session_id}}}:"

    @property
    def prefix(self) -> str:
        return f"{self.learner_prefix}{self.lab}:"

    def key(self, name: str) -> str:
        """The full key for ``name``, e.g. ``lab:{a1b2c3}:home:user:123``."""
        name = str(name)
        if not _NAME_RE.match(name):
            raise ValueError(f"key name {name!r} must be 1-200 characters of letters, digits and _ . : -")
        return self.prefix + name

    def for_lab(self, lab: str) -> "Namespace":
        return Namespace(self.session_id, lab)

    def owns(self, key: str | bytes) -> bool:
        if isinstance(key, bytes):
            key = key.decode(errors="replace")
        return key.startswith(self.learner_prefix)


def _scan(client: Any, match: str, count: int = 500):
    return client.scan_iter(match=match, count=count)


def learner_keys(client: Any, ns: Namespace, *, whole_learner: bool = True) -> list[str]:
    """Every key of this learner (or of this lab only), found with SCAN MATCH — never KEYS."""
    prefix = ns.learner_prefix if whole_learner else ns.prefix
    keys = []
    for k in _scan(client, prefix + "*"):
        keys.append(k.decode() if isinstance(k, bytes) else k)
    return keys


def reset(client: Any, ns: Namespace, *, whole_learner: bool = True, batch: int = 500) -> int:
    """Delete this learner's keys (SCAN MATCH + UNLINK in batches); returns how many were removed."""
    removed = 0
    pending: list[str] = []
    for key in learner_keys(client, ns, whole_learner=whole_learner):
        if not ns.owns(key):  # defence in depth: never touch another learner's key
            continue
        pending.append(key)
        if len(pending) >= batch:
            removed += int(client.unlink(*pending))
            pending = []
    if pending:
        removed += int(client.unlink(*pending))
    return removed


@dataclass
class TTLAudit:
    """What a scan of a learner's keys found: every key should have a TTL within the cap."""

    keys: int = 0
    without_ttl: list[str] = field(default_factory=list)
    over_cap: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.without_ttl and not self.over_cap


def audit_ttls(client: Any, ns: Namespace) -> TTLAudit:
    """Check that each of the learner's keys carries a TTL no longer than the 24 h cap."""
    audit = TTLAudit()
    for key in learner_keys(client, ns):
        ttl = client.ttl(key)
        if ttl == -2:  # expired between SCAN and TTL
            continue
        audit.keys += 1
        if ttl == -1:
            audit.without_ttl.append(key)
        elif ttl > MAX_TTL_S:
            audit.over_cap.append(key)
    return audit
