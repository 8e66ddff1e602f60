"""The offline engine's ideas: relevant strategies, filled with the problem's own terms, no LLM."""

from __future__ import annotations

import re
import string

import pytest

from mlr_copilot_jupyter.ideas.catalog import CATALOG, DOMAINS, FAMILIES, PLACEHOLDERS
from mlr_copilot_jupyter.ideas.offline_ideas import offline_ideas, task_phrase
from mlr_copilot_jupyter.ideas.vocab import find_datasets, find_metrics
from mlr_copilot_jupyter.models import Idea, Paper, RelatedWork, ResearchProblem

LLM_STRATEGIES = {"few_shot_prompting", "chain_of_thought", "self_consistency"}
RECIPES = {"scaled_linear", "random_forest", "hist_gradient_boosting", "svm_rbf", "knn_scaled",
           "poly_ridge", "random_search", "voting_ensemble", "stacking_ensemble", "pca_model"}

TRANSLATION = ResearchProblem(
    task_definition="We study low-resource neural machine translation, where only a few thousand "
                    "parallel sentences exist for language pairs such as Nepali-English.",
    research_gaps=["Existing systems degrade sharply when parallel data is scarce.",
                   "Monolingual corpora in the target language are largely unused.",
                   "Evaluation relies on a single test set and a single BLEU score."],
    keywords=["low-resource translation", "parallel data", "monolingual corpora", "Transformer"],
)
TRANSLATION_PAPER = Paper(
    source="text", title="Improving Low-Resource NMT",
    abstract="We train Transformer models on subsets of WMT14 English-German and report BLEU.",
    text="Results on WMT14: BLEU improves by 2 points. BLEU is computed with sacreBLEU; chrF too.",
)
VISION = ResearchProblem(
    task_definition="The task of image classification with convolutional networks when only "
                    "small labelled datasets are available.",
    research_gaps=["Convolutional networks overfit when few labelled images are available.",
                   "Robustness to image corruptions is not evaluated."],
    keywords=["image classification", "convolutional networks", "overfitting"],
)
VISION_PAPER = Paper(
    source="text", title="ResNet-S: residual networks for small data",
    abstract="We propose ResNet-S for small-data image classification. We report top-1 accuracy "
             "on CIFAR-10 and CIFAR-100; top-1 accuracy improves on CIFAR-10.",
)
CREDIT = ResearchProblem(
    task_definition="Predict whether a loan applicant will default from tabular credit bureau "
                    "features, evaluated by ROC-AUC.",
    research_gaps=["Defaults are rare, so class imbalance biases models toward approving loans.",
                   "Models use raw columns without domain features such as debt-to-income.",
                   "Predicted probabilities are not calibrated for risk decisions."],
    keywords=["credit risk", "loan default", "tabular data", "class imbalance"],
)
CASES = {
    "translation": (TRANSLATION, TRANSLATION_PAPER),
    "vision": (VISION, VISION_PAPER),
    "credit": (CREDIT, None),
}


def _texts(idea: Idea) -> list[str]:
    plan = idea.plan
    return [idea.title, idea.hypothesis, idea.rationale, plan.objective, plan.method,
            *plan.datasets, *plan.baselines, *plan.metrics, *plan.steps, *plan.risks]


@pytest.mark.parametrize("case", sorted(CASES))
def test_five_distinct_complete_ideas_in_the_problems_terms(case: str) -> None:
    problem, paper = CASES[case]
    ideas = offline_ideas(problem, paper, n=5)
    assert [i.id for i in ideas] == [f"idea-{k}" for k in range(1, 6)]
    assert len({i.strategy for i in ideas}) == 5
    task = task_phrase(problem.task_definition, problem.keywords)
    for idea in ideas:
        assert idea.engine == "offline" and idea.hypothesis and idea.rationale
        assert len(idea.plan.steps) >= 4 and idea.plan.metrics and idea.plan.datasets
        terms = [task, *problem.keywords]
        assert any(t.lower() in idea.hypothesis.lower() for t in terms), idea.hypothesis
        leftovers = [t for t in _texts(idea) if re.search(r"\{\w*\}", t)]
        assert not leftovers, leftovers


