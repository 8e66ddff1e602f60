"""One spec per option, from which both the ``argparse`` parser of a CLI command and the
``magic_arguments`` of its magic are built, so the two cannot drift (flags, type, default,
choices, metavar, help), and the one range check of each option (``Option.check``).

A surface picks the options it shares with its twin from here: ``add_to_parser(parser, specs)``
for the CLI, ``magic_argument_decorators(specs)`` for the magic. An experiment's options travel
as one typed :class:`ExperimentOptions` from every surface (CLI, magics, MCP, comparisons) to
``Copilot.prepare_experiment``, which maps it field by field onto the run's ``RunOptions``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypedDict

from .config import SANDBOX_MODES, backend_argument

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
    #: the accepted range, checked by :meth:`check`: ``low`` <= value <= ``high`` (either may
    #: be None); ``positive``: a finite number > 0 (``unit`` names what it counts)
    low: float | None = None
    high: float | None = None
    positive: bool = False
    unit: str = ""
    #: said after the range when a value is refused, e.g. why the minimum is what it is
    why: str = ""

    @property
    def name(self) -> str:
        """The attribute the parsed value lands in (``--max-steps`` -> ``max_steps``)."""
        return self.dest or self.flags[-1].lstrip("-").replace("-", "_")

    def check(self, value: Any, *, label: str | None = None) -> Any:
        """``value`` if it is in range (None always is: the default applies), else
        :class:`~.errors.InputError` with one line, ``<label> must be ..., got <value>``;
        ``label`` defaults to the flag (task.toml names its field instead)."""
        if value is None or isinstance(value, bool):
            return value
        refused = self.refusal(value)
        if refused:
            from .errors import InputError

            raise InputError(f"{label or self.flags[-1]} {refused}")
        return value

    def refusal(self, value: float) -> str:
        """What is wrong with ``value`` (``must be ..., got ...``), or "" when it is in range."""
        why = f" {self.why}" if self.why else ""
        unit = f" of {self.unit}" if self.unit else ""
        if self.positive and not (math.isfinite(value) and value > 0):
            return f"must be a positive number{unit}{why}, got {value}"
        low, high = self.low, self.high
        if (low is not None and not value >= low) or (high is not None and not value <= high):
            if low is not None and high is not None:
                return f"must be between {low:g} and {high:g}{why}, got {value}"
            if low is not None:
                return f"must be >= {low:g}{why}, got {value}"
            return f"must be <= {high:g}{why}, got {value}"
        return ""

    def json_schema(self) -> dict[str, Any]:
        """The range as JSON-schema keywords (``minimum`` / ``maximum`` / ``exclusiveMinimum``),
        e.g. for the MCP tools' input schemas."""
        out: dict[str, Any] = {}
        if self.positive:
            out["exclusiveMinimum"] = 0
        if self.low is not None:
            out["minimum"] = self.low
        if self.high is not None:
            out["maximum"] = self.high
        return out

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


def magic_options(specs: Iterable[Option]) -> Callable[[Any], Any]:
    """One decorator adding the options to a magic (under its ``@magic_arguments()``), in
    order, as ``magic_argument_decorators`` would one by one."""
    decorators = magic_argument_decorators(specs)

    def decorate(func: Any) -> Any:
        for add in reversed(decorators):
            func = add(func)
        return func

    return decorate


# -- LLM settings: every ``mlr-copilot`` command (common options) and ``%mlr_config`` ------------
LLM_SETTINGS = (
    # --backend: auto or a registered backend (config.check_backend), else argparse's one line
    Option(("--backend",), type=backend_argument,
           help="backend: auto (default), openai, offline  [$MLR_COPILOT_BACKEND]",
           notebook_help="Set the backend."),
    Option(("--model",), help="model name  [$MLR_COPILOT_MODEL]",
           notebook_help="Set the model name."),
    Option(("--base-url",), help="OpenAI-compatible base URL  [$OPENAI_BASE_URL]",
           notebook_help="Set the OpenAI-compatible base URL (e.g. http://localhost:8000/v1)."),
    Option(("--temperature",), type=float, help="sampling temperature (0..2)",
           notebook_help="Set the sampling temperature."),
    Option(("--timeout",), type=float, dest="request_timeout",
           help="seconds before one LLM request times out"),
    Option(("--retries",), type=int, dest="max_retries",
           help="retries on 429/5xx/timeouts per request"),
)
#: what ``%mlr_config`` sets (the CLI's request timeout and retries are per command)
CONFIG_SETTINGS = LLM_SETTINGS[:4]


