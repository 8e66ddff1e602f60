"""Public types (and the few engine helpers) that the surfaces use, re-exported in one place.

The surfaces (magics, CLI, widgets, comm, comparison UI, MCP server) call
:class:`~mlr_copilot_jupyter.api.Copilot` and import anything else they need from here, never from
``experiment``, ``ideas`` or ``batch`` directly (``tests/unit/test_layering.py`` checks it). Names are
loaded on first use so that ``%load_ext`` and ``mlr-copilot --help`` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .batch import BatchInterrupted as BatchInterrupted
    from .batch import BatchResult as BatchResult
    from .experiment.agent import Approval as Approval
    from .experiment.agent import Hooks as Hooks
    from .experiment.background import BackgroundRun as BackgroundRun
    from .experiment.from_data import read_table as read_table
    from .experiment.journal import Node as Node
    from .experiment.notebook_context import notebook_context as notebook_context
    from .experiment.options import check_max_steps as check_max_steps
    from .experiment.record import RecordNotebook as RecordNotebook
    from .experiment.report import RunSummary as RunSummary
    from .experiment.report import metric_plot as metric_plot
    from .experiment.report import summary_markdown as summary_markdown
    from .experiment.task import bundled_tasks as bundled_tasks
    from .experiment.task import check_metric_override as check_metric_override
    from .ideas.bench_ideas import bench_papers as bench_papers
    from .ideas.problem_edit import apply_problem_yaml as apply_problem_yaml
    from .ideas.problem_edit import problem_yaml as problem_yaml
    from .ideas.review import RANKING_FORMULA as RANKING_FORMULA
    from .kernels.environment import is_sensitive as is_sensitive

#: public name -> (module relative to this package, name in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    "BatchInterrupted": ("batch", "BatchInterrupted"),
    "BatchResult": ("batch", "BatchResult"),
    "format_batch_summary": ("batch.results", "format_summary"),
    "Approval": ("experiment.agent", "Approval"),
    "Hooks": ("experiment.agent", "Hooks"),
    "BackgroundRun": ("experiment.background", "BackgroundRun"),
    "is_sensitive": ("kernels.environment", "is_sensitive"),
    "read_table": ("experiment.from_data", "read_table"),
    "Node": ("experiment.journal", "Node"),
    "check_max_steps": ("experiment.options", "check_max_steps"),
    "notebook_context": ("experiment.notebook_context", "notebook_context"),
    "RecordNotebook": ("experiment.record", "RecordNotebook"),
    "RunSummary": ("experiment.report", "RunSummary"),
    "metric_plot": ("experiment.report", "metric_plot"),
    "summary_markdown": ("experiment.report", "summary_markdown"),
    "bundled_tasks": ("experiment.task", "bundled_tasks"),
    "check_metric_override": ("experiment.task", "check_metric_override"),
    "bench_papers": ("ideas.bench_ideas", "bench_papers"),
    "bench_ideas_summary": ("ideas.bench_ideas", "summary"),
    "bench_ideas_table": ("ideas.bench_ideas", "table"),
    "write_bench_ideas_csv": ("ideas.bench_ideas", "write_csv"),
    "apply_problem_yaml": ("ideas.problem_edit", "apply_problem_yaml"),
    "problem_yaml": ("ideas.problem_edit", "problem_yaml"),
    "RANKING_FORMULA": ("ideas.review", "RANKING_FORMULA"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __package__), attribute)
    globals()[name] = value  # later look-ups skip __getattr__
    return value
