"""Public types (and the few engine helpers) that the surfaces use, re-exported in one place.

The surfaces (magics, CLI, widgets, comm, comparison UI, MCP server) call
:class:`~mlr_copilot_jupyter.api.Copilot` and import anything else they need from here, never
from an agent or engine package directly (the import-linter contract "surfaces use the facade"
in ``pyproject.toml`` checks it). This module is part of the facade layer and imports what it
re-exports normally, so the import graph shows every name a surface depends on. Importing it
loads the agents (about 2 s: nbformat and scikit-learn); the surfaces import it inside the
functions that need it, so ``%load_ext`` and ``mlr-copilot --help`` do not pay for it.
"""

from __future__ import annotations

from .batch import BatchInterrupted, BatchResult
from .batch.results import format_summary as format_batch_summary
from .bench import BenchPlan, BenchReport, BenchRun
from .compare import ComparisonInterrupted, ComparisonResult, ComparisonRun, load_ideas_file
from .experiment.agent import Approval, Hooks
from .experiment.background import BackgroundRun
from .experiment.from_data import read_table
from .experiment.journal import Node
from .experiment.notebook_context import notebook_context
from .experiment.options import check_max_steps
from .experiment.record import RecordNotebook
from .experiment.report import RunSummary, metric_plot, summary_markdown
from .experiment.task import bundled_tasks, check_metric_override
from .ideas.bench_ideas import bench_papers
from .ideas.bench_ideas import summary as bench_ideas_summary
from .ideas.bench_ideas import table as bench_ideas_table
from .ideas.bench_ideas import write_csv as write_bench_ideas_csv
from .ideas.problem_edit import apply_problem_yaml, problem_yaml
from .ideas.review import RANKING_FORMULA
from .kernels.environment import is_sensitive
from .llm.base import redact
from .papers.arxiv import parse_arxiv_id

__all__ = [
    "RANKING_FORMULA",
    "Approval",
    "BackgroundRun",
    "BatchInterrupted",
    "BatchResult",
    "BenchPlan",
    "BenchReport",
    "BenchRun",
    "ComparisonInterrupted",
    "ComparisonResult",
    "ComparisonRun",
    "Hooks",
    "Node",
    "RecordNotebook",
    "RunSummary",
    "apply_problem_yaml",
    "bench_ideas_summary",
    "bench_ideas_table",
    "bench_papers",
    "bundled_tasks",
    "check_max_steps",
    "check_metric_override",
    "format_batch_summary",
    "is_sensitive",
    "load_ideas_file",
    "metric_plot",
    "notebook_context",
    "parse_arxiv_id",
    "problem_yaml",
    "read_table",
    "redact",
    "summary_markdown",
    "write_bench_ideas_csv",
]
