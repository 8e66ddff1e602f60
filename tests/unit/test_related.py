"""Related works: a local Semantic Scholar stand-in, BibTeX/JSONL/JSON corpora, merging sources."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlr_copilot_jupyter.errors import ConfigError, InputError, NetworkUnavailable
from mlr_copilot_jupyter.models import RelatedWork
from mlr_copilot_jupyter.papers.related import (
    LocalCorpusSource,
    SemanticScholarSource,
    find_related,
    load_corpus,
    parse_bibtex,
)
from tests.support import s2 as _s2
from tests.support.load import time_bound
from tests.support.s2 import ANSWER, S2Server, free_port, paper

s2 = _s2.s2_server  # the fixture "s2"


PROBLEM = "low-resource named entity recognition for clinical notes with contrastive pretraining"
OFFLINE_TAIL = "; pass --related FILE with a local corpus instead"


# --------------------------------------------------------------------------- fake Semantic Scholar


def client(srv: S2Server, sleeps: list[float] | None = None, **kw: Any) -> SemanticScholarSource:
    recorder = sleeps.append if sleeps is not None else (lambda s: None)
    return SemanticScholarSource(base_url=srv.url, timeout=5, sleep=recorder, **kw)


def test_search_sends_the_api_query_and_reads_its_answer(s2: S2Server) -> None:
    s2.push(200, ANSWER)
    works = client(s2).search("named-entity recognition", limit=5)
    [req] = s2.requests
    assert req["path"] == "/graph/v1/paper/search"
    assert req["params"] == {"query": ["named entity recognition"], "limit": ["5"],
                             "fields": ["title,abstract,year,url,externalIds"]}
    assert "x-api-key" not in {k.lower() for k in req["headers"]}
    assert [w.title for w in works] == [
        "Contrastive Pretraining for Clinical NER", "Entity Recognition without Abstracts", "A DOI only paper",
    ]
    assert works[0].year == 2021 and works[0].url == "https://www.semanticscholar.org/paper/a1"
    assert works[1].abstract == "" and works[1].year is None  # kept although the abstract is missing
    assert works[2].url == "https://doi.org/10.1000/xyz"
    assert {w.source for w in works} == {"semantic_scholar"}


def test_no_results_is_an_empty_list(s2: S2Server) -> None:
    s2.push(200, {"total": 0, "offset": 0})
    assert client(s2).search("zebra quasar") == []


def test_api_key_from_the_environment_is_sent_but_never_shown(
    s2: S2Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SEMANTIC_SCHOLAR_API_KEY", "s2-secret-123")
    s2.push(200, ANSWER)
    source = client(s2)
    with caplog.at_level(logging.DEBUG):
        source.search("clinical NER")
    assert s2.requests[0]["headers"].get("x-api-key") == "s2-secret-123"
    assert "s2-secret-123" not in repr(source) + caplog.text
    monkeypatch.setenv("S2_API_KEY", "s2-other")  # S2_API_KEY wins; an explicit key wins over both
    assert client(s2, api_key="explicit")._api_key == "explicit"
    assert client(s2)._api_key == "s2-other"


def test_429_waits_as_told_by_retry_after_then_succeeds(s2: S2Server) -> None:
    s2.push(429, {"message": "Too Many Requests"}, {"Retry-After": "7"})
    s2.push(429, {"message": "Too Many Requests"}, {"Retry-After": "9999"})
    s2.push(200, ANSWER)
    sleeps: list[float] = []
    works = client(s2, sleeps, max_backoff=30).search("clinical NER")
    assert len(works) == 3
    assert sleeps == [7.0, 30.0]  # honoured, but bounded by max_backoff
    assert len(s2.requests) == 3


def test_429_that_persists_is_a_clear_error(s2: S2Server) -> None:
    for _ in range(3):
        s2.push(429, {"message": "Too Many Requests"})
    with pytest.raises(NetworkUnavailable) as info:
        client(s2, max_retries=2).search("clinical NER")
    assert str(info.value) == (
        "Semantic Scholar rate limit (HTTP 429) still hit after 3 tries; wait a minute, set S2_API_KEY "
        "for a higher limit, or pass --related FILE with a local corpus instead"
    )
    assert len(s2.requests) == 3


def test_500_is_retried_with_backoff(s2: S2Server) -> None:
    s2.push(500, {"message": "Internal Server Error"})
    s2.push(502, "<html>bad gateway</html>")
    s2.push(200, ANSWER)
    sleeps: list[float] = []
    assert len(client(s2, sleeps, backoff_base=0.5).search("clinical NER")) == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_that_persists_means_unavailable(s2: S2Server) -> None:
    for _ in range(2):
        s2.push(503, {"message": "down"})
    with pytest.raises(NetworkUnavailable, match=r"failed \(HTTP 503\) 2 times; pass --related FILE"):
        client(s2, max_retries=1).search("clinical NER")


def test_forbidden_and_bad_request_are_not_retried(s2: S2Server) -> None:
    s2.push(403, {"message": "Forbidden"})
    with pytest.raises(ConfigError, match="HTTP 403.*check S2_API_KEY"):
        client(s2).search("clinical NER")
    s2.push(400, {"error": "Unrecognized or unsupported fields: [bogus]"})
    with pytest.raises(InputError, match=r"HTTP 400: Unrecognized or unsupported fields: \[bogus\]"):
        client(s2).search("clinical NER")
    assert len(s2.requests) == 2


def test_answer_that_is_not_json_means_unavailable(s2: S2Server) -> None:
    s2.push(200, "<html>captive portal</html>")
    with pytest.raises(NetworkUnavailable, match="not JSON"):
        client(s2).search("clinical NER")


def test_unreachable_service_says_to_use_a_local_corpus() -> None:
    source = SemanticScholarSource(base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    start = time.monotonic()
    with pytest.raises(NetworkUnavailable) as info:
        source.search("clinical NER")
    message = str(info.value)
    assert message.startswith("cannot reach Semantic Scholar (ConnectError")
    assert message.endswith(OFFLINE_TAIL) and "\n" not in message
    assert time.monotonic() - start < time_bound(5)  # no retries against a dead host


def test_empty_query_is_refused(s2: S2Server) -> None:
    with pytest.raises(InputError, match="query is empty"):
        client(s2).search("  -  ")
    assert s2.requests == []


# --------------------------------------------------------------------------- BibTeX

BIB = r"""% My references, exported by hand.
% @article{commented, title = {Should not appear}}
@string{acl = "Proceedings of " # "ACL"}

Free text between entries is a comment, even with an address like me@example.org.

@article{lee2021contrastive,
  title     = {Contrastive {Pre-training} for {\"O}ffline {NER}: {A} {{Nested}} Study},
  author    = "Lee, A. and M{\"u}ller, B.",
  abstract  = "We pretrain a {"}clinical{"} encoder
               on unlabeled notes with 50\% of the labels,
               and % this is not a comment
               evaluate {named {entity} recognition}.",
  booktitle = acl,
  year      = 2021,
  doi       = {10.18653/v1/abc},
}

@InProceedings(noabstract,
  title = "Entity Recognition in Low-Resource Settings",
  year = {in press, 2023}
)

@misc{notitle, note = {only a note}}
@comment{ jabref-meta: {anything} }

@article{arxivpaper,
  title = {Sch{\"o}n \& Fast: Curriculum Learning for Machine Translation},
  abstract = {Curriculum learning orders examples by difficulty to speed up translation training.},
  eprint = {2408.14033}, archivePrefix = {arXiv}
}
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_bibtex_entries_fields_and_macros() -> None:
    entries = parse_bibtex(BIB, "refs.bib")
    assert [(e.kind, e.key, e.line) for e in entries] == [
        ("article", "lee2021contrastive", 7), ("inproceedings", "noabstract", 19),
        ("misc", "notitle", 24), ("article", "arxivpaper", 27),
    ]
    lee = entries[0].fields
    assert lee["booktitle"] == "Proceedings of ACL"
    assert lee["year"] == "2021"
    assert "% this is not a comment" in lee["abstract"]  # '%' inside a value is text


def test_bibtex_corpus_gives_clean_related_works(tmp_path: Path) -> None:
    works = load_corpus(write(tmp_path, "refs.bib", BIB))
    assert [w.title for w in works] == [
        "Contrastive Pre-training for Öffline NER: A Nested Study",
        "Entity Recognition in Low-Resource Settings",
        "Schön & Fast: Curriculum Learning for Machine Translation",
    ]
    lee, noabs, arxiv = works
    assert lee.abstract == (
        'We pretrain a "clinical" encoder on unlabeled notes with 50% of the labels, and % this is not '
        "a comment evaluate named entity recognition."
    )
    assert (lee.year, lee.url, lee.source) == (2021, "https://doi.org/10.18653/v1/abc", "local:refs.bib")
    assert (noabs.abstract, noabs.year, noabs.url) == ("", 2023, None)
    assert arxiv.url == "https://arxiv.org/abs/2408.14033"


def test_latin1_bibtex_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "old.bib", "@article{a, title = {Étude des réseaux}}", encoding="latin-1")
    assert load_corpus(path)[0].title == "Étude des réseaux"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@article{a,\n  title = {Open {brace},\n  year = 2020\n}\n\n@article{b, title = {B}}\n",
         "refs.bib line 2: unbalanced braces in field 'title' of entry 'a'"),
        ('@article{a,\n  title = "no end,\n  year = 2020}\n',
         "refs.bib line 2: unbalanced quotes in field 'title' of entry 'a'"),
        ("@article{a,\n  title = {A}\n  year = 2020\n}\n",
         "refs.bib line 3: expected ',' or '}' after field 'title' in entry 'a'"),
        ("@article{a,\n  title = {A},\n\n@article{b, title = {B}}\n",
         "refs.bib line 1: entry 'a' is not closed (missing '}')"),
        ("@article{a,\n  title {A}\n}\n", "refs.bib line 2: expected '=' after field 'title' in entry 'a'"),
        ("@article{a,\n  title = ,\n}\n", "refs.bib line 2: field 'title' of entry 'a' has no value"),
        ("% nothing but a comment\n", "refs.bib: no entries with a title"),
    ],
)
def test_bad_bibtex_names_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "refs.bib", text)
    with pytest.raises(InputError) as info:
        load_corpus(path)
    assert str(info.value).startswith(message.replace("refs.bib", str(path), 1))
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- JSONL / JSON

ROWS = [
    {"title": "Contrastive Pretraining for Clinical NER", "abstract": "Clinical notes and entities.",
     "year": 2022, "url": "https://example.org/a"},
    {"title": "Curriculum Learning for Translation", "abstract": None, "year": "2020"},
]


def test_jsonl_and_json_corpora(tmp_path: Path) -> None:
    jsonl = write(tmp_path, "c.jsonl", "\n".join(json.dumps(r) for r in ROWS[:1]) + "\n\n" + json.dumps(ROWS[1]) + "\n")
    works = load_corpus(jsonl)
    assert [(w.title, w.abstract, w.year, w.url) for w in works] == [
        ("Contrastive Pretraining for Clinical NER", "Clinical notes and entities.", 2022, "https://example.org/a"),
        ("Curriculum Learning for Translation", "", 2020, None),
    ]
    assert load_corpus(write(tmp_path, "c.json", json.dumps(ROWS))) == [
        w.model_copy(update={"source": "local:c.json"}) for w in works
    ]
    saved_s2 = write(tmp_path, "s2.json", json.dumps(ANSWER))  # a saved Semantic Scholar answer
    assert len(load_corpus(saved_s2)) == 3


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.jsonl", '{"title": "A"}\n{"title": "B"}\n{"title": oops}\n', "c.jsonl line 3: not valid JSON"),
        ("c.jsonl", '{"title": "A"}\n{"abstract": "no title"}\n', "c.jsonl line 2: missing 'title'"),
        ("c.jsonl", '["a", "list"]\n', "c.jsonl line 1: expected an object with 'title' and 'abstract'"),
        ("c.jsonl", '{"title": "A", "abstract": 3}\n', "c.jsonl line 1: 'abstract' must be text"),
        ("c.json", '[\n  {"title": "A"},\n  {"title": "B",}\n]', "c.json line 3: not valid JSON"),
        ("c.json", '{"title": "A"}', "c.json: expected a JSON list of objects"),
        ("c.json", '[{"title": "A"}, {"title": ""}]', "c.json item 2: missing 'title'"),
        ("c.json", "[]", "c.json: no entries with a title"),
        ("c.csv", "title,abstract\n", "c.csv: unsupported related-work file .csv; use a .bib, .jsonl or .json file"),
    ],
)
def test_bad_json_corpora_name_the_file_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as info:
        LocalCorpusSource(path)
    assert str(info.value).startswith(str(tmp_path / message))


