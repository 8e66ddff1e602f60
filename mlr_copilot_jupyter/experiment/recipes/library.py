"""The offline engine's catalog of experiment steps (numpy, pandas and scikit-learn only).

Each template fits in well under 20 s on two cores for tables of a few thousand rows.
"""

from __future__ import annotations

from .catalog import RECIPES, Recipe
from .cells import CLASSIFICATION, REGRESSION

RECIPES.register(
    Recipe(
        key="scaled_linear",
        title="Standardised features + regularised linear model",
        family="preprocessing",
        rationale="Linear models need features on one scale; standardising them and tuning the "
        "L2 penalty gives a strong, fast, well-calibrated reference.",
        keywords=("standardi", "scal", "normali", "linear", "logistic", "ridge", "regulari"),
        models={
            CLASSIFICATION: """
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
""",
            REGRESSION: """
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 25)))
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="svm_rbf",
        title="RBF-kernel support vector machine on standardised features",
        family="model_family",
        rationale="A kernel SVM captures smooth non-linear boundaries and is strong on small, "
        "dense tabular or pixel data once features are standardised.",
        keywords=("svm", "support vector", "kernel", "rbf", "non-linear", "nonlinear", "margin"),
        models={
            CLASSIFICATION: """
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

model = make_pipeline(StandardScaler(), SVC(C=10.0, gamma="scale"))
""",
            REGRESSION: """
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

# The target is standardised too, so C and epsilon keep their usual meaning.
model = TransformedTargetRegressor(
    regressor=make_pipeline(StandardScaler(), SVR(C=1.0, epsilon=0.2)),
    transformer=StandardScaler(),
)
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="random_forest",
        title="Random forest",
        family="model_family",
        rationale="Bagged deep trees model interactions and non-linearities without scaling and "
        "average away the variance of a single tree.",
        keywords=("random forest", "forest", "bagging", "tree", "ensemble of trees", "interaction"),
        models={
            CLASSIFICATION: """
from sklearn.ensemble import RandomForestClassifier

model = RandomForestClassifier(n_estimators=300, n_jobs=-1, random_state=SEED)
""",
            REGRESSION: """
from sklearn.ensemble import RandomForestRegressor

model = RandomForestRegressor(
    n_estimators=300, min_samples_leaf=3, max_features=0.5, n_jobs=-1, random_state=SEED
)
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="extra_trees",
        title="Extremely randomised trees",
        family="model_family",
        rationale="Random split thresholds decorrelate the trees further than a random forest, "
        "which often lowers variance on small noisy tables.",
        keywords=("extra trees", "extremely randomized", "randomised trees", "tree", "variance"),
        models={
            CLASSIFICATION: """
from sklearn.ensemble import ExtraTreesClassifier

model = ExtraTreesClassifier(n_estimators=400, n_jobs=-1, random_state=SEED)
""",
            REGRESSION: """
from sklearn.ensemble import ExtraTreesRegressor

model = ExtraTreesRegressor(
    n_estimators=400, min_samples_leaf=3, max_features=0.5, n_jobs=-1, random_state=SEED
)
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="hist_gradient_boosting",
        title="Histogram gradient boosting",
        family="model_family",
        rationale="Boosted shallow trees fit residual structure step by step; the histogram "
        "variant is fast and handles missing values natively.",
        keywords=("gradient boosting", "boosting", "gbm", "xgboost", "lightgbm", "histogram"),
        models={
            CLASSIFICATION: """
from sklearn.ensemble import HistGradientBoostingClassifier

model = HistGradientBoostingClassifier(
    learning_rate=0.1, max_iter=200, early_stopping=False, random_state=SEED
)
""",
            REGRESSION: """
from sklearn.ensemble import HistGradientBoostingRegressor

model = HistGradientBoostingRegressor(
    learning_rate=0.03, max_iter=300, max_leaf_nodes=7, min_samples_leaf=20,
    l2_regularization=1.0, early_stopping=False, random_state=SEED,
)
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="knn_scaled",
        title="k-nearest neighbours on standardised features",
        family="preprocessing",
        rationale="Distance-based models are dominated by the largest-scale feature; standardising "
        "first and weighting neighbours by distance makes every feature count.",
        keywords=("neighbour", "neighbor", "knn", "distance", "scal", "standardi", "normali"),
        models={
            CLASSIFICATION: """
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=7, weights="distance"))
""",
            REGRESSION: """
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=15, weights="distance"))
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="poly_ridge",
        title="Degree-2 polynomial features + cross-validated ridge",
        family="feature_engineering",
        rationale="Pairwise products and squares let a linear model express interactions; the "
        "cross-validated ridge penalty keeps the larger feature set from overfitting.",
        keywords=(
            "polynomial",
            "interaction",
            "feature engineering",
            "quadratic",
            "ridge",
            "feature",
        ),
        models={
            REGRESSION: """
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

model = make_pipeline(
    StandardScaler(),
    PolynomialFeatures(degree=2, include_bias=False),
    StandardScaler(),
    RidgeCV(alphas=np.logspace(-1, 4, 30)),
)
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="pca_model",
        title="PCA (95% variance, whitened) + model",
        family="feature_engineering",
        rationale="Projecting correlated features onto their principal components removes noise "
        "directions and decorrelates inputs for the downstream model.",
        keywords=(
            "pca",
            "principal component",
            "dimensionality",
            "decorrelat",
            "compress",
            "feature",
        ),
        models={
            CLASSIFICATION: """
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

model = make_pipeline(
    StandardScaler(),
    PCA(n_components=0.95, whiten=True, random_state=SEED),
    SVC(C=10.0, gamma="scale"),
)
""",
            REGRESSION: """
from sklearn.decomposition import PCA
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(
    StandardScaler(), PCA(n_components=0.95, random_state=SEED), RidgeCV(np.logspace(-3, 3, 25))
)
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="random_search",
        title="Randomised hyperparameter search (10 draws, 3-fold CV)",
        family="hyperparameter_search",
        rationale="Default regularisation strengths are rarely right for a given dataset; a small "
        "cross-validated random search on the training set tunes them without touching the test set.",
        keywords=(
            "hyperparameter",
            "tuning",
            "tune",
            "search",
            "cross-validation",
            "regulari",
            "grid",
        ),
        models={
            CLASSIFICATION: """
from sklearn.model_selection import RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

search_space = {
    "svc__C": np.logspace(-1, 2.5, 15).tolist(),
    "svc__gamma": ["scale", *np.logspace(-4, -0.5, 10).tolist()],
}
model = RandomizedSearchCV(
    make_pipeline(StandardScaler(), SVC()),
    search_space, n_iter=10, cv=3, scoring=$scoring, n_jobs=-1, random_state=SEED,
)
""",
            REGRESSION: """
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import RandomizedSearchCV

search_space = {
    "learning_rate": [0.02, 0.05, 0.1],
    "max_iter": [100, 200, 400],
    "max_leaf_nodes": [3, 7, 15],
    "min_samples_leaf": [10, 20, 40],
    "l2_regularization": [0.0, 0.1, 1.0, 10.0],
}
model = RandomizedSearchCV(
    HistGradientBoostingRegressor(early_stopping=False, random_state=SEED),
    search_space, n_iter=10, cv=3, scoring=$scoring, n_jobs=-1, random_state=SEED,
)
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="voting_ensemble",
        title="Soft-voting ensemble of linear, forest and kernel models",
        family="ensembling",
        rationale="Models with different inductive biases make different errors; averaging their "
        "predicted probabilities (or values) cancels part of those errors.",
        keywords=("ensemble", "voting", "averag", "blend", "combine", "committee"),
        models={
            CLASSIFICATION: """
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

model = VotingClassifier(
    [
        ("linear", make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))),
        ("forest", RandomForestClassifier(n_estimators=200, n_jobs=-1, random_state=SEED)),
        # Soft voting needs probabilities: calibrate the SVM's decision values (Platt scaling).
        ("svm", CalibratedClassifierCV(make_pipeline(StandardScaler(), SVC(C=10.0)), ensemble=False)),
    ],
    voting="soft",
)
""",
            REGRESSION: """
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor, VotingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = VotingRegressor(
    [
        ("linear", make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 25)))),
        ("forest", RandomForestRegressor(
            n_estimators=300, min_samples_leaf=3, max_features=0.5, n_jobs=-1, random_state=SEED
        )),
        ("boosting", HistGradientBoostingRegressor(
            learning_rate=0.03, max_iter=300, max_leaf_nodes=7, min_samples_leaf=20,
            early_stopping=False, random_state=SEED,
        )),
    ],
    weights=[2, 1, 1],
)
""",
        },
    )
)

RECIPES.register(
    Recipe(
        key="stacking_ensemble",
        title="Stacked ensemble with a linear meta-model",
        family="ensembling",
        rationale="A meta-model trained on out-of-fold predictions learns how much to trust each "
        "base model instead of weighting them equally.",
        keywords=("stacking", "stacked", "meta-model", "meta-learner", "ensemble", "blend"),
        models={
            CLASSIFICATION: """
