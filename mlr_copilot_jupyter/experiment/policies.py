"""The step policy proposes the next step's plan and code, and reviews executions.

The agent decides *what kind* of step comes next (draft, improve or debug, and from which parent);
the policy decides *what* to try by asking the backend: a :class:`StepDraft` query for each step
(with the :class:`StepRequest` as ``inputs``) and a review query for an execution. A language model
answers from the prompt; the offline engine answers from the recipe catalog
(experiment/offline_steps.py), with a draft that also names the recipe and the retrieval it made.
Either way the draft says how it becomes the :class:`Proposal` the policy returns
(:meth:`StepDraft.to_proposal`), so the policy never asks which engine wrote it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..errors import LLMSchemaError
from ..llm.base import Backend, Reply, UsageMeter, usage_scope
from ..llm.prompts import SYSTEM_RESEARCHER, compile_prompt_to_md
from ..models import Idea
from .journal import Journal, Node, NodeKind
from .review import ExecutionReview, llm_review
from .step_format import code_block, parse_markdown_step, with_markdown_instructions
from .task import Task

CODE_CHARS = 6000
OUTPUT_CHARS = 3000


class Proposal(BaseModel):
    """What the policy wants to run next."""

    title: str
    plan: str
    code: str
    recipe: str | None = None
    tokens: int = 0
    retrieval: dict[str, Any] | None = Field(
        default=None, description="A model retrieval made for this step: query, candidates, why.")


class StepDraft(BaseModel):
    """The backend's structured answer for one step."""

    title: str = Field(description="Under 12 words: what this step tries.",
                       json_schema_extra={"maxLength": 120})
    plan: str = Field(description="The plan and its rationale, 2-5 sentences, markdown.",
                      json_schema_extra={"maxLength": 1200})
    code: str = Field(description="One complete Python notebook cell.",
                      json_schema_extra={"maxLength": 10000})  # about the 2,500-token cap
    retrieval_query: str | None = Field(
        default=None,
        description="Optional tool call: to see candidate models first, describe what you need "
                    "here and leave code empty; the candidates come back in the next prompt.")

    def to_proposal(self, *, tokens: int, retrieval: dict[str, Any] | None) -> Proposal:
        """The step to run: title, plan and code trimmed, the code out of any fences; a
        ``retrieval`` the draft asked for records the plan as its choice.

        A draft that is a finished step (the offline engine's recipe step) overrides this to be
        taken as written.
        """
        if retrieval is not None:
            retrieval["chosen"] = self.plan.strip()[:500]
            retrieval.pop("lines", None)
        return Proposal(title=self.title.strip(), plan=self.plan.strip(),
                        code=_strip_fences(self.code), tokens=tokens, retrieval=retrieval)


@dataclass
class StepRequest:
    """Everything a policy may use to propose a step."""

    kind: NodeKind
    parent: Node | None
    journal: Journal
    task: Task
    idea: Idea | None = None
    plan_text: str = ""
    #: the researcher's notebook context (``--context notebook``), already redacted
    context: str = ""
    feedback: list[str] = field(default_factory=list)
    lost_state: bool = False
    #: the workspace the cells run in (file listing, data overview and eval facts come from it)
    workspace: Path | None = None
    #: files the baseline wrote that the scorer reads (workspace-relative path -> first lines),
    #: so a step can write its predictions in the same format
    artifacts: dict[str, str] = field(default_factory=dict)
    #: the per-cell timeout the executor really applies (None: the task's budget)
    cell_timeout: float | None = None


class Exhausted(Exception):
    """Nothing is left to propose (the offline catalog ran out); raised by the offline solver."""


# -- the prompt ------------------------------------------------------------------------------
KIND_INSTRUCTIONS = {
    "draft": "Write a complete first solution for the task (a new approach, not the baseline).",
    "improve": ("Make ONE atomic improvement to the parent solution below (a model, feature, "
                "preprocessing or hyperparameter change) and explain why it should help."),
    "debug": "The parent code below failed. Fix the bug; keep the approach unless it cannot work.",
}
CELL_RULES = (
    "The code runs as one cell of a Jupyter notebook in a Python kernel whose working directory "
    "is the task workspace listed above (the data files are there).",
    "Write a SELF-CONTAINED cell: import what it uses, load the data from the files and define "
    "every function and variable it needs. Never rely on variables from earlier cells: the kernel "
    "may be restarted, and to verify a result the cell's lineage is replayed in a fresh kernel "
    "and a fresh copy of the workspace.",
    "Variables `seed` (int) and `data_dir` exist: use `seed` for every random state.",
    "Only use packages that are installed (numpy, pandas, scikit-learn, matplotlib); never "
    "download data or models.",
    "Print short progress; do not print whole datasets.",
)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = int(limit * 0.4)
    return f"{text[:head]}\n[... {len(text) - limit} chars omitted ...]\n{text[-(limit - head):]}"


