"""The ``mlr-copilot`` command: a thin shell over :class:`mlr_copilot_jupyter.Copilot`.

Each subcommand lives in its own module with ``add_parser(subparsers, common)`` and ``run(args)``.
Exit status: 0 on success, 1 on a failure (one line on stderr, no traceback unless ``--debug``),
2 on a usage mistake, 130 when interrupted. While an LLM call runs, a progress line on stderr shows
its stage, tokens, tokens/s and elapsed time (``--no-progress`` or ``MLR_COPILOT_PROGRESS=off``
hide it); it is closed before any error line is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._version import __version__
from ..errors import MLRCopilotError
from . import (
    batch_cmd,
    bench_cmd,
    bench_ideas_cmd,
    compare_cmd,
    config_cmd,
    demo_cmd,
    experiment_cmd,
    ideas_cmd,
    mcp_cmd,
    problem_cmd,
    retrieval_cmd,
    review_cmd,
    run_cmd,
    task_cmd,
)
from .common import Interrupted as Interrupted  # re-exported: the package's public names
from .common import ignore_ctrl_c
from .common import settings_overrides as settings_overrides

# jsonschema (imported by nbformat) imports rfc3987_syntax when it is installed (jupyter_events
# brings it), and that compiles a lark grammar at import: 0.8 s of CPU on every command, a third of
# what `mlr-copilot batch broken.ipynb` took to say the file cannot be read. It only checks the
# "iri" string format, which no schema the command validates (notebooks, journals, tasks) uses,
# so the command's process goes without it. A copy already imported is left alone.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

SUBCOMMANDS = (config_cmd, problem_cmd, ideas_cmd, review_cmd, task_cmd, experiment_cmd, run_cmd, batch_cmd,
               compare_cmd, bench_cmd, bench_ideas_cmd, retrieval_cmd, mcp_cmd, demo_cmd)

DESCRIPTION = """\
A research copilot for machine-learning papers and experiments (after MLR-Copilot, arXiv
2408.14033). Point it at an OpenAI-compatible endpoint with OPENAI_API_KEY / OPENAI_BASE_URL and
MLR_COPILOT_MODEL; with neither set it runs the offline engine (heuristics, no LLM)."""


def common_options() -> argparse.ArgumentParser:
    """Options every subcommand accepts (LLM settings, output format, debugging)."""
    common = argparse.ArgumentParser(add_help=False)
    from ..options_spec import LLM_SETTINGS, add_to_parser

    llm = common.add_argument_group("LLM settings (override environment variables)")
    add_to_parser(llm, LLM_SETTINGS)  # as %mlr_config's; --backend takes any registered backend
    common.add_argument("--run-dir", help="folder for runs and state  [$MLR_COPILOT_RUN_DIR]")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    common.add_argument("--no-progress", action="store_true",
                        help="no progress lines for LLM calls on stderr  [$MLR_COPILOT_PROGRESS=off]")
    return common


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (which option, what it accepts) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} "
                     f"(see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mlr-copilot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'mlr-copilot COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = common_options()
    for module in SUBCOMMANDS:
        module.add_parser(sub, common)
    return parser


class _WarningLine(logging.Handler):
    """The package's warnings (a context window too small, a PDF page unreadable) as one
    ``mlr-copilot: warning:`` line each, written around any progress line on screen."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        text = " ".join(record.getMessage().split())
        with contextlib.suppress(Exception):
            tqdm.write(f"mlr-copilot: warning: {text}", file=sys.stderr)


def show_warnings() -> None:
    """Route the ``mlr_copilot`` logger's warnings to stderr lines (once per process)."""
    logger = logging.getLogger("mlr_copilot")
    if not any(isinstance(h, _WarningLine) for h in logger.handlers):
        handler = _WarningLine(level=logging.WARNING)
        logger.addHandler(handler)
        logger.propagate = False  # no second, unprefixed copy from logging's last resort


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
    else:
        show_warnings()
    from ..llm.display import cli_progress

    try:
        with cli_progress(not getattr(args, "no_progress", False)):  # closed before any message
            return int(args.func(args) or 0)
    except MLRCopilotError as exc:
        if args.debug:
            raise
        print(f"mlr-copilot: error: {exc.one_line()}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt as exc:
        ignore_ctrl_c()  # a second press while exiting must not turn 130 into a signal death
        print(getattr(exc, "line", "mlr-copilot: interrupted"), file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if args.debug:
            raise
        print(
            f"mlr-copilot: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            " (rerun with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
