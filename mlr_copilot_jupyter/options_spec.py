"""One spec per option, from which both the ``argparse`` parser of a CLI command and the
``magic_arguments`` of its magic are built, so the two cannot drift (flags, type, default,
choices, metavar, help).

A surface picks the options it shares with its twin from here: ``add_to_parser(parser, specs)``
for the CLI, ``magic_argument_decorators(specs)`` for the magic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

DIRECTION_CHOICES = ("min", "max", "minimize", "maximize")


@dataclass(frozen=True)
class Option:
    """One command-line option, as ``argparse.add_argument`` takes it."""

    flags: tuple[str, ...]
    help: str
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: tuple[str, ...] | None = None
    nargs: str | None = None
    metavar: str | tuple[str, ...] | None = None
    dest: str | None = None
    action: str | None = None
    required: bool = False
    #: the magic's help when the notebook does it differently (e.g. --mode approve's buttons)
    notebook_help: str | None = None

    def kwargs(self, *, notebook: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"help": (self.notebook_help or self.help) if notebook else self.help}
        for name in ("type", "default", "choices", "nargs", "metavar", "dest", "action"):
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if name == "choices" else value
        if self.required:
            out["required"] = True
        return out

    def but(self, **changes: Any) -> Option:
        """A copy with some fields changed (e.g. ``required=True`` for one command)."""
        return replace(self, **changes)


def add_to_parser(parser: Any, specs: Iterable[Option]) -> None:
    """Add the options to an ``argparse`` parser (or argument group)."""
    for spec in specs:
        parser.add_argument(*spec.flags, **spec.kwargs())


def magic_argument_decorators(specs: Iterable[Option]) -> tuple[Any, ...]:
    """IPython ``@argument(...)`` decorators for the options, in order."""
    from IPython.core.magic_arguments import argument

    return tuple(argument(*spec.flags, **spec.kwargs(notebook=True)) for spec in specs)


# -- the kernels' sandbox: every command and magic that runs generated code ----------------------
SANDBOX_MODES = ("auto", "require", "off")
SANDBOX = Option(("--sandbox",), choices=SANDBOX_MODES,
                 help="confine the kernels that run generated code: auto (default) uses "
                      "bubblewrap when it works, else runs unconfined with one warning; require "
                      "refuses to start without it (exit 2); off runs unconfined  "
                      "[MLRCopilot.sandbox, $MLR_COPILOT_SANDBOX]")
ALLOW_NETWORK = Option(("--allow-network",), action="store_true",
                       help="let sandboxed kernels reach the network (for plans that must "
                            "download); only this restriction is lifted  "
                            "[MLRCopilot.sandbox_network]")
SANDBOX_SHARED = (SANDBOX, ALLOW_NETWORK)


def sandbox_choice(args: Any) -> dict[str, Any]:
    """``sandbox`` / ``sandbox_network`` as given by parsed options (absent: the settings')."""
    out: dict[str, Any] = {}
    if getattr(args, "sandbox", None):
        out["sandbox"] = args.sandbox
    if getattr(args, "allow_network", False):
        out["sandbox_network"] = True
    return out


# -- experiment: shared by ``mlr-copilot experiment`` / ``run`` and ``%mlr_experiment`` -------------
TASK = Option(("--task",), metavar="PATH",
              help="task folder (task.toml or MLAgentBench layout) or bundled task name "
                   "(digits, breast_cancer, wine, diabetes)")
MAX_STEPS = Option(("--max-steps",), type=int,
                   help="search steps after the baseline (default: the task's [budget] "
                        "max_steps, else 10)")
METRIC = Option(("--metric",), metavar="NAME",
                help="the metric the search selects on, overriding the task's (task.toml or "
                     "inferred from eval.py / research_problem.txt), e.g. rmse or pearson; "
                     "a known name brings its direction")
DIRECTION = Option(("--direction",), choices=DIRECTION_CHOICES,
                   help="whether lower (min) or higher (max) is better; overrides the task's "
                        "direction, e.g. when the record warns it was assumed")
MODE = Option(("--mode",), choices=("auto", "approve"), default="auto",
              help="approve: show each code cell and ask before running it",
              notebook_help="approve: every proposed cell waits for Approve / Approve edited / "
                            "Reject")
SEED = Option(("--seed",), type=int, help="seed written to the parameters cell (default 0)")
CELL_TIMEOUT = Option(("--cell-timeout",), type=float,
                      help="seconds per cell (default: the task's)")


def budget_options(stage: str = "the run") -> tuple[Option, Option, Option]:
    """``--token-budget``, ``--cost-budget`` and ``--deadline`` (defaults: MLRCopilot settings)."""
    return (
        Option(("--token-budget",), type=int, metavar="N",
               help=f"stop {stage} cleanly once its LLM calls used N tokens (prompt + "
                    "completion)  [MLRCopilot.token_budget, $MLR_COPILOT_TOKEN_BUDGET]"),
        Option(("--cost-budget",), type=float, metavar="X",
               help=f"stop {stage} once its LLM cost reached X; needs a price per 1k tokens "
                    "(MLRCopilot.price_per_1k_prompt / _completion, "
                    "$MLR_COPILOT_PRICE_PER_1K_PROMPT / _COMPLETION)"),
        Option(("--deadline",), type=float, metavar="SECONDS",
               help=f"wall-clock seconds for {stage} (a resume starts a fresh one); "
                    "--timeout stays per request  [MLRCopilot.deadline]",
               notebook_help=f"wall-clock seconds for {stage} (a resume starts a fresh one)  "
                             "[MLRCopilot.deadline]"),
    )


EXPERIMENT_SHARED = (TASK, MAX_STEPS, METRIC, DIRECTION, MODE, SEED, CELL_TIMEOUT, *SANDBOX_SHARED)
EXPERIMENT_BUDGETS = budget_options("the experiment run")


# -- scale-out: batch and comparisons run on a local pool or on Dask ------------------------------
WORKERS = Option(("--workers",), type=int, default=2, metavar="N",
                 help="parallel executions (processes; Dask workers with --scheduler local); "
                      "default 2")
SCHEDULER = Option(("--scheduler",), metavar="ADDR",
                   help="run on Dask: 'local' starts a LocalCluster, tcp://HOST:PORT uses a "
                        "running scheduler (its workers must see the same paths)")

# -- comparisons: shared by ``mlr-copilot compare`` and ``%mlr_experiment --ideas`` ---------------
COMPARE_SHARED = (
    WORKERS.but(help="experiments at once (processes, or Dask workers with --scheduler local); "
                     "default 2"),
    SCHEDULER,
    Option(("--seeds",), type=int, default=2, metavar="N",
           help="re-run the two best ideas with seeds 1..N (default 2; 0 disables)"),
)

# -- batch: shared by ``mlr-copilot batch`` and ``%mlr_batch`` ------------------------------------
BATCH_SHARED = (
    Option(("-p", "--param"), nargs="+", action="append", dest="params",
           metavar=("NAME", "VALUE"), help="a parameter and its values (repeatable; the runs "
           "are the cartesian product), e.g. -p seed 0 1 2"),
    Option(("--grid",), metavar="FILE", help="YAML/JSON grid file (crossed with any -p)"),
    WORKERS,
    SCHEDULER,
    Option(("--kernel",), metavar="NAME", help="Jupyter kernel (default: the notebook's)"),
    Option(("--timeout",), type=float, metavar="S", help="seconds per cell before it fails"),
    Option(("--retries",), type=int, default=0, metavar="N",
           help="re-run a failed execution up to N times (default 0)"),
    Option(("--metric-agg",), choices=("last", "max", "min"), default="last",
           help="a metric reported several times in a notebook: keep the last value "
                "(default) or the max / min (e.g. the best node of a record notebook)"),
    Option(("--no-progress",), action="store_true", help="no progress bar"),
    *SANDBOX_SHARED,
)


# -- ideas: shared by ``mlr-copilot ideas`` / ``run`` and ``%mlr_idea`` ---------------------------
IDEAS_N = Option(("-n",), type=int, default=5, help="number of ideas (default 5)")
RELATED = Option(("--related",), metavar="FILE",
                 help="local corpus of related works: BibTeX (.bib), JSONL or JSON "
                      "(title + abstract)")
SEMANTIC_SCHOLAR = Option(("--semantic-scholar",), action="store_true",
                          help="also search Semantic Scholar for related works (needs the "
                               "network)")
IDEAS_TASK = Option(("--task",), metavar="PATH",
                    help="fit every plan to this task (folder, task.toml or bundled name): its "
                         "data files, metric and direction; ideas that cannot apply say so")
IDEAS_SHARED = (IDEAS_N, RELATED, SEMANTIC_SCHOLAR, IDEAS_TASK)


# -- a task from a table: ``mlr-copilot task init`` and ``%mlr_experiment --data`` ---------------
TARGET = Option(("--target",), metavar="COLUMN", help="the column to predict",
                notebook_help="the column of --data to predict")
TEST_SIZE = Option(("--test-size",), metavar="FRACTION",
                   help="held-out test fraction in (0, 0.5] (default 0.2); the validation "
                        "split is the same fraction of the rest",
                   notebook_help="held-out test fraction of --data, in (0, 0.5] (default 0.2)")

# -- papers: ``mlr-copilot problem`` and ``%mlr_paper`` -----------------------------------------
MAX_PAGES = Option(("--max-pages",), type=int, default=60,
                   help="read at most this many PDF pages")
