"""The offline engine's catalog of ML improvement strategies, as data.

Each :class:`Strategy` is a family of well-known interventions with text templates for a
hypothesis, its rationale, a method and the experiment steps. The templates are filled by
:mod:`mlr_copilot_jupyter.ideas.offline_ideas` with ``str.format_map`` and the placeholders
``{task}``, ``{keyword}``, ``{gap}``, ``{metric}``, ``{dataset}`` and ``{baseline}``.
``recipe_keys`` name the tabular scikit-learn experiment recipes that can test the strategy.
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAINS: tuple[str, ...] = ("vision", "nlp", "llm", "tabular", "graph", "rl", "speech", "general")
FAMILIES: tuple[str, ...] = (
    "data",
    "model",
    "objective",
    "optimisation",
    "ensembling",
    "inference",
    "efficiency",
    "robustness",
    "evaluation",
    "tabular",
)
PLACEHOLDERS: tuple[str, ...] = ("task", "keyword", "gap", "metric", "dataset", "baseline")


@dataclass(frozen=True)
class Strategy:
    """One ML improvement strategy: what to try, why, how to test it and what can go wrong."""

    key: str
    title: str
    family: str
    keywords: tuple[str, ...]
    applies_to: tuple[str, ...]
    hypothesis: str
    rationale: str
    method: str
    steps: tuple[str, ...]
    risks: tuple[str, ...]
    recipe_keys: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    """Extra metrics the strategy needs besides the paper's own (e.g. calibration error)."""


