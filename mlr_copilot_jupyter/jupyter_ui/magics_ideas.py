"""``%mlr_idea`` and ``%mlr_review``: generate, review and decide on ideas from a notebook.

``magics.py`` wires them with :func:`idea_arguments` / :func:`review_arguments` and
:func:`mlr_idea_magic` / :func:`mlr_review_magic`; every state change goes through ``Copilot``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from ..display import decision_line
from ..options_spec import (
    IDEAS_N,
    IDEAS_TASK,
    MAX_STEPS,
    RELATED,
    REVIEW_DECISIONS,
    SEEDS,
    SEMANTIC_SCHOLAR,
    magic_argument_decorators,
)

F = TypeVar("F", bound=Callable[..., Any])

IDEA_DOC = """Generate N hypotheses with experiment plans for the current paper, reviewed and ranked.

With an LLM, hypotheses are generated first and then a plan for each, N chains
concurrently; offline, ideas come from a catalog of ML improvement strategies matched
to the paper. Use %mlr_review to accept, reject, edit and reorder them.
"""

REVIEW_DOC = """Open the review board: accept, reject, edit and reorder ideas; run an accepted one.

Every decision is saved to the run directory's state.json at once, and a Markdown
summary of the decisions is printed below the board so the saved notebook shows them.

Without clicks: ``%mlr_review --accept ID|top`` (top: the best-ranked idea that applies to
the task), ``--reject ID``, with ``--comment TEXT``; one line per decision, no board.
"""

_IDEA_ARGUMENTS = (
    *magic_argument_decorators((IDEAS_N, RELATED, SEMANTIC_SCHOLAR)),
    argument("--more", action="store_true", help="Keep the existing ideas and add N more."),
    *magic_argument_decorators((IDEAS_TASK,)),
    argument("--no-review", action="store_true", help="Skip the review and ranking."),
    argument("--insert", metavar="ID",
             help="Insert idea ID's hypothesis and plan as a markdown cell below (no generation)."),
)

_REVIEW_ARGUMENTS = (
    argument("--rerank", action="store_true", help="Review (score) the ideas again first."),
    argument("--task", default="digits",
             help="Task of the board's 'Run experiment' and 'Run accepted ideas' (default digits)."),
    *magic_argument_decorators((
        MAX_STEPS.but(metavar="N", help="Search steps per idea when 'Run accepted ideas' "
                                        "compares them."),
        SEEDS.but(default=None, help="A comparison re-runs its top two ideas with seeds 1..N "
                                     "(default 2; 0: none)."))),
    *magic_argument_decorators(REVIEW_DECISIONS),  # as mlr-copilot review's
)


def _with_arguments(name: str, doc: str, arguments: tuple[Any, ...]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        func.__doc__ = doc
        for add in reversed(arguments):
            func = add(func)
        return magic_arguments(name=name)(func)  # type: ignore[no-any-return]
    return decorate


idea_arguments = _with_arguments("mlr_idea", IDEA_DOC, _IDEA_ARGUMENTS)
review_arguments = _with_arguments("mlr_review", REVIEW_DOC, _REVIEW_ARGUMENTS)


def idea_plan_cell(idea: Any) -> dict[str, Any]:
    """A markdown cell with an idea's hypothesis and experiment plan (for --insert)."""
    p = idea.plan
    steps = "\n".join(f"{k}. {step}" for k, step in enumerate(p.steps, 1))
    source = (f"## {idea.title}\n\n**Hypothesis.** {idea.hypothesis}\n\n"
              f"**Objective.** {p.objective}\n\n**Method.** {p.method}\n\n"
              f"**Datasets.** {', '.join(p.datasets) or '—'} · **Baselines.** "
              f"{', '.join(p.baselines) or '—'} · **Metrics.** {', '.join(p.metrics) or '—'}\n\n"
              f"{steps}")
    return {"cell_type": "markdown", "source": source,
            "metadata": {"mlr_copilot": {"stage": "idea", "idea_id": idea.id}}}


def mlr_idea_magic(magics: Any, line: str) -> None:
    args = parse_argstring(magics.mlr_idea, line)
    from ..display import IdeaList

    copilot = magics.copilot
    if args.related or args.semantic_scholar:
        copilot.find_related(args.related, semantic_scholar=args.semantic_scholar)
    elif not args.insert:
        copilot.related_by_default()
    for warning in copilot.warnings:
        print(f"warning: {warning}")
    copilot.warnings.clear()
    if args.insert:
        idea = copilot.state.idea(args.insert)
        how = magics.bridge.insert_cells([idea_plan_cell(idea)])
        print(f"inserted the plan of {idea.id} ({how})")
        return
    ideas = copilot.generate_ideas(args.n, keep_existing=args.more, task=args.task)
    if not args.no_review:
        ids = {i.id for i in ideas}
        ideas = [i for i in copilot.review_ideas(ideas) if i.id in ids]
    display(IdeaList(ideas))
    magics.publish_state()


def mlr_review_magic(magics: Any, line: str) -> None:
    args = parse_argstring(magics.mlr_review, line)
    copilot = magics.copilot
    if not copilot.state.ideas:
        raise UsageError("no ideas yet: run %mlr_idea first")
    if args.rerank:
        copilot.review_ideas()
    if args.accept or args.reject or args.comment:
        def unquote(value: str | None) -> str | None:  # the magic line keeps the quotes
            return value.strip("'\"") if value else value

        for idea in copilot.apply_review(accept=unquote(args.accept), reject=unquote(args.reject),
                                         comment=unquote(args.comment) or ""):
            print(decision_line(idea))
        magics.publish_state()
        return
    from IPython.display import Markdown

    from .comparison_ui import board_comparison
    from .widgets.review_board import ReviewBoard

    def run_idea(idea: Any) -> None:
        # with the JupyterLab extension the cell appears at once; else set_next_input
        command = f"%mlr_experiment --idea {idea.id} --task {args.task}"
        if not magics.bridge.available:
            assert magics.shell is not None
            magics.shell.set_next_input(command, replace=False)
            return
        magics.bridge.insert_cells([{"cell_type": "code", "source": command,
                                     "metadata": {"mlr_copilot": {"stage": "run",
                                                                  "idea_id": idea.id}}}])

    MAX_STEPS.check(args.max_steps)  # the ranges of %mlr_experiment --ideas, checked now
    SEEDS.check(args.seeds)
    extra = " ".join(f"--{name.replace('_', '-')} {value}" for name, value in
                     (("max_steps", args.max_steps), ("seeds", args.seeds)) if value is not None)
    board = ReviewBoard(copilot, on_run=run_idea, task=args.task, compare_args=extra)
    board.on_run_accepted = board_comparison(
        magics, board, args.task, {"max_steps": args.max_steps, "seeds": args.seeds})
    magics.publish_state()
    display(board)
    display(Markdown(board.markdown()))
