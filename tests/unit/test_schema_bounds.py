"""Structured output asks for bounded arrays and strings, so a grammar stops a looping model."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.experiment.policies import StepDraft
from mlr_copilot_jupyter.ideas.problem import ProblemDraft
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend
from mlr_copilot_jupyter.llm.schema import MAX_ITEMS, MAX_STRING, bounded, schema_for
from tests.support.chat_server import ChatServer


class Finding(BaseModel):
    kind: str = Field(json_schema_extra={"enum": ["gap", "result"]})
    text: str


class Draft(BaseModel):
    title: str
    items: list[str]
    findings: list[Finding]
    code: str = Field(json_schema_extra={"maxLength": 9000})
    tags: list[str] = Field(default_factory=list, json_schema_extra={"maxItems": 3})


def test_unbounded_arrays_and_strings_get_bounds_set_ones_are_kept() -> None:
    schema = schema_for(Draft)
    props = schema["properties"]
    assert props["title"]["maxLength"] == MAX_STRING
    assert props["items"]["maxItems"] == MAX_ITEMS and props["items"]["items"]["maxLength"]
    assert props["code"]["maxLength"] == 9000 and props["tags"]["maxItems"] == 3
    finding = schema["$defs"]["Finding"]["properties"]
    assert "maxLength" not in finding["kind"] and finding["text"]["maxLength"] == MAX_STRING
    assert schema_for(StepDraft)["properties"]["code"]["maxLength"] == 10000
    problem = schema_for(ProblemDraft)["properties"]
    assert problem["reported_results"]["maxItems"] == 6  # its own bound
    assert problem["research_gaps"]["items"]["maxLength"] == 300
    assert bounded({"type": "string", "format": "date"}) == {"type": "string", "format": "date"}


def test_the_request_carries_the_bounds_but_a_longer_reply_still_validates(
    llm_env: ChatServer,
) -> None:
    """Bounds guide a grammar; they are not validation: a server that ignores them and a model
    that writes 20 items still give a valid reply."""
    llm_env.push_json({"title": "t", "items": [f"i{k}" for k in range(20)], "findings": [],
                       "code": "x" * 12000})
    reply = OpenAIBackend(MLRCopilot(request_timeout=5)).query("go", schema=Draft, label="plan-1")
    assert reply.parsed is not None and len(reply.parsed.items) == 20
    body = llm_env.requests[-1]["json"]
    sent = body["response_format"]["json_schema"]["schema"]
    assert sent["properties"]["items"]["maxItems"] == MAX_ITEMS
    assert json.dumps(sent) in json.dumps(body) and '"maxItems": 12' in body["messages"][0]["content"]


def test_short_fields_carry_their_own_bounds_and_a_review_fits_a_small_cap() -> None:
    """A review is a few sentences: its schema ends a looping model's reply long before a
    600-token cap (about 3 characters a token), where the 2,000-character default per string let
    SmolLM2-135M run every review into the cap twice (issue 26)."""
    from mlr_copilot_jupyter.experiment.review import REVIEW_SUMMARY_CHARS, ReviewReply

    review = schema_for(ReviewReply)["properties"]
    assert review["summary"]["maxLength"] == REVIEW_SUMMARY_CHARS
    name = [b for b in review["metric_name"]["anyOf"] if b.get("type") == "string"]
    assert name == [{"type": "string", "maxLength": 80}]
    assert review["metric_split"]["enum"] == ["validation", "train", "test", "none"]
    strings = sum(b.get("maxLength", 0) for p in review.values()
                  for b in [p, *p.get("anyOf", [])])
    assert strings + len(json.dumps(list(review))) + 60 < 600 * 3
    step = schema_for(StepDraft)["properties"]
    assert step["title"]["maxLength"] == 120 and step["plan"]["maxLength"] == 1200
    # an optional list keeps its own bound on the array branch as well
    assert bounded({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                    "maxItems": 4})["anyOf"][0]["maxItems"] == 4


def _longest(node: object, defs: dict[str, object]) -> int:
    """Characters of the longest reply the schema's bounds allow (keys and punctuation included)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _longest(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        if "anyOf" in node:
            return max(_longest(branch, defs) for branch in node["anyOf"])
        kind = node.get("type")
        if kind == "object":
            return 2 + sum(len(key) + 4 + _longest(value, defs)
                           for key, value in node.get("properties", {}).items())
        if kind == "array":
            return 2 + node["maxItems"] * (2 + _longest(node["items"], defs))
        if kind == "string":
            if "enum" in node:
                return 2 + max(len(str(v)) for v in node["enum"])
            return 2 + node["maxLength"]
        return 24  # a number, a bool or null
    raise AssertionError(node)


def test_every_bound_of_a_problem_reply_stays_in_proportion_to_its_cap() -> None:
    """No field of the problem schema is left at the 2,000-character default (a reported result's
    strings were: 8 x 8,000 characters of room, and SmolLM2-135M ran the reply to its 1,500
    token cap); the whole bounded reply stays within about 3,500 tokens at 3.5 characters each."""
    schema = schema_for(ProblemDraft)
    defs = schema.get("$defs", {})
    result = defs["ResultDraft"]["properties"]
    assert all(p["maxLength"] < MAX_STRING for p in result.values())
    assert _longest(schema, defs) < 3500 * 3.5, _longest(schema, defs)
