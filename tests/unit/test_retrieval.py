"""Model and dataset retrieval: BM25 ranking, the local source, and the Hub through the real
``huggingface_hub`` client against a local fake Hub (``tests/support/hub_server.py``); the
``mlr-copilot models`` / ``datasets`` commands are run for real in
tests/integration/test_retrieval.py."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter.errors import InputError, NetworkUnavailable
from mlr_copilot_jupyter.llm.base import Reply
from mlr_copilot_jupyter.llm.offline import OfflineBackend
from mlr_copilot_jupyter.retrieval import (
    Candidate,
    HubSource,
    LocalSource,
    bm25_scores,
    hyde_query,
    rank,
    retrieve,
)
from tests.support import hub_server as _hub_server
from tests.support.hub_server import (
    SIMILARITY_MODELS,
    TOKEN,
    HubServer,
    closed_port,
    dataset,
    model,
)
from tests.support.load import time_bound

no_hub_telemetry = _hub_server.no_hub_telemetry  # an autouse fixture
hub = _hub_server.hub  # the fixture


# -- ranking -------------------------------------------------------------------------------------
def test_bm25_rewards_matching_rare_terms_and_short_documents() -> None:
    docs = ["sentence similarity embeddings for sentence pairs",
            "sentence similarity " + "padding " * 40,
            "image classification convnet"]
    scores = bm25_scores("sentence similarity", docs)
    assert scores[0] > scores[1] > 0 and scores[2] == 0
    assert bm25_scores("", docs) == [0.0, 0.0, 0.0]


def test_task_type_filters_and_boosts() -> None:
    cands = [Candidate(id="a/text-clf", kind="model", source="hub", task="text-classification",
                       description="bert classifier", downloads=10),
             Candidate(id="b/bert-mlm", kind="model", source="hub", task="fill-mask",
                       description="bert masked language model", downloads=10_000_000)]
    assert [c.id for c in rank("bert", cands, task_type="classification")] == ["a/text-clf"]
    # No candidate matches the task type: nothing is filtered out.
    assert len(rank("bert", cands, task_type="object-detection")) == 2


def test_hyde_is_a_no_op_offline_and_reranks_with_an_llm() -> None:
    class FakeLLM:
        def __init__(self) -> None:
            self.prompts: list[str] = []

        def query(self, messages: Any, **kwargs: Any) -> Reply[Any]:
            self.prompts.append(str(messages))
            return Reply(text="A TF-IDF text vectorizer giving sentence similarity by cosine.")

    plan = "Detect duplicate questions in a forum dump."
    assert hyde_query(plan, None) == plan and hyde_query(plan, OfflineBackend()) == plan
    plain = retrieve(plan, "model", source="local", limit=3)
    llm = FakeLLM()
    hyde = retrieve(plan, "model", source="local", limit=3, backend=llm)
    assert plan in llm.prompts[0]
    assert hyde.candidates[0].id == "sklearn.TfidfVectorizer"
    assert [c.id for c in plain.candidates] != [c.id for c in hyde.candidates]


# -- local source --------------------------------------------------------------------------------
def test_local_models_are_scikit_learn_estimators_with_working_usage() -> None:
    found = LocalSource("model").search("gradient boosting", task_type="classification", limit=3)
    assert found and all(c.task == "classification" and c.source == "local" for c in found)
    assert found[0].id in {"sklearn.GradientBoostingClassifier",
                           "sklearn.HistGradientBoostingClassifier"}
    namespace: dict[str, Any] = {}
    exec(found[0].usage, namespace)  # the hint is runnable code
    assert type(namespace["model"]).__name__ == found[0].id.split(".")[-1]


def test_local_datasets_are_bundled_and_load_without_download() -> None:
    found = LocalSource("dataset").search("handwritten digits", limit=3)
    assert found[0].id == "sklearn.datasets.load_digits"
    assert "digits" in found[0].description
    namespace: dict[str, Any] = {}
    exec(found[0].usage, namespace)
    assert namespace["X"].shape == (1797, 64)
    regression = LocalSource("dataset").search("", task_type="regression", limit=10)
    assert {c.id for c in regression} == {"sklearn.datasets.load_diabetes",
                                          "sklearn.datasets.load_linnerud"}


def test_the_sklearn_catalogs_are_kept_for_the_next_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Built once per environment and scikit-learn version, then read from a file (a new
    process would otherwise import scikit-learn and all its estimators again: ~1.5 s of CPU per
    experiment run); a corrupt or stale file is rebuilt and an unwritable folder only costs time."""
    from mlr_copilot_jupyter.retrieval import sources

    def fresh() -> None:
        sources.sklearn_estimators.cache_clear()
        sources.sklearn_datasets.cache_clear()

    monkeypatch.setattr(sources, "catalog_files",
                        lambda name: [tmp_path / "share" / f"{name}.json",
                                      tmp_path / "user" / f"{name}.json"])
    fresh()
    built = sources.sklearn_estimators()
    datasets = sources.sklearn_datasets()
    saved = json.loads((tmp_path / "share" / "estimators.json").read_text())
    assert saved["format"] == sources._CATALOG_FORMAT and len(saved["candidates"]) == len(built)
    assert (tmp_path / "share" / "estimators.json").stat().st_mode & 0o777 == 0o644

    def no_build() -> tuple:
        raise AssertionError("built again although the file holds it")

    monkeypatch.setattr(sources, "_build_sklearn_estimators", no_build)
    monkeypatch.setattr(sources, "_build_sklearn_datasets", no_build)
    fresh()
    assert sources.sklearn_estimators() == built and sources.sklearn_datasets() == datasets
    assert [c.search_text for c in sources.sklearn_estimators()] == [c.search_text for c in built]
    found = LocalSource("model").search("gradient boosting", task_type="classification", limit=1)
    assert found[0].id in {"sklearn.GradientBoostingClassifier",
                           "sklearn.HistGradientBoostingClassifier"}
    monkeypatch.undo()

    # a corrupt file, an older format: built again and saved again
    monkeypatch.setattr(sources, "catalog_files",
                        lambda name: [tmp_path / "share" / f"{name}.json",
                                      tmp_path / "user" / f"{name}.json"])
    for text in ("{not json", json.dumps({"format": 0, "candidates": []})):
        (tmp_path / "share" / "estimators.json").write_text(text)
        fresh()
        assert sources.sklearn_estimators() == built
        assert json.loads((tmp_path / "share" / "estimators.json").read_text())["format"] == 1
    # an environment that cannot be written (a file where its folder should be): the user's
    # cache keeps it; neither writable: built, not saved, no error
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setattr(sources, "catalog_files",
                        lambda name: [blocker / f"{name}.json", tmp_path / "user2" / f"{name}.json"])
    fresh()
    assert sources.sklearn_estimators() == built
    assert json.loads((tmp_path / "user2" / "estimators.json").read_text())["format"] == 1
    monkeypatch.setattr(sources, "_build_sklearn_estimators", no_build)
    fresh()
    assert sources.sklearn_estimators() == built  # read from the user's cache
    monkeypatch.undo()
    monkeypatch.setattr(sources, "catalog_files", lambda name: [blocker / f"{name}.json"])
    fresh()
    assert sources.sklearn_estimators() == built
    fresh()


