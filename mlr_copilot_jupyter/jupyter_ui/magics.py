"""IPython magics: ``%mlr_config`` and (as the stages land) ``%mlr_paper``, ``%mlr_idea``, ...

Every magic parses its line with ``magic_arguments``; user mistakes and package errors become
``UsageError`` so IPython shows one line and no traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from ..api import Copilot
from ..config import MLRCopilot
from ..errors import MLRCopilotError
from ..options_spec import CONFIG_SETTINGS, MAX_PAGES, magic_argument_decorators, magic_options
from . import magics_batch
from .magics_experiment import experiment_arguments, mlr_experiment_magic
from .magics_ideas import (
    idea_arguments,
    mlr_idea_magic,
    mlr_review_magic,
    review_arguments,
)
from .magics_retrieval import (
    datasets_arguments,
    mlr_datasets_magic,
    mlr_models_magic,
    models_arguments,
)

F = TypeVar("F", bound=Callable[..., Any])
(MAX_PAGES_ARGUMENT,) = magic_argument_decorators((MAX_PAGES,))


def user_errors(func: F) -> F:
    """Turn package errors into ``UsageError``: one line in the notebook, no traceback.

    The magic's LLM calls show their progress in a widget line of the cell's output meanwhile.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..llm.display import notebook_progress

        try:
            with notebook_progress():
                return func(*args, **kwargs)
        except MLRCopilotError as exc:
            raise UsageError(exc.one_line()) from None
        except KeyboardInterrupt:
            raise UsageError("interrupted") from None
        except ValueError as exc:  # shlex, inside parse_argstring: an unclosed quote
            if "quotation" not in str(exc) and "escaped character" not in str(exc):
                raise
            line = args[1] if len(args) > 1 else ""
            raise UsageError(f"cannot read the magic line {line!r}: {exc} "
                             "(close the quote, or quote paths with spaces)") from None

    return wrapper  # type: ignore[return-value]


