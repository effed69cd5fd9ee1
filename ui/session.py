"""The learner's session: an id (the key namespace), a command log, per-session state.

The id is derived from a resume token (``labs.workshop.resume``): a new one per browser session, or the one in a
``?learner=<token>`` link, so the same learner keeps the same keys on another tab, device or replica.
"""
from __future__ import annotations

import streamlit as st

from labs.core.metrics import CommandLog
from labs.core.namespace import Namespace
from labs.workshop.resume import RESUME_PARAM, new_resume_token, session_from_token, valid_token
from labs.core.safety import LearnerGuard


def _start() -> None:
    state = st.session_state
    given = st.query_params.get(RESUME_PARAM)
    if given is not None:
        del st.query_params[RESUME_PARAM]  # read once: a preset link copied later must not carry it
    token = given if valid_token(given) else new_resume_token()
    if given is not None and token != given:
        state["resume_notice"] = "That resume link is not valid (it is not a token the lab made): you start fresh."
    state["lab_resume_token"], state["lab_session_id"] = token, session_from_token(token)


def session_id() -> str:
    if "lab_session_id" not in st.session_state:
        _start()
    return st.session_state["lab_session_id"]


def resume_token() -> str:
    """This learner's resume token (their own credential: shown to them only, never to others)."""
    session_id()
    return st.session_state["lab_resume_token"]


def resume_link() -> str:
    """``<this page's address>?learner=<token>``: opens this learner's keys on any replica of the app."""
    base = ""
    try:
        base = (st.context.url or "").split("?", 1)[0]
    except Exception:  # no browser context (AppTest): a relative link
        base = ""
    return f"{base}?{RESUME_PARAM}={resume_token()}"


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
