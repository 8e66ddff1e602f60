"""``mlr-copilot task init``: a task folder from your own CSV / Parquet data."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..options_spec import DIRECTION_CHOICES, TARGET, TEST_SIZE, add_to_parser

EPILOG = """\
examples:
  mlr-copilot task init --data churn.csv --target churned --out tasks/churn
  mlr-copilot task init --data sales.parquet --target revenue --metric mae --out tasks/sales
  mlr-copilot task init --data reviews.csv --target label --test-size 0.25 --out tasks/rev
then:
  mlr-copilot experiment --task tasks/churn --out runs/churn-1

The folder holds task.toml, train.csv, valid.csv, heldout/test.csv (the labelled test split,
never copied into the agent's workspace) and baseline.py (a linear model that reports the
validation metric and writes submission.csv). Without --metric the metric follows the target:
accuracy for balanced classes, balanced_accuracy for imbalanced ones, rmse for a numeric target.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "task",
        parents=[common],
        help="make a task folder from your own data (task init)",
        description="Task folders for 'mlr-copilot experiment --task'.",
    )
    actions = p.add_subparsers(dest="task_action", metavar="ACTION", required=True)
    init = actions.add_parser(
        "init",
        parents=[common],
        help="write a task folder from a CSV or Parquet file and a target column",
        description="Split a CSV / Parquet table into train / valid / held-out test (stratified "
        "for classification, seed 0), choose the task type, metric and direction from the target "
        "(or take --metric / --direction), and write a task.toml folder with a runnable "
        "baseline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument("--data", required=True, metavar="FILE",
                      help="the table: .csv, .tsv, .parquet or .pq")
    add_to_parser(init, (TARGET.but(required=True),))
    init.add_argument("--out", required=True, metavar="DIR",
                      help="the new task folder (must not exist, or be empty)")
    init.add_argument("--metric", metavar="NAME",
                      help="the metric (accuracy, balanced_accuracy, f1, f1_macro, roc_auc, "
                           "log_loss, rmse, mae, r2, ...); default: chosen from the target")
    init.add_argument("--direction", choices=DIRECTION_CHOICES,
                      help="min or max; default: the metric's own")
    add_to_parser(init, (TEST_SIZE,))
    init.add_argument("--json", action="store_true", help="print what was written as JSON")
    init.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from .common import settings_overrides

    copilot = Copilot(**settings_overrides(args))
    result = copilot.task_from_data(args.data, args.target, out=args.out, metric=args.metric,
                                    direction=args.direction, test_size=args.test_size)
    if args.json:
        print(json.dumps({"folder": str(result.folder), "task_type": result.task_type,
                          "metric": result.metric, "direction": result.direction,
                          "reason": result.reason, "rows": result.rows,
                          "notes": result.notes, "choice": result.choice_line()}, indent=2))
        return 0
    print(result.choice_line())
    print(f"task folder: {result.folder}")
    print(f"next: mlr-copilot experiment --task {result.folder} --out runs/{result.name}-1")
    return 0
