"""``%mlr_models`` / ``%mlr_datasets``: find models and datasets for an experiment in a notebook.

``magics.py`` wires them with :func:`models_arguments` / :func:`datasets_arguments` and
:func:`mlr_models_magic` / :func:`mlr_datasets_magic`. The result is shown as an HTML table
(warnings above it) and kept in ``_mlr_models`` / ``_mlr_datasets``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.magic_arguments import magic_arguments, parse_argstring
from IPython.display import display

from ..options_spec import RETRIEVAL_LIMIT, RETRIEVAL_SHARED, magic_argument_decorators

F = TypeVar("F", bound=Callable[..., Any])

_DOC = """Find {kind}s for an experiment: the Hugging Face Hub and this machine, ranked.

Hub results come through ``huggingface_hub`` (``HF_ENDPOINT``, ``HF_TOKEN``); local ones are
{local}. Ranking is BM25 over id, tags and description plus Hub downloads; ``--hyde`` lets the
LLM describe the ideal {kind} and ranks by that. When the Hub cannot be reached the local
candidates still come back, with a warning. The result is kept in ``_mlr_{kind}s``.

Examples::

    %mlr_{kind}s {example}
    %mlr_{kind}s {example} --task-type {task} --source local --limit 5
"""
_LOCAL = {"model": "scikit-learn estimators, installed sentence-embedding packages and the "
                   "local Hugging Face cache",
          "dataset": "scikit-learn's bundled datasets and the local Hugging Face cache"}
_EXAMPLE = {"model": ("sentence similarity", "sentence-similarity"),
            "dataset": ("handwritten digits", "classification")}

_ARGUMENTS = magic_argument_decorators(RETRIEVAL_SHARED)  # as mlr-copilot models / datasets


def _arguments(kind: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        example, task = _EXAMPLE[kind]
        func.__doc__ = _DOC.format(kind=kind, local=_LOCAL[kind], example=example, task=task)
        for add in reversed(_ARGUMENTS):
            func = add(func)
        return magic_arguments(name=f"mlr_{kind}s")(func)  # type: ignore[no-any-return]

    return decorate


models_arguments = _arguments("model")
datasets_arguments = _arguments("dataset")


@models_arguments
def _models_parser(line: str) -> None:
    """Holds the parser, so this module does not depend on how magics.py names the method."""


@datasets_arguments
def _datasets_parser(line: str) -> None:
    """Holds the parser of ``%mlr_datasets``."""


def mlr_models_magic(magics: Any, line: str) -> Any:
    """Implement ``%mlr_models`` for the magics instance ``magics`` (has copilot, shell)."""
    return _run(magics, line, "model", _models_parser)


def mlr_datasets_magic(magics: Any, line: str) -> Any:
    """Implement ``%mlr_datasets``."""
    return _run(magics, line, "dataset", _datasets_parser)


def _run(magics: Any, line: str, kind: str, parser_holder: Any) -> None:
    import json

    from ..api import Copilot

    args = parse_argstring(parser_holder, line)
    query = " ".join(args.query).strip().strip("'\"")
    RETRIEVAL_LIMIT.check(args.limit)
    copilot = getattr(magics, "copilot", None) or Copilot()
    result = copilot.retrieve(query, kind, task_type=args.task_type, source=args.source,
                              limit=args.limit, hyde=args.hyde)
    shell = getattr(magics, "shell", None)
    if shell is not None:
        shell.user_ns[f"_mlr_{kind}s"] = result
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return None
    display(result)
    return None