CATALOG: tuple[Strategy, ...] = (
    # ----------------------------------------------------------------------------- data
    Strategy(
        key="data_augmentation",
        title="Domain-appropriate data augmentation",
        family="data",
        keywords=("augmentation", "augment", "mixup", "cutmix", "randaugment", "specaugment",
                  "crop", "flip", "invariance", "limited data", "overfitting", "small dataset"),
        applies_to=("vision", "speech", "nlp", "graph"),
        hypothesis="Training {baseline} for {task} with stronger, domain-appropriate data "
                   "augmentation will improve {metric} on {dataset}, because it exposes the model "
                   "to more of the variation around {keyword} that the test data contains.",
        rationale="Augmentation is a cheap, well-understood way to enlarge the effective training "
                  "set and encode invariances. It directly targets the gap: {gap}.",
        method="Add an augmentation pipeline (e.g. RandAugment/MixUp for images, SpecAugment for "
               "audio, token dropout or paraphrasing for text, edge/feature dropping for graphs) "
               "to the training of {baseline} and compare against the unaugmented model.",
        steps=(
            "Reproduce {baseline} on {dataset} with its published training recipe and record "
            "{metric} as the reference.",
            "Implement two augmentation policies of increasing strength that preserve the label "
            "semantics of {task}.",
            "Train {baseline} with each policy under the same budget (epochs, optimiser, seed set).",
            "Evaluate {metric} on the untouched validation and test splits; report mean and std "
            "over 3 seeds.",
            "Ablate each augmentation operation to identify which transformations drive the "
            "change.",
        ),
        risks=(
            "Augmentations that alter the label semantics of {task} can hurt {metric}.",
            "Gains may shrink when training is run longer, since augmentation trades "
            "convergence speed for regularisation.",
        ),
    ),
    Strategy(
        key="back_translation",
        title="Back-translation and paraphrase data synthesis",
        family="data",
        keywords=("back-translation", "translation", "low-resource", "parallel data",
                  "monolingual", "paraphrase", "machine translation", "bitext", "corpus",
                  "language pair"),
        applies_to=("nlp",),
        hypothesis="Augmenting the training data for {task} with back-translated or paraphrased "
                   "synthetic examples will improve {metric} on {dataset}, since it "
                   "compensates for the scarcity of labelled or parallel data that limits work "
                   "on {keyword}.",
        rationale="Back-translation turns cheap monolingual text into additional supervised pairs "
                  "and is a standard remedy when paired data is scarce. It addresses the gap: "
                  "{gap}.",
        method="Train a reverse model (target to source, or a paraphraser), generate synthetic "
               "source sentences for monolingual target text, and train {baseline} on the union "
               "of real and synthetic pairs with a tag marking the synthetic ones.",
        steps=(
            "Train {baseline} on the original training data of {dataset} and record {metric}.",
            "Train a reverse-direction model and use it to back-translate a monolingual corpus "
            "of 1x, 2x and 4x the size of the real data.",
            "Train {baseline} on real + synthetic data for each ratio, tagging synthetic pairs.",
            "Evaluate {metric} on the official test set with the same decoding settings.",
            "Analyse the effect of the synthetic-to-real ratio and of sampling versus beam "
            "generation for the synthetic data.",
        ),
        risks=(
            "A weak reverse model produces noisy synthetic pairs that can degrade {metric}.",
            "Synthetic data may overlap with the test domain only partly, limiting gains.",
        ),
    ),
    Strategy(
        key="label_noise_cleaning",
        title="Label-noise detection and data cleaning",
        family="data",
        keywords=("noisy labels", "label noise", "annotation errors", "cleaning", "denoising",
                  "outliers", "mislabeled", "data quality", "confident learning", "crowdsourcing"),
        applies_to=("general",),
        hypothesis="Detecting and down-weighting mislabelled or outlier training examples for "
                   "{task} will improve {metric} of {baseline} on {dataset}, because noise in "
                   "the data around {keyword} currently limits what the model can learn.",
        rationale="Real datasets contain annotation errors, and models memorise them late in "
                  "training; cleaning them is often worth more than a new architecture. It "
                  "bears on the gap: {gap}.",
        method="Score every training example by out-of-fold predicted probability of its given "
               "label (confident learning) or by training loss, remove or down-weight the "
               "lowest-confidence fraction, and retrain {baseline}.",
        steps=(
            "Train {baseline} with 5-fold cross-validation on the training split of {dataset} "
            "and collect out-of-fold predictions.",
            "Flag examples whose given label has low out-of-fold probability; inspect a sample "
            "of 50 by hand to estimate the precision of the flagging.",
            "Retrain {baseline} after removing 1%, 5% and 10% of the flagged examples, and "
            "separately after down-weighting them.",
            "Compare {metric} on the unchanged test split and report how many flagged examples "
            "were true errors.",
        ),
        risks=(
            "Hard but correct examples may be removed, reducing robustness.",
            "If the test labels share the same noise, cleaning may not show up in {metric}.",
        ),
        recipe_keys=("random_forest",),
    ),
    Strategy(
        key="class_reweighting",
        title="Re-weighting and re-sampling for class imbalance",
        family="data",
        keywords=("imbalance", "imbalanced", "class imbalance", "minority class", "rare",
                  "long-tail", "long-tailed", "skewed", "default", "fraud", "oversampling",
                  "undersampling", "focal loss", "class weights"),
        applies_to=("general", "tabular", "vision"),
        hypothesis="Correcting class imbalance in {task} with class-balanced loss weights or "
                   "re-sampling will improve {metric} on the minority classes of {dataset} "
                   "without hurting the majority classes, because rare cases of {keyword} are "
                   "currently under-represented in the training signal.",
        rationale="With skewed label distributions the loss is dominated by frequent classes, so "
                  "decision thresholds are biased against rare ones. It addresses the gap: {gap}.",
        method="Compare inverse-frequency class weights, effective-number weights and focal loss "
               "against random over/under-sampling on {baseline}, tuning the decision threshold "
               "on validation data.",
        steps=(
            "Measure the class distribution of {dataset} and the per-class {metric} of "
            "{baseline}.",
            "Train {baseline} with class weights (inverse frequency and effective number of "
            "samples) and with focal loss.",
            "Train with random over-sampling of minority classes and under-sampling of the "
            "majority class as alternatives.",
            "Tune the decision threshold on a validation split for each variant.",
            "Report overall and per-class {metric}, balanced accuracy and macro-F1 on the test "
            "split over 5 seeds.",
        ),
        risks=(
            "Over-sampling can overfit duplicated minority examples.",
            "Improving minority recall usually lowers precision; the trade-off must be reported.",
        ),
        recipe_keys=("random_forest", "hist_gradient_boosting"),
        metrics=("macro-F1", "balanced accuracy"),
    ),
    Strategy(
        key="synthetic_data",
        title="Synthetic data generation",
        family="data",
        keywords=("synthetic data", "generative", "simulation", "data scarcity", "few examples",
                  "generated data", "SMOTE", "diffusion", "self-instruct", "distillation data"),
        applies_to=("general", "llm", "tabular"),
        hypothesis="Adding model-generated synthetic training examples for {task} will improve "
                   "{metric} on {dataset} when real data about {keyword} is scarce, as long "
                   "as the synthetic examples are filtered for quality.",
        rationale="Generative models and simulators can produce examples of under-covered "
                  "regions of the input space at low cost. It targets the gap: {gap}.",
        method="Generate synthetic examples with a generator suited to the modality (SMOTE or a "
               "tabular generator, a diffusion model, or an LLM with self-instruct prompts), "
               "filter them with a classifier or heuristics, and mix them with the real data "
               "used to train {baseline}.",
        steps=(
            "Train {baseline} on the real training data of {dataset} and record {metric}.",
            "Generate a synthetic set of the same size as the real data and filter it by a "
            "quality score (e.g. agreement with a model trained on real data).",
            "Train {baseline} on real + synthetic data at synthetic ratios 0.25, 0.5 and 1.0.",
            "Evaluate {metric} on the real test split only, over 3 seeds.",
            "Check for memorisation by measuring nearest-neighbour distance between synthetic "
            "and test examples.",
        ),
        risks=(
            "Synthetic data can reinforce the generator's biases or leak test-like examples.",
            "Without filtering, low-quality samples may reduce {metric}.",
        ),
    ),
    Strategy(
        key="curriculum_learning",
        title="Curriculum learning",
        family="data",
        keywords=("curriculum", "easy-to-hard", "difficulty", "ordering", "self-paced",
                  "convergence", "hard examples", "pacing"),
        applies_to=("general",),
        hypothesis="Presenting the training examples for {task} from easy to hard will make "
                   "{baseline} converge faster and reach higher {metric} on {dataset}, since "
                   "the difficult cases involving {keyword} are learned on top of a stable "
                   "representation.",
        rationale="Curricula shape optimisation by ordering examples, which helps when the data "
                  "mixes very easy and very hard instances. It addresses the gap: {gap}.",
        method="Score example difficulty with a proxy (loss of a small reference model, length, "
               "or label confidence), and train {baseline} with a pacing function that grows "
               "the training pool from easy to all examples.",
        steps=(
            "Define a difficulty score for each training example of {dataset} with a small "
            "reference model.",
            "Implement a linear and a root pacing function over the first half of training.",
            "Train {baseline} with random order, easy-to-hard and hard-to-easy (anti-curriculum) "
            "orderings under the same budget.",
            "Compare {metric} and the training curves (steps to reach the baseline's score) over "
            "3 seeds.",
        ),
        risks=(
            "The difficulty proxy may be poorly correlated with what the model finds hard.",
            "Benefits often vanish with long training schedules.",
        ),
    ),
    Strategy(
        key="graph_structure_augmentation",
        title="Graph structure augmentation and rewiring",
        family="data",
        keywords=("graph", "node", "edge", "GNN", "over-smoothing", "oversquashing", "DropEdge",
                  "rewiring", "message passing", "heterophily", "link prediction"),
        applies_to=("graph",),
        hypothesis="Perturbing and rewiring the input graph during training (edge dropping, "
                   "feature masking, adding shortcut edges) will improve {metric} of {baseline} "
                   "for {task} on {dataset}, by reducing over-smoothing around {keyword}.",
        rationale="GNNs are limited by the given topology: over-smoothing and over-squashing "
                  "restrict how information flows. It addresses the gap: {gap}.",
        method="Add DropEdge and node-feature masking as training-time augmentations, and test "
               "a curvature- or diffusion-based rewiring as a preprocessing step for {baseline}.",
        steps=(
            "Reproduce {baseline} on {dataset} with the standard splits and record {metric}.",
            "Train with DropEdge (rates 0.1-0.5) and feature masking (rates 0.1-0.3).",
            "Apply a graph-rewiring preprocessing (e.g. diffusion-based) and retrain.",
            "Vary the number of message-passing layers (2, 4, 8) to test over-smoothing.",
            "Report {metric} over 10 seeds with standard deviations.",
        ),
        risks=(
            "Rewiring can destroy meaningful structure in heterophilous graphs.",
            "Small graph benchmarks have high variance between splits and seeds.",
        ),
    ),
    # ---------------------------------------------------------------------------- model
    Strategy(
        key="architecture_change",
        title="Targeted architecture modification",
        family="model",
        keywords=("architecture", "layer", "residual", "normalization", "backbone", "encoder",
                  "decoder", "inductive bias", "receptive field", "capacity", "design"),
        applies_to=("general",),
        hypothesis="Replacing one component of {baseline} with an alternative that has a better "
                   "inductive bias for {keyword} (e.g. residual or normalisation changes, a "
                   "different encoder block) will improve {metric} on {dataset} for {task}.",
        rationale="Architectural inductive biases decide what a model learns easily; a mismatch "
                  "with the structure of the data leaves accuracy on the table. It targets the "
                  "gap: {gap}.",
        method="Identify the component of {baseline} most related to {keyword}, design two "
               "drop-in alternatives with matched parameter count, and compare them under the "
               "same training recipe.",
        steps=(
            "Profile {baseline}: list its components and their parameter counts and FLOPs.",
            "Design two alternative blocks for the component most related to {keyword}, "
            "keeping parameters within 5% of the original.",
            "Train each variant on {dataset} with the original hyperparameters and 3 seeds.",
            "Compare {metric}, training time and parameter count; run a small learning-rate "
            "sweep for the best variant to rule out tuning effects.",
        ),
        risks=(
            "The original hyperparameters may favour the original architecture.",
            "Gains under matched parameters may not hold under matched compute.",
        ),
    ),
    Strategy(
        key="attention_gating",
        title="Attention or gating module",
        family="model",
        keywords=("attention", "self-attention", "gating", "squeeze-and-excitation", "transformer",
                  "long-range", "context", "dependencies", "feature interaction", "cross-attention"),
        applies_to=("vision", "nlp", "graph", "speech", "rl"),
        hypothesis="Adding an attention or gating module to {baseline} will improve {metric} for "
                   "{task} on {dataset}, because it lets the model weight the inputs related to "
                   "{keyword} adaptively and capture longer-range dependencies.",
        rationale="Attention and gating provide input-dependent feature weighting at small cost; "
                  "they help when relevant evidence is sparse or far apart. It addresses the "
                  "gap: {gap}.",
        method="Insert a lightweight attention block (squeeze-and-excitation, self-attention or "
               "cross-attention, or a learned gate) at one or two stages of {baseline} and "
               "train it end to end.",
        steps=(
            "Reproduce {baseline} on {dataset} and record {metric}.",
            "Insert the module at the last stage only, then at the last two stages.",
            "Train each variant with the baseline's recipe over 3 seeds.",
            "Compare {metric}, parameters and latency; visualise attention or gate values on "
            "10 validation examples to check they focus on meaningful inputs.",
        ),
        risks=(
            "Extra parameters rather than the attention mechanism may explain the gain; include "
            "a parameter-matched control.",
            "Attention can be unstable to train without warmup.",
        ),
    ),
    Strategy(
        key="scale_width_depth",
        title="Scaling model width and depth",
        family="model",
        keywords=("scaling", "model size", "width", "depth", "parameters", "capacity",
                  "underfitting", "scaling law", "larger model", "compute"),
        applies_to=("general",),
        hypothesis="{baseline} is capacity-limited for {task}: scaling its width and depth "
                   "will improve {metric} on {dataset} along a predictable curve, showing whether "
                   "the difficulty with {keyword} is a capacity problem.",
        rationale="Measuring a scaling curve separates problems of capacity from problems of "
                  "data or objective, and tells where further effort pays off. It relates to the "
                  "gap: {gap}.",
        method="Train a grid of {baseline} variants at 0.5x, 1x, 2x and 4x width and depth, "
               "fit {metric} against parameters and compute, and extrapolate.",
        steps=(
            "Define a grid of 4-6 model sizes by scaling width and depth of {baseline}.",
            "Train each size on {dataset} with a learning rate tuned on the smallest model and "
            "scaled by a fixed rule.",
            "Record {metric}, training loss and compute (FLOPs) for each size over 2 seeds.",
            "Fit a power law of {metric} versus parameters and compare width-scaling with "
            "depth-scaling.",
        ),
        risks=(
            "Larger models may overfit if the dataset is small.",
            "Compute budget may limit the largest sizes; the fit then extrapolates.",
        ),
        recipe_keys=("random_forest",),
    ),
    Strategy(
        key="pretrained_transfer",
        title="Pretrained backbone and transfer learning",
        family="model",
        keywords=("pretrained", "pre-training", "transfer learning", "fine-tuning", "backbone",
                  "foundation model", "self-supervised", "domain adaptation", "few labels",
                  "low-resource", "multilingual"),
        applies_to=("vision", "nlp", "speech", "graph", "llm"),
        hypothesis="Initialising {baseline} from a backbone pretrained on large external data "
                   "will improve {metric} for {task} on {dataset}, especially in the low-data "
                   "regime, because pretrained features already encode much of {keyword}.",
        rationale="Transfer from large-scale pretraining is the most reliable gain when labelled "
                  "data is limited. It addresses the gap: {gap}.",
        method="Replace the randomly initialised encoder of {baseline} with a public pretrained "
               "one of matching modality, and compare full fine-tuning, linear probing and "
               "training from scratch at several training-set sizes.",
        steps=(
            "Select a pretrained backbone of the same modality and comparable size as "
            "{baseline}'s encoder.",
            "Train from scratch, linear-probe and fully fine-tune on 10%, 50% and 100% of the "
            "training data of {dataset}.",
            "Use a smaller learning rate for pretrained layers than for new heads.",
            "Report {metric} for every data fraction over 3 seeds and plot the learning curves.",
        ),
        risks=(
            "Pretraining data may overlap with the test set; check for contamination.",
            "A domain gap between the pretraining data and {dataset} may limit transfer.",
        ),
    ),
    Strategy(
        key="parameter_efficient_finetuning",
        title="Parameter-efficient fine-tuning (LoRA / adapters)",
        family="model",
        keywords=("LoRA", "adapters", "parameter-efficient", "PEFT", "fine-tuning",
                  "prefix tuning", "prompt tuning", "large language model", "low-rank",
                  "instruction tuning", "memory"),
        applies_to=("llm", "nlp", "vision", "speech"),
        hypothesis="Fine-tuning a large pretrained model for {task} with LoRA or adapters will "
                   "match or beat full fine-tuning in {metric} on {dataset} at a fraction of "
                   "the trainable parameters, and generalise better on {keyword} by limiting "
                   "drift from the pretrained weights.",
        rationale="Parameter-efficient methods reduce memory and overfitting in the low-data "
                  "regime and make many task variants affordable. It addresses the gap: {gap}.",
        method="Attach LoRA modules (ranks 4, 16, 64) to the attention projections, or "
               "bottleneck adapters to each block, of a pretrained model and train only these "
               "on {dataset}, against full fine-tuning and {baseline}.",
        steps=(
            "Fine-tune the full pretrained model on {dataset} as the upper reference and record "
            "{metric} and GPU memory.",
            "Train LoRA with ranks 4, 16 and 64 on the attention projections.",
            "Train bottleneck adapters with a matched number of trainable parameters.",
            "Compare {metric}, trainable parameters, memory and training time against "
            "{baseline} over 3 seeds.",
            "Evaluate on a held-out related task to measure forgetting.",
        ),
        risks=(
            "Too low a rank may underfit tasks that differ strongly from pretraining.",
            "Hyperparameters (learning rate, alpha) differ from full fine-tuning and need "
            "their own tuning.",
        ),
    ),
    # ------------------------------------------------------------------------ objective
    Strategy(
        key="label_smoothing",
        title="Label smoothing and soft targets",
        family="objective",
        keywords=("label smoothing", "overconfidence", "cross-entropy", "soft labels",
                  "calibration", "classification", "generalization", "regularization"),
        applies_to=("vision", "nlp", "speech"),
        hypothesis="Training {baseline} for {task} with label smoothing will improve {metric} "
                   "and calibration on {dataset}, because it discourages over-confident "
                   "predictions on ambiguous cases of {keyword}.",
        rationale="Hard one-hot targets push logits to extremes and encourage memorisation; "
                  "smoothing is a one-line regulariser with consistent gains. It bears on the "
                  "gap: {gap}.",
        method="Replace the one-hot cross-entropy of {baseline} with label-smoothed "
               "cross-entropy at smoothing 0.05, 0.1 and 0.2, keeping everything else fixed.",
        steps=(
            "Train {baseline} on {dataset} with standard cross-entropy and record {metric} and "
            "expected calibration error.",
            "Train with label smoothing 0.05, 0.1 and 0.2.",
            "Evaluate {metric} and expected calibration error on the test split over 3 seeds.",
            "Check whether smoothing interacts with knowledge distillation or temperature "
            "scaling if those are used downstream.",
        ),
        risks=(
            "Smoothing can hurt when the model is later used as a distillation teacher.",
            "Gains are often small and within seed variance; use enough seeds.",
        ),
        metrics=("expected calibration error (ECE)",),
    ),
    Strategy(
        key="contrastive_auxiliary",
        title="Contrastive auxiliary loss",
        family="objective",
        keywords=("contrastive", "representation", "embedding", "self-supervised", "SimCLR",
                  "InfoNCE", "metric learning", "invariance", "clustering", "alignment"),
        applies_to=("vision", "nlp", "graph", "speech", "rl"),
        hypothesis="Adding a contrastive auxiliary loss to {baseline} will learn representations "
                   "that separate the classes involved in {keyword} better and improve {metric} "
                   "on {dataset} for {task}.",
        rationale="A contrastive term shapes the embedding space with invariances the main loss "
                  "does not enforce, which helps in low-label and shift settings. It targets "
                  "the gap: {gap}.",
        method="Create two views of each example (augmentations, dropout noise or neighbouring "
               "nodes), add an InfoNCE loss on a projection head of {baseline}'s encoder, and "
               "weight it against the main loss.",
        steps=(
            "Define a view-generation procedure appropriate to {dataset}.",
            "Add a projection head and an InfoNCE loss (temperature 0.1) to {baseline}.",
            "Train with auxiliary loss weights 0.1, 0.5 and 1.0, over 3 seeds.",
            "Report {metric} and a linear-probe accuracy of the learned embeddings.",
            "Ablate supervised-contrastive versus self-supervised positives.",
        ),
        risks=(
            "Contrastive losses need large batches or many negatives to be effective.",
            "Poorly chosen views can make the model invariant to label-relevant features.",
        ),
    ),
    Strategy(
        key="multitask_learning",
        title="Multi-task learning with related auxiliary tasks",
        family="objective",
        keywords=("multi-task", "auxiliary task", "shared representation", "joint training",
                  "related tasks", "transfer", "multilingual", "cross-lingual", "supervision"),
        applies_to=("nlp", "vision", "speech", "graph", "llm"),
        hypothesis="Training {baseline} jointly on {task} and a related auxiliary task will "
                   "improve {metric} on {dataset}, because the shared representation benefits "
                   "from extra supervision relevant to {keyword}.",
        rationale="Related tasks provide inductive bias and more training signal; they help most "
                  "when the main task's data is limited. It addresses the gap: {gap}.",
        method="Add a second head to {baseline} for an auxiliary task with available labels "
               "(or cheaply derived labels), train with a weighted sum of losses and tune the "
               "weight, comparing against single-task training.",
        steps=(
            "Choose one or two auxiliary tasks with labels available for {dataset} or derivable "
            "automatically.",
            "Add task-specific heads on the shared encoder of {baseline}.",
            "Train with auxiliary weights 0.1, 0.3 and 1.0 and with uncertainty-based weighting.",
            "Compare {metric} on the main task against single-task training over 3 seeds.",
        ),
        risks=(
            "Negative transfer: an unrelated auxiliary task can lower {metric}.",
            "Loss weighting is sensitive and needs tuning.",
        ),
    ),
    Strategy(
        key="knowledge_distillation",
        title="Knowledge distillation",
        family="objective",
        keywords=("distillation", "teacher", "student", "compression", "soft targets",
                  "dark knowledge", "smaller model", "efficiency", "self-distillation"),
        applies_to=("general",),
        hypothesis="Distilling a larger teacher (or an ensemble) into {baseline} for {task} will "
                   "improve {metric} on {dataset} at the same inference cost, since soft "
                   "targets transfer information about {keyword} that hard labels lack.",
        rationale="Distillation lets a small model inherit the accuracy of a large one, which "
                  "matters for deployable results. It addresses the gap: {gap}.",
        method="Train a stronger teacher (larger model or ensemble), then train {baseline} as a "
               "student on a mix of the hard-label loss and the KL divergence to the teacher's "
               "temperature-softened outputs.",
        steps=(
            "Train a teacher (2-4x larger or an ensemble of 3) on {dataset} and record "
            "{metric}.",
            "Train {baseline} as a student with distillation temperature 2 and 4 and loss "
            "weights 0.5 and 0.9.",
            "Compare the student with {baseline} trained on hard labels only, over 3 seeds.",
            "Report {metric}, parameters and inference latency of teacher and student.",
        ),
        risks=(
            "A teacher that is not better than the student gives no gain.",
            "Teacher training adds substantial compute.",
        ),
    ),
    Strategy(
        key="reward_shaping",
        title="Reward shaping and auxiliary RL objectives",
        family="objective",
        keywords=("reward", "sparse reward", "exploration", "policy", "agent", "environment",
                  "reinforcement learning", "sample efficiency", "intrinsic motivation", "return"),
        applies_to=("rl",),
        hypothesis="Adding potential-based reward shaping or an intrinsic exploration bonus to "
                   "{baseline} for {task} will improve {metric} and sample efficiency on "
                   "{dataset}, since sparse feedback about {keyword} currently slows learning.",
        rationale="Sparse rewards make credit assignment hard; shaping and auxiliary objectives "
                  "densify the learning signal without changing the optimal policy when "
                  "potential-based. It addresses the gap: {gap}.",
        method="Add a potential-based shaping term or a count/prediction-error exploration "
               "bonus to the reward of {baseline}, and an auxiliary prediction loss on its "
               "encoder.",
        steps=(
            "Reproduce {baseline} on {dataset} and record {metric} against environment steps.",
            "Add a potential-based shaping term and, separately, an intrinsic exploration bonus.",
            "Train each variant for the same number of environment steps over 5 seeds.",
            "Report {metric} curves with confidence intervals and the steps needed to reach "
            "the baseline's final score.",
        ),
        risks=(
            "Non-potential-based shaping can change the optimal policy.",
            "RL results have high seed variance; use at least 5 seeds.",
        ),
    ),
    # --------------------------------------------------------------------- optimisation
    Strategy(
        key="lr_schedule_warmup",
        title="Learning-rate schedule and warmup",
        family="optimisation",
        keywords=("learning rate", "warmup", "schedule", "cosine", "optimizer", "Adam", "SGD",
                  "convergence", "training instability", "divergence", "batch size"),
        applies_to=("vision", "nlp", "llm", "speech", "graph", "rl"),
        hypothesis="Re-tuning the optimiser of {baseline} for {task} with a warmup plus cosine "
                   "learning-rate schedule will improve {metric} on {dataset} and stabilise "
                   "training, showing part of the difficulty with {keyword} is an optimisation "
                   "issue.",
        rationale="Many reported gaps between methods shrink under a properly tuned optimiser; "
                  "warmup stabilises early training of deep and attention-based models. It "
                  "bears on the gap: {gap}.",
        method="Compare the original schedule of {baseline} with linear warmup + cosine decay "
               "and one-cycle schedules, with a small learning-rate sweep for each.",
        steps=(
            "Reproduce {baseline} with its original optimiser and schedule on {dataset}.",
            "Sweep peak learning rate over 5 log-spaced values with warmup (5% of steps) + "
            "cosine decay.",
            "Repeat the sweep with a one-cycle schedule and with the original schedule.",
            "Report the best {metric} per schedule over 3 seeds and the training-loss curves.",
        ),
        risks=(
            "Improvements may be specific to the training budget used.",
            "Sweeps multiply compute; restrict to the most sensitive hyperparameters.",
        ),
    ),
    Strategy(
        key="hyperparameter_search",
        title="Systematic hyperparameter search",
        family="optimisation",
        keywords=("hyperparameter", "tuning", "random search", "Bayesian optimization",
                  "grid search", "cross-validation", "model selection", "sensitivity"),
        applies_to=("general", "tabular"),
        hypothesis="A systematic random or Bayesian hyperparameter search for {baseline} on "
                   "{task} will improve {metric} on {dataset} over the reported settings, and "
                   "reveal which hyperparameters matter most for {keyword}.",
        rationale="Baselines are often under-tuned relative to proposed methods; a fair search "
                  "both improves results and makes comparisons trustworthy. It addresses the "
                  "gap: {gap}.",
        method="Define a search space for the main hyperparameters of {baseline}, run random "
               "search with cross-validation or a validation split under a fixed budget, and "
               "evaluate the best configuration once on the test split.",
        steps=(
            "Define log-uniform ranges for learning rate / regularisation and discrete ranges "
            "for capacity hyperparameters of {baseline}.",
            "Run 30-60 random-search trials with 5-fold cross-validation or a fixed validation "
            "split of {dataset}.",
            "Refit the best configuration on the full training data and evaluate {metric} on "
            "the test split once.",
            "Compute hyperparameter importance (e.g. by regressing the score on the "
            "hyperparameters) and report it.",
        ),
        risks=(
            "Selecting on the test split would inflate {metric}; keep it untouched.",
            "The search budget must be matched when comparing methods.",
        ),
        recipe_keys=("random_search",),
    ),
    Strategy(
        key="regularisation",
        title="Regularisation: dropout, weight decay, early stopping",
        family="optimisation",
        keywords=("overfitting", "regularization", "dropout", "weight decay", "early stopping",
                  "generalization", "small dataset", "variance", "L2", "ridge"),
        applies_to=("general", "tabular"),
        hypothesis="Stronger regularisation of {baseline} (dropout, weight decay and early "
                   "stopping on validation {metric}) will reduce overfitting on {task} and "
                   "improve test {metric} on {dataset}, because the gap between training and "
                   "validation performance on {keyword} is large.",
        rationale="A large train-test gap signals variance, which regularisation reduces "
                  "cheaply. It addresses the gap: {gap}.",
        method="Measure the generalisation gap of {baseline}, then sweep dropout, weight decay "
               "(or L2 penalty) and early-stopping patience, selecting on a validation split.",
        steps=(
            "Record training and validation {metric} curves of {baseline} on {dataset}.",
            "Sweep weight decay (or L2 strength) over 5 log-spaced values and dropout over "
            "0.0-0.5.",
            "Add early stopping on validation {metric} with patience 5 and 10 epochs.",
            "Compare test {metric} and the train-test gap of the best setting with the "
            "original over 3 seeds.",
        ),
        risks=(
            "Over-regularisation underfits; the sweep must include weak settings.",
            "Early stopping on a small validation set is noisy.",
        ),
        recipe_keys=("scaled_linear", "poly_ridge"),
    ),
    # ----------------------------------------------------------------------- ensembling
    Strategy(
        key="ensembling",
        title="Model ensembling",
        family="ensembling",
        keywords=("ensemble", "averaging", "voting", "bagging", "variance", "uncertainty",
                  "deep ensembles", "diversity", "robust predictions"),
        applies_to=("general",),
        hypothesis="An ensemble of diverse models for {task} (different seeds, architectures or "
                   "model families) will improve {metric} on {dataset} over {baseline} alone, "
                   "because their errors on {keyword} are partly uncorrelated.",
        rationale="Averaging reduces variance and is one of the most dependable ways to gain "
                  "accuracy and better uncertainty. It addresses the gap: {gap}.",
        method="Train 3-5 diverse models (seeds, architectures or model families), combine them "
               "by soft voting, and compare with the best single model at matched compute.",
        steps=(
            "Train {baseline} with 5 different seeds on {dataset}.",
            "Train 2-3 architecturally different models with comparable single-model {metric}.",
            "Combine predictions by soft voting (probability averaging) and by majority vote.",
            "Report {metric} of single models, seed ensemble and diverse ensemble, and the "
            "pairwise error correlation.",
        ),
        risks=(
            "Ensembles multiply inference cost.",
            "Gains are small when members make highly correlated errors.",
        ),
        recipe_keys=("voting_ensemble",),
    ),
    Strategy(
        key="stacking",
        title="Stacking with a learned meta-model",
        family="ensembling",
        keywords=("stacking", "meta-learner", "blending", "heterogeneous models",
                  "out-of-fold", "tabular", "ensemble", "combination"),
        applies_to=("general", "tabular"),
        hypothesis="Stacking heterogeneous base models with a meta-model trained on out-of-fold "
                   "predictions will improve {metric} for {task} on {dataset} over {baseline}, "
                   "since different model families capture different aspects of {keyword}.",
        rationale="Stacking learns how much to trust each model in each region, improving over "
                  "plain averaging when base models are diverse. It addresses the gap: {gap}.",
        method="Train linear, tree-based and kernel base models, produce 5-fold out-of-fold "
               "predictions, and fit a regularised logistic or ridge meta-model on them.",
        steps=(
            "Select 3-4 base models of different families and tune each briefly on {dataset}.",
            "Generate 5-fold out-of-fold predictions for the training set.",
            "Fit a regularised linear meta-model on the out-of-fold predictions.",
            "Compare {metric} of the stack with each base model and with soft voting on the "
            "test split.",
        ),
        risks=(
            "Leakage if the meta-model sees in-fold predictions.",
            "Little gain when one base model dominates the others.",
        ),
        recipe_keys=("stacking_ensemble",),
    ),
    # ------------------------------------------------------------------------ inference
    Strategy(
        key="test_time_augmentation",
        title="Test-time augmentation",
        family="inference",
        keywords=("test-time augmentation", "TTA", "inference", "flip", "multi-crop",
                  "robustness", "prediction averaging", "image", "segmentation"),
        applies_to=("vision", "speech"),
        hypothesis="Averaging the predictions of {baseline} over several augmented views at test "
                   "time will improve {metric} for {task} on {dataset} without retraining, "
                   "by reducing sensitivity to nuisance variation around {keyword}.",
        rationale="Test-time augmentation is a training-free way to reduce prediction variance; "
                  "it quantifies how much invariance the model is missing. It bears on the "
                  "gap: {gap}.",
        method="Apply 4-10 label-preserving transformations (flips, crops, scales, small time "
               "shifts) at inference and average the predicted probabilities of {baseline}.",
        steps=(
            "Evaluate the trained {baseline} on {dataset} without augmentation.",
            "Define 3 augmentation sets of increasing size (2, 5 and 10 views).",
            "Average probabilities (and, for comparison, logits) over the views.",
            "Report {metric} and inference cost per set; check which views help or hurt.",
        ),
        risks=(
            "Inference cost grows linearly with the number of views.",
            "Views the model never saw during training can reduce {metric}.",
        ),
    ),
    Strategy(
        key="calibration",
        title="Probability calibration",
        family="inference",
        keywords=("calibration", "confidence", "uncertainty", "temperature scaling", "Platt",
                  "isotonic", "reliability", "risk", "probabilities", "decision threshold",
                  "credit", "medical"),
        applies_to=("general", "tabular"),
        hypothesis="Calibrating the predicted probabilities of {baseline} for {task} "
                   "(temperature scaling, Platt or isotonic regression) will reduce calibration "
                   "error on {dataset} and improve {metric} at the decision threshold, making its "
                   "confidence about {keyword} usable for decisions.",
        rationale="Accurate models are often badly calibrated, and downstream decisions depend "
                  "on the probabilities, not only the ranking. It addresses the gap: {gap}.",
        method="Hold out a calibration split, fit temperature scaling, Platt scaling and "
               "isotonic regression on the outputs of {baseline}, and compare calibration "
               "and {metric} on the test split.",
        steps=(
            "Split the training data of {dataset} into training and calibration parts.",
            "Train {baseline} and record {metric}, expected calibration error and Brier score.",
            "Fit temperature, Platt and isotonic calibrators on the calibration split.",
            "Report reliability diagrams, ECE, Brier score and {metric} on the test split.",
        ),
        risks=(
            "Calibrators fitted on a small split can overfit (especially isotonic).",
            "Calibration does not change ranking metrics such as AUC.",
        ),
        recipe_keys=("scaled_linear", "hist_gradient_boosting"),
        metrics=("expected calibration error (ECE)", "Brier score"),
    ),
    Strategy(
        key="retrieval_augmentation",
        title="Retrieval augmentation",
        family="inference",
        keywords=("retrieval", "retrieval-augmented", "RAG", "knowledge", "memory",
                  "nearest neighbours", "external knowledge", "documents", "open-domain",
                  "factuality", "hallucination", "question answering"),
        applies_to=("llm", "nlp"),
        hypothesis="Conditioning {baseline} on passages retrieved from an external corpus will "
                   "improve {metric} on {dataset} for {task}, because missing knowledge about "
                   "{keyword} rather than reasoning ability limits current performance.",
        rationale="Retrieval supplies up-to-date, verifiable knowledge without retraining, and "
                  "separates knowledge gaps from modelling gaps. It addresses the gap: {gap}.",
        method="Index a relevant corpus with a dense or BM25 retriever, prepend the top-k "
               "passages to the input of {baseline}, and compare against no retrieval and "
               "oracle retrieval.",
        steps=(
            "Build a BM25 and a dense index over a corpus relevant to {dataset}.",
            "Retrieve top-k passages (k = 1, 3, 5, 10) for each input.",
            "Run {baseline} with retrieved context, without context and with oracle context.",
            "Report {metric} for each setting and retrieval recall@k.",
            "Analyse failures split into retrieval errors and reading errors.",
        ),
        risks=(
            "Irrelevant retrieved passages can distract the model.",
            "The corpus may contain the test answers (leakage).",
        ),
    ),
    Strategy(
        key="few_shot_prompting",
        title="In-context examples and prompt design",
        family="inference",
        keywords=("prompt", "prompting", "in-context learning", "few-shot", "zero-shot",
                  "demonstrations", "instruction", "large language model", "LLM", "GPT"),
        applies_to=("llm",),
        hypothesis="Selecting in-context demonstrations for {task} by similarity to the test "
                   "input, instead of at random, will improve {metric} of {baseline} on "
                   "{dataset}, because relevant examples of {keyword} specify the task better.",
        rationale="LLM performance is highly sensitive to the choice and order of "
                  "demonstrations; principled selection is cheap and often large in effect. "
                  "It addresses the gap: {gap}.",
        method="Build prompts with k demonstrations chosen at random, by embedding similarity "
               "and by diversity (MMR), with fixed instruction wording, and evaluate the "
               "same model on all variants.",
        steps=(
            "Write a fixed instruction template for {task} and evaluate 0-shot {metric} on "
            "{dataset}.",
            "Evaluate k = 1, 4 and 8 random demonstrations with 3 different random draws.",
            "Evaluate similarity-selected and diversity-selected demonstrations for the same k.",
            "Vary demonstration order for the best setting to measure order sensitivity.",
            "Report {metric} with confidence intervals over draws.",
        ),
        risks=(
            "Results may not transfer across models or prompt wordings.",
            "Demonstration pools drawn from test-like data can leak answers.",
        ),
    ),
    Strategy(
        key="chain_of_thought",
        title="Chain-of-thought reasoning prompts",
        family="inference",
        keywords=("chain-of-thought", "reasoning", "step-by-step", "rationale", "arithmetic",
                  "multi-step", "math", "logic", "LLM", "scratchpad"),
        applies_to=("llm",),
        hypothesis="Prompting {baseline} to produce intermediate reasoning steps before the "
                   "answer will improve {metric} on {dataset} for {task}, especially on "
                   "multi-step instances involving {keyword}.",
        rationale="Intermediate reasoning decomposes multi-step problems and gives the model "
                  "more computation per answer. It addresses the gap: {gap}.",
        method="Compare direct-answer prompts with zero-shot and few-shot chain-of-thought "
               "prompts, with a fixed answer-extraction rule, on the same model.",
        steps=(
            "Evaluate direct answering on {dataset} with a fixed answer-extraction rule.",
            "Evaluate zero-shot chain-of-thought ('think step by step').",
            "Evaluate few-shot chain-of-thought with 4-8 worked examples.",
            "Report {metric} split by problem difficulty or number of reasoning steps.",
        ),
        risks=(
            "Longer outputs increase cost and latency.",
            "Reasoning chains can be unfaithful even when answers are correct.",
        ),
    ),
    Strategy(
        key="self_consistency",
        title="Self-consistency decoding",
        family="inference",
        keywords=("self-consistency", "sampling", "majority vote", "decoding", "reasoning",
                  "LLM", "temperature", "multiple samples", "verification"),
        applies_to=("llm",),
        hypothesis="Sampling several reasoning paths from {baseline} and taking the majority "
                   "answer will improve {metric} for {task} on {dataset} over greedy decoding, "
                   "since errors on {keyword} are inconsistent across samples.",
        rationale="Marginalising over sampled reasoning paths reduces the variance of single "
                  "greedy decodes. It addresses the gap: {gap}.",
        method="Sample N reasoning paths at temperature 0.7, extract each final answer, and "
               "vote; compare with greedy decoding and with the best-of-N oracle.",
        steps=(
            "Evaluate greedy decoding of {baseline} on {dataset} and record {metric}.",
            "Sample N = 5, 10 and 20 paths at temperature 0.5 and 0.7.",
            "Aggregate answers by majority vote and by confidence-weighted vote.",
            "Report {metric} against N and cost, and the agreement rate of the votes.",
        ),
        risks=(
            "Cost grows linearly with the number of samples.",
            "Only applicable where answers can be compared for equality.",
        ),
    ),
    # ----------------------------------------------------------------------- efficiency
    Strategy(
        key="pruning_quantisation",
        title="Pruning and quantisation for efficiency",
        family="efficiency",
        keywords=("pruning", "quantization", "efficiency", "latency", "memory", "compression",
                  "sparsity", "edge devices", "deployment", "int8", "inference cost"),
        applies_to=("vision", "nlp", "llm", "speech"),
        hypothesis="{baseline} for {task} can be pruned and quantised to 8 bits with less than "
                   "1 point loss of {metric} on {dataset}, because much of its capacity is "
                   "redundant for {keyword}.",
        rationale="Efficiency determines whether a method is usable in practice, and "
                  "compression studies reveal how much capacity a task really needs. It bears "
                  "on the gap: {gap}.",
        method="Apply magnitude pruning at increasing sparsity with short fine-tuning, and "
               "post-training int8 quantisation, measuring {metric}, size and latency.",
        steps=(
            "Measure {metric}, model size and latency of {baseline} on {dataset}.",
            "Prune 30%, 50%, 70% and 90% of weights by magnitude with brief fine-tuning after "
            "each step.",
            "Apply post-training int8 quantisation to the dense and pruned models.",
            "Plot {metric} against size and latency and report the best trade-off point.",
        ),
        risks=(
            "Unstructured sparsity may not reduce latency on standard hardware.",
            "Quantisation error concentrates in outlier channels.",
        ),
        metrics=("model size (MB)", "inference latency"),
    ),
    # ----------------------------------------------------------------------- robustness
    Strategy(
        key="distribution_shift_eval",
        title="Distribution-shift and out-of-distribution evaluation",
        family="robustness",
        keywords=("distribution shift", "out-of-distribution", "OOD", "domain shift",
                  "generalization", "robustness", "corruption", "temporal shift",
                  "spurious correlations", "domain adaptation"),
        applies_to=("general",),
        hypothesis="The gains of {baseline} for {task} shrink under distribution shift: "
                   "evaluating on shifted splits of {dataset} will reveal a drop in {metric} "
                   "that a simple shift-aware fix (re-weighting or domain-robust training) "
                   "partly recovers, showing the reliance on {keyword}.",
        rationale="In-distribution test scores overestimate real-world performance; shifted "
                  "evaluation is needed before claims generalise. It addresses the gap: {gap}.",
        method="Construct shifted test splits (by time, source, subgroup or synthetic "
               "corruption), measure the drop in {metric}, then train with importance "
               "re-weighting or group-robust optimisation.",
        steps=(
            "Define 2-3 shifted splits of {dataset} (e.g. by time, source or corruption level).",
            "Evaluate {baseline} on the in-distribution and shifted splits.",
            "Train a shift-aware variant (importance re-weighting or worst-group loss).",
            "Report {metric} on each split and the in-distribution to shifted gap over 3 seeds.",
        ),
        risks=(
            "Constructed shifts may not reflect the shifts met in deployment.",
            "Robust training can reduce in-distribution {metric}.",
        ),
    ),
    Strategy(
        key="adversarial_training",
        title="Adversarial training",
        family="robustness",
        keywords=("adversarial", "perturbation", "robustness", "attack", "PGD", "FGSM",
                  "worst-case", "certified", "noise", "security"),
        applies_to=("vision", "nlp", "speech", "graph"),
        hypothesis="Training {baseline} for {task} with adversarial perturbations will improve "
                   "its robust {metric} on {dataset} with limited loss in clean {metric}, "
                   "because the model currently relies on brittle features of {keyword}.",
        rationale="Adversarial robustness is a stress test of what features a model uses; "
                  "adversarial training on embeddings can also improve clean generalisation. It "
                  "addresses the gap: {gap}.",
        method="Generate PGD (vision, audio) or embedding-space (text, graphs) perturbations "
               "during training, mix adversarial and clean losses, and evaluate clean and "
               "robust performance.",
        steps=(
            "Measure clean {metric} of {baseline} and its {metric} under PGD or embedding "
            "attacks of increasing strength on {dataset}.",
            "Train with adversarial examples (FGSM-fast and PGD-7) mixed 50/50 with clean data.",
            "Evaluate clean and robust {metric} for each variant over 3 seeds.",
            "Check against gradient masking with a stronger, gradient-free attack.",
        ),
        risks=(
            "Adversarial training is 3-10x more expensive.",
            "Robustness to one threat model may not transfer to others.",
        ),
    ),
    # ----------------------------------------------------------------------- evaluation
    Strategy(
        key="ablation_study",
        title="Component ablation study",
        family="evaluation",
        keywords=("ablation", "component", "contribution", "analysis", "module",
                  "design choices", "understanding", "attribution"),
        applies_to=("general",),
        hypothesis="Not every component of {baseline} contributes to its {metric} on {task}: "
                   "a systematic ablation on {dataset} will show that the gain comes mainly "
                   "from the component tied to {keyword}.",
        rationale="Ablations turn a single headline number into an explanation, and often "
                  "reveal simpler variants with equal performance. It addresses the gap: {gap}.",
        method="List the components of {baseline}, remove or replace each in turn with the "
               "simplest alternative, and measure the change in {metric} with enough seeds to "
               "distinguish it from noise.",
        steps=(
            "List every component and design choice of {baseline} and its simplest "
            "alternative.",
            "Train the full model and each single-component ablation on {dataset} over 3 seeds.",
            "Train the combination of the two most important components only.",
            "Report the change in {metric} with confidence intervals for each ablation.",
        ),
        risks=(
            "Components can interact, so single ablations understate joint effects.",
            "Many runs are needed; prioritise by expected impact.",
        ),
        recipe_keys=("scaled_linear", "random_forest"),
    ),
    Strategy(
        key="seeds_significance",
        title="Multiple seeds and significance testing",
        family="evaluation",
        keywords=("variance", "seeds", "statistical significance", "reproducibility",
                  "confidence interval", "bootstrap", "evaluation", "benchmark", "comparison"),
        applies_to=("general",),
        hypothesis="The reported improvement of {baseline} on {task} is partly within run-to-run "
                   "variance: repeating the experiments on {dataset} with 5-10 seeds and a "
                   "significance test will give a smaller but reliable estimate of its {metric} "
                   "gain, and show how stable results on {keyword} are.",
        rationale="Single-run comparisons are a common source of irreproducible claims; seed "
                  "variance is often as large as reported gains. It addresses the gap: {gap}.",
        method="Re-run {baseline} and its strongest competitor with 5-10 seeds each, report "
               "mean, standard deviation and bootstrap confidence intervals, and test the "
               "difference with a paired test.",
        steps=(
            "Fix all data splits and re-run {baseline} and the main competitor with 5-10 seeds "
            "on {dataset}.",
            "Compute mean, standard deviation and 95% bootstrap confidence intervals of "
            "{metric}.",
            "Test the difference with a paired permutation or Wilcoxon test across seeds "
            "(and across test examples where possible).",
            "Report the effect size and whether the original ranking holds.",
        ),
        risks=(
            "Compute cost grows with the number of seeds.",
            "Seeds control only part of the variance; data splits matter too.",
        ),
        recipe_keys=("scaled_linear", "hist_gradient_boosting"),
    ),
    # -------------------------------------------------------------------------- tabular
    Strategy(
        key="feature_engineering",
        title="Domain feature engineering",
        family="tabular",
        keywords=("feature engineering", "features", "tabular", "interactions", "ratios",
                  "aggregates", "structured data", "columns", "credit", "customer",
                  "transactions", "polynomial features", "binning", "encoding"),
        applies_to=("tabular",),
        hypothesis="Engineering domain features for {task} (ratios, interactions, aggregates "
                   "and encodings of {keyword}) will improve {metric} on {dataset} over "
                   "{baseline} trained on raw columns.",
        rationale="On tabular data, well-chosen features often matter more than the model; "
                  "linear and tree models both benefit from explicit interactions. It addresses "
                  "the gap: {gap}.",
        method="Add ratio, interaction, polynomial and binned features and target-free "
               "aggregates to the raw columns, then retrain {baseline} and a linear model, "
               "checking feature importance.",
        steps=(
            "Profile the columns of {dataset}: types, missingness, ranges and cardinality.",
            "Build candidate features: pairwise ratios and products of numeric columns, "
            "polynomial terms, binned numerics and one-hot or ordinal encodings.",
            "Train a scaled linear model and {baseline} with raw versus engineered features "
            "under 5-fold cross-validation.",
            "Report {metric} and permutation importance of the new features; keep only "
            "features that help in cross-validation.",
        ),
        risks=(
            "Feature explosion can overfit small datasets.",
            "Features computed with target information leak if not built inside the folds.",
        ),
        recipe_keys=("poly_ridge", "scaled_linear", "random_forest"),
    ),
    Strategy(
        key="gradient_boosting",
        title="Gradient-boosted decision trees",
        family="tabular",
        keywords=("gradient boosting", "XGBoost", "LightGBM", "CatBoost", "decision trees",
                  "tabular", "structured data", "heterogeneous features", "credit", "risk",
                  "missing values", "boosting", "features"),
        applies_to=("tabular",),
        hypothesis="A tuned gradient-boosted tree model will match or beat {baseline} for "
                   "{task} in {metric} on {dataset}, because trees handle the heterogeneous, "
                   "non-linear feature interactions around {keyword} well.",
        rationale="Gradient-boosted trees remain the strongest general baseline on tabular "
                  "data; a new method should be compared against a tuned one. It addresses the "
                  "gap: {gap}.",
        method="Train a histogram gradient-boosting model with early stopping and a small "
               "random search over learning rate, depth and leaf size, and compare it with "
               "{baseline} and a random forest.",
        steps=(
            "Prepare {dataset} with categorical encodings and native missing-value handling.",
            "Train histogram gradient boosting with early stopping on a validation split.",
            "Tune learning rate, max depth, leaf size and L2 regularisation with 30 random-"
            "search trials under 5-fold cross-validation.",
            "Compare {metric} with {baseline}, a random forest and a scaled linear model on "
            "the test split over 5 seeds.",
        ),
        risks=(
            "Trees extrapolate poorly outside the training range.",
            "Untuned boosting can underperform; the search budget must be fair.",
        ),
        recipe_keys=("hist_gradient_boosting", "random_forest", "random_search"),
    ),
    Strategy(
        key="feature_selection",
        title="Feature selection and dimensionality reduction",
        family="tabular",
        keywords=("feature selection", "dimensionality reduction", "PCA", "high-dimensional",
                  "redundant features", "mutual information", "sparsity", "interpretability",
                  "collinearity", "features"),
        applies_to=("tabular",),
        hypothesis="Removing redundant or uninformative features (or projecting them with PCA) "
                   "will improve {metric} and stability of {baseline} for {task} on "
                   "{dataset}, because noise features related to {keyword} add variance.",
        rationale="Irrelevant and collinear features increase variance and hurt "
                  "interpretability, especially with few samples. It addresses the gap: {gap}.",
        method="Rank features by mutual information, L1-regularised coefficients and "
               "permutation importance; retrain {baseline} on the top-k features for several "
               "k, and compare with a PCA projection.",
        steps=(
            "Compute mutual information, L1 coefficients and permutation importance for each "
            "feature of {dataset} inside cross-validation folds.",
            "Retrain {baseline} on the top 25%, 50% and 75% of features.",
            "Train a PCA projection keeping 90%, 95% and 99% of variance followed by the same "
            "model.",
            "Report {metric} under 5-fold cross-validation and the agreement of the rankings.",
        ),
        risks=(
            "Selecting features outside the folds leaks information.",
            "Removing weak but complementary features can hurt.",
        ),
        recipe_keys=("pca_model", "scaled_linear"),
    ),
    Strategy(
        key="kernel_and_neighbour_models",
        title="Kernel and nearest-neighbour baselines",
        family="tabular",
        keywords=("SVM", "kernel", "RBF", "nearest neighbours", "k-NN", "non-linear",
                  "small dataset", "distance", "similarity", "scaling"),
        applies_to=("tabular",),
        hypothesis="On {task}, a well-scaled RBF-kernel SVM or k-nearest-neighbour model will be "
                   "competitive with {baseline} in {metric} on {dataset}, showing how much of "
                   "the signal in {keyword} is captured by smooth local structure.",
        rationale="Strong classical non-linear baselines calibrate how much a complex method "
                  "really adds, especially on small and medium tabular data. It addresses the "
                  "gap: {gap}.",
        method="Standardise the features, tune an RBF SVM (C, gamma) and k-NN (k, weights) "
               "with cross-validation, and compare with {baseline}.",
        steps=(
            "Standardise the numeric features of {dataset} inside a pipeline.",
            "Tune the RBF SVM over C and gamma on a log grid with 5-fold cross-validation.",
            "Tune k-NN over k in 1-50 and uniform versus distance weights.",
            "Compare {metric} with {baseline} on the test split and report training and "
            "inference time.",
        ),
        risks=(
            "Kernel methods scale poorly beyond ~50k samples.",
            "Distance-based models suffer with many irrelevant features.",
        ),
        recipe_keys=("svm_rbf", "knn_scaled"),
    ),
)
