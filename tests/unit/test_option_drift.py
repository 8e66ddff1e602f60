"""Options that were declared in one place and ignored in another (issue #18's drift bugs), in
this process (tests/integration/test_option_drift.py: eval.py's subprocess environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlr_copilot_jupyter import Copilot
from mlr_copilot_jupyter.experiment.task_spec import read_spec
from tests.support.experiments import tiny_task


def test_task_toml_max_steps_is_the_runs_step_budget(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # no sandbox probe (it starts bubblewrap, a process): the step budget does not depend on it
    monkeypatch.setenv("MLR_COPILOT_SANDBOX", "off")
    folder = tiny_task(tmp_path / "tiny", steps=2)
    assert read_spec(folder / "task.toml").budget.max_steps == 2  # type: ignore[union-attr]
    copilot = Copilot(backend="offline", announce_to=open("/dev/null", "w"))
    agent = copilot.prepare_experiment(folder, out=tmp_path / "run")
    assert agent.options.max_steps == 2
    explicit = copilot.prepare_experiment(folder, out=tmp_path / "run2", max_steps=5)
    assert explicit.options.max_steps == 5  # the command line wins over task.toml


def test_max_steps_is_checked_once_with_the_same_line_everywhere(
        ip: object, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """One check (experiment.options.check_max_steps): RunOptions, the magics and the CLI
    commands give the same one-line error for a negative --max-steps."""
    from IPython.core.error import UsageError

    from mlr_copilot_jupyter.cli import main
    from mlr_copilot_jupyter.errors import InputError
    from mlr_copilot_jupyter.experiment.options import RunOptions

    line = "--max-steps must be between 0 and 200, got -3"
    with pytest.raises(InputError) as direct:
        RunOptions(max_steps=-3)
    assert direct.value.one_line() == line
    with pytest.raises(UsageError) as magic:
        ip.run_line_magic("mlr_experiment", "--task wine --max-steps -3")  # type: ignore[attr-defined]
    assert str(magic.value) == line
    capsys.readouterr()
    for argv in (["experiment", "--task", "wine", "--max-steps", "-3", "--out", str(tmp_path / "x")],
                 ["bench", "--max-steps", "-3", "--out", str(tmp_path / "b")]):
        assert main(argv) == 1
        assert capsys.readouterr().err.strip() == f"mlr-copilot: error: {line}", argv


def test_experiment_options_come_from_one_spec_for_the_cli_and_the_magic() -> None:
    """``mlr-copilot experiment`` and ``%mlr_experiment`` build their shared options from
    ``options_spec``: same flags, type, default, choices, metavar and nargs."""
    from mlr_copilot_jupyter.cli import build_parser
    from mlr_copilot_jupyter.jupyter_ui.magics_experiment import _parser_holder
    from mlr_copilot_jupyter.options_spec import EXPERIMENT_BUDGETS, EXPERIMENT_SHARED

    cli = build_parser()._subparsers._group_actions[0].choices["experiment"]  # type: ignore[union-attr]
    magic = _parser_holder.parser  # type: ignore[attr-defined]

    def action(parser: object, flag: str) -> object:
        return next(a for a in parser._actions if flag in a.option_strings)  # type: ignore[attr-defined]

    fields = ("type", "default", "choices", "metavar", "nargs")
    for spec in (*EXPERIMENT_SHARED, *EXPERIMENT_BUDGETS):
        flag = spec.flags[0]
        a, b = action(cli, flag), action(magic, flag)
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], flag
        assert a.help.startswith(spec.help[:40]) and b.help, flag  # type: ignore[attr-defined]


def test_batch_options_come_from_one_spec_for_the_cli_and_the_magic() -> None:
    from mlr_copilot_jupyter.cli import build_parser
    from mlr_copilot_jupyter.jupyter_ui.magics_batch import mlr_batch
    from mlr_copilot_jupyter.options_spec import BATCH_SHARED

    cli = build_parser()._subparsers._group_actions[0].choices["batch"]  # type: ignore[union-attr]
    fields = ("dest", "type", "default", "choices", "metavar", "nargs", "help")
    for spec in BATCH_SHARED:
        a, b = (next(x for x in parser._actions if spec.flags[-1] in x.option_strings)
                for parser in (cli, mlr_batch.parser))  # type: ignore[attr-defined]
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], spec.flags


def test_idea_options_come_from_one_spec_for_the_cli_and_the_magic() -> None:
    from mlr_copilot_jupyter.cli import build_parser
    from mlr_copilot_jupyter.jupyter_ui.magics_ideas import idea_arguments
    from mlr_copilot_jupyter.options_spec import IDEAS_SHARED

    @idea_arguments
    def holder(line: str) -> None:
        """Holds the %mlr_idea parser."""

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    fields = ("dest", "type", "default", "choices", "metavar", "nargs", "help")
    for spec in IDEAS_SHARED:
        flag = spec.flags[-1]
        parsers = [commands["ideas"], holder.parser]  # type: ignore[attr-defined]
        if flag in ("-n", "--related"):
            parsers.append(commands["run"])
        a, *others = (next(x for x in p._actions if flag in x.option_strings) for p in parsers)
        for b in others:
            assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], flag


def test_paper_and_table_options_come_from_one_spec() -> None:
    from mlr_copilot_jupyter.cli import build_parser
    from mlr_copilot_jupyter.jupyter_ui.magics import MLRCopilotMagics
    from mlr_copilot_jupyter.jupyter_ui.magics_experiment import _parser_holder

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    init = commands["task"]._subparsers._group_actions[0].choices["init"]  # type: ignore[union-attr]
    fields = ("dest", "type", "default", "choices", "metavar", "nargs")

    def same(flag: str, a_parser: object, b_parser: object) -> None:
        a, b = (next(x for x in p._actions if flag in x.option_strings)  # type: ignore[attr-defined]
                for p in (a_parser, b_parser))
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], flag

    same("--max-pages", commands["problem"], MLRCopilotMagics.mlr_paper.parser)  # type: ignore[attr-defined]
    for flag in ("--target", "--test-size"):
        same(flag, init, _parser_holder.parser)  # type: ignore[attr-defined]


def test_comparison_options_come_from_one_spec_for_the_cli_and_the_magic() -> None:
    """``mlr-copilot compare`` and ``%mlr_experiment --ideas`` share --workers, --scheduler and
    --seeds; batch shares --scheduler (one meaning of the address everywhere)."""
    from mlr_copilot_jupyter.cli import build_parser
    from mlr_copilot_jupyter.jupyter_ui.magics_experiment import _parser_holder
    from mlr_copilot_jupyter.options_spec import COMPARE_SHARED

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    fields = ("dest", "type", "default", "choices", "metavar", "nargs", "help")
    for spec in COMPARE_SHARED:
        flag = spec.flags[-1]
        a, b = (next(x for x in p._actions if flag in x.option_strings)  # type: ignore[attr-defined]
                for p in (commands["compare"], _parser_holder.parser))  # type: ignore[attr-defined]
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], flag
    scheduler = [next(x for x in commands[c]._actions if "--scheduler" in x.option_strings).help
                 for c in ("compare", "batch")]
    assert scheduler[0] == scheduler[1]
