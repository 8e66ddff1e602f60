"""``%mlr_experiment --ideas … --task T`` passes every run option to each idea's run (issue #25's
live drift bug: --cost-budget, --seed, --metric and --direction were accepted and dropped), and
refuses --mode approve, which an unattended comparison cannot honour. The magic is exercised
through its real parser; the copilot is the seam that records what it was asked to start."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from IPython.core.error import UsageError

from mlr_copilot_jupyter.jupyter_ui.magics_experiment import mlr_experiment_magic
from mlr_copilot_jupyter.options_spec import ExperimentOptions


class RecordingCopilot:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, str, dict[str, Any]]] = []

    def start_compare(self, ideas: Any, task: str, *, options: ExperimentOptions,
                      metric: str | None = None, direction: str | None = None,
                      **kwargs: Any) -> Any:
        """What each idea's run is asked: the typed options' given fields, metric, direction."""
        asked = {**options.given(), "metric": metric, "direction": direction}
        self.calls.append((ideas, task, {k: v for k, v in asked.items() if v is not None}))
        return SimpleNamespace(comparison_id="cmp-1", done=False)


def _magics() -> Any:
    return SimpleNamespace(copilot=RecordingCopilot(), shell=None, current_compare=None)


def test_every_run_option_reaches_the_ideas_runs(capsys: pytest.CaptureFixture[str]) -> None:
    magics = _magics()
    mlr_experiment_magic(magics, "--ideas idea-1 idea-2 --task wine --cost-budget 0.5 --seed 7 "
                                 "--metric 'accuracy' --direction max --cell-timeout 30 "
                                 "--token-budget 900 --deadline 60 --max-steps 2 --sandbox off")
    ideas, task, options = magics.copilot.calls[0]
    assert ideas == ["idea-1", "idea-2"] and task == "wine"
    assert {k: options[k] for k in ("cost_budget", "seed", "metric", "direction", "cell_timeout",
                                    "token_budget", "deadline", "max_steps", "sandbox")} == {
        "cost_budget": 0.5, "seed": 7, "metric": "accuracy", "direction": "max",
        "cell_timeout": 30.0, "token_budget": 900, "deadline": 60.0, "max_steps": 2,
        "sandbox": "off"}
    assert options.get("mode", "auto") == "auto"  # unattended: never approve
    assert "comparison cmp-1 started" in capsys.readouterr().out


def test_options_left_unset_are_not_sent() -> None:
    magics = _magics()
    mlr_experiment_magic(magics, "--ideas accepted --task wine")
    _, _, options = magics.copilot.calls[0]
    assert not {"cost_budget", "seed", "metric", "direction"} & set(options)


def test_mode_approve_with_ideas_is_one_clear_line() -> None:
    magics = _magics()
    with pytest.raises(UsageError, match="--mode approve does not go with --ideas"):
        mlr_experiment_magic(magics, "--ideas accepted --task wine --mode approve")
    assert magics.copilot.calls == []