def evaluation_rules(task: Task, artifacts: dict[str, str]) -> list[str]:
    """How a cell must measure, report and submit its result for this task."""
    from .brief import validation_file

    metric = task.metric.name
    valid = validation_file(task)
    heldout = bool(getattr(task, "heldout", False))
    report = (f"report the VALIDATION {metric} with `report_metric(\"{metric}\", value)` (this "
              "function is predefined); the search selects nodes on this number.")
    rules: list[str] = []
    if valid:
        rules.append(f"Fit on the training data, compute the metric on `{valid}` and {report}")
    elif heldout or task.eval_script:
        rules.append("Hold out a validation split of the training data (or use cross-validation), "
                     f"select on it, and {report}")
    else:
        rules.append(f"This task has no validation file: compute {metric} on the evaluation data "
                     f"the baseline uses, as the baseline does, and report it with "
                     f"`report_metric(\"{metric}\", value)` (this function is predefined).")
    if heldout or task.eval_script or artifacts:
        rules.append("Then predict the test data and write the file(s) the scorer reads, in "
                     "exactly the format shown under 'Submission format' (or read by the scorer's "
                     "source), in every cell: only files this cell writes are scored (files left "
                     "by earlier cells are set aside).")
        rules.append("Never read or use test labels (answer files, held-out labels) for training "
                     "or selection; the test score is computed by the copilot, not by your cell.")
    return rules


def step_prompt(request: StepRequest) -> list[dict[str, str]]:
    """The prompt for one step; its size is bounded whatever the number of steps."""
    from .brief import task_brief

    task, journal = request.task, request.journal
    research: dict[str, object] = {"Task": task.description.strip()[:3000]}
    if request.idea is not None:
        p = request.idea.plan
        research["Hypothesis to test"] = request.idea.hypothesis
        research["Experiment plan"] = {"Objective": p.objective, "Method": p.method,
                                       "Steps": list(p.steps)}
    elif request.plan_text:
        research["Experiment plan"] = request.plan_text.strip()[:3000]
    if request.context:
        research["Researcher's notebook context"] = request.context
    timeout = request.cell_timeout or task.budget.cell_timeout_s
    spec = {
        "Metric": f"{task.metric.name} ({task.metric.direction})",
        "Time limit per cell": f"{timeout:g} s (the cell is interrupted after that)",
    }
    workspace = request.workspace or task.workspace_root
    brief = task_brief(task, workspace, request.artifacts)
    parent: dict[str, object] = {}
    if request.parent is not None:
        code = ("The baseline script, listed with line numbers above."
                if request.parent.kind == "baseline" and any(k.startswith("Baseline script")
                                                             and v for k, v in brief.items())
                else "```python\n" + _clip(request.parent.code, CODE_CHARS) + "\n```")
        parent = {
            "Parent node": f"{request.parent.id} ({request.parent.kind}): {request.parent.title}",
            "Parent code": code,
            "Parent output": "```\n" + _clip(request.parent.output or request.parent.error,
                                             OUTPUT_CHARS) + "\n```",
        }
    notes = []
    if request.lost_state:
        notes.append("The kernel was restarted: variables from earlier cells are gone, so the "
                     "cell must load everything it needs.")
    # What stays the same for the whole run first (research, specification, brief, rules), what
    # changes from step to step after it: a local server reuses its evaluated prompt up to the
    # first changed token. Measured with llama.cpp and SmolLM2-135M on 2 cores: a 4,300-token
    # step prompt shared 12% with the one before (the workspace listing near the top changed as
    # cells wrote files) and took 23 s to read again each step (issue 26).
    user = compile_prompt_to_md({
        "Research": research,
        "Task specification": spec,
        "Rules for the code": [*CELL_RULES, *evaluation_rules(task, request.artifacts)],
        "Task brief": brief,  # its workspace listing last
        "What to do now": KIND_INSTRUCTIONS[request.kind],
        **parent,
        "Search so far": journal.summary_for_prompt(),
        "Human feedback": request.feedback[-5:],
        "Notes": notes,
    })
    return [{"role": "system", "content": SYSTEM_RESEARCHER}, {"role": "user", "content": user}]


