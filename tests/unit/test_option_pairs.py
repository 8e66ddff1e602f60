"""The CLI commands and their magic twins take their shared options from ``options_spec``
(issue #25 item 2): retrieval (``mlr-copilot models|datasets`` / ``%mlr_models|datasets``),
review decisions (``mlr-copilot review`` / ``%mlr_review``) and the LLM settings (the CLI's
common options / ``%mlr_config``) cannot drift in flag, type, default, choices, metavar or nargs,
and the ranges they check are the spec's."""

from __future__ import annotations

from typing import Any

import pytest

from mlr_copilot_jupyter.errors import InputError
from mlr_copilot_jupyter.options_spec import (
    HUB_TIMEOUT,
    LLM_SETTINGS,
    RETRIEVAL_LIMIT,
    RETRIEVAL_SHARED,
    REVIEW_DECISIONS,
    Option,
)

FIELDS = ("dest", "type", "default", "choices", "metavar", "nargs")


def commands() -> Any:
    from mlr_copilot_jupyter.cli import build_parser

    return build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]


def action(parser: Any, spec: Option) -> Any:
    flag = spec.flags[-1]
    return next(a for a in parser._actions
                if flag in a.option_strings or (not a.option_strings and a.dest == flag))


def same(specs: tuple[Option, ...], cli: Any, magic: Any) -> None:
    for spec in specs:
        a, b = action(cli, spec), action(magic, spec)
        assert [getattr(a, f) for f in FIELDS] == [getattr(b, f) for f in FIELDS], spec.flags
        assert a.help == spec.help and b.help == (spec.notebook_help or spec.help), spec.flags


def test_retrieval_options_come_from_one_spec() -> None:
    from mlr_copilot_jupyter.jupyter_ui.magics_retrieval import _datasets_parser, _models_parser

    for command, holder in (("models", _models_parser), ("datasets", _datasets_parser)):
        same(RETRIEVAL_SHARED, commands()[command], holder.parser)  # type: ignore[attr-defined]
        assert action(commands()[command], HUB_TIMEOUT).type is float


def test_review_decisions_come_from_one_spec() -> None:
    from mlr_copilot_jupyter.jupyter_ui.magics_ideas import review_arguments

    @review_arguments
    def holder(line: str) -> None:
        """Holds the %mlr_review parser."""

    same(REVIEW_DECISIONS, commands()["review"], holder.parser)  # type: ignore[attr-defined]


def test_llm_settings_come_from_one_spec() -> None:
    from mlr_copilot_jupyter.jupyter_ui.magics import MLRCopilotMagics

    magic = MLRCopilotMagics.mlr_config.parser  # type: ignore[attr-defined]
    shared = tuple(s for s in LLM_SETTINGS if any(s.flags[-1] in a.option_strings
                                                    for a in magic._actions))
    assert {s.flags[-1] for s in shared} == {"--backend", "--model", "--base-url",
                                             "--temperature"}
    for command in ("config", "experiment", "models"):
        same(shared, commands()[command], magic)


@pytest.mark.parametrize(("spec", "value", "line"), [
    (RETRIEVAL_LIMIT, 0, "--limit must be >= 1, got 0"),
    (HUB_TIMEOUT, 0.0, "--hub-timeout must be a positive number of seconds, got 0.0"),
])
def test_the_retrieval_ranges_are_the_specs(spec: Option, value: float, line: str) -> None:
    with pytest.raises(InputError) as refused:
        spec.check(value)
    assert refused.value.one_line() == line


def test_the_magic_and_the_cli_refuse_a_bad_limit_with_the_same_line(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.error import UsageError

    from mlr_copilot_jupyter.cli import main

    with pytest.raises(UsageError) as refused:
        ip.run_line_magic("mlr_models", "bert --limit 0 --source local")
    assert str(refused.value) == "--limit must be >= 1, got 0"
    assert main(["models", "bert", "--limit", "0", "--source", "local"]) == 1
    assert capsys.readouterr().err.strip() == "mlr-copilot: error: --limit must be >= 1, got 0"


def test_batch_lines_give_the_same_typed_options_on_the_cli_and_the_magic() -> None:
    from mlr_copilot_jupyter.jupyter_ui.magics_batch import mlr_batch
    from mlr_copilot_jupyter.options_spec import BATCH_NOTEBOOKS, BATCH_OUT, BatchOptions

    line = ("a.ipynb b.ipynb -p seed 0 1 -p lr 0.1 --grid g.yaml --workers 3 --scheduler local "
            "--kernel python3 --timeout 30 --retries 1 --metric-agg max --no-progress "
            "--sandbox off --allow-network --out sweep")
    cli = BatchOptions.from_args(commands()["batch"].parse_args(line.split()))
    magic = BatchOptions.from_args(mlr_batch.parser.parse_argstring(line))  # type: ignore[attr-defined]
    assert cli == magic == BatchOptions(
        notebooks=("a.ipynb", "b.ipynb"), out="sweep", params=(("seed", "0", "1"), ("lr", "0.1")),
        grid="g.yaml", workers=3, scheduler="local", kernel="python3", timeout=30.0, retries=1,
        metric_agg="max", progress=False, sandbox="off", sandbox_network=True)
    same((BATCH_NOTEBOOKS, BATCH_OUT), commands()["batch"], mlr_batch.parser)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("flag", "line"), [
    ("--workers 0", "--workers must be >= 1, got 0"),
    ("--retries -1", "--retries must be >= 0, got -1"),
    ("--timeout 0", "--timeout must be a positive number of seconds, got 0.0"),
])
def test_batch_ranges_are_one_line_on_the_cli_and_the_magic(
        ip: Any, capsys: pytest.CaptureFixture[str], tmp_path: Any, flag: str, line: str) -> None:
    from IPython.core.error import UsageError

    from mlr_copilot_jupyter.cli import main

    argv = [str(tmp_path / "nb.ipynb"), *flag.split(), "--out", str(tmp_path / "out")]
    assert main(["batch", *argv]) == 1
    assert capsys.readouterr().err.strip() == f"mlr-copilot: error: {line}"
    with pytest.raises(UsageError) as refused:
        ip.run_line_magic("mlr_batch", " ".join(argv))
    assert str(refused.value) == line
    assert not (tmp_path / "out").exists()
