"""The check that idea plans are fitted to a bundled task (``ideas --task``)."""

from __future__ import annotations

from typing import Any

from mlr_copilot_jupyter.experiment.task import load_task


def check_plans(ideas: list[dict[str, Any]], task_name: str) -> None:
    task = load_task(task_name)
    metric = f"{task.metric.name} ({task.metric.direction})"
    for idea in ideas:
        plan = idea["plan"]
        assert plan["task"] == task.name
        assert set(task.data_files) <= set(plan["datasets"]), plan["datasets"]
        assert plan["metrics"][0] == metric
        steps = " ".join(plan["steps"])
        assert all(f in steps for f in task.data_files) and metric in steps
        assert plan["task_mapping"] and f"Task mapping: {plan['task_mapping']}" in plan["steps"]
        if plan["applies_to_task"] is False:
            assert plan["closest_variant"] and "Closest testable variant" in plan["task_mapping"]
