"""The LLM behind the semantic cache: a SIMULATED one by default, or a real OpenAI-compatible endpoint.

The simulated LLM answers from the lab's FAQ dataset, waits nothing (its latency is drawn from a model and
reported, labelled simulated) and prices each call from token counts: ``$ = tokens_in/1000 × price_in +
tokens_out/1000 × price_out``, the way API providers bill. Token counts are approximated as one token per
4 characters (OpenAI's rule of thumb, "What are tokens and how to count them", help.openai.com).

:class:`OpenAICompatibleLLM` POSTs to ``{LLM_BASE_URL}/chat/completions`` with ``Authorization: Bearer
{LLM_API_KEY}`` (the OpenAI Chat Completions wire format, which many servers implement), measures the
round trip, and reads the token usage the server reports.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol


def approx_tokens(text: str) -> int:
    """≈ tokens in English text: one per 4 characters, at least 1 for non-empty text."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


@dataclass(frozen=True)
class Pricing:
    """Dollars per 1,000 input and output tokens."""

    input_per_1k: float = 0.0025
    output_per_1k: float = 0.01

    def __post_init__(self) -> None:
        for name in ("input_per_1k", "output_per_1k"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value <= 1000):
                raise ValueError(f"{name} must be between 0 and 1000 $ per 1k tokens, got {value!r}.")

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in / 1000 * self.input_per_1k + tokens_out / 1000 * self.output_per_1k


@dataclass(frozen=True)
class LLMReply:
    text: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cost_usd: float
    simulated: bool
    model: str


class LLM(Protocol):
    name: str
    simulated: bool

    def answer(self, prompt: str) -> LLMReply: ...


class LLMError(RuntimeError):
    """The endpoint failed; the message says what to check."""


@dataclass
class SimulatedLLM:
    """Answers from a lookup (the dataset); latency ~ lognormal around ``latency_ms``; nothing waits."""

    answers: Callable[[str], str]
    latency_ms: float = 800.0
    pricing: Pricing = Pricing()
    system_prompt_tokens: int = 150
    rng: random.Random | None = None
    name: str = "simulated LLM"
    simulated: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.latency_ms <= 120_000:
            raise ValueError(f"LLM latency must be between 0 and 120,000 ms, got {self.latency_ms}.")
        self.rng = self.rng or random.Random(0)

    def answer(self, prompt: str) -> LLMReply:
        text = self.answers(prompt)
        tokens_in = self.system_prompt_tokens + approx_tokens(prompt)
        tokens_out = approx_tokens(text)
        sigma = 0.3  # a spread like real API latencies; the median stays at latency_ms
        latency = self.latency_ms * math.exp(self.rng.gauss(0, sigma)) if self.latency_ms else 0.0
        return LLMReply(text, tokens_in, tokens_out, latency, self.pricing.cost(tokens_in, tokens_out), True, self.name)


@dataclass
class OpenAICompatibleLLM:
    """A real chat-completions endpoint; latency measured, cost from the usage it reports."""

    base_url: str
    api_key: str = ""
    model: str = "gpt-4o-mini"
    pricing: Pricing = Pricing()
    timeout_s: float = 30.0
    simulated: bool = False

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"LLM_BASE_URL must start with http:// or https://, got {self.base_url!r}.")
        self.base_url = self.base_url.rstrip("/")
        self.name = f"{self.model} at {self.base_url}"

    def answer(self, prompt: str) -> LLMReply:
        body = json.dumps({"model": self.model, "messages": [{"role": "user", "content": prompt}]}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers,
                                         method="POST")
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            hint = " Check LLM_API_KEY." if exc.code in (401, 403) else ""
            raise LLMError(f"The LLM endpoint answered HTTP {exc.code} ({exc.reason}).{hint}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise LLMError(f"The LLM endpoint {self.base_url} could not be reached ({exc}). "
                           "Check LLM_BASE_URL, or unset it to use the simulated LLM.") from exc
        except json.JSONDecodeError as exc:
            raise LLMError("The LLM endpoint did not answer JSON: is LLM_BASE_URL an OpenAI-compatible API?") from exc
        latency = (time.perf_counter() - start) * 1000
        try:
            text = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError("The LLM endpoint's answer has no choices[0].message.content.") from exc
        usage = payload.get("usage") or {}
        tokens_in = int(usage.get("prompt_tokens") or approx_tokens(prompt))
        tokens_out = int(usage.get("completion_tokens") or approx_tokens(text))
        return LLMReply(text, tokens_in, tokens_out, latency, self.pricing.cost(tokens_in, tokens_out), False,
                        self.model)


def llm_from_env(answers: Callable[[str], str], *, env: Mapping[str, str] | None = None,
                 latency_ms: float = 800.0, pricing: Pricing = Pricing(), rng: random.Random | None = None) -> LLM:
    """The real endpoint when ``LLM_BASE_URL`` is set (``LLM_API_KEY``, ``LLM_MODEL`` optional), else simulated."""
    env = os.environ if env is None else env
    base = env.get("LLM_BASE_URL", "").strip()
    if base:
        return OpenAICompatibleLLM(base, env.get("LLM_API_KEY", ""), env.get("LLM_MODEL", "gpt-4o-mini"), pricing)
    return SimulatedLLM(answers, latency_ms, pricing, rng=rng)