def test_the_catalogs_live_in_the_environment_then_the_users_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from mlr_copilot_jupyter.retrieval.sources import catalog_files

    monkeypatch.setenv("MLR_COPILOT_CACHE_DIR", str(tmp_path))
    env, user = catalog_files("estimators")
    assert env.parent == Path(sys.prefix) / "share" / "mlr-copilot-jupyter"
    assert env.name.startswith("estimators-scikit-learn-") and env.name == user.name
    assert user.is_relative_to(tmp_path / "sklearn")


def _cache_repo(root: Path, folder: str, rev: str, readme: str) -> None:
    repo = root / folder
    (repo / "refs").mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "snapshots" / rev).mkdir(parents=True)
    (repo / "blobs" / "b1").write_text(readme)
    (repo / "snapshots" / rev / "README.md").symlink_to(repo / "blobs" / "b1")
    (repo / "refs" / "main").write_text(rev)


def test_local_hf_cache_repos_are_found_and_a_missing_cache_is_fine(tmp_path: Path) -> None:
    _cache_repo(tmp_path, "models--acme--tiny-embedder", "abc123",
                "---\npipeline_tag: sentence-similarity\nlibrary_name: sentence-transformers\n---\n")
    _cache_repo(tmp_path, "datasets--acme--reviews", "def456",
                "---\ntask_categories:\n- text-classification\n---\n")
    models = LocalSource("model", cache_dir=tmp_path).search("sentence similarity", limit=3)
    assert models[0].id == "acme/tiny-embedder" and models[0].task == "sentence-similarity"
    assert "local_files_only=True" in models[0].usage
    data = LocalSource("dataset", cache_dir=tmp_path).search("reviews", limit=3)
    assert [c.id for c in data] == ["acme/reviews"]
    assert LocalSource("model", cache_dir=tmp_path / "missing").search("tiny embedder") == []


