"""Exceptions for mlr-copilot-jupyter.

Every error a user can cause or meet derives from :class:`MLRCopilotError`. Its message is one line
that names the input and says what to do; surfaces (CLI, magics) print that line and no traceback.
"""

from __future__ import annotations


class MLRCopilotError(Exception):
    """Base class of every error the package raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message and the hint joined into the single line shown to users."""
        text = " ".join(self.message.split())
        if self.hint:
            text += f" ({' '.join(self.hint.split())})"
        return text


class ConfigError(MLRCopilotError):
    """A setting is missing or invalid."""


class LLMError(MLRCopilotError):
    """The LLM endpoint failed in a way retries could not fix."""


class LLMAuthError(LLMError):
    """The endpoint rejected the API key (HTTP 401/403)."""


class LLMModelNotFound(LLMError):
    """The endpoint does not serve the requested model (HTTP 404)."""


class LLMSchemaError(LLMError):
    """The model kept answering with output that does not validate against the schema.

    ``raw`` holds the model's last reply, so a failed step can keep it in the record.
    """

    def __init__(self, message: str, *, hint: str | None = None, raw: str = "") -> None:
        super().__init__(message, hint=hint)
        self.raw = raw


class InputError(MLRCopilotError):
    """A file, path or value given by the user cannot be used."""


class PaperError(InputError):
    """A paper cannot be read (corrupt, encrypted, no text, missing, offline)."""


class TaskError(InputError):
    """A task specification is malformed or incomplete."""


class ExecutionError(MLRCopilotError):
    """The experiment kernel failed in a way the agent cannot recover from."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        cell_index: int | None = None,
        ename: str | None = None,
        evalue: str | None = None,
        traceback: str | None = None,
    ) -> None:
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
        super().__init__(message, hint=hint)


class StorageError(MLRCopilotError):
    """A file the package must write (record, journal, state, report) could not be saved."""


class SandboxError(MLRCopilotError):
    """``--sandbox require`` and no working bubblewrap; the CLI exits with status 2."""

    exit_code = 2


class NetworkUnavailable(MLRCopilotError):
    """A feature needs the network (arXiv, Semantic Scholar, Hugging Face) and it is unreachable."""
