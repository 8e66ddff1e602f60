"""Environment scrubbing for the kernels (and eval subprocesses) that run generated code.

LLM-written code runs in the kernel, so the kernel must not see API keys, tokens or cloud
credentials of the user's session. :func:`scrub_environ` drops every variable whose *name* matches
a deny pattern (case-insensitive ``fnmatch`` globs); an allow-list overrides the deny-list.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

#: Name patterns (case-insensitive globs) of variables never passed to a kernel.
DENY_PATTERNS: tuple[str, ...] = (
    "*API_KEY*",
    "*APIKEY*",
    "*_KEY",
    "*ACCESS_KEY*",
    "*PRIVATE_KEY*",
    "*_TOKEN*",
    "TOKEN",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "AWS_*",
    "AZURE_*",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GCP_*",
    "GCLOUD_*",
    "CLOUDSDK_*",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "OPENAI_*",
    "ANTHROPIC_*",
    "COHERE_*",
    "MISTRAL_*",
    "GROQ_*",
    "GEMINI_*",
    "TOGETHER_*",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "KUBECONFIG",
    "DOCKER_AUTH_CONFIG",
    "NETRC",
    "DATABASE_URL",
    "*_DATABASE_URL",
    "MLR_COPILOT_*",
)

#: Names kept even though a deny pattern matches them.
ALWAYS_ALLOWED: tuple[str, ...] = ("MLR_COPILOT_RUN_DIR",)


def _matches(name: str, patterns: Iterable[str]) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pat.upper()) for pat in patterns)


def is_sensitive(name: str, *, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> bool:
    """Whether ``name`` would be removed by :func:`scrub_environ` with the same arguments."""
    if _matches(name, (*ALWAYS_ALLOWED, *allow)):
        return False
    return _matches(name, (*DENY_PATTERNS, *deny))


def scrub_environ(
    environ: Mapping[str, str], allow: Iterable[str] = (), *, deny: Iterable[str] = ()
) -> dict[str, str]:
    """A copy of ``environ`` without secret-looking variables.

    ``allow`` lists names or globs to keep despite the deny-list; ``deny`` adds names or globs
    (e.g. a custom ``api_key_env``) to the built-in :data:`DENY_PATTERNS`.
    """
    allow, deny = tuple(allow), tuple(deny)
    return {k: v for k, v in environ.items() if not is_sensitive(k, allow=allow, deny=deny)}


def removed_names(
    environ: Mapping[str, str], allow: Iterable[str] = (), *, deny: Iterable[str] = ()
) -> list[str]:
    """Sorted names :func:`scrub_environ` would drop (names only — never log the values)."""
    allow, deny = tuple(allow), tuple(deny)
    return sorted(k for k in environ if is_sensitive(k, allow=allow, deny=deny))
