"""A richer research problem, in-process: results read from sentences and tables, and grounded
prompts that stay bounded (the offline extraction from a generated 12-page PDF through the CLI is
in tests/integration/test_grounded_problem.py)."""

from __future__ import annotations

from mlr_copilot_jupyter.ideas.results import results_from_sentences, results_from_tables


def test_sentence_and_table_readers_pair_numbers_with_metric_and_dataset() -> None:
    found = results_from_sentences(
        "We obtain 28.4 BLEU on WMT14 English-German and 41.8 BLEU on WMT14 English-French, "
        "using 8 GPUs for 3 days. Figure 3 shows the curves.")
    assert [(r.metric, r.value) for r in found] == [("BLEU", "28.4"), ("BLEU", "41.8")]
    assert found[0].dataset.startswith("WMT14")
    rows = results_from_tables("Table 1: Accuracy on CIFAR-10.\nModel Accuracy\nResNet 93.1\n"
                               "Ours 95.2\n")
    assert [(r.metric, r.dataset, r.value, r.setting) for r in rows] == [
        ("accuracy", "CIFAR-10", "93.1", "ResNet"), ("accuracy", "CIFAR-10", "95.2", "Ours")]
    assert results_from_sentences("We train for 10 epochs in 2019 with 4 layers.") == []


def test_grounded_prompts_are_bounded_and_say_when_related_works_are_missing() -> None:
    from mlr_copilot_jupyter.display import ProblemCard
    from mlr_copilot_jupyter.ideas.generate import HypothesisDraft, hypothesis_prompt, plan_prompt
    from mlr_copilot_jupyter.models import Paper, RelatedWork, ReportedResult, ResearchProblem

    huge = "word " * 20000
    problem = ResearchProblem(
        task_definition=huge, research_gaps=[huge] * 50, keywords=["k"] * 5,
        method_summary=huge, datasets=["CIFAR-10"] * 40, limitations=[huge] * 20,
        reported_results=[ReportedResult(metric="accuracy", dataset="CIFAR-10", value=f"{k}.5",
                                          setting=huge) for k in range(100)])
    paper = Paper(source="text", title="T", abstract=huge, text=huge)
    related = [RelatedWork(title=f"Work {k}", abstract=huge) for k in range(50)]
    for related_works in (related, []):
        prompts = [hypothesis_prompt(problem, related_works, "an angle", paper=paper),
                   plan_prompt(problem, related_works, HypothesisDraft(title="t", hypothesis="h",
                                                                      rationale="r"), paper=paper)]
        for messages in prompts:
            assert len(messages[-1]["content"]) < 16000
            assert "accuracy on CIFAR-10: 0.5" in messages[-1]["content"]
            assert ("no related works were available" in messages[-1]["content"]) == (
                not related_works)
    card = ProblemCard(problem.model_copy(update={"task_definition": "x"}), paper)
    assert "Reported results" in card._repr_html_() and "accuracy on CIFAR-10: 7.5" in repr(card)
