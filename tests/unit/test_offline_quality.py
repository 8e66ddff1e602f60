"""Offline ideas that read well on five generated papers, and a heuristic review that spreads
with content (still labelled heuristic)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlr_copilot_jupyter.ideas.offline_ideas import offline_ideas
from mlr_copilot_jupyter.ideas.problem import offline_problem
from mlr_copilot_jupyter.ideas.review import heuristic_review, novelty_scores
from mlr_copilot_jupyter.models import Idea
from mlr_copilot_jupyter.papers import load_paper
from tests.support.pdfgen import make_plain_pdf

PAPERS = {
 "transformer": ("Attention Is All You Need",
  "The dominant sequence transduction models are based on complex recurrent or convolutional neural networks. We propose a new simple network architecture, the Transformer, based solely on attention mechanisms. Experiments on two machine translation tasks show these models to be superior in quality. Our model achieves 28.4 BLEU on the WMT 2014 English-to-German translation task, improving over the existing best results by over 2 BLEU."),
 "meta": ("Automated Relational Meta-learning",
  "In order to efficiently learn with small amount of data on new tasks, meta-learning transfers knowledge learned from previous tasks to the new ones. However, a critical challenge in meta-learning is the task heterogeneity which cannot be well handled by traditional globally shared meta-learning methods. To address this, we propose an automated relational meta-learning (ARML) framework that automatically extracts the cross-task relations and constructs the meta-knowledge graph. Extensive experiments on 2D toy regression and few-shot image classification show that ARML improves accuracy by 4 points on miniImageNet."),
 "lora": ("LoRA: Low-Rank Adaptation of Large Language Models",
  "An important paradigm of natural language processing consists of large-scale pre-training on general domain data and adaptation to particular tasks. We propose Low-Rank Adaptation, or LoRA, which freezes the pre-trained model weights and injects trainable rank decomposition matrices into each layer. LoRA reduces the number of trainable parameters by 10,000 times and performs on-par with fine-tuning on GLUE with 89.7 accuracy."),
 "gnn": ("Semi-Supervised Classification with Graph Convolutional Networks",
  "We present a scalable approach for semi-supervised learning on graph-structured data that is based on an efficient variant of convolutional neural networks which operate directly on graphs. In experiments on citation networks such as Cora and Citeseer we demonstrate that our approach outperforms related methods by a significant margin, reaching 81.5% accuracy on Cora."),
 "tabular": ("Gradient Boosting for Credit Default Prediction",
  "This paper studies how much of the gap between logistic regression and boosted trees remains for credit default prediction. We introduce a calibrated gradient boosting pipeline with monotone constraints. On the Home Credit Default Risk dataset our approach reaches a ROC-AUC of 0.79, while the baseline obtains 0.75."),
}
PASTED = re.compile(r"\b(?:we|our|this paper|which|that|is|are|remains?|propose[sd]?|present|"
                    r"introduce)\b|\b\d+(?:\.\d+)?\b|\bBLEU\b", re.I)


GLUED = re.compile(r"\b(?:for|on|of|to|with) (?:we|our|which|that|this paper|\d+ [A-Z]{3,})\b")


def _paper_pdf(tmp_path: Path, key: str) -> Path:
    title, abstract = PAPERS[key]
    text = (f"{title}\n\nAbstract\n\n{abstract}\n\n1 Introduction\n\n{abstract} However, existing "
            f"methods remain limited when labelled data is scarce.\n\n5 Results\n\n{abstract}\n")
    return make_plain_pdf(tmp_path / f"{key}.pdf", text)


@pytest.mark.parametrize("key", sorted(PAPERS))
def test_titles_and_hypotheses_read_well(key: str, tmp_path: Path) -> None:
    paper = load_paper(_paper_pdf(tmp_path, key))
    problem = offline_problem(paper)
    ideas = offline_ideas(problem, paper, n=5)
    assert len(ideas) == 5
    for idea in ideas:
        subject = idea.title.split(" for ", 1)[-1]
        assert not PASTED.search(subject), idea.title
        assert not GLUED.search(idea.hypothesis), idea.hypothesis
        assert "  " not in idea.title and not re.search(r"\w- \w", idea.title), idea.title
    # the subject of the titles is in the paper's own words
    subject = ideas[0].title.split(" for ", 1)[-1].lower()
    assert subject in paper.text.lower().replace("\n", " "), subject
    # the heuristic review discriminates between the ideas of one paper
    novelty = novelty_scores(ideas, paper, [])
    reviews = [heuristic_review(i, n) for i, n in zip(ideas, novelty, strict=True)]
    assert all(r.heuristic and r.reviewer == "offline heuristics" for r in reviews)
    assert len({tuple(r.scores.values()) for r in reviews}) >= 2
    assert len({r.overall for r in reviews}) >= 2


def _weakened(idea: Idea) -> Idea:
    plan = idea.plan.model_copy(update={
        "baselines": [], "datasets": ["the paper's benchmark"],
        "steps": [re.sub(r"(?i)\b(?:seeds?|ablat\w*|significan\w*|held-out|control\w*|variance|"
                         r"standard error|confidence interval|bootstrap)\b", "", s)
                  for s in idea.plan.steps]})
    return idea.model_copy(update={"hypothesis": "Try a different recipe on the task and see what "
                                                 "happens to the model.", "plan": plan})


def test_idea_without_claim_baselines_or_seeds_scores_lower(tmp_path: Path) -> None:
    paper = load_paper(_paper_pdf(tmp_path, "tabular"))
    idea = offline_ideas(offline_problem(paper), paper, n=1)[0]
    full, weak = heuristic_review(idea, 0.9), heuristic_review(_weakened(idea), 0.9)
    assert weak.overall < full.overall
    for criterion in ("clarity", "validity", "rigor"):
        assert weak.scores[criterion] < full.scores[criterion], criterion
    assert weak.heuristic
