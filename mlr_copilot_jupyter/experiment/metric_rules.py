"""Which metric a task is judged by, which direction is better, and how we know: the rules.

For MLAgentBench-layout folders the metric is read from ``scripts/eval.py`` (a ``get_score`` that
returns an elapsed time is a runtime: minimize), then the words of ``eval.py``,
``research_problem.txt``, ``evaluation_details.txt`` and ``data_description.txt``. Every result
carries one line of evidence quoting the words and the file, and a warning when nothing named
the direction.

This module needs no task and no LLM, so the task model (``task_model``) and the task loaders
(``task_spec``) build on it; :mod:`.metric_infer` re-exports it and adds the LLM's confirmation.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import TaskError

Direction = Literal["maximize", "minimize"]
MetricOrigin = Literal["task.toml", "inferred", "llm", "override", "default"]
DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")

#: Metrics with a known better direction (the recipes and the held-out scorer compute most).
KNOWN_METRICS: dict[str, Direction] = {
    "accuracy": "maximize", "balanced_accuracy": "maximize", "f1": "maximize",
    "f1_macro": "maximize", "precision": "maximize", "recall": "maximize",
    "roc_auc": "maximize", "r2": "maximize", "pearson": "maximize", "spearman": "maximize",
    "log_loss": "minimize", "mae": "minimize", "mse": "minimize", "rmse": "minimize",
    "perplexity": "minimize", "runtime": "minimize", "time": "minimize",
    "latency": "minimize", "seconds": "minimize", "speedup": "maximize",
}  # fmt: skip
REGRESSION_METRICS = frozenset({"mae", "mse", "rmse", "r2", "pearson", "spearman"})
METRIC_ALIASES: dict[str, str] = {
    "acc": "accuracy", "auc": "roc_auc", "rocauc": "roc_auc", "f1_score": "f1",
    "mean_absolute_error": "mae", "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse", "logloss": "log_loss", "cross_entropy": "log_loss",
    "pearsonr": "pearson", "pearson_r": "pearson", "correlation": "pearson",
    "spearmanr": "spearman", "spearman_r": "spearman", "elapsed": "runtime",
    "run_time": "runtime", "elapsed_time": "runtime", "execution_time": "runtime",
}  # fmt: skip
_DIRECTION_WORDS: dict[str, Direction] = {
    "max": "maximize", "maximize": "maximize", "maximise": "maximize", "higher": "maximize",
    "min": "minimize", "minimize": "minimize", "minimise": "minimize", "lower": "minimize",
}  # fmt: skip

_Rule = tuple[str, str, Direction]
# Words that name a metric, by tier: a specific metric beats a runtime word beats "error"/"loss".
_TIERS: tuple[tuple[_Rule, ...], ...] = (
    (
        (r"root[ _]mean[ _]squared[ _]error|\brmse\b|squared\s*=\s*false", "rmse", "minimize"),
        (r"mean[ _]absolute[ _]error|\bmae\b", "mae", "minimize"),
        (r"mean[ _]squared[ _]error|\bmse\b", "mse", "minimize"),
        (r"roc[ _]auc|\bauc\b|area under the (?:roc )?curve", "roc_auc", "maximize"),
        (r"\bf1\b|f1[ _]score|f-score", "f1", "maximize"),
        (r"\baccuracy|accuracy_score", "accuracy", "maximize"),
        (r"\br2\b|r2_score|r\^2|r-squared|coefficient of determination", "r2", "maximize"),
        (r"log[ _]loss|cross[ -]entropy", "log_loss", "minimize"),
        (r"\bpearson|\bcorrcoef\b", "pearson", "maximize"),
        (r"\bspearman", "spearman", "maximize"),
        (r"\bsmape\b|\bmape\b", "smape", "minimize"),
        (r"perplexity", "perplexity", "minimize"),
        (r"\bprecision\b", "precision", "maximize"),
        (r"\brecall\b", "recall", "maximize"),
        (r"\bcorrelation\b", "pearson", "maximize"),
    ),
    (
        (r"\bspeed-?up\b", "speedup", "maximize"),  # the noun; "speed up" is a request
        # requests: "make it faster", "speed up the script", "reduce the run time" -> a time
        (r"\bfaster\b|\bspeed(?:s|ing)? up\b|\bspeed (?:it|this|the \w+) up\b", "runtime",
         "minimize"),
        (r"\bruntime\b|\brun[ -]time\b|\b(?:execution|running|inference|wall(?:[ -]clock)?|"
         r"total|generation|elapsed) time\b|\btime (?:taken|per|in seconds)\b", "runtime",
         "minimize"),
        (r"\blatency\b", "latency", "minimize"),
        (r"\belapsed\b", "runtime", "minimize"),
        (r"\bseconds\b", "seconds", "minimize"),
    ),
    (
        (r"\berror\b", "error", "minimize"),
        (r"\bloss\b", "loss", "minimize"),
    ),
)
_TIMERS = {"time", "perf_counter", "monotonic", "process_time", "perf_counter_ns", "time_ns",
           "monotonic_ns"}
_TIMEIT = {"timeit", "repeat", "default_timer"}
#: Text files of an MLAgentBench folder that may name the metric, in the order they are trusted.
PROBLEM_FILES = ("scripts/research_problem.txt", "env/evaluation_details.txt",
                 "scripts/evaluation_details.txt", "env/data_description.txt",
                 "scripts/data_description.txt")


def canonical_metric(name: str) -> str:
    """``name`` lower-cased with aliases resolved (``"AUC"`` -> ``"roc_auc"``)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return METRIC_ALIASES.get(key, key)


