"""Every way a live server can fail gets a clear message, quickly — checked against real servers."""
from __future__ import annotations

import socket
import time

import pytest

from labs.core.backends import BackendError, open_live
from labs.core.cache import cache_aside_read
from labs.core.servers import PrivateServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured():
    """A private server with a password and a user who may only touch 'other:*' keys."""
    with PrivateServer(maxmemory="16mb", extra={"requirepass": "s3cret"}) as server:
        admin = server.client(password="s3cret")
        admin.execute_command("ACL", "SETUSER", "narrow", "on", ">pw", "~other:*", "+@all")
        yield server


def _reason(url: str) -> tuple[str, str, float]:
    start = time.perf_counter()
    with pytest.raises(BackendError) as err:
        open_live(url)
    return err.value.reason, str(err.value), time.perf_counter() - start


def test_the_right_password_connects(secured):
    backend = open_live(f"redis://:s3cret@127.0.0.1:{secured.port}/3")
    assert backend.kind == "live" and backend.label == f"redis://:***@127.0.0.1:{secured.port}/3"
    backend.close()


@pytest.mark.parametrize("creds", [":wrong@", "", "nobody:pw@"])
def test_wrong_or_missing_password(secured, creds):
    reason, text, _ = _reason(f"redis://{creds}127.0.0.1:{secured.port}")
    assert reason == "auth" and "credentials" in text and ":wrong@" not in text and ":pw@" not in text


def test_an_acl_user_without_access_to_lab_keys(secured):
    reason, text, _ = _reason(f"redis://narrow:pw@127.0.0.1:{secured.port}")
    assert reason == "acl" and "~lab:*" in text


def test_a_replica_is_refused_with_a_hint():
    with PrivateServer(maxmemory="16mb") as primary, PrivateServer(maxmemory="16mb") as replica:
        replica.client().execute_command("REPLICAOF", "127.0.0.1", primary.port)
        reason, text, _ = _reason(replica.url)
    assert reason == "readonly" and "primary" in text


def test_nothing_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reason, text, elapsed = _reason(f"redis://127.0.0.1:{port}")
    assert reason == "refused" and elapsed < 1


def test_unknown_host():
    reason, _, elapsed = _reason("redis://no-such-host.invalid:6379")
    assert reason == "dns" and elapsed < 3


def test_a_server_that_never_answers_times_out_in_two_seconds():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the TCP handshake, never speaks
        reason, _, elapsed = _reason(f"redis://127.0.0.1:{silent.getsockname()[1]}")
    assert reason == "timeout" and 1.5 < elapsed < 3.5


def test_tls_to_a_plain_server(private_server):
    reason, text, elapsed = _reason(f"rediss://127.0.0.1:{private_server.port}")
    assert reason == "tls" and "redis://" in text and elapsed < 3.5


def test_server_killed_mid_session_is_reported_and_reads_fall_back(db):
    server = PrivateServer(maxmemory="16mb").start()
    backend = open_live(server.url)
    assert backend.check() is None
    server.crash()
    start = time.perf_counter()
    problem = backend.check()
    out = cache_aside_read(backend.client, db, "users", 123, "lab:{abcd1234}:home:user:123", 60)
    assert problem and "connection refused" in problem
    assert out.source == "database (cache down)" and out.value["id"] == 123
    assert time.perf_counter() - start < 1, "a dead server must not stall the page"
    server.stop()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """Debian's redis-server on a TLS port with a self-signed certificate made by openssl."""
    import shutil
    import subprocess

    from tests.support import skip_or_fail

    if not (shutil.which("redis-server") and shutil.which("openssl")):
        skip_or_fail("LAB_REQUIRE_REDIS", "a TLS test needs redis-server and openssl on PATH")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out",
                    "cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   cwd=folder, check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                             "--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem", "--tls-ca-cert-file",
                             "cert.pem", "--tls-auth-clients", "no", "--save", "", "--appendonly", "no"],
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 5
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield port, folder / "cert.pem"
    proc.terminate()
    proc.wait(timeout=5)


def test_tls_server_with_a_trusted_certificate_connects(tls_server):
    port, cert = tls_server
    backend = open_live(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}")
    assert backend.check() is None and backend.caps.version
    backend.close()


def test_tls_server_with_an_untrusted_certificate_says_how_to_trust_it(tls_server):
    port, _ = tls_server
    reason, text, elapsed = _reason(f"rediss://127.0.0.1:{port}/0")
    assert reason == "tls-cert" and "ssl_ca_certs" in text and elapsed < 3


def test_plain_redis_to_a_tls_port_suggests_rediss(tls_server):
    port, _ = tls_server
    reason, text, elapsed = _reason(f"redis://127.0.0.1:{port}/0")
    assert reason in ("closed", "tls") and "rediss://" in text and elapsed < 3.5