def test_missing_corpus_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the related-work file"):
        LocalCorpusSource(tmp_path / "nope.bib")


# --------------------------------------------------------------------------- searching and merging

CORPUS = [
    {"title": "Contrastive Pretraining for Clinical Named Entity Recognition",
     "abstract": "Contrastive pretraining on clinical notes helps low-resource named entity recognition."},
    {"title": "Named Entity Recognition with Gazetteers", "abstract": "Gazetteer features for entity recognition."},
    {"title": "Curriculum Learning for Machine Translation", "abstract": "Ordering examples by difficulty."},
    {"title": "GPU Cluster Scheduling", "abstract": "Queueing delay of batch jobs."},
]


def test_local_search_ranks_by_similarity_to_the_query(tmp_path: Path) -> None:
    source = LocalCorpusSource(write(tmp_path, "refs.jsonl", "\n".join(json.dumps(r) for r in CORPUS)))
    assert source.name == "local:refs.jsonl"
    works = source.search(PROBLEM, limit=3)
    assert [w.title for w in works] == [CORPUS[0]["title"], CORPUS[1]["title"]]  # no zero-score noise
    assert works[0].score > works[1].score > 0
    assert all(w.source == "local:refs.jsonl" for w in works)
    assert len(source.search(PROBLEM, limit=1)) == 1
    assert source.search("   ") == []