def parse_direction(value: str) -> Direction:
    """``"min"``/``"max"``/``"minimize"``/``"maximize"`` (any case) as a direction."""
    direction = _DIRECTION_WORDS.get(value.strip().lower())
    if direction is None:
        raise TaskError(f"direction {value!r} is not one of min, max, minimize, maximize")
    return direction


@dataclass
class MetricInference:
    """An inferred metric: name, direction, one line of evidence, and warnings."""

    name: str
    direction: Direction
    evidence: str
    origin: MetricOrigin = "inferred"
    warnings: list[str] = field(default_factory=list)


def _quote(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _match_words(text: str) -> tuple[str, Direction, str] | None:
    """(name, direction, matched words) of the most frequent metric word of the best tier."""
    for tier in _TIERS:
        best: tuple[int, int, re.Match[str]] | None = None
        for i, (pattern, _, _) in enumerate(tier):
            found = list(re.finditer(pattern, text, re.IGNORECASE))
            if found and (best is None or len(found) > best[0]):
                best = (len(found), i, found[0])
        if best is not None:
            _, name, direction = tier[best[1]]
            return name, direction, best[2].group(0)
    return None


def infer_metric(*texts: str) -> tuple[str, Direction]:
    """Metric name and direction named in the first text that names one; else ("score", max)."""
    for text in texts:
        hit = _match_words(text)
        if hit is not None:
            return hit[0], hit[1]
    return "score", "maximize"


def elapsed_time_evidence(eval_source: str) -> str | None:
    """The timer behind an ``eval.py`` whose ``get_score`` returns an elapsed time, else None.

    Returns a short quote such as ``"end - start" of time.perf_counter()``.
    """
    try:
        tree = ast.parse(eval_source)
    except SyntaxError:
        return None
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    if "get_score" not in functions:
        return None
    # get_score and the module functions it calls (one level deep, as measure() helpers are).
    scope: list[ast.FunctionDef] = [functions["get_score"]]
    for node in ast.walk(functions["get_score"]):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            callee = functions.get(node.func.id)
            if callee is not None and callee not in scope:
                scope.append(callee)
    for function in scope:
        timer = _timer_call(function)
        if timer is None:
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                quote = _elapsed_expression(function, node.value, timer)
                if quote is not None:
                    return f'"{quote}" of {timer}'
    return None


#: What ``1 - x`` is, by what ``x`` is: the complement of an error is an accuracy, and so on.
_COMPLEMENTS: dict[str, tuple[str, Direction]] = {"error": ("accuracy", "maximize"),
                                                  "score": ("error", "minimize")}


def _complement_kind(expression: str) -> str | None:
    """Whether the ``x`` of a returned ``1 - x`` names an error or a score (None: neither)."""
    operand = expression.split("-", 1)[1] if "-" in expression else expression
    if re.search(r"err|mistake|wrong|loss|miss", operand, re.I):
        return "error"
    if re.search(r"acc|score|auc|f1|precision|recall|correct|r2", operand, re.I):
        return "score"
    return None


def complement_evidence(eval_source: str) -> str | None:
    """``get_score`` returns ``1 - x`` (or ``100 - x``): a complement, higher is better (an
    accuracy when ``x`` is an error rate). The quoted expression, else None."""
    try:
        tree = ast.parse(eval_source)
    except SyntaxError:
        return None
    function = next((n for n in ast.walk(tree)
                     if isinstance(n, ast.FunctionDef) and n.name == "get_score"), None)
    if function is None:
        return None
    assigned = {n.targets[0].id: n.value for n in ast.walk(function)
                if isinstance(n, ast.Assign) and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Name)}
    for node in ast.walk(function):
        if not (isinstance(node, ast.Return) and node.value is not None):
            continue
        value, seen = node.value, 0
        while isinstance(value, ast.Name) and value.id in assigned and seen < 5:
            value, seen = assigned[value.id], seen + 1
        if (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Sub)
                and isinstance(value.left, ast.Constant) and value.left.value in (1, 1.0, 100)):
            return ast.unparse(value)
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _timer_call(function: ast.FunctionDef) -> str | None:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            short = name.rsplit(".", 1)[-1]
            if short in _TIMERS and (name == short or name.startswith("time.")):
                return f"{name}()"
            if short in _TIMEIT and (name.startswith("timeit.") or name == short):
                return f"{name}()"
    return None


