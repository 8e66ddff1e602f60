"""``%mlr_experiment --ideas accepted|ID ...``: a comparison of ideas in the background.

Returns at once with the handle in ``_mlr_compare`` (``.done``, ``.result``, ``.stop()``); the
research state (and so the side panel) follows every idea's status. ``--wait`` blocks and shows
the result.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.display import display

from ..options_spec import ExperimentOptions


def _unquote(value: str | None) -> str | None:
    return value.strip("'\"") if value else value


def compare_magic(magics: Any, args: Any, options: ExperimentOptions) -> Any:
    """Start (and with ``--wait``, finish) a comparison from parsed ``%mlr_experiment`` args;
    ``options`` (built from them) reach every idea's run."""
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
    data: tuple[Any, str] = (None, "")
    if args.data:  # one task folder from the notebook's data, shared by every idea
        task, data = task_from_args(magics, args, args.data.strip("'\""))
    try:
        # every run option of %mlr_experiment reaches each idea's run (none is dropped silently)
        run = magics.copilot.start_compare(
            ideas[0] if ideas == ["accepted"] else ideas, task,
            out=(args.out or "").strip("'\"") or None, workers=args.workers,
            scheduler=args.scheduler, seeds=args.seeds, options=options,
            metric=_unquote(args.metric), direction=args.direction,
            context=context_from_args(magics, args, *data),
            on_update=(lambda ref: publish()) if publish is not None else None)
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
