"""What every MCP answer passes through: allowed folders, secret redaction, one-line errors."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError, MLRCopilotError

#: Run ids are made by the runner as ``<date>-<time>-<task>-<hex>``; anything else is refused.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")


class Redactor:
    """Removes secret values (API keys, tokens, passwords from the environment) from text.

    The values are read from ``environ`` when the redactor is made and again on every call, so a
    key set after the server started is still caught.
    """

    def __init__(self, environ: Mapping[str, str] | None = None,
                 extra: Sequence[str] = ()) -> None:
        self._environ = environ if environ is not None else os.environ
        self._extra = tuple(extra)

    def secrets(self) -> list[str]:
        from ..types import is_sensitive  # the facade's types load the agents: on first use

        values = [v for k, v in self._environ.items() if is_sensitive(k) and len(v.strip()) >= 6
                  and k.upper() != "MLR_COPILOT_RUN_DIR"]
        values += [v for v in self._extra if v and len(v) >= 6]
        return sorted(set(values), key=len, reverse=True)  # longest first: no partial leftovers

    def text(self, text: str) -> str:
        from ..types import redact

        return redact(text, *self.secrets())

    def data(self, value: Any) -> Any:
        """A JSON-like value with every string redacted (keys too)."""
        from ..types import redact

        secrets = self.secrets()

        def clean(v: Any) -> Any:
            if isinstance(v, str):
                return redact(v, *secrets)
            if isinstance(v, Mapping):
                return {clean(str(k)): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v

        return clean(value)


def one_line(exc: BaseException, redactor: Redactor | None = None) -> str:
    """The message an MCP client sees for ``exc``: one line, no traceback, no secrets."""
    if isinstance(exc, MLRCopilotError):
        text = exc.one_line()
    else:
        first = " ".join(str(exc).split())
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    text = " ".join(text.split())[:500]
    return redactor.text(text) if redactor else text


class Folders:
    """The folders an MCP client may name: the run folder plus the workspace roots.

    Every path argument is resolved (symlinks and ``..`` included) and must lie inside one of
    them; anything else — ``../../etc/passwd``, an absolute path elsewhere — is refused.
    """

    def __init__(self, run_root: Path, roots: Iterable[Path]) -> None:
        self.run_root = Path(run_root).expanduser().resolve()
        self.roots = [Path(r).expanduser().resolve() for r in roots]

    @property
    def allowed(self) -> list[Path]:
        return [self.run_root, *self.roots]

    def path(self, value: str, what: str) -> Path:
        """``value`` (relative to the first root) as an absolute path inside the allowed folders."""
        if not value or not value.strip():
            raise InputError(f"the {what} is empty")
        if "\x00" in value:
            raise InputError(f"the {what} contains a NUL byte")
        raw = Path(value.strip()).expanduser()
        base = self.roots[0] if self.roots else self.run_root
        resolved = (raw if raw.is_absolute() else base / raw).resolve()
        for folder in self.allowed:
            if resolved == folder or resolved.is_relative_to(folder):
                return resolved
        shown = ", ".join(str(f) for f in self.allowed)
        raise InputError(f"the {what} {value!r} is outside the folders this server may use",
                         hint=f"allowed: {shown}; start the server with --root DIR to add one")

    def paper_source(self, value: str) -> str:
        """A paper source: an arXiv id/URL becomes ``arXiv:<id>``; anything else must be an
        allowed file (other URLs are refused by the paper loader)."""
        from ..types import parse_arxiv_id

        s = (value or "").strip()
        aid = parse_arxiv_id(s) if s else None
        if aid:
            return f"arXiv:{aid}"
        if re.match(r"(?i)^https?://", s):
            return s
        return str(self.path(s, "paper path"))

    def task(self, value: str) -> str:
        """A task: a bundled task name, or a task folder / task.toml inside the allowed folders."""
        from ..types import bundled_tasks

        s = (value or "").strip()
        if not s:
            raise InputError("the task is missing",
                             hint=f"pass a bundled task ({', '.join(bundled_tasks())}) or a folder")
        if re.fullmatch(r"\w+", s.replace("-", "_")) and s.replace("-", "_") in bundled_tasks():
            return s.replace("-", "_")
        return str(self.path(s, "task path"))

    def run_dir(self, run_id: str) -> Path:
        """The folder of run ``run_id`` (which must exist) inside the run folder."""
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id) or ".." in run_id:
            raise InputError(f"{run_id!r} is not a run id",
                             hint="run ids look like 20261201-101500-digits-1a2b")
        folder = (self.run_root / run_id).resolve()
        if folder.parent != self.run_root or not (folder / "journal.json").is_file():
            raise InputError(f"no run {run_id!r} in {self.run_root}",
                             hint="run_experiment returns the run id; mlr://runs lists them")
        return folder


def dumps(value: Any, redactor: Redactor) -> str:
    """JSON text of ``value`` with secrets removed."""
    return json.dumps(redactor.data(value), indent=1, default=str)