def _is_timer_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = _call_name(node)
    short = name.rsplit(".", 1)[-1]
    return short in _TIMERS and (name == short or name.startswith("time."))


def _elapsed_expression(function: ast.FunctionDef, value: ast.expr, timer: str) -> str | None:
    """Source of the returned elapsed time, else None.

    The returned value is followed through assignments (and ``float``/``round``/... wrappers)
    to a subtraction whose operands come from a timer call (``end - start`` where
    ``start = time.perf_counter()``), a ratio of one, or a ``timeit`` call. Any other
    subtraction (``1.0 - error``) is not a time, even when the function also times itself.
    """
    assigned: dict[str, ast.expr] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                assigned[target.id] = node.value

    def resolve(expr: ast.expr) -> ast.expr:
        seen = 0
        while isinstance(expr, ast.Name) and expr.id in assigned and seen < 5:
            expr, seen = assigned[expr.id], seen + 1
        return expr

    def from_timer(expr: ast.expr) -> bool:
        return _is_timer_call(resolve(expr))

    value = resolve(value)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.args:
        if value.func.id in {"float", "min", "round", "abs", "mean"}:
            return _elapsed_expression(function, value.args[0], timer)
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Sub):
        return ast.unparse(value) if from_timer(value.left) or from_timer(value.right) else None
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Div):
        inner = _elapsed_expression(function, value.left, timer)
        return ast.unparse(value) if inner else None
    if isinstance(value, ast.Call) and _call_name(value).rsplit(".", 1)[-1] in {"timeit", "repeat"}:
        return ast.unparse(value)
    return None


def infer_folder_metric(folder: Path, eval_text: str, problem_text: str) -> MetricInference:
    """Metric of an MLAgentBench folder from its eval.py, problem text and data descriptions."""
    texts: list[tuple[str, str]] = []
    if eval_text:
        timed = elapsed_time_evidence(eval_text)
        if timed is not None:
            return MetricInference("runtime", "minimize",
                                   f"eval.py: get_score returns {timed} (elapsed time) -> minimize")
        complement = complement_evidence(eval_text)
        kind = _complement_kind(complement) if complement else None
        flipped = _COMPLEMENTS.get(kind) if kind else None
        if flipped is not None:  # "1.0 - error" is an accuracy; "1 - accuracy" an error rate
            name, direction = flipped
            return MetricInference(name, direction,
                                   f'eval.py: get_score returns "{_quote(complement or "")}" '
                                   f"(a complement) -> {name} ({direction})")
        texts.append(("eval.py", eval_text))
    texts.append(("research_problem.txt", problem_text))
    for rel in PROBLEM_FILES[1:]:
        path = folder / rel
        if path.is_file():
            texts.append((path.name, path.read_text(encoding="utf-8", errors="replace")))
    hits = [(source, hit) for source, text in texts if (hit := _match_words(text)) is not None]
    if not hits:
        files = ", ".join(source for source, _ in texts)
        return MetricInference(
            "score", "maximize", f"no metric word in {files}; assumed maximize", "default",
            [f"no word in {files} names the metric or whether lower or higher is better; "
             "ASSUMED MAXIMIZE: pass --direction min|max (and --metric NAME) or add "
             "scripts/task.toml with [metric] name/direction"])
    source, (name, direction, words) = hits[0]
    result = MetricInference(name, direction,
                             f'{source}: "{_quote(words)}" -> {name} ({direction})')
    for other, (o_name, o_direction, o_words) in hits[1:]:
        if o_direction != direction:
            result.warnings.append(
                f'{other} says "{_quote(o_words)}" ({o_name}, {o_direction}) but {source} says '
                f'"{_quote(words)}" ({direction}); kept {direction}: pass --direction min|max '
                "if that is wrong")
            break
    return result
