"""``--context notebook`` without a kernel: the step prompt carries the context, the recent cells
skip the copilot's magics within a budget, and secrets are redacted (the magic's runs:
tests/integration/test_notebook_context.py)."""

from __future__ import annotations

from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.experiment.notebook_context import (
    CELLS_CHARS,
    recent_cells,
    redact_context,
)
from mlr_copilot_jupyter.experiment.policies import StepRequest, step_prompt
from mlr_copilot_jupyter.experiment.task import load_task


def test_the_step_prompt_carries_the_context() -> None:
    task = load_task("wine")
    journal = Journal(run_id="r", task=task.name, metric_name="accuracy", direction="maximize")
    context = "**Recent notebook cells (oldest first)**\n\n```python\nx = load_wine()\n```"
    with_context = step_prompt(StepRequest(kind="draft", parent=None, journal=journal,
                                           task=task, context=context))
    prompt = "\n".join(m["content"] for m in with_context)
    assert "Researcher's notebook context" in prompt and "x = load_wine()" in prompt
    without = step_prompt(StepRequest(kind="draft", parent=None, journal=journal, task=task))
    assert "Researcher's notebook context" not in "\n".join(m["content"] for m in without)


def test_recent_cells_skip_copilot_magics_and_keep_the_budget() -> None:
    inputs = [f"step_{k} = {k}" for k in range(30)]
    inputs += ["%load_ext mlr_copilot_jupyter",
               "get_ipython().run_line_magic('mlr_experiment', '--data df --target y')",
               "big = '" + "x" * 10_000 + "'"]
    text = recent_cells(inputs)
    assert "step_29 = 29" in text and "step_21 = 21" in text and "step_20" not in text  # 10
    assert "mlr_" not in text and "big = 'xxx" in text
    assert len(text) <= CELLS_CHARS and "[... trimmed]" in text  # the long cell is cut
    assert len(recent_cells([f"cell_{k} = '{'y' * 900}'" for k in range(10)])) <= CELLS_CHARS


def test_redaction_of_secret_shapes() -> None:
    text = ('client = OpenAI(api_key="sk-abcdefghijklmnop")\nHF_TOKEN = "hf_' + "a" * 30 + '"\n'
            "headers = {'Authorization': 'Bearer abcdefgh12345678'}\npassword: 'hunter22'\n"
            "plain = 'keep me'")
    clean = redact_context(text, "hunter22")
    for secret in ("sk-abcdefghijklmnop", "hf_aaaa", "abcdefgh12345678", "hunter22"):
        assert secret not in clean
    assert "plain = 'keep me'" in clean and 'HF_TOKEN = "***"' in clean
