"""The LLM clients: the simulated one's arithmetic, and the OpenAI-compatible one against a fake HTTP
server on 127.0.0.1 (nothing leaves this machine)."""
from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labs.ai.llm import LLMError, OpenAICompatibleLLM, Pricing, SimulatedLLM, approx_tokens, llm_from_env


class FakeOpenAI(BaseHTTPRequestHandler):
    """POST /v1/chat/completions → a canned completion with usage; records what it was sent."""

    received: list[dict] = []
    mode = "ok"
    delay_s = 0.05

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.received.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        time.sleep(self.delay_s)
        if self.headers.get("Authorization") != "Bearer sk-test":
            return self._send(401, {"error": {"message": "bad key"}})
        if self.mode == "html":
            return self._send(200, "<html>not an API</html>", raw=True)
        if self.mode == "empty":
            return self._send(200, {"choices": []})
        question = body["messages"][-1]["content"]
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": f"Answer to: {question}"}}],
                         "usage": {"prompt_tokens": 21, "completion_tokens": 9}})

    def _send(self, code, payload, raw=False):
        data = payload.encode() if raw else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    FakeOpenAI.received, FakeOpenAI.mode = [], "ok"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_a_real_endpoint_is_called_measured_and_priced_from_its_usage(server):
    llm = OpenAICompatibleLLM(server + "/", "sk-test", "tiny", Pricing(1.0, 2.0))
    reply = llm.answer("How do I reset my password?")
    sent = FakeOpenAI.received[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test"
    assert sent["body"]["model"] == "tiny" and sent["body"]["messages"][0]["role"] == "user"
    assert reply.text == "Answer to: How do I reset my password?" and not reply.simulated
    assert (reply.tokens_in, reply.tokens_out) == (21, 9)
    assert reply.cost_usd == pytest.approx(21 / 1000 * 1.0 + 9 / 1000 * 2.0)
    assert reply.latency_ms >= FakeOpenAI.delay_s * 1000  # measured, so it includes the server's wait


def test_llm_from_env_picks_the_endpoint_only_when_configured(server):
    env = {"LLM_BASE_URL": server, "LLM_API_KEY": "sk-test", "LLM_MODEL": "tiny"}
    real = llm_from_env(lambda q: "sim", env=env)
    assert isinstance(real, OpenAICompatibleLLM) and real.answer("hi").text == "Answer to: hi"
    assert isinstance(llm_from_env(lambda q: "sim", env={}), SimulatedLLM)


@pytest.mark.parametrize("mode, key, message", [
    ("ok", "wrong", "HTTP 401.*LLM_API_KEY"),
    ("html", "sk-test", "did not answer JSON"),
    ("empty", "sk-test", "no choices"),
])
def test_endpoint_failures_say_what_to_check(server, mode, key, message):
    FakeOpenAI.mode = mode
    with pytest.raises(LLMError, match=message):
        OpenAICompatibleLLM(server, key).answer("hi")


def test_an_unreachable_endpoint_is_reported_not_raised_raw():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(LLMError, match="could not be reached.*LLM_BASE_URL"):
        OpenAICompatibleLLM(f"http://127.0.0.1:{port}", timeout_s=2).answer("hi")
    with pytest.raises(ValueError, match="http"):
        OpenAICompatibleLLM("ftp://example")


def test_the_simulated_llm_prices_tokens_and_reports_but_never_waits():
    llm = SimulatedLLM(lambda q: "x" * 400, latency_ms=2000, pricing=Pricing(0.0025, 0.01), system_prompt_tokens=150,
                       rng=random.Random(1))
    start = time.perf_counter()
    reply = llm.answer("y" * 40)
    assert time.perf_counter() - start < 0.5 and reply.simulated
    assert (reply.tokens_in, reply.tokens_out) == (160, 100)
    assert reply.cost_usd == pytest.approx(0.16 * 0.0025 + 0.1 * 0.01)
    latencies = sorted(llm.answer("q").latency_ms for _ in range(401))
    assert 1700 < latencies[200] < 2300  # the median stays at the configured latency
    assert approx_tokens("") == 0 and approx_tokens("abcde") == 2
    with pytest.raises(ValueError, match="between 0 and 1000"):
        Pricing(-1, 0)
