"""Hugging Face Hub search for models and datasets, through ``huggingface_hub.HfApi``.

Honours ``HF_ENDPOINT`` (a mirror or a test server) and ``HF_TOKEN`` (sent as a bearer token,
never shown). ``huggingface_hub`` retries 429 (waiting for ``Retry-After``) and 5xx itself, but
its list calls have no timeout, so each call runs in a worker thread under one deadline per
search (``MLR_COPILOT_HUB_TIMEOUT``, default 15 s). A refused connection or failed name lookup
ends the wait at once, as does a ``Retry-After`` past the deadline; every failure becomes
:class:`~mlr_copilot_jupyter.errors.NetworkUnavailable` (HTTP 401/403: ``InputError``).

>>> HubSource("model").search("sentence similarity", limit=5)
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..errors import InputError, MLRCopilotError, NetworkUnavailable
from ..llm.base import redact
from .rank import rank
from .sources import Candidate, check_kind, usage_for

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_ENV = "MLR_COPILOT_HUB_TIMEOUT"
DEFAULT_TIMEOUT = 15.0
UNREACHABLE = "cannot reach the Hugging Face Hub at {endpoint} ({reason}); using local sources only"
_INSTALL_HINT = "pip install huggingface_hub"

#: Hub pipeline tags a task type or a query may name ("sentence similarity" -> sentence-similarity).
PIPELINE_TAGS = (
    "text-classification", "token-classification", "question-answering", "summarization",
    "translation", "text-generation", "text2text-generation", "fill-mask", "sentence-similarity",
    "feature-extraction", "zero-shot-classification", "table-question-answering",
    "image-classification", "object-detection", "image-segmentation", "image-to-text",
    "text-to-image", "automatic-speech-recognition", "audio-classification", "text-to-speech",
    "tabular-classification", "tabular-regression", "time-series-forecasting",
    "reinforcement-learning", "depth-estimation", "video-classification", "image-feature-extraction",
)
_CONNECT_FAILURE = re.compile(
    r"refused|name or service|name resolution|nodename|getaddrinfo|unreachable|no route|"
    r"connection attempts failed|certificate|ssl", re.I)
_RATE_WAIT = re.compile(r"Rate limited\. Waiting ([\d.]+)s")
_HTTP_STATUS = re.compile(r"HTTP Error (\d{3})")
T = TypeVar("T")


class _RetryLog(logging.Filter):
    """Takes huggingface_hub's retry warnings from our worker threads: they inform our wait and
    error message instead of printing to stderr (other threads' records pass untouched)."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: dict[int, list[str]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        events = self.threads.get(record.thread or 0)
        if events is None:
            return True
        events.append(record.getMessage())
        return False


_RETRY_LOG = _RetryLog()
logging.getLogger("huggingface_hub.utils._http").addFilter(_RETRY_LOG)


def pipeline_tag_for(text: str | None) -> str | None:
    """The Hub pipeline tag ``text`` names exactly ("Sentence similarity" -> "sentence-similarity")."""
    key = "-".join(re.findall(r"[a-z0-9]+", (text or "").lower()))
    return key if key in PIPELINE_TAGS else None


def pipeline_tag_in(query: str) -> str | None:
    """The first Hub pipeline tag whose words appear together in ``query``."""
    words = " " + " ".join(re.findall(r"[a-z0-9]+", query.lower())) + " "
    return next((t for t in PIPELINE_TAGS if f" {t.replace('-', ' ')} " in words), None)


def keywords(query: str, n: int = 2) -> list[str]:
    """The ``n`` longest distinct words of ``query`` (Hub search matches repository names)."""
    from .rank import _STOP

    words = dict.fromkeys(w for w in re.findall(r"[A-Za-z0-9]+", query.lower())
                          if len(w) >= 3 and w not in _STOP)
    return sorted(words, key=len, reverse=True)[:n]


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for no Hub requests."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


class HubSource:
    """Models (``kind="model"``) or datasets (``kind="dataset"``) on the Hugging Face Hub."""

    source = "hub"

    def __init__(self, kind: str = "model", *, endpoint: str | None = None,
                 token: str | None = None, timeout: float | None = None,
                 max_requests: int = 3) -> None:
        self.kind = check_kind(kind)
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self._token = token if token is not None else os.environ.get("HF_TOKEN") or None
        self.timeout = timeout if timeout is not None else _env_timeout()
        self.max_requests = max_requests
        #: problems that did not stop the search (a later request failed after results came)
        self.warnings: list[str] = []

    def __repr__(self) -> str:
        return (f"HubSource(kind={self.kind!r}, endpoint={self.endpoint!r}, "
                f"token={'set' if self._token else 'unset'}, timeout={self.timeout:g})")

    def search(
        self, query: str, *, task_type: str | None = None, limit: int = 10
    ) -> list[Candidate]:
        """Up to ``limit`` Hub results for ``query``, ranked by BM25 and downloads.

        Raises ``NetworkUnavailable`` when the Hub cannot be reached within the timeout.
        """
        self.warnings = []
        if hub_offline():
            raise NetworkUnavailable(self._unreachable("HF_HUB_OFFLINE is set"))
        deadline = time.monotonic() + self.timeout
        fetch = max(limit, min(max(limit * 2, 20), 100))  # room to re-rank, bounded
        found: dict[str, Candidate] = {}
        for n, params in enumerate(self._requests(query, task_type)):
            if n >= self.max_requests or len(found) >= fetch:
                break
            try:
                batch = self._call(functools.partial(self._list, params, fetch), deadline)
            except MLRCopilotError as exc:
                if not found:
                    raise
                self.warnings.append(exc.one_line())
                break
            for candidate in batch:
                found.setdefault(candidate.id, candidate)
        return rank(query, list(found.values()), task_type=task_type)[:limit]

    def _requests(self, query: str, task_type: str | None) -> Iterable[dict[str, Any]]:
        """Search parameters, most specific first: the query, a pipeline tag it names, keywords."""
        tag = pipeline_tag_for(task_type)
        yield {"search": query.strip() or None, "tag": tag}
        named = pipeline_tag_in(query)
        if named and named != tag:
            yield {"search": None, "tag": named}
        words = keywords(query)
        if len(words) > 1 or (words and words[0] != query.strip().lower()):
            for word in words:
                yield {"search": word, "tag": tag}

    def _list(self, params: dict[str, Any], fetch: int) -> list[Candidate]:
        try:
            from huggingface_hub import HfApi
        except ImportError:
            raise MLRCopilotError("Hub search needs huggingface_hub", hint=_INSTALL_HINT) from None
        api = HfApi(endpoint=self.endpoint, token=self._token)
        if self.kind == "model":
            models = api.list_models(search=params["search"], pipeline_tag=params["tag"],
                                     sort="downloads", limit=fetch)
            return [self._model(info) for info in models]
        datasets = api.list_datasets(search=params["search"], task_categories=params["tag"],
                                     sort="downloads", limit=fetch)
        return [self._dataset(info) for info in datasets]

    def _model(self, info: Any) -> Candidate:
        tags = [str(t) for t in (info.tags or [])]
        library = getattr(info, "library_name", None)
        task = info.pipeline_tag
        usage = usage_for(info.id, "model", library=library, task=task)
        description = " · ".join(x for x in (f"{library} model" if library else "model", task) if x)
        return Candidate(id=info.id, kind="model", source="hub", description=description, task=task,
                         tags=tags[:20], downloads=info.downloads, likes=info.likes, usage=usage,
                         url=f"{self.endpoint}/{info.id}")

    def _dataset(self, info: Any) -> Candidate:
        tags = [str(t) for t in (info.tags or [])]
        task = next((t.split(":", 1)[1] for t in tags if t.startswith("task_categories:")), None)
        text = " ".join((getattr(info, "description", None) or "").split())
        return Candidate(
            id=info.id, kind="dataset", source="hub", description=text[:200] or "dataset",
            task=task, tags=tags[:20], downloads=info.downloads, likes=info.likes,
            usage=usage_for(info.id, "dataset"),
            url=f"{self.endpoint}/datasets/{info.id}")

    def _call(self, fn: Callable[[], T], deadline: float) -> T:
        """Run ``fn`` in a daemon thread; give up at ``deadline`` or on an unrecoverable retry."""
        box: dict[str, Any] = {}
        events: list[str] = []
        done = threading.Event()

        def worker() -> None:
            ident = threading.get_ident()
            _RETRY_LOG.threads[ident] = events
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc
            finally:
                done.set()
                _RETRY_LOG.threads.pop(ident, None)

        threading.Thread(target=worker, name="mlr-hub-search", daemon=True).start()
        while not done.wait(0.05):
            reason = self._hopeless(events, deadline)
            if reason:
                raise NetworkUnavailable(self._unreachable(reason))
        if "error" in box:
            raise self._translate(box["error"], events) from None
        return box["value"]  # type: ignore[no-any-return]

    def _hopeless(self, events: list[str], deadline: float) -> str | None:
        """Why waiting longer is pointless (refused connection, long Retry-After, deadline)."""
        now = time.monotonic()
        for event in events:
            if "thrown while requesting" in event and not _HTTP_STATUS.match(event):
                if _CONNECT_FAILURE.search(event):
                    return event.split("' thrown", 1)[0].strip("'")
            wait = _RATE_WAIT.match(event)
            if wait and now + float(wait.group(1)) > deadline:
                return f"rate limited (HTTP 429); the Hub asks to wait {float(wait.group(1)):g} s"
        if now >= deadline:
            statuses = [m.group(1) for e in events if (m := _HTTP_STATUS.match(e))]
            last = f"; last reply HTTP {statuses[-1]}" if statuses else ""
            return f"no answer within {self.timeout:g} s{last}"
        return None

    def _translate(self, exc: BaseException, events: list[str]) -> MLRCopilotError:
        if isinstance(exc, MLRCopilotError):
            return exc
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return InputError(self._clean(f"the Hugging Face Hub at {self.endpoint} refused the "
                                          f"request (HTTP {status}); using local sources only"),
                              hint="check HF_TOKEN")
        if type(exc).__name__ == "OfflineModeIsEnabled":
            return NetworkUnavailable(self._unreachable("HF_HUB_OFFLINE is set"))
        retries = sum(1 for e in events if "thrown while requesting" in e)
        detail = f"HTTP {status}" if status else f"{type(exc).__name__}: {exc}"
        if retries:
            detail += f" after {retries} attempt{'s' if retries > 1 else ''}"
        return NetworkUnavailable(self._unreachable(detail))

    def _unreachable(self, reason: str) -> str:
        short = " ".join(str(reason).split())[:200]
        return self._clean(UNREACHABLE.format(endpoint=self.endpoint, reason=short))

    def _clean(self, text: str) -> str:
        return redact(text, self._token)


def _env_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise InputError(f"{TIMEOUT_ENV} must be > 0, got {raw}")
    return value
