"""Settings precedence, status without the key, and the offline engine's honest interface."""

from __future__ import annotations

import io

import pytest
from pydantic import BaseModel

from mlr_copilot_jupyter import Copilot
from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.errors import ConfigError, LLMError
from mlr_copilot_jupyter.llm import get_backend, usage_scope
from mlr_copilot_jupyter.llm.offline import BANNER, OfflineBackend, register_solver
from tests.support.cli import SECRET_KEY


def test_defaults_without_endpoint_select_offline() -> None:
    settings = MLRCopilot()
    assert settings.backend == "auto" and settings.resolved_backend() == "offline"
    backend = get_backend(settings)
    assert isinstance(backend, OfflineBackend) and backend.is_llm is False


def test_env_vars_then_explicit_values_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "openai")
    settings = MLRCopilot()
    assert (settings.model, settings.base_url, settings.backend) == (
        "env-model", "http://127.0.0.1:9/v1", "openai")
    assert MLRCopilot(model="flag-model").model == "flag-model"


def test_bad_values_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="temperature 3.0 is outside 0..2"):
        MLRCopilot(temperature=3.0)
    with pytest.raises(ConfigError, match="concurrency must be >= 1"):
        MLRCopilot(concurrency=0)
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "gpt")
    with pytest.raises(ConfigError, match="MLR_COPILOT_BACKEND='gpt' is not a backend"):
        _ = MLRCopilot().backend


def test_key_only_selects_openai_and_status_hides_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    settings = MLRCopilot()
    status = settings.status()
    assert status["backend"] == "openai" and status["api_key_set"] is True
    assert status["base_url"] == "https://api.openai.com/v1"
    rendered = repr(settings.status_table()) + settings.status_table()._repr_html_()
    rendered += settings.status_table().to_json()
    assert SECRET_KEY not in rendered and "yes" in rendered
    assert not any("key" == name for name in settings.trait_names())  # the key is not a trait


def test_api_key_env_names_another_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", "k-123456")
    settings = MLRCopilot(api_key_env="MY_GATEWAY_KEY")
    assert settings.api_key() == "k-123456" and settings.resolved_backend() == "openai"


def test_copilot_announces_offline_engine_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlr_copilot_jupyter.llm import offline

    monkeypatch.setattr(offline, "_announced", offline.threading.Event())
    out = io.StringIO()
    copilot = Copilot(announce_to=out)
    assert copilot.backend.is_llm is False
    _ = Copilot(announce_to=out).backend
    assert out.getvalue().count(BANNER) == 1


def test_offline_free_text_is_extractive_and_labelled() -> None:
    prompt = (
        "Transformers dominate NLP benchmarks. Training them needs large datasets. "
        "Cats are popular pets in many households. Data augmentation reduces the need for data. "
        "Low-resource languages lack large datasets for training transformers. "
        "The weather was mild. Back-translation is a data augmentation method for translation."
    )
    reply = OfflineBackend().query(prompt)
    assert reply.text.startswith("[offline engine: extractive answer, no LLM]")
    body = reply.text.split("]", 1)[1]
    sentences = [s.strip() for s in prompt.split(". ")]
    chosen = [s for s in sentences if s.rstrip(".") in body]
    assert 1 <= len(chosen) <= 5  # it selects, it does not write
    assert "Cats are popular pets" not in body  # the off-topic sentence is not central
    assert reply.usage.total_tokens == 0 and reply.backend == "offline"


class Toy(BaseModel):
    words: int


def test_offline_structured_requests_use_registered_solvers() -> None:
    backend = OfflineBackend()
    with pytest.raises(LLMError, match="no heuristic for Toy"):
        backend.query("count", schema=Toy)
    register_solver(Toy, lambda messages, inputs: Toy(words=len(messages[-1]["content"].split())))
    with usage_scope() as meter:
        reply = backend.query("one two three", schema=Toy)
    assert reply.parsed == Toy(words=3) and meter.total.calls == 1


def test_the_backend_setting_accepts_registered_names_only() -> None:
    from mlr_copilot_jupyter.config import backend_names
    from mlr_copilot_jupyter.llm import backends

    assert {"offline", "openai"} <= set(backend_names()) and backends.names() == backend_names()
    assert MLRCopilot(backend="OFFLINE").backend == "offline"
    with pytest.raises(ConfigError) as caught:
        MLRCopilot(backend="gpt5")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("backend='gpt5' is not a backend")
    assert all(name in message for name in ["auto", *backend_names()])
    # a backend registered in code is selectable by name too
    from mlr_copilot_jupyter import config

    backends.register("echo-test", lambda settings: OfflineBackend(settings))
    try:
        assert MLRCopilot(backend="echo-test").backend == "echo-test"
        assert isinstance(get_backend(MLRCopilot(backend="echo-test")), OfflineBackend)
    finally:  # the registry is process-wide
        backends._factories.pop("echo-test")
        config._declared_backends.discard("echo-test")
    with pytest.raises(ConfigError, match="'echo-test' is not a backend"):
        MLRCopilot(backend="echo-test")


def test_what_displays_say_about_a_backend_comes_from_the_backend() -> None:
    from mlr_copilot_jupyter.display import ProblemCard
    from mlr_copilot_jupyter.llm import backends
    from mlr_copilot_jupyter.models import ResearchProblem

    settings = MLRCopilot(backend="offline")
    rows = dict(settings.status_table(backends.status_notes("offline")).rows())
    assert rows["backend"] == "offline — no LLM: heuristic engine"
    assert rows["model"].endswith(" (unused by the offline engine)")
    assert dict(Copilot(settings).status().rows()) == rows
    plain = dict(MLRCopilot(backend="openai").status_table(backends.status_notes("openai")).rows())
    assert plain["backend"] == "openai" and plain["model"] == "gpt-4o-mini"
    offline = ProblemCard(ResearchProblem(task_definition="t", engine="offline"))._repr_html_()
    assert "extracted by offline engine (heuristics, no LLM)" in offline
    model = ProblemCard(ResearchProblem(task_definition="t", engine="llm:m"))._repr_html_()
    assert "extracted by llm:m;" in model
