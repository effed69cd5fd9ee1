"""Resume tokens: the same learner namespace on another browser, tab or app replica.

A Streamlit session lives in one process, and its id dies with the browser tab. To continue on another
device, or when a load balancer sends the learner to another replica, the learner opens a *resume link*
``…?learner=<token>``. The token is 128 random bits (hex); the key namespace is derived from it,
``session id = sha256("lab-resume:" + token)[:16]``. So:

* no server state: every replica derives the same namespace from the same token, nothing to share;
* the namespace (visible in key names, to the instructor, in MONITOR) does not reveal the token, so
  knowing someone's ``lab:{id}:`` prefix does not let you open their keys;
* a token is validated by its form (32 lowercase hex digits); anything else starts a new learner.

The token is the learner's own credential: the sidebar shows the link to its owner only, and the app
removes it from the address bar once read, so a preset link copied from there does not carry it.
"""
from __future__ import annotations

import hashlib
import re
import secrets

RESUME_PARAM = "learner"
_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


def new_resume_token() -> str:
    """128 random bits from the OS generator, as 32 hex digits."""
    return secrets.token_hex(16)


def valid_token(token: object) -> bool:
    return isinstance(token, str) and bool(_TOKEN_RE.match(token))


def session_from_token(token: str) -> str:
    """The learner's session id (16 hex digits, a valid Namespace id) for ``token``; ValueError if malformed."""
    if not valid_token(token):
        raise ValueError("A resume token is 32 lowercase hex digits; this one is not (a new learner starts).")
    return hashlib.sha256(f"lab-resume:{token}".encode()).hexdigest()[:16]