def test_ideas_fit_the_domain_of_the_problem() -> None:
    vision = {i.strategy for i in offline_ideas(VISION, VISION_PAPER, n=5)}
    assert not vision & LLM_STRATEGIES
    assert vision & {"data_augmentation", "test_time_augmentation", "pretrained_transfer"}
    credit = {i.strategy for i in offline_ideas(CREDIT, n=5)}
    assert credit & {"gradient_boosting", "feature_engineering"}
    assert not credit & (LLM_STRATEGIES | {"test_time_augmentation", "label_smoothing"})
    translation = {i.strategy for i in offline_ideas(TRANSLATION, TRANSLATION_PAPER, n=5)}
    assert "back_translation" in translation and not translation & {"gradient_boosting"}


def test_paper_datasets_metrics_and_method_name_reach_the_plan() -> None:
    idea = offline_ideas(VISION, VISION_PAPER, n=1)[0]
    assert idea.plan.datasets[:2] == ["CIFAR-10", "CIFAR-100"]
    assert idea.plan.metrics[0] == "top-1 accuracy"
    assert idea.plan.baselines == ["ResNet-S"]
    assert "CIFAR-10" in " ".join(idea.plan.steps)
    credit = offline_ideas(CREDIT, n=1)[0]
    assert credit.plan.metrics[0] == "ROC-AUC"
    assert credit.plan.datasets == ["the paper's benchmark"]


def test_ideas_cite_different_gaps_when_there_are_several() -> None:
    ideas = offline_ideas(CREDIT, n=5)
    cited = {gap for gap in CREDIT.research_gaps for i in ideas
             if gap.rstrip(".")[1:].lower() in i.rationale.lower()}
    assert len(cited) == len(CREDIT.research_gaps)


def test_exclude_and_start_generate_more_without_repeats() -> None:
    first = offline_ideas(CREDIT, n=5)
    used = {i.strategy for i in first}
    more = offline_ideas(CREDIT, n=5, exclude=used, start=6)
    assert len(more) == 5 and not used & {i.strategy for i in more}
    assert [i.id for i in more] == [f"idea-{k}" for k in range(6, 11)]
    everything = offline_ideas(CREDIT, n=100)
    assert len(everything) == len(CATALOG) == len({i.strategy for i in everything})
    assert offline_ideas(CREDIT, n=5, exclude={s.key for s in CATALOG}) == []


def test_same_input_same_ideas() -> None:
    related = [RelatedWork(title="Class-balanced re-weighting for imbalanced default data",
                           year=2019)]
    runs = [[i.model_dump() for i in offline_ideas(CREDIT, n=5, related=related)]
            for _ in range(2)]
    assert runs[0] == runs[1]
    cites = [i["strategy"] for i in runs[0] if "Class-balanced re-weighting" in i["rationale"]]
    assert cites == ["class_reweighting"]


def test_task_phrase_comes_from_the_task_definition() -> None:
    assert task_phrase(TRANSLATION.task_definition) == "low-resource neural machine translation"
    assert task_phrase("Classify skin lesions from dermoscopy images.") == (
        "classifying skin lesions from dermoscopy images")
    assert len(task_phrase("word " * 40)) <= len("word " * 12)


def test_vocab_finds_datasets_and_metrics_in_canonical_spelling() -> None:
    text = ("We train on cifar10 and the Fashion-MNIST dataset, reporting top-1 accuracy. "
            "Accuracy on CIFAR-10 rises. On the WMT 2014 English-German task and WMT14 En-Fr "
            "we report BLEU; BLEU and ROUGE-L. We also use the Home Credit Default Risk dataset.")
    datasets = find_datasets(text)
    assert datasets[0] == "CIFAR-10" and "WMT14" in datasets and "Fashion-MNIST" in datasets
    assert "MNIST" not in datasets and "Home Credit Default Risk" in datasets
    metrics = find_metrics(text)
    assert metrics[0] == "BLEU" and {"accuracy", "top-1 accuracy", "ROUGE-L"} <= set(metrics)
    assert "ROUGE" not in metrics
    assert find_metrics("ATTENTION IS ALL YOU NEED") == []


def test_catalog_is_complete_and_well_formed() -> None:
    assert len(CATALOG) >= 24 and len({s.key for s in CATALOG}) == len(CATALOG)
    assert {s.family for s in CATALOG} == set(FAMILIES)
    for s in CATALOG:
        assert len(s.steps) >= 4 and s.risks and set(s.applies_to) <= set(DOMAINS), s.key
        assert set(s.recipe_keys) <= RECIPES, s.key
        for template in (s.hypothesis, s.rationale, s.method, *s.steps, *s.risks):
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            assert fields <= set(PLACEHOLDERS), (s.key, fields)
        assert "{task}" in s.hypothesis or "{keyword}" in s.hypothesis, s.key
