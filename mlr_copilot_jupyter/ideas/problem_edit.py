"""Editing a research problem as YAML in a notebook cell (``%mlr_problem --edit``)."""

from __future__ import annotations

import yaml

from ..errors import InputError
from ..models import ResearchProblem

EDITABLE = ("task_definition", "research_gaps", "keywords", "rationale")


def problem_yaml(problem: ResearchProblem) -> str:
    """The editable fields of a problem as YAML."""
    data = {k: getattr(problem, k) for k in EDITABLE}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def apply_problem_yaml(problem: ResearchProblem | None, text: str) -> ResearchProblem:
    """A copy of ``problem`` with the fields given in ``text`` (YAML) replaced."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"the %%mlr_problem cell is not valid YAML ({first})") from None
    if not isinstance(data, dict):
        raise InputError("the %%mlr_problem cell must be a YAML mapping of field: value")
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise InputError(f"unknown problem fields: {', '.join(unknown)}",
                         hint="editable: " + ", ".join(EDITABLE))
    base = problem.model_dump() if problem else {"task_definition": ""}
    base.update({k: v for k, v in data.items() if v is not None})
    base["engine"] = (problem.engine + "+edited") if problem and problem.engine else "edited"
    try:
        return ResearchProblem.model_validate(base)
    except ValueError as exc:
        raise InputError(f"the edited problem is not valid: {str(exc).splitlines()[0]}") from None
