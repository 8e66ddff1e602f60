"""A step's code as a fenced ```python block: read from a reply (the experiment runs that take
such steps are in tests/integration/test_step_format.py)."""

from __future__ import annotations

import pytest

from mlr_copilot_jupyter.errors import LLMSchemaError
from mlr_copilot_jupyter.experiment.step_format import code_block, parse_markdown_step


def test_title_plan_and_code_of_a_markdown_reply() -> None:
    reply = ("<think>The user wants a model. Maybe ```python\nprint('no')\n``` hmm.</think>\n"
             "# Scale features, then logistic regression\n"
             "Standardising puts the features on one scale.\nThe baseline ignores that.\n\n"
             "```python\nimport pandas as pd\nprint(pd.__version__)\n```\nDone.")
    title, plan, code = parse_markdown_step(reply)
    assert title == "Scale features, then logistic regression"
    assert plan == "Standardising puts the features on one scale. The baseline ignores that."
    assert code == "import pandas as pd\nprint(pd.__version__)\n"  # not the block in <think>


def test_the_longest_python_block_is_the_cell_and_a_cut_block_counts() -> None:
    reply = ("Plan: try a forest.\n```bash\npip install x\n```\n```py\nx = 1\n```\n"
             "```python\nimport numpy as np\nx = np.arange(3)\nprint(x)\n")  # cut, unclosed
    found = code_block(reply)
    assert found is not None
    assert found[0] == "import numpy as np\nx = np.arange(3)\nprint(x)\n"
    assert parse_markdown_step("only prose\n```py\nprint(1)\n```")[0] == "Step"


@pytest.mark.parametrize("reply", ["no code at all", "```bash\nls\n```", "```python\n\n```"])
def test_a_reply_without_python_code_is_a_schema_error_keeping_the_raw_text(reply: str) -> None:
    with pytest.raises(LLMSchemaError) as err:
        parse_markdown_step(reply)
    assert err.value.raw == reply and "```python" in str(err.value)
