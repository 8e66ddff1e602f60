"""``%mlr_experiment --data df --target y`` and ``--context notebook``: the notebook's own data
and, with consent, its context. :func:`task_from_args` writes the task folder through
``Copilot.task_from_data``; :func:`context_from_args` builds the redacted context text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError


def resolve_data(shell: Any, name: str) -> tuple[Any, str]:
    """The object ``name`` names: a variable of the user's namespace, else a file path."""
    namespace = getattr(shell, "user_ns", None) or {}
    if name.isidentifier():
        if name in namespace:
            return namespace[name], f"`{name}`"
        if not Path(name).exists():
            raise UsageError(f"--data {name}: no such variable in the notebook, and no such file")
    return Path(name).expanduser(), name


def check_data_args(args: Any) -> None:
    """One line for flag combinations that make no sense."""
    if args.data and args.task:
        raise UsageError("--data and --task are exclusive: give the data (with --target) or a "
                         "task folder, not both")
    if args.data and args.resume:
        raise UsageError("--data starts a new run; --resume continues an old one: drop one")
    if args.data and not args.target:
        raise UsageError("--data needs --target COLUMN (the column to predict)")
    if not args.data and (args.target or args.test_size is not None):
        raise UsageError("--target and --test-size go with --data (a DataFrame or file)")


def task_from_args(magics: Any, args: Any, data: str) -> tuple[str, tuple[Any, str]]:
    """Write the task folder of ``--data`` in the run directory; prints the choice line.

    Returns the folder and (the DataFrame or file, its label) for ``--context notebook``.
    """
    obj, source = resolve_data(magics.shell, data)
    result = magics.copilot.task_from_data(
        obj, args.target.strip("'\""), source=source, metric=args.metric and args.metric.strip("'\""),
        direction=args.direction, test_size=args.test_size)
    print(result.choice_line())
    print(f"task folder: {result.folder}")
    return str(result.folder), (obj, source)


def context_from_args(magics: Any, args: Any, frame: Any = None, source: str = "") -> str:
    """The notebook context when ``--context notebook``, else ``""``."""
    if args.context != "notebook":
        return ""
    from ..types import notebook_context, read_table

    if isinstance(frame, Path):
        frame = read_table(frame)
    shell = magics.shell
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    inputs = list(history if history else (getattr(shell, "user_ns", {}) or {}).get("In", []))
    settings = magics.copilot.settings
    secrets = [os.environ.get(name) for name in {"OPENAI_API_KEY", settings.api_key_env}]
    target = args.target.strip("'\"") if args.target else None
    return notebook_context(inputs, frame=frame, source=source, target=target, secrets=secrets)
