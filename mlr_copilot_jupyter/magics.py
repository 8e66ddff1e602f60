"""IPython magics: ``%mlr_config`` and (as the stages land) ``%mlr_paper``, ``%mlr_idea``, ...

Every magic parses its line with ``magic_arguments``; user mistakes and package errors become
``UsageError`` so IPython shows one line and no traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from .api import Copilot
from .config import MLRCopilot
from .errors import MLRCopilotError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn package errors into ``UsageError``: one line in the notebook, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MLRCopilotError as exc:
            raise UsageError(exc.one_line()) from None
        except KeyboardInterrupt:
            raise UsageError("interrupted") from None

    return wrapper  # type: ignore[return-value]


@magics_class
class MLRCopilotMagics(Magics):
    """The ``%mlr_*`` magics; state lives in :attr:`copilot`."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.settings = MLRCopilot(parent=shell)
        self.copilot = Copilot(self.settings)

    @magic_arguments()
    @argument("--json", action="store_true", help="Print the status as JSON.")
    @argument("--backend", choices=["auto", "openai", "offline"], help="Set the backend.")
    @argument("--model", help="Set the model name.")
    @argument("--base-url", help="Set the OpenAI-compatible base URL (e.g. http://localhost:8000/v1).")
    @argument("--temperature", type=float, help="Set the sampling temperature.")
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
        table = self.settings.status_table()
        if args.json:
            print(table.to_json())
            return None
        display(table)
        return None


def get_magics(shell: Any) -> MLRCopilotMagics:
    """The registered magics instance of ``shell`` (after ``%load_ext mlr_copilot_jupyter``)."""
    magics = shell.magics_manager.registry.get("MLRCopilotMagics")
    if magics is None:
        raise UsageError("run %load_ext mlr_copilot_jupyter first")
    return magics


def register(shell: Any) -> None:
    """Register magics and the configurable (idempotent)."""
    if "MLRCopilotMagics" in shell.magics_manager.registry:
        return
    magics = MLRCopilotMagics(shell)
    shell.register_magics(magics)
    shell.configurables.append(magics.settings)


def unregister(shell: Any) -> None:
    magics = shell.magics_manager.registry.pop("MLRCopilotMagics", None)
    if magics is not None and magics.settings in shell.configurables:
        shell.configurables.remove(magics.settings)