# -- Hub through huggingface_hub against the fake server -----------------------------------------
def test_hub_results_rank_by_relevance_then_popularity(hub: HubServer) -> None:
    hub.models = SIMILARITY_MODELS
    found = HubSource("model").search("sentence similarity", limit=3)
    # Equal relevance: more downloads first. The most downloaded model matches only one word.
    assert [c.id for c in found] == ["org/sentence-similarity-popular",
                                     "org/sentence-similarity-base", "org/similarity-tagger"]
    assert found[0].score > found[1].score > found[2].score
    assert found[0].url == f"{hub.url}/org/sentence-similarity-popular"
    assert "SentenceTransformer('org/sentence-similarity-popular')" in found[0].usage
    assert {r.path for r in hub.requests} == {"/api/models"}


def test_hub_paging_follows_link_headers(hub: HubServer) -> None:
    hub.page_size = 2
    hub.models = [model(f"org/bert-{i}", pipeline_tag="fill-mask", downloads=i)
                         for i in range(7)]
    found = HubSource("model").search("bert", limit=7)
    assert [c.id for c in found] == [f"org/bert-{i}" for i in range(6, -1, -1)]
    cursors = [r.query.get("cursor") for r in hub.requests]
    assert cursors == [None, ["2"], ["4"], ["6"]]


def test_hub_datasets(hub: HubServer) -> None:
    hub.datasets = [
        dataset("acme/imdb-reviews", description="Movie reviews labelled for sentiment.",
                tags=["task_categories:text-classification"], downloads=50),
        dataset("acme/reviews-raw", description="Unlabelled reviews.", downloads=5)]
    found = HubSource("dataset").search("reviews sentiment", limit=5)
    assert found[0].id == "acme/imdb-reviews" and found[0].task == "text-classification"
    assert found[0].url == f"{hub.url}/datasets/acme/imdb-reviews"
    assert found[0].usage == "from datasets import load_dataset; ds = load_dataset('acme/imdb-reviews')"


def test_hub_long_retry_after_gives_up_at_once(hub: HubServer) -> None:
    hub.push_fault("429", retry_after=120)
    start = time.monotonic()
    with pytest.raises(NetworkUnavailable, match="rate limited"):
        HubSource("model", timeout=10).search("bert")
    assert time.monotonic() - start < time_bound(3, below=10)


def test_hub_offline_mode_makes_no_request(hub: HubServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(NetworkUnavailable, match="HF_HUB_OFFLINE"):
        HubSource("model").search("bert")
    assert hub.requests == []


def test_hf_token_is_sent_as_bearer_but_never_shown(hub: HubServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    hub.models = SIMILARITY_MODELS
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = retrieve("similarity", "model", source="hub", limit=3)
    assert hub.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert result.candidates
    hub.push_fault("401")
    refused = retrieve("similarity", "model", source="hub", limit=3)
    assert refused.candidates == [] and "HTTP 401" in refused.warnings[0]
    source = HubSource("model")
    shown = " ".join([json.dumps(result.to_dict()), repr(result), result._repr_html_(),
                      json.dumps(refused.to_dict()), repr(source)])
    assert TOKEN not in shown


def test_retrieve_merges_hub_and_local(hub: HubServer) -> None:
    hub.models = SIMILARITY_MODELS
    result = retrieve("sentence similarity", "model", limit=6)
    sources = {c.source for c in result.candidates}
    assert sources == {"hub", "local"} and result.warnings == []
    assert [c.score for c in result.candidates] == sorted(
        (c.score for c in result.candidates), reverse=True)
    with pytest.raises(InputError):
        retrieve("x", "model", source="web")


# -- surfaces ------------------------------------------------------------------------------------
def test_mlr_models_magic_shows_a_table_and_warnings(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mlr_copilot_jupyter")
    try:
        shell.run_line_magic("mlr_models", "sentence similarity --limit 4")
        result = shell.user_ns["_mlr_models"]
        shown = capsys.readouterr().out
        assert "cannot reach the Hugging Face Hub" in shown and "sklearn." in shown
        html = result._repr_html_()
        assert "<table" in html and "cannot reach the Hugging Face Hub" in html
        assert len(result.candidates) <= 4
        shell.run_line_magic("mlr_datasets", "wine --source local --json")
        assert json.loads(capsys.readouterr().out)["candidates"][0]["id"] == \
            "sklearn.datasets.load_wine"
    finally:
        shell.run_line_magic("unload_ext", "mlr_copilot_jupyter")
        InteractiveShell.clear_instance()
