import socket
import ssl

import pytest
import redis

from labs.core.backends import BackendError, classify_error, open_backend, open_sandbox, redact_url, validate_url


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://u:p@cache.example.com:6380/2",
                                 "redis://127.0.0.1", "unix:///tmp/redis.sock"])
def test_well_formed_urls_pass(url):
    assert validate_url(f"  {url} ") == url


@pytest.mark.parametrize("url,words", [
    ("", "No Redis URL"), ("http://host:6379", "is not a Redis URL"), ("localhost:6379", "is not a Redis URL"),
    ("redis://:6379", "has no host"), ("redis://host:99999", "not a number from 1 to 65535"),
    ("redis://host:abc", "not a number"), ("redis://host:0", "Port 0"), ("redis://host:6379/zero", "whole number"),
])
def test_malformed_urls_are_explained(url, words):
    with pytest.raises(BackendError) as err:
        validate_url(url)
    assert err.value.reason == "malformed" and words in err.value.message and err.value.hint


def test_passwords_never_reach_a_label():
    assert redact_url("rediss://alice:s3cr3t@h:6380/0") == "rediss://alice:***@h:6380/0"
    assert redact_url("redis://:s3cr3t@h") == "redis://:***@h"
    assert redact_url("redis://h:6379") == "redis://h:6379"
    with pytest.raises(BackendError) as err:
        validate_url("http://alice:s3cr3t@h")
    assert "s3cr3t" not in str(err.value)


def _chained(outer, inner):
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as exc:
        return exc


@pytest.mark.parametrize("exc,reason", [
    (redis.AuthenticationError("invalid username-password pair or user is disabled."), "auth"),
    (redis.ResponseError("NOAUTH Authentication required."), "auth"),
    (redis.exceptions.NoPermissionError("NOPERM this user has no permissions to run the 'set' command"), "acl"),
    (redis.ReadOnlyError("You can't write against a read only replica."), "readonly"),
    (redis.exceptions.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'."), "oom"),
    (_chained(redis.ConnectionError("Error connecting"), ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER]")), "tls"),
    (_chained(redis.ConnectionError("Error -2 connecting to nohost:6379."), socket.gaierror(-2, "Name or service not known")), "dns"),
    (redis.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused."), "refused"),
    (redis.TimeoutError("Timeout reading from socket"), "timeout"),
    (redis.ConnectionError("Connection closed by server."), "closed"),
    (RuntimeError("something odd"), "error"),
])
def test_every_failure_gets_a_reason_a_message_and_a_hint(exc, reason):
    err = classify_error(exc, "redis://h:6379")
    assert err.reason == reason and "redis://h:6379" in err.message and err.hint


def test_unknown_backend_kind():
    with pytest.raises(BackendError, match="Unknown backend"):
        open_backend("memcached")


def test_sandbox_says_what_it_cannot_show():
    caps = open_sandbox().caps
    assert (caps.server, caps.info, caps.memory_usage, caps.reconfigurable) == ("fakeredis", False, False, False)
    assert any("eviction is simulated" in line for line in caps.limitations())


def test_two_sandboxes_do_not_share_data():
    a, b = open_sandbox(), open_sandbox()
    a.client.set("k", 1)
    assert b.client.get("k") is None