@magics_class
class MLRCopilotMagics(Magics):
    """The ``%mlr_*`` magics; state lives in :attr:`copilot`."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.settings = MLRCopilot(parent=shell)
        # The offline-engine banner is information: stdout, not a red stderr block in the notebook.
        self.copilot = Copilot(self.settings, announce_to=sys.stdout)
        self.current_run: Any = None
        self.run_inserter: Any = None  # live_insert.RunInserter of the last --insert run
        self.current_compare: Any = None  # the board's last comparison (Copilot.start_compare)
        from .comm import FrontendBridge

        self.bridge = FrontendBridge.for_shell(shell)
        for action, handler in (("request_state", self._on_request_state),
                                ("open_run", self._on_open_run),
                                ("insert_run", self._on_insert_run),
                                ("stop_run", self._on_stop_run),
                                ("insert_winner", self._on_insert_winner)):
            self.bridge.on_action(action, handler)

    # -- the JupyterLab side panel -----------------------------------------------------------
    def publish_state(self) -> None:
        """Send the research state to the side panel (a no-op without the extension)."""
        try:
            self.bridge.send_state(self.copilot.state.summary())
        except Exception:  # the panel is a view: it must never break a magic
            pass

    def _run_record(self, msg: dict[str, Any]) -> Path | None:
        from .comparison_ui import run_record

        run_id = msg.get("run_id")
        return run_record(self.copilot.state, run_id) if isinstance(run_id, str) else None

    def _on_request_state(self, msg: dict[str, Any]) -> None:
        self.publish_state()

    def _on_open_run(self, msg: dict[str, Any]) -> None:
        record = self._run_record(msg)
        if record is not None:
            self.bridge.open_notebook(record)

    def _on_insert_run(self, msg: dict[str, Any]) -> None:
        record = self._run_record(msg)
        if record is not None:
            from ..types import RecordNotebook

            self.bridge.insert_cells(RecordNotebook.load(record).lineage_cells())

    def _on_insert_winner(self, msg: dict[str, Any]) -> None:
        from .comparison_ui import insert_winner

        comparison_id = msg.get("comparison_id")
        try:
            insert_winner(self, str(comparison_id))
        except MLRCopilotError as exc:  # between cells: nowhere to print, tell the panel
            self.bridge.notify(f"Insert winner: {exc.one_line()}", "warning")

    def _on_stop_run(self, msg: dict[str, Any]) -> None:
        run = self.current_run
        if run is not None and getattr(run, "run_id", None) in {msg.get("run_id"), None}:
            run.stop()

    @magic_arguments()
    @argument("--json", action="store_true", help="Print the status as JSON.")
    @magic_options(CONFIG_SETTINGS)  # as the CLI's LLM settings
    @argument(
        "--check",
        action="store_true",
        help="Send one tiny request to the endpoint and report latency and tokens.",
    )
    @line_magic
    @user_errors
    def mlr_config(self, line: str) -> Any:
        """Show (and optionally change) the copilot's configuration.

        Shows backend, model, base URL and whether an API key is set — never the key. Settings can
        also be changed with ``%config MLRCopilot.<name> = value``; the API key is read from the
        environment variable named by ``MLRCopilot.api_key_env`` (default OPENAI_API_KEY).
        """
        args = parse_argstring(self.mlr_config, line)
        for name, value in (
            ("backend", args.backend),
            ("model", args.model),
            ("base_url", args.base_url),
            ("temperature", args.temperature),
        ):
            if value is not None:
                setattr(self.settings, name, value)
        if args.check:
            reply = self.copilot.query("Reply with the single word: ready", label="check")
            print(
                f"{self.copilot.backend.describe()}: answered in {reply.latency:.2f} s, "
                f"{reply.usage.total_tokens} tokens"
            )
        table = self.copilot.status()
        if args.json:
            print(table.to_json())
            return None
        display(table)
        return None


    # -- IdeaAgent ------------------------------------------------------------------------
    @magic_arguments()
    @argument("source", nargs="+", help="PDF / .txt / .md path, arXiv id or URL (quote spaces)")
    @MAX_PAGES_ARGUMENT
    @argument("--no-problem", action="store_true", help="Only load the paper.")
    @line_magic
    @user_errors
    def mlr_paper(self, line: str) -> Any:
        """Read a paper and show its research problem as a card.

        SOURCE is a PDF, a .txt/.md file, an arXiv id (2408.14033) or URL. The problem (task
        definition, research gaps, keywords) is extracted by the LLM, or offline by heuristics.
        Reading a paper starts a new research line in the run directory's state.json.
        """
        args = parse_argstring(self.mlr_paper, line)
        source = " ".join(args.source).strip("'\"")
        paper = self.copilot.read_paper(source, max_pages=args.max_pages)
        if args.no_problem:
            print(f"loaded {paper.title or paper.source}: {len(paper.text)} characters, "
                  f"sections {', '.join(paper.sections)}")
            return None
        from ..display import ProblemCard

        display(ProblemCard(self.copilot.extract_problem(), paper))
        self.publish_state()
        return None

    @magic_arguments()
    @argument("--json", action="store_true", help="Print the problem as JSON.")
    @argument("--edit", action="store_true",
              help="Put the problem into the next cell as a %%%%mlr_problem cell to edit.")
    @line_cell_magic
    @user_errors
    def mlr_problem(self, line: str, cell: str | None = None) -> Any:
        """Show the research problem, or replace it with an edited one.

        ``%mlr_problem`` shows it; ``%mlr_problem --edit`` prepares an editable
        ``%%mlr_problem`` cell (YAML: task_definition, research_gaps, keywords, rationale);
        running that cell saves your edits to the research state.
        """
        args = parse_argstring(self.mlr_problem, line)
        from ..display import ProblemCard
        from ..types import apply_problem_yaml, problem_yaml

        copilot = self.copilot
        if cell is not None:
            problem = copilot.set_problem(apply_problem_yaml(copilot.state.problem, cell))
            display(ProblemCard(problem, copilot.state.paper))
            self.publish_state()
            return None
        problem = copilot.state.problem or copilot.extract_problem()
        if args.edit:
            assert self.shell is not None
            self.shell.set_next_input("%%mlr_problem\n" + problem_yaml(problem), replace=False)
            print("the problem is in the next cell: edit it and run that cell to save")
            return None
        if args.json:
            print(problem.model_dump_json(indent=2))
            return None
        display(ProblemCard(problem, copilot.state.paper))
        return None

    @idea_arguments
    @line_magic
    @user_errors
    def mlr_idea(self, line: str) -> Any:
        return mlr_idea_magic(self, line)

    @review_arguments
    @line_magic
    @user_errors
    def mlr_review(self, line: str) -> Any:
        return mlr_review_magic(self, line)

    # -- ExperimentAgent --------------------------------------------------------------------
    @experiment_arguments
    @line_cell_magic
    @user_errors
    def mlr_experiment(self, line: str, cell: str | None = None) -> Any:
        return mlr_experiment_magic(self, line, cell)

    # -- batch -----------------------------------------------------------------------------
    mlr_batch = line_magic(user_errors(magics_batch.mlr_batch))

    # -- retrieval -------------------------------------------------------------------------
    @models_arguments
    @line_magic
    @user_errors
    def mlr_models(self, line: str) -> Any:
        return mlr_models_magic(self, line)

    @datasets_arguments
    @line_magic
    @user_errors
    def mlr_datasets(self, line: str) -> Any:
        return mlr_datasets_magic(self, line)

    def insert_node_cells(self, node: Any) -> None:
        """Mirror a successful node's cells into the live notebook (``--insert``)."""
        inserter = self.run_inserter
        if inserter is not None:
            inserter.add(node.id)


def get_magics(shell: Any) -> MLRCopilotMagics:
    """The registered magics instance of ``shell`` (after ``%load_ext mlr_copilot_jupyter``)."""
    magics = shell.magics_manager.registry.get("MLRCopilotMagics")
    if magics is None:
        raise UsageError("run %load_ext mlr_copilot_jupyter first")
    return magics


def register(shell: Any) -> None:
    """Register magics and the configurable (idempotent)."""
    from .comm import FrontendBridge

    FrontendBridge.for_shell(shell)  # open the comm now: the hello arrives before the next cell
    if "MLRCopilotMagics" in shell.magics_manager.registry:
        return
    magics = MLRCopilotMagics(shell)
    shell.register_magics(magics)
    shell.configurables.append(magics.settings)


def unregister(shell: Any) -> None:
    magics = shell.magics_manager.registry.pop("MLRCopilotMagics", None)
    if magics is not None and magics.settings in shell.configurables:
        shell.configurables.remove(magics.settings)
    if magics is not None:
        magics.copilot.close()

