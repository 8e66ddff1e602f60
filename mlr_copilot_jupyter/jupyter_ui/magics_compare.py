"""``%mlr_experiment --ideas accepted|ID ...``: a comparison of ideas in the background.

Returns at once with the handle in ``_mlr_compare`` (``.done``, ``.result``, ``.stop()``); the
research state (and so the side panel) follows every idea's status. ``--wait`` blocks and shows
the result.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.display import display


def _unquote(value: str | None) -> str | None:
    return value.strip("'\"") if value else value


def compare_magic(magics: Any, args: Any) -> Any:
    """Start (and with ``--wait``, finish) a comparison from parsed ``%mlr_experiment`` args."""
    from ..errors import MLRCopilotError
    from .magics_data import check_data_args, context_from_args, task_from_args

    ideas = [i.strip("'\"") for i in args.ideas]
    task = (args.task or "").strip("'\"")
    check_data_args(args)
    if not task and not args.data:
        raise UsageError("--ideas needs --task PATH or --data DF --target COLUMN (the task "
                         "every idea runs on)")
    current = getattr(magics, "current_compare", None)
    if current is not None and not current.done:
        raise UsageError(f"comparison {current.comparison_id} is still running: "
                         "_mlr_compare.stop() it or wait for it to finish")
    if args.mode == "approve":
        raise UsageError("--mode approve does not go with --ideas: a comparison runs its ideas "
                         "unattended in worker processes; run one idea at a time to approve steps")
    publish = getattr(magics, "publish_state", None)
    # every run option of %mlr_experiment reaches each idea's run (none is dropped silently)
    options = {k: v for k, v in {"cell_timeout": args.cell_timeout,
                                 "token_budget": args.token_budget,
                                 "cost_budget": args.cost_budget, "deadline": args.deadline,
                                 "seed": args.seed, "metric": _unquote(args.metric),
                                 "direction": args.direction, "mode": "auto"}.items()
               if v is not None}
    from ..options_spec import sandbox_choice

    options.update(sandbox_choice(args))
    data: tuple[Any, str] = (None, "")
    if args.data:  # one task folder from the notebook's data, shared by every idea
        task, data = task_from_args(magics, args, args.data.strip("'\""))
    context = context_from_args(magics, args, *data)
    if context:
        options["context"] = context
    try:
        run = magics.copilot.start_compare(
            ideas[0] if ideas == ["accepted"] else ideas, task,
            out=(args.out or "").strip("'\"") or None, workers=args.workers,
            scheduler=args.scheduler, seeds=args.seeds, max_steps=args.max_steps,
            on_update=(lambda ref: publish()) if publish is not None else None, **options)
    except MLRCopilotError as exc:
        raise UsageError(exc.one_line()) from None
    magics.current_compare = run
    if magics.shell is not None:
        magics.shell.user_ns["_mlr_compare"] = run
    print(f"comparison {run.comparison_id} started ({args.workers} workers"
          f"{', ' + args.scheduler if args.scheduler else ''}); handle: _mlr_compare")
    if args.wait:
        try:
            run.wait()
        except KeyboardInterrupt:
            run.stop()
            run.wait(120)
        if run.error:
            raise UsageError(run.error)
        display(run.result)
    return None