from sklearn.ensemble import RandomForestClassifier, StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

model = StackingClassifier(
    [
        ("forest", RandomForestClassifier(n_estimators=200, n_jobs=-1, random_state=SEED)),
        ("svm", make_pipeline(StandardScaler(), SVC(C=10.0))),
        ("knn", make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=7))),
    ],
    final_estimator=LogisticRegression(max_iter=5000),
    cv=3, n_jobs=-1,
)
""",
            REGRESSION: """
from sklearn.ensemble import RandomForestRegressor, StackingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = StackingRegressor(
    [
        ("linear", make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 25)))),
        ("forest", RandomForestRegressor(
            n_estimators=300, min_samples_leaf=3, max_features=0.5, n_jobs=-1, random_state=SEED
        )),
        ("knn", make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=15))),
    ],
    final_estimator=RidgeCV(),
    cv=5, n_jobs=-1,
)
""",
        },
    )
)

# Measured on the bundled tasks (see tests/integration/test_recipes.py): cheap strong models first.
RECIPES.set_order(CLASSIFICATION, [
    "svm_rbf", "voting_ensemble", "scaled_linear", "random_search", "stacking_ensemble",
    "random_forest", "extra_trees", "hist_gradient_boosting", "knn_scaled", "pca_model",
])  # fmt: skip
RECIPES.set_order(REGRESSION, [
    "scaled_linear", "stacking_ensemble", "voting_ensemble", "extra_trees", "poly_ridge",
    "random_search", "random_forest", "hist_gradient_boosting", "knn_scaled", "svm_rbf",
    "pca_model",
])  # fmt: skip