class CountingEmbedder:
    """Bag-of-letters embedder that counts the texts it was asked to encode."""

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        return np.array([[t.lower().count(c) + 0.0 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts])


def test_local_search_with_an_injected_embedder_encodes_the_corpus_once(tmp_path: Path) -> None:
    emb = CountingEmbedder()
    source = LocalCorpusSource(write(tmp_path, "refs.json", json.dumps(CORPUS)), embedder=emb)
    first = source.search("queueing delay of gpu batch jobs", limit=4)
    source.search("another query", limit=4)
    assert emb.encoded == len(CORPUS) + 2
    assert len(first) == 4 and all(0 < (w.score or 0) <= 1 for w in first)


class Raising:
    name = "semantic_scholar"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def search(self, query: str, *, limit: int = 10) -> list[RelatedWork]:
        raise self.exc


def test_find_related_merges_sources_and_drops_duplicate_titles(s2: S2Server, tmp_path: Path) -> None:
    s2.push(200, {"total": 2, "offset": 0, "data": [
        paper("x", "Contrastive pretraining for clinical named-entity recognition.", None, year=2020),
        paper("y", "Curriculum Learning for Machine Translation", "Ordering examples by difficulty."),
    ]})
    local = LocalCorpusSource(write(tmp_path, "refs.json", json.dumps(CORPUS)))
    works, warnings = find_related(PROBLEM, [client(s2), local], limit=8)
    assert warnings == []
    titles = [w.title for w in works]
    assert sorted(titles) == [  # the S2 copies merged away; the unrelated local entry not found
        "Contrastive pretraining for clinical named-entity recognition.",
        "Curriculum Learning for Machine Translation",
        "Named Entity Recognition with Gazetteers",
    ]
    top = works[0]
    assert top.title == "Contrastive pretraining for clinical named-entity recognition."  # first source wins
    assert top.abstract == CORPUS[0]["abstract"] and top.year == 2020  # gaps filled from the copy
    scores = [w.score for w in works]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.3
    assert len(find_related(PROBLEM, [local], limit=2)[0]) == 2


def test_find_related_turns_an_unreachable_source_into_a_warning(tmp_path: Path) -> None:
    dead = SemanticScholarSource(base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    local = LocalCorpusSource(write(tmp_path, "refs.json", json.dumps(CORPUS)))
    works, warnings = find_related(PROBLEM, [dead, local])
    assert works and works[0].title == CORPUS[0]["title"]
    [warning] = warnings
    assert warning.startswith("semantic_scholar: cannot reach Semantic Scholar (") and warning.endswith(OFFLINE_TAIL)
    assert find_related(PROBLEM, [dead]) == ([], [warnings[0]])


def test_find_related_does_not_hide_configuration_errors() -> None:
    with pytest.raises(ConfigError):
        find_related(PROBLEM, [Raising(ConfigError("bad key"))])
    with pytest.raises(InputError, match="research problem is empty"):
        find_related(" ", [])


def test_long_queries_are_cut_at_a_word_boundary(s2: S2Server) -> None:
    client(s2).search("word " * 100)
    query = s2.requests[0]["params"]["query"][0]
    assert len(query) <= 300 and query.endswith("word") and set(query.split()) == {"word"}
