"""Each LLM fault beyond the retries gives up in one line that names it (in-process, against the
scripted chat server on a thread): the message the experiment run ends with.

The run around it (a failed node per unusable reply, three in a row end the run, valid records,
``--resume`` once the server is healthy) does not depend on the kind of fault; the real-process
runs of tests/integration/test_faults.py show it for a transport fault (429) and a schema fault.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.errors import LLMError
from mlr_copilot_jupyter.experiment.policies import StepDraft
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend
from tests.support.chat_server import ChatServer
from tests.support.cli import SECRET_KEY

#: fault -> (faults the server answers with, what the one line says); as the experiment's
#: ``--retries 1 --timeout 1`` (2 attempts, 1 s per request).
GIVE_UP: dict[str, tuple[list[Any], str]] = {
    "429": (["429"] * 2, "kept rate-limiting (HTTP 429); gave up after 2 attempts"),
    "500": (["500"] * 2, "kept failing (HTTP 500); gave up after 2 attempts"),
    "timeout": ([("slow", {"delay": 3.0, "then": "too late"})] * 2,
                "timed out after 1 s; gave up after 2 attempts"),
    "empty_choices": (["empty_choices"] * 2, "kept returning unusable replies"),
    "reset": (["reset"] * 2, "could not be reached; gave up after 2 attempts"),
    "cut_stream": (["cut_stream"] * 2, "gave up after 2 attempts"),
    "bad_schema": (["malformed_json"] * 3, "did not return valid StepDraft JSON after 3 tries"),
}


@pytest.mark.parametrize("fault", list(GIVE_UP))
def test_a_fault_beyond_the_retries_gives_up_in_one_line_naming_it(
    llm_env: ChatServer, fault: str,
) -> None:
    faults, message = GIVE_UP[fault]
    for item in faults:
        kind, kwargs = (item, {}) if isinstance(item, str) else item
        llm_env.push_fault(kind, **kwargs)
    settings = MLRCopilot(max_retries=1, request_timeout=1.0, backoff_base=0.01, backoff_max=0.02)
    tokens: list[str] = []  # a watched call streams, as the experiment's progress display does
    with pytest.raises(LLMError) as info:
        OpenAIBackend(settings).query("Write the next step", schema=StepDraft, label="draft-n2",
                                      on_token=tokens.append)
    line = str(info.value)
    assert message in line and "\n" not in line, line
    assert llm_env.url in line, line  # the server that failed
    assert SECRET_KEY not in line
    assert llm_env.pending == 0, "every scripted fault was met"
