"""``%mlr_experiment`` / ``%%mlr_experiment``: run the ExperimentAgent from a notebook.

The run goes to a background thread (:class:`BackgroundRun`) with a live
:class:`ExperimentMonitor`; the cell returns at once unless ``--wait``. ``magics.py`` wires the
magic with :func:`experiment_arguments` and :func:`mlr_experiment_magic`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from ..options_spec import (
    CELL_TIMEOUT,
    COMPARE_SHARED,
    DIRECTION,
    MAX_STEPS,
    METRIC,
    MODE,
    SANDBOX_SHARED,
    SEED,
    TARGET,
    TASK,
    TEST_SIZE,
    ExperimentOptions,
    budget_options,
    magic_argument_decorators,
)

F = TypeVar("F", bound=Callable[..., Any])

EXPERIMENT_DOC = """Run an experiment on a task in the background, with a live monitor.

Plan: ``--idea ID`` (an idea of the research state), or the cell body of ``%%mlr_experiment``
as free text; without either, the top accepted idea, else just the task's description.
Cells are generated, run in a fresh Jupyter kernel, debugged and improved; the best result is
re-run in a fresh kernel before it is reported. The record notebook, journal.json, report.md
and metric.png go to --out (default: a new folder in the run directory).

The task's metric and direction come from its task.toml, or are inferred for MLAgentBench
folders (the record says from which words, and warns when nothing named the direction);
``--metric NAME --direction min|max`` override them for the new run.

Your own data: ``--data df --target y`` (a DataFrame variable, or a CSV / Parquet path) writes
a task folder in the run directory (``tasks/<name>-<time>/``): train.csv / valid.csv, a held-out
test split kept outside the agent's workspace, and a linear baseline. Task type, metric and
direction come from the target unless ``--metric`` / ``--direction`` say otherwise; one line says
what was chosen and why. ``--test-size`` is the held-out fraction (default 0.2).

``--context notebook`` (off by default) sends the data's schema and the recent cells' sources,
redacted, to the LLM; the record notebook and journal.json keep exactly what was sent.

The cell returns at once and the monitor shows progress, a metric plot and the node table, with
Stop, feedback and (``--mode approve``) Approve / Approve edited / Reject controls. ``--wait``
blocks until the run is done and prints the summary (for nbclient/papermill; not with
``--mode approve``). The handle is ``_mlr_run`` (``.summary``, ``.stop()``, ``.feedback()``).

Examples::

    %mlr_experiment --task wine --max-steps 5
    %mlr_experiment --task wine --token-budget 20000 --deadline 900
    %mlr_experiment --task ./speedup_task --metric runtime --direction min
    %mlr_experiment --idea idea-3 --task ./my_task --mode approve
    %mlr_experiment --data df --target churn --max-steps 5
    %mlr_experiment --data sales.csv --target revenue --metric mae --context notebook
    %mlr_experiment --feedback "try gradient boosting next"
    %mlr_experiment --stop
    %mlr_experiment --insert-run 20261201-104400-digits
    %mlr_experiment --ideas accepted --task wine --max-steps 3 --seeds 2
    %mlr_experiment --ideas idea-1 idea-3 --task digits --scheduler local --wait
    %%mlr_experiment --task digits --wait
    Standardise the features, then tune an SVM's C on a validation split.
