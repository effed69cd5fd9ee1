"""The errors every backend user catches, in a module of their own so that :mod:`labs.core.backends` and
:mod:`labs.core.safety` (whose ``LimitExceeded`` is a ``BackendError``) need not import each other."""
from __future__ import annotations

import redis


class ForbiddenCommand(redis.RedisError):
    """A command the lab never sends to a shared server (one other learners or applications use)."""


class BackendError(RuntimeError):
    """A backend could not be opened or used; ``message`` says what happened, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "", *, reason: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.reason = reason  # a stable tag for tests: malformed, dns, refused, timeout, auth, ...

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()
