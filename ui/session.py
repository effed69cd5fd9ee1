"""The learner's session: a random id (the key namespace), a command log, per-session state."""
from __future__ import annotations

import streamlit as st

from labs.metrics import CommandLog
from labs.namespace import Namespace, new_session_id
from labs.safety import LearnerGuard


def session_id() -> str:
    return st.session_state.setdefault("lab_session_id", new_session_id())


def namespace(lab: str = "home") -> Namespace:
    """This learner's key prefix for ``lab``: ``lab:{<session-id>}:<lab>:…``."""
    return Namespace(session_id(), lab)


def command_log() -> CommandLog:
    """The last commands this learner's labs sent ("what Redis saw")."""
    return st.session_state.setdefault("lab_command_log", CommandLog(maxlen=200))


def learner_guard() -> LearnerGuard:
    """This learner's limits on a shared server (rate, sizes, key count): one per session, in this process."""
    guard = st.session_state.get("lab_guard")
    if guard is None or guard.ns.session_id != session_id():
        guard = st.session_state["lab_guard"] = LearnerGuard(Namespace(session_id()))
    return guard