# -- the kernels' sandbox: every command and magic that runs generated code ----------------------
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
MAX_STEPS = Option(("--max-steps",), type=int, low=0, high=200,
                   help="search steps after the baseline, 0..200 (default: the task's [budget] "
                        "max_steps, else 10)")
METRIC = Option(("--metric",), metavar="NAME",
                help="the metric the search selects on, overriding the task's (task.toml or "
                     "inferred from eval.py / research_problem.txt), e.g. rmse or pearson; "
                     "a known name brings its direction")
DIRECTION = Option(("--direction",), choices=DIRECTION_CHOICES,
                   help="whether lower (min) or higher (max) is better; overrides the task's "
                        "direction, e.g. when the record warns it was assumed")
MODE = Option(("--mode",), choices=("auto", "approve"),
              help="approve: show each code cell and ask before running it (default auto)",
              notebook_help="approve: every proposed cell waits for Approve / Approve edited / "
                            "Reject")
SEED = Option(("--seed",), type=int, help="seed written to the parameters cell (default 0)")
CELL_TIMEOUT = Option(("--cell-timeout",), type=float, positive=True, unit="seconds",
                      help="seconds per cell (default: the task's)")
MEMORY_LIMIT = Option(("--memory-limit-mb",), type=int, low=256,
                      why="(a kernel needs that much address space)",
                      help="address-space limit of the kernel")
NO_VERIFY = Option(("--no-verify",), action="store_true",
                   help="skip re-running the best lineage in a fresh kernel")


def budget_options(stage: str = "the run") -> tuple[Option, Option, Option]:
    """``--token-budget``, ``--cost-budget`` and ``--deadline`` (defaults: MLRCopilot settings)."""
    return (
        Option(("--token-budget",), type=int, metavar="N", positive=True, unit="tokens",
               help=f"stop {stage} cleanly once its LLM calls used N tokens (prompt + "
                    "completion)  [MLRCopilot.token_budget, $MLR_COPILOT_TOKEN_BUDGET]"),
        Option(("--cost-budget",), type=float, metavar="X", positive=True,
               help=f"stop {stage} once its LLM cost reached X; needs a price per 1k tokens "
                    "(MLRCopilot.price_per_1k_prompt / _completion, "
                    "$MLR_COPILOT_PRICE_PER_1K_PROMPT / _COMPLETION)"),
        Option(("--deadline",), type=float, metavar="SECONDS", positive=True,
               help=f"wall-clock seconds for {stage} (a resume starts a fresh one); "
                    "--timeout stays per request  [MLRCopilot.deadline]",
               notebook_help=f"wall-clock seconds for {stage} (a resume starts a fresh one)  "
                             "[MLRCopilot.deadline]"),
    )


EXPERIMENT_SHARED = (TASK, MAX_STEPS, METRIC, DIRECTION, MODE, SEED, CELL_TIMEOUT, *SANDBOX_SHARED)
EXPERIMENT_BUDGETS = budget_options("the experiment run")
TOKEN_BUDGET, COST_BUDGET, DEADLINE = EXPERIMENT_BUDGETS

#: ExperimentOptions field -> the option that declares it (its flag, type, range and help)
RUN_FIELDS: dict[str, Option] = {
    "max_steps": MAX_STEPS, "mode": MODE, "seed": SEED, "cell_timeout": CELL_TIMEOUT,
    "memory_limit_mb": MEMORY_LIMIT, "verify": NO_VERIFY, "token_budget": TOKEN_BUDGET,
    "cost_budget": COST_BUDGET, "deadline": DEADLINE, "sandbox": SANDBOX,
    "sandbox_network": ALLOW_NETWORK,
}


#: what a resumed run keeps from its journal (given with --resume: refused, one line)
RESUME_KEEPS = ("mode", "seed", "cell_timeout", "memory_limit_mb", "verify")


def check_choice(spec: Option, value: Any) -> Any:
    """``value`` if it is one of ``spec.choices`` (or None), else one line naming them."""
    if value is not None and spec.choices and value not in spec.choices:
        from .errors import InputError

        raise InputError(f"{spec.flags[-1]} must be one of {', '.join(spec.choices)}, "
                         f"got {value!r}")
    return value


def check_run_fields(values: Any) -> None:
    """The one check of every run option (range or choices, from its spec) on an object with
    those attributes: :class:`ExperimentOptions` and the run's ``RunOptions``."""
    for name, spec in RUN_FIELDS.items():
        value = getattr(values, name, None)
        check_choice(spec, value)
        spec.check(value)


