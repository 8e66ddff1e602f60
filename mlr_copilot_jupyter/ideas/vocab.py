"""Dataset, metric and domain vocabulary for reading paper text without a language model.

Names are matched case-insensitively on word boundaries and returned in their canonical spelling,
most frequent first. Longer names are matched first and their spans masked, so ``Fashion-MNIST``
is not also counted as ``MNIST`` and ``top-1 accuracy`` not also as ``accuracy``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# (canonical name, domain, extra aliases). The canonical name itself always matches, with any
# hyphen or space in it optional ("CIFAR-10" also matches "CIFAR10" and "cifar 10").
DATASETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Tiny ImageNet", "vision", ("TinyImageNet",)),
    ("ImageNet", "vision", ("ImageNet-1k", "ILSVRC", "ILSVRC-2012", "ImageNet-21k")),
    ("CIFAR-100", "vision", ()),
    ("CIFAR-10", "vision", ()),
    ("Fashion-MNIST", "vision", ("FashionMNIST",)),
    ("EMNIST", "vision", ()),
    ("MNIST", "vision", ()),
    ("SVHN", "vision", ()),
    ("STL-10", "vision", ()),
    ("COCO", "vision", ("MS COCO", "MSCOCO", "MS-COCO")),
    ("Pascal VOC", "vision", ("PASCAL VOC", "VOC2007", "VOC2012", "VOC 2012")),
    ("Cityscapes", "vision", ()),
    ("ADE20K", "vision", ()),
    ("CelebA", "vision", ("CelebA-HQ",)),
    ("LSUN", "vision", ()),
    ("FFHQ", "vision", ()),
    ("Places365", "vision", ()),
    ("Oxford Flowers-102", "vision", ("Flowers102", "Oxford Flowers")),
    ("CUB-200-2011", "vision", ("CUB-200", "CUB")),
    ("Kinetics", "vision", ("Kinetics-400", "Kinetics-600", "Kinetics-700")),
    ("UCF101", "vision", ("UCF-101",)),
    ("Visual Genome", "vision", ()),
    ("VQA", "vision", ("VQAv2", "VQA v2")),
    ("Flickr30k", "vision", ()),
    ("KITTI", "vision", ()),
    ("nuScenes", "vision", ()),
    ("SuperGLUE", "nlp", ()),
    ("GLUE", "nlp", ()),
    ("SQuAD", "nlp", ("SQuAD 1.1", "SQuAD 2.0", "SQuAD v2")),
    ("MultiNLI", "nlp", ("MNLI",)),
    ("SNLI", "nlp", ()),
    ("SST-2", "nlp", ("SST",)),
    ("IMDb", "nlp", ()),
    ("AG News", "nlp", ("AG's News", "AGNews")),
    ("Yelp", "nlp", ()),
    ("CoNLL-2003", "nlp", ("CoNLL 2003", "CoNLL03")),
    ("OntoNotes", "nlp", ("OntoNotes 5.0",)),
    ("WMT14", "nlp", ("WMT 2014", "WMT'14", "WMT-14")),
    ("WMT16", "nlp", ("WMT 2016", "WMT'16", "WMT-16")),
    ("IWSLT", "nlp", ("IWSLT14", "IWSLT'14", "IWSLT 2014", "IWSLT15", "IWSLT17")),
    ("FLORES-200", "nlp", ("FLORES", "FLORES-101")),
    ("WikiText-103", "nlp", ("WikiText103",)),
    ("WikiText-2", "nlp", ()),
    ("Penn Treebank", "nlp", ("PTB",)),
    ("CNN/DailyMail", "nlp", ("CNN/Daily Mail", "CNN-DM")),
    ("XSum", "nlp", ()),
    ("Natural Questions", "nlp", ()),
    ("TriviaQA", "nlp", ()),
    ("HotpotQA", "nlp", ()),
    ("C4", "llm", ()),
    ("The Pile", "llm", ()),
    ("LAMBADA", "llm", ()),
    ("HellaSwag", "llm", ()),
    ("MMLU", "llm", ()),
    ("GSM8K", "llm", ()),
    ("MATH", "llm", ()),
    ("HumanEval", "llm", ()),
    ("MBPP", "llm", ()),
    ("BIG-bench", "llm", ("BIG-Bench Hard", "BBH")),
    ("TruthfulQA", "llm", ()),
    ("ARC", "llm", ("AI2 Reasoning Challenge",)),
    ("WinoGrande", "llm", ()),
    ("PIQA", "llm", ()),
    ("LibriSpeech", "speech", ()),
    ("Common Voice", "speech", ("CommonVoice",)),
    ("TIMIT", "speech", ()),
    ("VoxCeleb", "speech", ("VoxCeleb1", "VoxCeleb2")),
    ("LJSpeech", "speech", ("LJ Speech",)),
    ("AudioSet", "speech", ()),
    ("ESC-50", "speech", ()),
    ("ogbn-arxiv", "graph", ()),
    ("ogbn-products", "graph", ()),
    ("ogbg-molhiv", "graph", ()),
    ("OGB", "graph", ("Open Graph Benchmark",)),
    ("Cora", "graph", ()),
    ("Citeseer", "graph", ("CiteSeer",)),
    ("PubMed", "graph", ()),
    ("QM9", "graph", ()),
    ("ZINC", "graph", ()),
    ("MuJoCo", "rl", ()),
    ("Atari", "rl", ("Atari 2600", "Arcade Learning Environment")),
    ("D4RL", "rl", ()),
    ("DeepMind Control Suite", "rl", ("DMControl", "DM Control")),
    ("Procgen", "rl", ()),
    ("MiniGrid", "rl", ()),
    ("OpenML", "tabular", ("OpenML-CC18",)),
    ("UCI Adult", "tabular", ("Adult Income", "Census Income")),
    ("German Credit", "tabular", ("Statlog German Credit",)),
    ("Give Me Some Credit", "tabular", ()),
    ("Lending Club", "tabular", ("LendingClub",)),
    ("Higgs", "tabular", ("HIGGS",)),
    ("Covertype", "tabular", ("Forest Covertype", "CoverType")),
    ("California Housing", "tabular", ()),
    ("Boston Housing", "tabular", ()),
    ("Titanic", "tabular", ()),
    ("Iris", "tabular", ()),
    ("Wine Quality", "tabular", ()),
    ("Breast Cancer Wisconsin", "tabular", ("WDBC",)),
    ("MovieLens", "tabular", ("MovieLens-1M", "MovieLens-20M")),
    ("UCI", "tabular", ("UCI Machine Learning Repository", "UCI repository")),
)

# Names that are also ordinary words or symbols: matched only in their canonical capitalisation.
_CASE_SENSITIVE_DATASETS = frozenset({"MATH", "ARC", "Iris", "Yelp", "Titanic", "Higgs"})

# (canonical name, regex alternatives, case_sensitive). Order matters: specific before generic.
METRICS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("top-1 accuracy", (r"top[- ]?1(?: accuracy| acc\.?| error)?",), False),
    ("top-5 accuracy", (r"top[- ]?5(?: accuracy| acc\.?| error)?",), False),
    ("balanced accuracy", (r"balanced accuracy",), False),
    ("exact match", (r"exact[- ]match",), False),
    ("exact match", (r"EM",), True),
    ("macro-F1", (r"macro[- ]?F1", r"macro[- ]averaged F1"), False),
    ("micro-F1", (r"micro[- ]?F1",), False),
    ("F1", (r"F1(?:[- ]score)?", r"F[- ]score", r"F-measure"), False),
    ("mAP", (r"mAP(?:@[0-9.:]+)?",), True),
    ("mAP", (r"mean average precision",), False),
    ("PR-AUC", (r"PR[- ]AUC", r"AUPRC", r"average precision"), False),
    ("recall@k", (r"recall@\s?(?:k|[0-9]+)", r"R@[0-9]+"), False),
    ("accuracy", (r"accuracy", r"accuracies"), False),
    ("precision", (r"precision",), False),
    ("recall", (r"recall",), False),
    ("ROC-AUC", (r"ROC[- ]AUC", r"AUROC", r"AUC[- ]ROC", r"area under the (?:ROC )?curve",
                 r"AUC"), False),
    ("mIoU", (r"mIoU", r"mean IoU", r"mean intersection[- ]over[- ]union"), False),
    ("IoU", (r"IoU", r"intersection[- ]over[- ]union"), False),
    ("BLEU", (r"BLEU(?:-4)?", r"sacreBLEU"), False),
    ("chrF", (r"chrF\+*",), False),
    ("ROUGE-L", (r"ROUGE[- ]L",), False),
    ("ROUGE", (r"ROUGE(?:[- ][12])?",), False),
    ("METEOR", (r"METEOR",), True),
    ("CIDEr", (r"CIDEr",), False),
    ("perplexity", (r"perplexity", r"perplexities", r"PPL"), False),
    ("pass@k", (r"pass@\s?(?:k|[0-9]+)",), False),
    ("WER", (r"WER", r"word error rate"), False),
    ("CER", (r"CER", r"character error rate"), False),
    ("Inception Score", (r"Inception Score",), False),
    # A bare "IS" is also an all-caps English word, so it counts only next to FID or as a header.
    ("Inception Score", (r"(?<=FID and )IS", r"(?<=FID, )IS", r"(?<=FID/)IS", r"IS(?= and FID)",
                         r"IS(?=, FID)", r"IS(?=/FID)", r"IS(?= ?[(↑])"), True),
    ("FID", (r"FID", r"Fr[ée]chet Inception Distance"), False),
    ("PSNR", (r"PSNR",), False),
    ("SSIM", (r"SSIM", r"MS-SSIM"), False),
    ("LPIPS", (r"LPIPS",), False),
    ("RMSE", (r"RMSE", r"root mean squared? error"), False),
    ("MAE", (r"MAE", r"mean absolute error"), False),
    ("MSE", (r"MSE", r"mean squared? error"), False),
    ("R2", (r"R\^?2", r"R²", r"coefficient of determination"), False),
    ("NDCG", (r"NDCG(?:@[0-9]+)?",), False),
    ("MRR", (r"MRR", r"mean reciprocal rank"), False),
    ("Hits@k", (r"Hits@\s?(?:k|[0-9]+)",), False),
    ("expected calibration error", (r"expected calibration error", r"ECE"), False),
    ("success rate", (r"success rates?",), False),
    ("return", (r"(?:average|mean|episodic|episode|cumulative|normali[sz]ed|discounted) returns?",),
     False),
    ("reward", (r"(?:average|mean|episodic|episode|cumulative|total) rewards?",), False),
)

# Terms that mark a paper's domain; regexes, matched case-insensitively on word boundaries.
DOMAIN_TERMS: dict[str, tuple[str, ...]] = {
    "vision": ("images?", "pixels?", "visual", "vision", "convolutional", "CNNs?", "ViT",
               "object detection", "segmentation", "videos?", "photos?", "camera"),
    "nlp": ("language", "texts?", "textual", "translation", "sentences?", "tokens?", "words?",
            "NLP", "corpus", "corpora", "parsing", "summari[sz]ation", "question answering",
            "sentiment", "BERT", "named entit(?:y|ies)", "linguistic", "bilingual"),
    "llm": ("large language models?", "LLMs?", "GPT(?:-[0-9])?", "ChatGPT", "prompts?",
            "prompting", "in-context", "instruction[- ]tun(?:ed|ing)", "chain[- ]of[- ]thought"),
    "tabular": ("tabular", "structured data", "spreadsheets?", "columns", "credit", "loans?",
                "churn", "customers?", "transactions?", "gradient[- ]boost(?:ing|ed)", "XGBoost",
                "LightGBM", "CatBoost", "random forests?", "categorical features", "applicants?",
                "insurance", "health records"),
    "graph": ("graphs?", "nodes?", "edges?", "GNNs?", "message passing", "link prediction",
              "molecul(?:e|es|ar)", "citation network"),
    "rl": ("reinforcement learning", "RL", "agents?", "rewards?", "polic(?:y|ies)",
           "environments?", "episodes?", "MDP", "Q-learning", "actor-critic"),
    "speech": ("speech", "audio", "acoustic", "ASR", "speakers?", "spoken", "phonemes?",
               "waveforms?", "TTS"),
}
_DOMAIN_PATTERNS = {d: re.compile(r"(?<![\w-])(?:" + "|".join(t) + r")(?![\w-])", re.IGNORECASE)
                    for d, t in DOMAIN_TERMS.items()}


_EDGE_R = r"(?![A-Za-z0-9])"
_GENERIC = re.compile(
    r"(?:\b[Tt]he\s+)?([A-Z][A-Za-z0-9]*(?:[- ][A-Z0-9][A-Za-z0-9]*){0,3})\s+"
    r"(?:dataset|data set|benchmark|corpus)\b"
)
_NOT_A_NAME = frozenset(
    "the this that these our a an each every new same public standard large small full "
    "original test training validation evaluation table figure section dataset benchmark "
    "corpus we in on for of all both synthetic real proposed existing popular widely used".split()
)


def _loose(name: str) -> str:
    """A regex for ``name`` with its hyphens and spaces optional."""
    parts = re.split(r"[- ]", name)
    return r"[- ]?".join(re.escape(p) for p in parts)


def _compile(alternatives: Iterable[str], case_sensitive: bool) -> re.Pattern[str]:
    body = "|".join(alternatives)
    # The left word boundary is checked in _count_and_mask: a leading lookbehind doubles the time.
    return re.compile(f"(?:{body}){_EDGE_R}", 0 if case_sensitive else re.IGNORECASE)


_DATASET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, _compile([_loose(name), *(re.escape(a) for a in aliases)],
                    name in _CASE_SENSITIVE_DATASETS))
    for name, _domain, aliases in DATASETS
)
_METRIC_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, _compile(alternatives, case_sensitive)) for name, alternatives, case_sensitive in METRICS
)
DATASET_DOMAINS: dict[str, str] = {name: domain for name, domain, _ in DATASETS}


def _count_and_mask(
    text: str, patterns: Iterable[tuple[str, re.Pattern[str]]]
) -> tuple[Counter[str], dict[str, int], str]:
    """Count each pattern's matches, masking matched spans so later patterns skip them."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for name, pattern in patterns:
        spans = [m.span() for m in pattern.finditer(text)
                 if m.start() == 0 or not text[m.start() - 1].isalnum()]
        if not spans:
            continue
        counts[name] += len(spans)
        first[name] = min(first.get(name, len(text)), spans[0][0])
        pieces, end = [], 0
        for a, b in spans:
            pieces += [text[end:a], " " * (b - a)]
            end = b
        text = "".join(pieces) + text[end:]
    return counts, first, text


