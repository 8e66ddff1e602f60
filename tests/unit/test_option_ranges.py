"""One range per option and no option dropped between a surface and the run (issue #25 item 2).

``--max-steps`` is declared once (``options_spec.MAX_STEPS``, 0..200) and refused with the same
line by ``mlr-copilot experiment``, ``%mlr_experiment``, the MCP ``run_experiment`` tool (whose
input schema carries the same range) and ``task.toml``'s ``[budget] max_steps``. Every run option
a surface declares reaches the typed :class:`ExperimentOptions` it hands the facade, and the facade
maps every field of it onto the run's ``RunOptions`` (or refuses it with one line on a resume).
Surfaces are driven through their real parsers and code; the copilot they call is the seam that
records what each was asked, and the facade is then exercised for real (no kernel is started).
"""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mlr_copilot_jupyter.api import Copilot
from mlr_copilot_jupyter.errors import InputError, TaskError
from mlr_copilot_jupyter.options_spec import (
    MAX_STEPS,
    RESUME_KEEPS,
    RUN_FIELDS,
    ExperimentOptions,
)
from tests.support.experiments import tiny_task

BAD_STEPS = (-1, 201)
LINE = "--max-steps must be between 0 and 200, got {}"

#: a value for every run option that differs from its default, as a flag would give it
EVERY_VALUE: dict[str, Any] = {
    "max_steps": 3, "mode": "approve", "seed": 7, "cell_timeout": 45.0, "memory_limit_mb": 2048,
    "verify": False, "token_budget": 900, "cost_budget": 0.5, "deadline": 60.0,
    "sandbox": "off", "sandbox_network": True,
}
FLAG_TEXT: dict[str, str] = {  # the same values on a command or magic line
    "max_steps": "--max-steps 3", "mode": "--mode approve", "seed": "--seed 7",
    "cell_timeout": "--cell-timeout 45", "memory_limit_mb": "--memory-limit-mb 2048",
    "verify": "--no-verify", "token_budget": "--token-budget 900",
    "cost_budget": "--cost-budget 0.5", "deadline": "--deadline 60", "sandbox": "--sandbox off",
    "sandbox_network": "--allow-network",
}


class Asked(Exception):
    """Raised by the recording copilot once it has recorded what it was asked."""


class RecordingCopilot:
    """The seam: records what a surface asks the facade for, then stops the surface."""

    def __init__(self) -> None:
        self.options: ExperimentOptions | None = None
        self.kwargs: dict[str, Any] = {}
        self.state = SimpleNamespace(accepted=lambda: [], idea=lambda idea_id: None)

    def _record(self, options: ExperimentOptions | None, kwargs: dict[str, Any]) -> None:
        self.options, self.kwargs = options, kwargs

    def prepare_experiment(self, task: Any, *, options: ExperimentOptions | None = None,
                           **kwargs: Any) -> Any:
        self._record(options, kwargs)
        raise Asked

    def start_experiment(self, task: Any, *, options: ExperimentOptions | None = None,
                         **kwargs: Any) -> Any:
        self._record(options, kwargs)
        raise Asked

    def start_compare(self, ideas: Any, task: Any, *, options: ExperimentOptions | None = None,
                      **kwargs: Any) -> Any:
        self._record(options, kwargs)
        raise Asked


def copilot(tmp_path: Path) -> Copilot:
    return Copilot(backend="offline", run_dir=str(tmp_path / "runs"), announce_to=io.StringIO(),
                   price_per_1k_prompt=0.01, price_per_1k_completion=0.01)


def cli_parser(command: str) -> Any:
    from mlr_copilot_jupyter.cli import build_parser

    return build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]


def magic_parser() -> Any:
    from mlr_copilot_jupyter.jupyter_ui.magics_experiment import _parser_holder

    return _parser_holder.parser  # type: ignore[attr-defined]


def declared(parser: Any) -> list[str]:
    """The run options (ExperimentOptions fields) a parser declares."""
    flags = {flag for action in parser._actions for flag in action.option_strings}
    return [name for name, spec in RUN_FIELDS.items() if spec.flags[-1] in flags]


def line_for(names: list[str]) -> str:
    return " ".join(FLAG_TEXT[name] for name in names)


def expected(names: list[str]) -> dict[str, Any]:
    return {name: EVERY_VALUE[name] for name in names}