@dataclass(frozen=True)
class ExperimentOptions:
    """What a surface asks of one experiment run, typed; every field is a field of
    ``experiment.options.RunOptions`` (``Copilot.prepare_experiment`` maps them one to one).

    None means "not given": the task's default (``max_steps``, ``cell_timeout``), the settings'
    (budgets, sandbox) or the run's own (``mode`` auto, ``seed`` 0, ``verify`` on). Out-of-range
    values are refused here, with the option's one line, before any run folder exists.
    """

    max_steps: int | None = None
    mode: str | None = None
    seed: int | None = None
    cell_timeout: float | None = None
    memory_limit_mb: int | None = None
    verify: bool | None = None
    token_budget: int | None = None
    cost_budget: float | None = None
    deadline: float | None = None
    sandbox: str | None = None
    sandbox_network: bool | None = None

    def __post_init__(self) -> None:
        check_run_fields(self)

    @classmethod
    def from_args(cls, args: Any) -> ExperimentOptions:
        """The options a parsed command line or magic line gives (absent flags: None)."""
        values: dict[str, Any] = {}
        for name, spec in RUN_FIELDS.items():
            if spec is NO_VERIFY:
                values[name] = False if getattr(args, spec.name, False) else None
            elif spec.action == "store_true":
                values[name] = True if getattr(args, spec.name, False) else None
            else:
                values[name] = getattr(args, spec.name, None)
        return cls(**values)

    def new_run_only(self) -> list[str]:
        """The flags given here that only a new run takes (a resume keeps the run's own mode,
        seed, cell timeout, memory limit and verification; it takes a new --max-steps,
        budgets and sandbox)."""
        return [RUN_FIELDS[name].flags[-1] for name in RESUME_KEEPS
                if getattr(self, name) is not None]

    def given(self) -> dict[str, Any]:
        """The fields that were given (not None), by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    def with_keywords(self, keywords: Mapping[str, Any]) -> ExperimentOptions:
        """These options with the given keyword values (None: keep) laid over them."""
        unknown = set(keywords) - set(RUN_FIELDS)
        if unknown:
            raise TypeError(f"unknown run option(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in keywords.items() if v is not None})


class RunKeywords(TypedDict, total=False):
    """The fields of :class:`ExperimentOptions` as keyword arguments of the Python API
    (``Copilot.run_experiment("wine", max_steps=3)``)."""

    max_steps: int | None
    mode: str | None
    seed: int | None
    cell_timeout: float | None
    memory_limit_mb: int | None
    verify: bool | None
    token_budget: int | None
    cost_budget: float | None
    deadline: float | None
    sandbox: str | None
    sandbox_network: bool | None


# -- scale-out: batch and comparisons run on a local pool or on Dask ------------------------------
WORKERS = Option(("--workers",), type=int, default=2, metavar="N", low=1,
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
    SEEDS := Option(("--seeds",), type=int, default=2, metavar="N", low=0,
                    why="(0 disables the seed re-runs)",
                    help="re-run the two best ideas with seeds 1..N (default 2; 0 disables)"),
)

# -- batch: shared by ``mlr-copilot batch`` and ``%mlr_batch`` ------------------------------------
BATCH_NOTEBOOKS = Option(("notebooks",), nargs="+", metavar="NOTEBOOK",
                         help="notebooks to run (.ipynb)",
                         notebook_help="Notebooks to run (.ipynb).")
BATCH_OUT = Option(("--out",), required=True, metavar="DIR",
                   help="folder for the executed notebooks, results.csv, summary.csv and "
                        "summary.png",
                   notebook_help="Folder for executed notebooks, results.csv, summary.csv, "
                                 "summary.png.")
BATCH_TIMEOUT = Option(("--timeout",), type=float, metavar="S", positive=True, unit="seconds",
                       help="seconds per cell before it fails")
BATCH_RETRIES = Option(("--retries",), type=int, default=0, metavar="N", low=0,
                       help="re-run a failed execution up to N times (default 0)")
METRIC_AGG = Option(("--metric-agg",), choices=("last", "max", "min"), default="last",
                    help="a metric reported several times in a notebook: keep the last value "
                         "(default) or the max / min (e.g. the best node of a record notebook)")
BATCH_SHARED = (
    Option(("-p", "--param"), nargs="+", action="append", dest="params",
           metavar=("NAME", "VALUE"), help="a parameter and its values (repeatable; the runs "
           "are the cartesian product), e.g. -p seed 0 1 2"),
    Option(("--grid",), metavar="FILE", help="YAML/JSON grid file (crossed with any -p)"),
    WORKERS,
    SCHEDULER,
    Option(("--kernel",), metavar="NAME", help="Jupyter kernel (default: the notebook's)"),
    BATCH_TIMEOUT,
    BATCH_RETRIES,
    METRIC_AGG,
    Option(("--no-progress",), action="store_true", help="no progress bar"),
    *SANDBOX_SHARED,
)


@dataclass(frozen=True)
class BatchOptions:
    """A batch as ``mlr-copilot batch``, ``%mlr_batch`` and the MCP ``batch`` tool ask for it,
    typed, for ``Copilot.batch_from_options``; ranges are the spec's (one line each)."""

    notebooks: tuple[str, ...]
    out: str
    params: tuple[tuple[str, ...], ...] = ()  # each ``-p NAME VALUE ...``
    grid: str | None = None  # a YAML/JSON grid file, crossed with ``params``
    workers: int = WORKERS.default
    scheduler: str | None = None
    kernel: str | None = None
    timeout: float | None = None
    retries: int = BATCH_RETRIES.default
    metric_agg: str = METRIC_AGG.default
    progress: bool = True
    sandbox: str | None = None  # None: the settings' (MLRCopilot.sandbox)
    sandbox_network: bool = False

    def __post_init__(self) -> None:
        for spec, value in ((WORKERS, self.workers), (BATCH_TIMEOUT, self.timeout),
                            (BATCH_RETRIES, self.retries)):
            spec.check(value)
        check_choice(METRIC_AGG, self.metric_agg)
        check_choice(SANDBOX, self.sandbox)

    @classmethod
    def from_args(cls, args: Any) -> BatchOptions:
        """The batch a parsed ``mlr-copilot batch`` / ``%mlr_batch`` line describes."""
        return cls(notebooks=tuple(args.notebooks), out=args.out,
                   params=tuple(tuple(p) for p in args.params or ()), grid=args.grid,
                   workers=args.workers, scheduler=args.scheduler, kernel=args.kernel,
                   timeout=args.timeout, retries=args.retries, metric_agg=args.metric_agg,
                   progress=not args.no_progress, sandbox=args.sandbox or None,
                   sandbox_network=bool(args.allow_network))


