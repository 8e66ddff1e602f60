"""Backends are chosen by name from the entry-point group, and nothing outside llm/ asks which
backend it has (issue 25 must-show 2; the 2-step run is tests/integration/test_third_backend.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import mlr_copilot_jupyter
from mlr_copilot_jupyter.config import MLRCopilot, backend_names
from mlr_copilot_jupyter.errors import ConfigError
from mlr_copilot_jupyter.experiment.policies import StepPolicy
from mlr_copilot_jupyter.ideas.problem import ProblemDraft
from mlr_copilot_jupyter.llm import backends, get_backend
from mlr_copilot_jupyter.models import Paper
from tests.support.third_backend import NAME, install_relay

PACKAGE = Path(mlr_copilot_jupyter.__file__).parent
#: the issue's acceptance grep: grep -rn 'reads_prompts\|is_llm\|== "offline"' | grep -v /llm/
ENGINE_QUESTION = re.compile(r'reads_prompts|is_llm|== "offline"')


def _sources_outside_llm() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and "llm" not in
            p.relative_to(PACKAGE).parts[:1] and p.suffix not in {".pyc", ".png", ".csv"}]


def test_no_engine_question_outside_llm() -> None:
    hits = []
    for path in _sources_outside_llm():
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
                 for n, line in enumerate(text.splitlines(), 1) if ENGINE_QUESTION.search(line)]
    assert hits == []


def test_no_caller_outside_llm_branches_on_the_backend_it_has() -> None:
    backend_classes = {"OfflineBackend", "OpenAIBackend"}
    names = set(backend_names())
    offenders = []
    for path in _sources_outside_llm():
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Name | ast.Attribute) and (
                    getattr(node, "id", None) in backend_classes
                    or getattr(node, "attr", None) in backend_classes):
                offenders.append(f"{where} names a backend class")
            if isinstance(node, ast.Compare) and any(
                    isinstance(side, ast.Constant) and side.value in names
                    for side in [node.left, *node.comparators]):
                offenders.append(f"{where} compares with a backend name")
    assert offenders == []


def test_a_backend_on_the_path_is_selected_by_name(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=f"'{NAME}' is not a backend"):
        MLRCopilot(backend=NAME)
    monkeypatch.syspath_prepend(str(install_relay(tmp_path / "site")))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("RELAY_LOG", str(log))
    assert NAME in backend_names() and NAME in backends.names()
    monkeypatch.setenv("MLR_COPILOT_BACKEND", NAME)
    settings = MLRCopilot()
    assert settings.backend == settings.resolved_backend() == NAME
    backend = get_backend(settings)
    assert type(backend).__module__ == "relay_backend_for_tests" and backend.name == NAME
    paper = Paper(source="inline", title="T", abstract="We propose a method. It works well.",
                  text="We propose a method for long documents. However, memory is a limit.")
    reply = backend.query("extract", schema=ProblemDraft, label="problem", inputs=paper)
    assert isinstance(reply.parsed, ProblemDraft) and reply.backend == NAME
    assert log.read_text().split() == ["problem"]
    # what the agents and displays learn about it comes from the class, not from its name
    policy = StepPolicy(backend, "markdown")
    assert (policy.repairs_code, policy.reviews_every_step, policy.step_format) == (
        False, False, "json")
    assert backends.engine_label(NAME) == "relay over the offline solvers"
    assert backends.status_notes(NAME) == ("", "")


def test_an_unknown_backend_is_one_line_naming_the_registered_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "mybackend")
    with pytest.raises(ConfigError) as caught:
        _ = MLRCopilot().backend
    assert str(caught.value) == ("MLR_COPILOT_BACKEND='mybackend' is not a backend "
                                 f"(use auto, {', '.join(backend_names()[:-1])} or "
                                 f"{backend_names()[-1]})")
