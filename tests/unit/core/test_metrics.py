import math

import fakeredis
import pytest
import redis

from labs.core.metrics import CommandLog, cli_form, format_duration_ns, instrument, percentiles, reply_form


def test_percentiles_of_a_known_sample():
    values = list(range(1, 101))
    p = percentiles(values, (50, 95, 99))
    assert p == {"p50": 50.5, "p95": pytest.approx(95.05), "p99": pytest.approx(99.01)}


def test_percentiles_of_nothing_are_nan_not_zero():
    assert all(math.isnan(v) for v in percentiles([]).values())


@pytest.mark.parametrize("ns,text", [(850, "850 ns"), (38_200, "38.2 µs"), (4_100_000, "4.10 ms"),
                                     (1_250_000_000, "1.25 s"), (float("nan"), "n/a")])
def test_durations_read_like_a_human_wrote_them(ns, text):
    assert format_duration_ns(ns) == text


def test_cli_form_quotes_like_redis_cli():
    assert cli_form(["SET", b"user:1", '{"name": "Ada"}', "EX", 60]) == 'SET user:1 "{\\"name\\": \\"Ada\\"}" EX 60'
    assert cli_form(["GET", ""]) == 'GET ""'
    assert cli_form(["SET", "k", "x" * 500]).endswith("…")


def test_reply_form():
    assert reply_form(None) == "(nil)"
    assert reply_form(True) == "OK"
    assert reply_form(3) == "(integer) 3"
    assert reply_form([b"a", b"b"]).startswith("(2 items)")


def test_instrumented_client_logs_every_command_and_shares_data():
    plain = fakeredis.FakeRedis()
    log = CommandLog(maxlen=3)
    r = instrument(plain, log)
    r.set("k", "v", ex=60)
    assert plain.get("k") == b"v"  # same server, same data
    r.get("k")
    r.get("missing")
    r.incr("n")
    records = log.records()
    assert len(records) == 3  # the oldest (SET) fell off
    assert [rec.command for rec in records] == ["GET k", "GET missing", "INCRBY n 1"]
    assert records[1].reply == "(nil)" and all(rec.elapsed_ns > 0 for rec in records)
    assert len(CommandLog()) == 0 and plain.get("n") == b"1"


def test_instrumented_pipelines_are_one_record_and_errors_are_logged():
    log = CommandLog()
    r = instrument(fakeredis.FakeRedis(), log)
    pipe = r.pipeline()
    pipe.rpush("q", "a").ltrim("q", -10, -1).expire("q", 60)
    assert pipe.execute() == [1, True, True]
    assert log.records()[-1].command == "MULTI; RPUSH q a; LTRIM q -10 -1; EXPIRE q 60; EXEC"
    r.set("s", "text")
    with pytest.raises(redis.ResponseError):
        r.incr("s")
    assert log.records()[-1].error and log.records()[-1].reply == "(error)"


def test_compound_command_names_are_not_quoted():
    assert cli_form(["MEMORY USAGE", "k", "SAMPLES", 0]) == "MEMORY USAGE k SAMPLES 0"
    assert cli_form(["SET", "a b", "c"]) == 'SET "a b" c'