# -- ideas: shared by ``mlr-copilot ideas`` / ``run`` and ``%mlr_idea`` ---------------------------
IDEAS_N = Option(("-n",), type=int, default=5, low=1, high=20,
                 help="number of ideas, 1..20 (default 5)")
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

# -- retrieval: ``mlr-copilot models|datasets`` and ``%mlr_models`` / ``%mlr_datasets`` ----------
RETRIEVAL_QUERY = Option(("query",), nargs="+", metavar="QUERY",
                         help="what you need, e.g. 'sentence similarity' (words are joined)",
                         notebook_help="what you need, e.g. sentence similarity")
RETRIEVAL_SHARED = (
    RETRIEVAL_QUERY,
    Option(("--task-type",), metavar="T",
           help="task to filter and boost: classification, regression, or a Hub pipeline tag "
                "such as sentence-similarity",
           notebook_help="classification, regression, or a Hub pipeline tag "
                         "(sentence-similarity)"),
    Option(("--source",), choices=("all", "hub", "local"), default="all",
           help="where to look (default: all)"),
    Option(("--limit",), type=int, default=10, metavar="N", low=1,
           help="at most N candidates (default 10)"),
    Option(("--hyde",), action="store_true",
           help="re-rank with a hypothetical description written by the LLM (no effect with "
                "the offline engine)",
           notebook_help="re-rank with an LLM-written description of the ideal candidate"),
    Option(("--json",), action="store_true", help="print candidates and warnings as JSON",
           notebook_help="print the result as JSON"),
)
RETRIEVAL_LIMIT = RETRIEVAL_SHARED[3]
HUB_TIMEOUT = Option(("--hub-timeout",), type=float, metavar="SECONDS", positive=True,
                     unit="seconds",
                     help="give up on the Hub after this long (default 15, "
                          "$MLR_COPILOT_HUB_TIMEOUT)")

# -- review decisions: ``mlr-copilot review`` and ``%mlr_review`` --------------------------------
REVIEW_DECISIONS = (
    Option(("--accept",), metavar="ID|top",
           help="accept idea ID (top: the best-ranked idea that applies to the task)",
           notebook_help="Accept idea ID (top: the best-ranked idea that applies to the task); "
                         "no board."),
    Option(("--reject",), metavar="ID", help="reject idea ID",
           notebook_help="Reject idea ID; no board."),
    Option(("--comment",), metavar="TEXT", default="",
           help="a comment saved with the --accept / --reject decision",
           notebook_help="A comment saved with the --accept / --reject decision (quote spaces)."),
)