"""

_ARGUMENTS = (
    *magic_argument_decorators((TASK,)),
    argument("--idea", metavar="ID", help="id of an idea in the research state (%%mlr_review)"),
    *magic_argument_decorators((MAX_STEPS, METRIC, DIRECTION, MODE, SEED, CELL_TIMEOUT,
                                *SANDBOX_SHARED, *budget_options("the run"))),
    argument("--out", metavar="DIR", help="folder of the new run"),
    argument("--resume", metavar="DIR", help="continue an interrupted run in DIR"),
    argument("--wait", action="store_true", help="block until the run is done; print the summary"),
    argument("--insert", action="store_true",
             help="insert each successful node's cells below this cell as it finishes "
                  "(JupyterLab extension; else one joined next input with --wait)"),
    argument("--insert-run", metavar="RUN_ID",
             help="insert a finished run's best lineage (parameters, setup, node cells) below "
                  "this cell"),
    argument("--feedback", nargs="+", metavar="TEXT", help="send feedback to the current run"),
    argument("--stop", action="store_true", help="stop the current run after its current cell"),
    argument("--data", metavar="DF|FILE",
             help="a DataFrame variable or a CSV/Parquet file: a task is written from it "
                  "(with --target; not with --task)"),
    *magic_argument_decorators((TARGET, TEST_SIZE)),
    argument("--context", choices=["none", "notebook"], default="none",
             help="notebook: send the data's schema and the recent cells' sources (redacted) "
                  "to the LLM, and keep that text in the record (default none)"),
    # comparisons (magics_compare.py): --ideas accepted | ID ...
    argument("--ideas", nargs="+", metavar="ID",
             help="compare ideas as parallel experiments: 'accepted' or idea ids"),
    *magic_argument_decorators(COMPARE_SHARED),  # with --ideas
)


def experiment_arguments(func: F) -> F:
    """Give ``func`` the ``%mlr_experiment`` docstring and arguments (``@magic_arguments``)."""
    func.__doc__ = EXPERIMENT_DOC
    for decorate in reversed(_ARGUMENTS):
        func = decorate(func)
    return magic_arguments(name="mlr_experiment")(func)  # type: ignore[no-any-return]


@experiment_arguments
def _parser_holder(line: str, cell: str | None = None) -> None:
    """Holds the parser, so this module does not depend on how magics.py names the method."""


def _unquote(value: str | None) -> str | None:
    return value.strip("'\"") if value else value


def mlr_experiment_magic(magics: Any, line: str, cell: str | None = None) -> None:
    """Implement ``%mlr_experiment`` for the magics instance ``magics`` (has copilot, shell)."""
    from ..types import BackgroundRun
    from .magics_data import check_data_args, context_from_args, task_from_args
    from .widgets.monitor import ExperimentMonitor

    args = parse_argstring(_parser_holder, line)
    options = ExperimentOptions.from_args(args)  # every run option, each checked once
    if args.ideas:
        from .magics_compare import compare_magic

        return compare_magic(magics, args, options)
    run: BackgroundRun | None = getattr(magics, "current_run", None)
    if args.insert_run:
        insert_finished_run(magics, _unquote(args.insert_run) or "")
        return None
    if args.stop or args.feedback:
        if run is None or run.done:
            raise UsageError("no experiment is running (start one with %mlr_experiment --task ...)")
        if args.feedback:
            run.feedback(" ".join(args.feedback).strip("'\""))
            print(f"feedback sent to {run.run_id}; it enters the next step")
        if args.stop:
            run.stop()
            print(f"stopping {run.run_id} after the current cell")
        return None
    task, out, resume = _unquote(args.task), _unquote(args.out), _unquote(args.resume)
    plan = (cell or "").strip()
    check_data_args(args)
    if not task and not resume and not args.data:
        if run is not None and not plan:  # bare %mlr_experiment: show the current run again
            display(ExperimentMonitor(run))
            return None
        raise UsageError("--task PATH or --data DF --target COLUMN is required (or --resume DIR)")
    if args.wait and args.mode == "approve":
        raise UsageError("--mode approve needs clicks in the monitor: drop --wait")
    if run is not None and not run.done:
        raise UsageError(f"experiment {run.run_id} is still running: %mlr_experiment --stop it "
                         "or wait for it to finish")
    data: tuple[Any, str] = (None, "")
    if args.data:  # the metric and direction go into the new task.toml
        task, data = task_from_args(magics, args, _unquote(args.data) or "")
        args.metric = args.direction = None
    copilot = magics.copilot
    idea = None
    if args.idea:
        idea = copilot.state.idea(args.idea)
    elif not plan and not resume:
        accepted = copilot.state.accepted()
        idea = accepted[0] if accepted else None
    if idea is not None:
        print(f"testing idea {idea.id}: {idea.title}")
    agent = copilot.prepare_experiment(
        task or "", idea=idea, plan=plan, out=out, resume=resume, options=options,
        metric=_unquote(args.metric), direction=args.direction,
        context=context_from_args(magics, args, *data))
    from ..llm.display import notebook_widget

    progress = notebook_widget()  # the run's LLM calls, below its monitor
    run = BackgroundRun(agent, copilot, start=False, progress=progress)
    run.add_listener(_state_publisher(magics))
    inserter = None
    if args.insert:
        from .live_insert import RunInserter

        inserter = RunInserter(magics.bridge, run.run_id, Path(run.run_dir) / "experiment.ipynb",
                               foreground=bool(args.wait))
        run.add_listener(_cell_inserter(magics))
    magics.run_inserter = inserter
    monitor = ExperimentMonitor(run)
    magics.current_run = run
    if magics.shell is not None:
        magics.shell.user_ns["_mlr_run"] = run
    display(monitor)
    if progress is not None:
        progress.show()
    if inserter is not None and (line_ := inserter.start_line()):
        print(line_)
    run.start()
    if args.wait:
        try:
            _wait(run)
        finally:
            if inserter is not None and (line_ := inserter.finish()):
                print(line_)
        summary = monitor.markdown()  # plain text too, for terminals and saved notebooks
        display({"text/markdown": summary, "text/plain": summary}, raw=True)
        if run.error:
            raise UsageError(run.error)
    return None


def insert_finished_run(magics: Any, run_id: str) -> str:
    """Insert run ``run_id``'s best lineage below the running cell; ``"comm"`` or ``"fallback"``."""
    from ..types import RecordNotebook
    from .comparison_ui import known_run_ids, run_record
    from .live_insert import NO_EXTENSION

    state = magics.copilot.state
    record_path = run_record(state, run_id)  # a run, or an idea's run in a comparison
    if record_path is None and (Path(run_id) / "experiment.ipynb").is_file():
        record_path = Path(run_id) / "experiment.ipynb"  # a run folder given as a path
    if record_path is None:
        known = ", ".join(known_run_ids(state)) or "none yet"
        raise UsageError(f"no run {run_id!r} in the research state (runs: {known}); "
                         "give a run id or a run folder")
    current = getattr(magics, "current_run", None)
    if current is not None and not current.done and current.run_id == run_id:
        raise UsageError(f"run {run_id} is still running: insert it once it has finished")
    if not record_path.is_file():
        raise UsageError(f"the record of {run_id} is missing: {record_path}")
    cells = RecordNotebook.load(record_path).lineage_cells()
    nodes = list(dict.fromkeys(c["metadata"]["mlr_copilot"]["node_id"] for c in cells
                               if c["metadata"]["mlr_copilot"].get("node_id")))
    how = magics.bridge.insert_cells(cells)
    where = ("below this cell" if how == "comm"
             else f"into the next input as one cell ({NO_EXTENSION})")
    print(f"inserted {len(cells)} cells of {run_id} (lineage {' -> '.join(nodes) or 'none'}) "
          f"{where}")
    return str(how)


def _wait(run: Any) -> None:
    try:
        run.wait()
    except KeyboardInterrupt:
        run.cancel()
        run.wait(60)
        raise UsageError(f"interrupted; the record is saved — resume with "
                         f"%mlr_experiment --resume {run.run_dir}") from None


def _cell_inserter(magics: Any) -> Callable[[str, dict[str, Any]], None]:
    """A listener handing each successful node to ``magics.insert_node_cells`` (if wired)."""

    def listener(event: str, data: dict[str, Any]) -> None:
        node = data.get("node")
        insert = getattr(magics, "insert_node_cells", None)
        if event == "node_finished" and node is not None and node.status == "ok" and insert:
            insert(node)

    return listener


def _state_publisher(magics: Any) -> Callable[[str, dict[str, Any]], None]:
    """A listener telling the side panel (``magics.publish_state``, if any) when runs change."""

    def listener(event: str, data: dict[str, Any]) -> None:
        publish = getattr(magics, "publish_state", None)
        if event in {"run_started", "run_done"} and publish is not None:
            publish()

    return listener