# -- one max-steps range everywhere --------------------------------------------------------------
def test_the_spec_declares_one_range_for_max_steps() -> None:
    assert (MAX_STEPS.low, MAX_STEPS.high) == (0, 200)
    assert MAX_STEPS.json_schema() == {"minimum": 0, "maximum": 200}
    for value in BAD_STEPS:
        with pytest.raises(InputError) as refused:
            ExperimentOptions(max_steps=value)
        assert refused.value.one_line() == LINE.format(value)
    for value in (0, 1, 200):
        assert ExperimentOptions(max_steps=value).max_steps == value


@pytest.mark.parametrize("value", BAD_STEPS)
def test_cli_refuses_max_steps_out_of_range_with_the_line(
        value: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlr_copilot_jupyter.cli import main

    for argv in (["experiment", "--task", "wine", "--out", str(tmp_path / "x")],
                 ["compare", "--ideas", str(tmp_path / "ideas.json"), "--task", "wine",
                  "--out", str(tmp_path / "c")]):
        assert main([*argv, "--backend", "offline", "--max-steps", str(value)]) == 1
        assert capsys.readouterr().err.strip() == f"mlr-copilot: error: {LINE.format(value)}"
    assert not (tmp_path / "x").exists()  # refused before any run folder


@pytest.mark.parametrize("value", BAD_STEPS)
def test_magic_refuses_max_steps_out_of_range_with_the_line(ip: Any, value: int) -> None:
    from IPython.core.error import UsageError

    for line in (f"--task wine --max-steps {value}",
                 f"--ideas accepted --task wine --max-steps {value}"):
        with pytest.raises(UsageError) as refused:
            ip.run_line_magic("mlr_experiment", line)
        assert str(refused.value) == LINE.format(value)


def test_mcp_refuses_max_steps_out_of_range_and_its_schema_has_the_spec_range(
        tmp_path: Path) -> None:
    from mlr_copilot_jupyter.mcp_server.server import build_server

    server = build_server(copilot(tmp_path), roots=[tmp_path])

    async def scenario() -> tuple[dict[str, Any], list[str]]:
        tools = {t.name: t for t in await server.list_tools()}
        schemas = {name: tools[name].input_schema["properties"]["max_steps"]
                   for name in ("run_experiment", "compare_ideas")}
        errors = []
        for value in BAD_STEPS:
            with pytest.raises(Exception) as refused:
                await server.call_tool("run_experiment", {"task": "digits", "max_steps": value})
            errors.append(str(refused.value))
        return schemas, errors

    schemas, errors = asyncio.run(scenario())
    for schema in schemas.values():
        assert (schema["minimum"], schema["maximum"]) == (MAX_STEPS.low, MAX_STEPS.high)
        assert schema["default"] is None  # the task's default, not a second one
    assert errors == [f"run_experiment: {LINE.format(v)}" for v in BAD_STEPS]




def test_task_toml_takes_the_same_range(tmp_path: Path) -> None:
    from mlr_copilot_jupyter.experiment.task import load_task

    for value in BAD_STEPS:
        spec = tiny_task(tmp_path / f"bad{value}", value) / "task.toml"
        with pytest.raises(TaskError) as refused:
            load_task(str(spec.parent))
        assert refused.value.one_line() == (f"{spec}: field 'budget.max_steps' "
                                            f"must be between 0 and 200, got {value}")
        assert refused.value.one_line().endswith(LINE.format(value).removeprefix("--max-steps"))
    for value in (0, 200):  # 0: the baseline only, as --max-steps 0 on every surface
        good = load_task(str(tiny_task(tmp_path / f"good{value}", value)))
        assert good.budget.max_steps == value


# -- every declared option reaches the run -------------------------------------------------------
def test_every_spec_field_is_a_run_options_field() -> None:
    from mlr_copilot_jupyter.experiment.options import RunOptions

    run_fields = {f.name for f in fields(RunOptions)}
    assert set(RUN_FIELDS) == {f.name for f in fields(ExperimentOptions)} == set(EVERY_VALUE)
    assert set(RUN_FIELDS) <= run_fields


def test_the_facade_maps_every_field_onto_run_options(tmp_path: Path) -> None:
    agent = copilot(tmp_path).prepare_experiment(
        "wine", out=tmp_path / "run", options=ExperimentOptions(**EVERY_VALUE))
    assert {name: getattr(agent.options, name) for name in EVERY_VALUE} == EVERY_VALUE


def test_typed_keywords_build_the_same_options(tmp_path: Path) -> None:
    """The documented Python API keywords (``run_experiment("wine", max_steps=3)``) still work
    and win over ``options``."""
    agent = copilot(tmp_path).prepare_experiment(
        "wine", out=tmp_path / "run", options=ExperimentOptions(max_steps=9, seed=1),
        max_steps=2, sandbox="off")
    assert (agent.options.max_steps, agent.options.seed, agent.options.sandbox) == (2, 1, "off")
    with pytest.raises(TypeError, match="unknown run option"):
        copilot(tmp_path).prepare_experiment("wine", out=tmp_path / "r2",
                                             max_stepz=2)  # type: ignore[call-arg]


def test_cli_experiment_hands_every_declared_option_to_the_facade(tmp_path: Path) -> None:
    from mlr_copilot_jupyter.cli.experiment_cmd import execute

    parser = cli_parser("experiment")
    names = declared(parser)
    assert set(names) == set(RUN_FIELDS)  # mlr-copilot experiment declares them all
    args = parser.parse_args(["--task", "wine", "--out", str(tmp_path / "run"),
                              *line_for(names).split()])
    args.mode = "auto"  # approve needs a terminal; the value itself is checked below
    recording = RecordingCopilot()
    with pytest.raises(Asked):
        execute(recording, args)
    assert recording.options is not None
    assert recording.options.given() == {**expected(names), "mode": "auto"}
    assert ExperimentOptions.from_args(parser.parse_args(
        ["--task", "wine", "--out", "x", "--mode", "approve"])).mode == "approve"


def test_cli_compare_hands_every_declared_option_to_the_facade(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlr_copilot_jupyter.cli import build_parser
    from tests.support.review import make_idea

    ideas = tmp_path / "ideas.json"
    ideas.write_text(json.dumps({"ideas": [make_idea(1).model_dump(mode="json")]}),
                     encoding="utf-8")
    names = declared(cli_parser("compare"))
    assert {"max_steps", "seed", "cell_timeout", "token_budget", "cost_budget", "deadline",
            "sandbox", "sandbox_network"} <= set(names)
    seen: dict[str, Any] = {}

    def record(self: Copilot, ideas: Any, task: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise Asked

    monkeypatch.setattr(Copilot, "compare", record)
    args = build_parser().parse_args([
        "compare", "--ideas", str(ideas), "--task", "wine", "--out", str(tmp_path / "c"),
        "--backend", "offline", "--no-progress", "--metric", "mae", "--direction", "min",
        *line_for(names).split()])
    with pytest.raises(Asked):
        args.func(args)
    assert seen["options"].given() == expected(names)
    assert (seen["metric"], seen["direction"]) == ("mae", "min")


def magics_with(recording: RecordingCopilot) -> Any:
    return SimpleNamespace(copilot=recording, shell=None, current_run=None, current_compare=None)


def test_magic_hands_every_declared_option_to_the_facade() -> None:
    from IPython.core.error import UsageError

    from mlr_copilot_jupyter.jupyter_ui.magics_experiment import mlr_experiment_magic

    names = declared(magic_parser())
    assert set(RUN_FIELDS) - set(names) == {"memory_limit_mb", "verify"}  # CLI-only options
    recording = RecordingCopilot()
    with pytest.raises(Asked):
        mlr_experiment_magic(magics_with(recording), f"--task wine {line_for(names)}")
    assert recording.options is not None and recording.options.given() == expected(names)
    with pytest.raises(UsageError, match="unrecognized arguments: --memory-limit-mb"):
        mlr_experiment_magic(magics_with(recording), "--task wine --memory-limit-mb 2048")


def test_magic_comparison_forwards_every_option_but_approve() -> None:
    from IPython.core.error import UsageError

    from mlr_copilot_jupyter.jupyter_ui.magics_experiment import mlr_experiment_magic

    names = [n for n in declared(magic_parser()) if n != "mode"]
    recording = RecordingCopilot()
    with pytest.raises(Asked):
        mlr_experiment_magic(magics_with(recording),
                             f"--ideas accepted --task wine {line_for(names)}")
    assert recording.options is not None and recording.options.given() == expected(names)
    with pytest.raises(UsageError, match="--mode approve does not go with --ideas"):
        mlr_experiment_magic(magics_with(RecordingCopilot()),
                             "--ideas accepted --task wine --mode approve")


def test_the_facade_refuses_approve_for_a_comparison(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--mode approve does not go with a comparison"):
        copilot(tmp_path).start_compare("accepted", "wine", mode="approve")


def test_mcp_hands_its_options_to_the_facade(tmp_path: Path) -> None:
    from mlr_copilot_jupyter.mcp_server.guard import Folders
    from mlr_copilot_jupyter.mcp_server.service import ResearchService

    recording = RecordingCopilot()
    service = ResearchService(recording, Folders(tmp_path / "runs", [tmp_path]))
    with pytest.raises(Asked):
        service.start_run("wine", idea_id=None, plan="", max_steps=3, mode="approve", seed=7,
                          verify=False, resume=None)
    assert recording.options == ExperimentOptions(max_steps=3, mode="approve", seed=7,
                                                  verify=False)
    with pytest.raises(Asked):  # defaults: the task's steps, the run's own mode, seed, verify
        service.start_run("wine", idea_id=None, plan="", max_steps=None, mode="auto",
                          seed=None, verify=True, resume=None)
    assert recording.options == ExperimentOptions(mode="auto", verify=True)


@pytest.mark.parametrize("name", RESUME_KEEPS)
def test_a_resume_refuses_what_it_would_not_use(name: str, tmp_path: Path) -> None:
    """A resumed run keeps its mode, seed, cell timeout, memory limit and verification: given
    with --resume they are refused in one line, not dropped."""
    flag = RUN_FIELDS[name].flags[-1]
    with pytest.raises(InputError) as refused:
        copilot(tmp_path).prepare_experiment("", resume=tmp_path / "old",
                                             options=ExperimentOptions(**{name: EVERY_VALUE[name]}))
    assert refused.value.one_line() == (f"{flag} applies to a new run; a resumed run keeps "
                                        "its own")


def test_a_comparison_refuses_a_bad_option_before_it_starts(tmp_path: Path) -> None:
    """Checked once by the facade, not once per idea in the worker processes."""
    free = Copilot(backend="offline", run_dir=str(tmp_path / "runs"), announce_to=io.StringIO(),
                   price_per_1k_prompt=0.0, price_per_1k_completion=0.0)
    with pytest.raises(InputError, match="--cost-budget needs a price per 1k tokens"):
        free.start_compare("accepted", "wine", cost_budget=0.5)
    with pytest.raises(InputError, match=LINE.format(201)):
        free.start_compare("accepted", "wine", options=ExperimentOptions(max_steps=201))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("value", (0, 21))
def test_one_range_for_the_number_of_ideas(value: int, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """``-n`` is 1..20 on the CLI, the facade (so %mlr_idea) and MCP (its schema too)."""
    from mlr_copilot_jupyter.cli import main
    from mlr_copilot_jupyter.mcp_server.guard import Folders
    from mlr_copilot_jupyter.mcp_server.server import build_server
    from mlr_copilot_jupyter.mcp_server.service import ResearchService
    from mlr_copilot_jupyter.options_spec import IDEAS_N

    line = f"-n must be between 1 and 20, got {value}"
    assert main(["ideas", str(tmp_path / "paper.txt"), "-n", str(value)]) == 1
    assert capsys.readouterr().err.strip() == f"mlr-copilot: error: {line}"
    session = copilot(tmp_path)
    for call in (lambda: session.generate_ideas(value),
                 lambda: ResearchService(session, Folders(tmp_path, [tmp_path])).generate_ideas(
                     value, False)):
        with pytest.raises(InputError) as refused:
            call()
        assert refused.value.one_line() == line

    async def schema() -> dict[str, Any]:
        tools = {t.name: t for t in await build_server(session).list_tools()}
        return dict(tools["generate_ideas"].input_schema["properties"]["n"])

    n = asyncio.run(schema())
    assert (n["minimum"], n["maximum"], n["default"]) == (IDEAS_N.low, IDEAS_N.high, 5)