def _ranked(counts: Counter[str], first: dict[str, int]) -> list[str]:
    return sorted(counts, key=lambda name: (-counts[name], first[name]))


def find_datasets(text: str) -> list[str]:
    """Dataset names in ``text``, canonical spelling, most frequent first.

    Known names come from :data:`DATASETS`; other capitalised names followed by "dataset",
    "benchmark" or "corpus" (as in "the Adult dataset") are returned as written.
    """
    counts, first, masked = _count_and_mask(text, _DATASET_PATTERNS)
    for match in _GENERIC.finditer(masked):
        name = match.group(1).strip()
        words = name.lower().split()
        if not words or words[0] in _NOT_A_NAME or len(name) < 2:
            continue
        counts[name] += 1
        first.setdefault(name, match.start(1))
    return _ranked(counts, first)


def find_metrics(text: str) -> list[str]:
    """Evaluation metric names in ``text``, canonical spelling, most frequent first."""
    counts, first, _ = _count_and_mask(text, _METRIC_PATTERNS)
    return _ranked(counts, first)


def dataset_domains(datasets: Iterable[str]) -> list[str]:
    """The domains (vision, nlp, ...) of the known datasets among ``datasets``."""
    return [DATASET_DOMAINS[name] for name in datasets if name in DATASET_DOMAINS]


def count_domain_terms(text: str, weight: int = 1) -> Counter[str]:
    """How often each domain's terms (:data:`DOMAIN_TERMS`) occur in ``text``, times ``weight``."""
    return Counter({d: weight * len(p.findall(text)) for d, p in _DOMAIN_PATTERNS.items()})
