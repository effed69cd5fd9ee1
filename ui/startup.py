"""What the app settles once per process, before the first page: the instructor passcode, and the worker
pool started in the background (``ui.runner``: its workers import the labs while the first learner reads).

The Workshop page's instructor dashboard needs a passcode. One set by the instructor wins
(``$LAB_INSTRUCTOR_PASSCODE``, or ``LAB_INSTRUCTOR_PASSCODE`` / ``[workshop] instructor_passcode`` in
``.streamlit/secrets.toml``). With none, the app generates one — 72 random bits from the OS generator — and
prints it, once, in the terminal that started it, with how to choose your own: the way Jupyter prints its
login token. ``make run`` and ``make workshop`` generate it before the server starts
(``ui.serve``) and hand it to every replica in the environment, marked as generated
(``LAB_PASSCODE_SOURCE=generated``) so the dashboard can say where to find it; a bare ``streamlit run app.py``
generates it here, at its first page load. It is never shown in the app.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ui.serve import banner, new_passcode
from ui.runner import worker_pool

PASSCODE_ENV = "LAB_INSTRUCTOR_PASSCODE"
SOURCE_ENV = "LAB_PASSCODE_SOURCE"      # "generated" when a launcher generated the passcode in the environment

_lock = threading.Lock()
_generated: list[str] = []


@dataclass(frozen=True)
class Passcode:
    value: str
    source: str     # "environment", "secrets" or "generated"

    @property
    def generated(self) -> bool:
        return self.source == "generated"


def secret(*path: str) -> str:
    """A value from .streamlit/secrets.toml (``secret("workshop", "class_id")``), or "" when there is none."""
    try:
        node: Any = st.secrets
        for part in path:
            node = node.get(part)
            if node is None:
                return ""
        return str(node)
    except Exception:  # no secrets.toml (st.secrets raises), or an unreadable one
        return ""


def instructor_passcode() -> Passcode:
    """The instructor passcode of this app process: configured, or generated (and printed) once."""
    env = os.environ.get(PASSCODE_ENV, "")
    if env:
        return Passcode(env, "generated" if os.environ.get(SOURCE_ENV) == "generated" else "environment")
    configured = secret(PASSCODE_ENV) or secret("workshop", "instructor_passcode")
    if configured:
        return Passcode(configured, "secrets")
    with _lock:
        if not _generated:
            _generated.append(new_passcode())
            print(banner(_generated[0], "LAB_INSTRUCTOR_PASSCODE=<your passcode> streamlit run app.py"),
                  file=sys.stdout, flush=True)
        return Passcode(_generated[0], "generated")


def startup() -> None:
    """Called by app.py on every run; does its work once per process."""
    instructor_passcode()
    worker_pool()