class StepPolicy:
    """Asks the backend for each step (structured output: title, plan, code) and reviews executions.

    What it may ask comes from the backend's :class:`~..llm.base.Capabilities`: a language model
    repairs failing code in debug steps and reviews every execution (AIDE); the offline engine
    cannot repair code (its "debug" step falls back to the next recipe) and its heuristic readout
    runs only when no MLR_METRIC line came.
    """

    def __init__(self, backend: Backend, step_format: str = "json") -> None:
        self.backend = backend
        can = backend.capabilities
        self.repairs_code = can.repairs_code
        self.reviews_every_step = can.reviews_every_step
        # see step_format.py: code in JSON or in a ```python block (only for a backend that can
        # write one; the offline engine always answers the structured object)
        self.step_format = step_format if can.writes_markdown_steps else "json"
        self.last_prompt_chars = 0

    async def propose(self, request: StepRequest) -> Proposal:
        messages = step_prompt(request)
        retrieval: dict[str, Any] | None = None
        with usage_scope(UsageMeter()) as meter:
            draft = await self._ask(messages, request)
            if draft.retrieval_query and not draft.code.strip():
                retrieval = await asyncio.to_thread(self._retrieve, draft.retrieval_query,
                                                    request.task)
                messages = messages + [
                    {"role": "assistant", "content": draft.model_dump_json()},
                    {"role": "user", "content": compile_prompt_to_md({
                        "Retrieved candidates": retrieval["lines"],
                        "Warnings": retrieval["warnings"],
                        "Now": "Write the code cell, using a candidate if it fits (say which and "
                               "why in the plan). Do not ask for another retrieval.",
                    })},
                ]
                draft = await self._ask(messages, request)
        self.last_prompt_chars = sum(len(m["content"]) for m in messages)
        return draft.to_proposal(tokens=meter.total.total_tokens, retrieval=retrieval)

    async def _ask(self, messages: list[dict[str, str]], request: StepRequest) -> StepDraft:
        label = f"{request.kind}-{request.journal.next_id()}"
        if self.step_format == "markdown":
            reply: Reply[Any] = await self.backend.aquery(with_markdown_instructions(messages),
                                                          label=label, inputs=request)
            title, plan, code = parse_markdown_step(reply.text)
            return StepDraft(title=title, plan=plan, code=code)
        try:
            parsed = (await self.backend.aquery(messages, schema=StepDraft, label=label,
                                                inputs=request)).parsed
        except LLMSchemaError as exc:
            if exc.raw and code_block(exc.raw) is not None:  # the code came as a fenced block
                title, plan, code = parse_markdown_step(exc.raw)
                return StepDraft(title=title, plan=plan, code=code)
            raise
        assert parsed is not None
        return parsed

    def _retrieve(self, query: str, task: Task) -> dict[str, Any]:
        """The retrieval tool: models for ``query`` from the Hub and local sources."""
        from ..retrieval import retrieve

        result = retrieve(query, "model", task_type=task.task_type, source="all", limit=8)
        lines = [f"{c.id} ({c.source}; {c.task or 'any task'}): {c.description[:120]} — "
                 f"usage: {c.usage}" for c in result.candidates]
        return {"query": query, "source": "all", "candidates": [c.id for c in result.candidates],
                "lines": lines, "warnings": result.warnings}

    async def review(self, code: str, output: str, task: Task, *,
                     node_id: str | None = None) -> ExecutionReview:
        """Review one execution: an LLM reads the code and the output (AIDE-style); the offline
        engine gives a labelled heuristic readout of validation lines (the code is not read)."""
        return await llm_review(self.backend, code, output, task,
                                label=f"review-{node_id or 'cell'}")


def _strip_fences(code: str) -> str:
    text = code.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        if text.rstrip().endswith("```"):
            text = text.rstrip()[:-3]
    return text.strip() + "\n"


def policy_for(backend: Backend) -> StepPolicy:
    """The step policy for ``backend`` (its step format from the backend's settings)."""
    settings = getattr(backend, "settings", None)
    return StepPolicy(backend, step_format=getattr(settings, "step_format", "json"))


__all__: Sequence[str] = ("ExecutionReview", "Exhausted", "Proposal", "StepDraft", "StepPolicy",
                          "StepRequest", "policy_for", "step_prompt")
