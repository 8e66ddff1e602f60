"""Generate the example notebooks of this folder with nbformat (outputs stripped).

The notebooks are written from the cell lists below, so a review reads this file and a change is
made here, never in the .ipynb files:

    python example_notebooks/_make_notebooks.py          # rewrite the notebooks
    python example_notebooks/_make_notebooks.py --check  # exit 1 if a notebook is out of date

Cells tagged ``check-*`` carry the outputs that ``tests/e2e/test_example_notebooks.py`` asserts on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import nbformat

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

Cell = tuple[str, str, tuple[str, ...]]  # (cell_type, source, tags)


def md(source: str) -> Cell:
    return ("markdown", source.strip("\n"), ())


def code(source: str, *tags: str) -> Cell:
    return ("code", source.strip("\n"), tags)


LOCATE_DEMO_PAPER = """\
import pathlib
import mlr_copilot_jupyter

DEMO_PAPER = pathlib.Path(mlr_copilot_jupyter.__file__).parent / "data" / "demo_paper.md"
DEMO_PAPER.name"""

# -- 01 ------------------------------------------------------------------------------------------
QUICKSTART = [
    md("""
# 01 · Quick start: paper → problem → ideas → experiment → record

This notebook walks the three stages of MLR-Copilot ([arXiv 2408.14033](https://arxiv.org/abs/2408.14033))
on the paper-like text bundled with the package and the bundled `digits` task. It runs **offline**:
without an LLM endpoint the copilot uses its offline engine (heuristics, no language model) and
says so. Notebook 02 shows how to point it at an LLM; nothing else here changes.

Runs and the research state go to `runs/` next to this notebook (`MLRCopilot.run_dir`)."""),
    md("""
## 1. Load the extension and look at the configuration

`%load_ext` registers the `%mlr_*` magics. `%mlr_config` shows the backend, model, base URL and
whether an API key is set (never the key itself)."""),
    code("%load_ext mlr_copilot_jupyter"),
    code("%mlr_config"),
    md("""
## 2. Read a paper (IdeaAgent, step 1)

`%mlr_paper` accepts a PDF, a `.txt`/`.md` file, an arXiv id or a URL. Here it is the demo paper
shipped with the package. The card shows the extracted research problem: the task definition,
research gaps and keywords."""),
    code(LOCATE_DEMO_PAPER),
    code("%mlr_paper {DEMO_PAPER}", "check-problem"),
    md("""
`%mlr_problem` shows the problem again (`%mlr_problem --edit` puts it into the next cell as YAML to
edit; `--json` prints it as JSON)."""),
    code("%mlr_problem"),
    md("""
## 3. Generate and review ideas (IdeaAgent, step 2)

`%mlr_idea -n 4` proposes four hypotheses, each with an experiment plan, then reviews and ranks
them (offline the scores are labelled *heuristic*)."""),
    code("%mlr_idea -n 4", "check-ideas"),
    md("""
## 4. The review board

`%mlr_review` opens one card per idea with Accept / Reject / Edit / reorder buttons and
"Run experiment". Every click is saved to `runs/state.json` at once; the Markdown summary below the
board keeps the decisions visible in a saved notebook."""),
    code("%mlr_review"),
    md("""
In a headless run (nbclient, papermill, CI) nobody clicks, so accept the top-ranked idea with
`%mlr_review --accept top` (`--reject ID` and `--comment TEXT` work the same way; the CLI has
`mlr-copilot review --accept top`). The decision is saved to `runs/state.json` like a click."""),
    code('%mlr_review --accept top --comment "top-ranked; accepted by the quick start"'),
    md("""
## 5. Run the experiment (ExperimentAgent + execution)

The accepted plan becomes notebook cells that run in a separate, fresh Jupyter kernel: a baseline,
drafts, improvements (and debugging when a cell fails). The best result is re-run from a fresh kernel
before it is reported. Without `--idea ID` the run takes the accepted idea. Without `--wait` the
cell returns at once and the monitor updates live; `--wait` blocks and prints the summary, which is
what a headless run needs."""),
    code("%mlr_experiment --task digits --max-steps 4 --wait", "check-experiment"),
    md("""
## 6. The record

Everything the run did is in `experiment.ipynb` (re-runnable with papermill, no LLM), next to
`journal.json`, `report.md` and `metric.png`. `_mlr_run` is the handle of the last run. Each generated
cell carries `mlr_copilot` metadata: which node of the search it belongs to, its parent, stage,
status and metric."""),
    code("""\
import nbformat
import pandas as pd

summary = _mlr_run.summary
record = nbformat.read(summary["record"], as_version=4)
cells = pd.DataFrame(
    [{"cell": k, "type": c.cell_type, **c.metadata["mlr_copilot"]}
     for k, c in enumerate(record.cells)
     if c.cell_type in ("code", "raw") and "mlr_copilot" in c.metadata]
)
cells.convert_dtypes()[[c for c in ["cell", "type", "node_id", "parent", "stage", "step", "status", "metric",
                   "recipe", "elapsed"] if c in cells]]""", "check-metadata"),
    md("The report, as written to `report.md`:"),
    code("""\
from IPython.display import Image, Markdown

report = pathlib.Path(summary["report"]).read_text()
Markdown(report.split("![metric per step]")[0])  # the plot follows as an image"""),
    code('Image(filename=summary["plot"])'),
    md("""
Next: `02_openai_compatible.ipynb` (use an LLM), `03_batch_and_seeds.ipynb` (re-run a record over
seeds), `04_mlagentbench_task.ipynb` (your own task in the MLAgentBench layout)."""),
]

# -- 02 ------------------------------------------------------------------------------------------
OPENAI_COMPATIBLE = [
    md("""
# 02 · Pointing the copilot at an OpenAI-compatible LLM

The copilot talks to any server that speaks the OpenAI chat-completions protocol. It is configured
by environment variables: set them before starting Jupyter, or with `os.environ[...]` in the first
cell, before `%load_ext mlr_copilot_jupyter`:

| You use | Set |
| --- | --- |
| OpenAI | `OPENAI_API_KEY=sk-...`, optionally `MLR_COPILOT_MODEL=gpt-4o` (default `gpt-4o-mini`) |
| vLLM | `OPENAI_BASE_URL=http://localhost:8000/v1`, `MLR_COPILOT_MODEL=<served model>` |
| Ollama | `OPENAI_BASE_URL=http://localhost:11434/v1`, `MLR_COPILOT_MODEL=llama3.1` |
| llama.cpp server | `OPENAI_BASE_URL=http://localhost:8080/v1` (LM Studio: `:1234/v1`) |

Local servers need no key. `MLR_COPILOT_BACKEND` is `auto` (an LLM when a key or base URL is set,
else the offline engine), `openai` or `offline`. The key is read from the environment when a request
is made: it is never a setting and never written to notebooks, logs or run folders.

Every cell that needs a server checks for one first, so this notebook also runs (and skips those
cells) without one."""),
    md("""
## 1. Is an LLM endpoint configured?

`Copilot().settings.resolved_backend()` is `"openai"` when a key or base URL is set (and the backend
is not forced to `offline`)."""),
    code("""\
import os

from mlr_copilot_jupyter import Copilot

# To use a local server from here, uncomment (before anything else runs):
# os.environ["OPENAI_BASE_URL"] = "http://localhost:11434/v1"   # Ollama
# os.environ["MLR_COPILOT_MODEL"] = "llama3.1"

HAVE_LLM = Copilot().settings.resolved_backend() == "openai"
SKIPPED = ("skipped: no LLM endpoint configured (set OPENAI_BASE_URL for a local server such as "
           "vLLM, Ollama or llama.cpp, or OPENAI_API_KEY for OpenAI, then restart the kernel)")
print("LLM endpoint configured" if HAVE_LLM else "no LLM endpoint: the offline engine will be used")""",
         "check-have-llm"),
    md("""
## 2. The status table

`%mlr_config` shows what is configured. `--check` sends one tiny request and reports latency and
tokens; it needs a server, so it is guarded."""),
    code("""\
%load_ext mlr_copilot_jupyter
%mlr_config"""),
    code("""\
if HAVE_LLM:
    get_ipython().run_line_magic("mlr_config", "--check")
else:
    print(SKIPPED)""", "check-skip"),
    md("""
## 3. Settings are traitlets: `%config`

Any setting can be changed for this kernel with `%config`, which wins over the environment:

```python
%config MLRCopilot.model = "gpt-4o"
%config MLRCopilot.base_url = "http://localhost:8000/v1"
%config MLRCopilot.temperature = 0.2
%config MLRCopilot.api_key_env = "MY_GATEWAY_KEY"   # a key in another variable
```

Here the model is set to what the environment says (or the default), so the notebook does not
change your set-up; the right-hand side of `%config` is a Python expression."""),
    code("""\
MODEL = os.environ.get("MLR_COPILOT_MODEL") or "gpt-4o-mini"
%config MLRCopilot.model = MODEL
%config MLRCopilot.temperature = 0.2
%mlr_config"""),
    md("`%config MLRCopilot` lists every setting with its help text:"),
    code("%config MLRCopilot"),
    md("""
## 4. One LLM call through the Python API

`copilot.query()` is the single call every agent uses. With a pydantic model as `schema` the reply
is validated (`reply.parsed`); the copilot re-asks with the validation error if needed."""),
    code("""\
from pydantic import BaseModel


class Verdict(BaseModel):
    answer: str
    confidence: float


if HAVE_LLM:
    copilot = Copilot()
    reply = copilot.query("Is feature scaling needed for an RBF SVM? Answer briefly.",
                          schema=Verdict)
    print(reply.parsed, f"({reply.latency:.2f} s, {reply.usage.total_tokens} tokens)")
else:
    print(SKIPPED)"""),
    md("""
## 5. The quick start, with an LLM

With an endpoint configured, the magics of notebook 01 use it: the problem is extracted by the LLM,
ideas are generated as hypotheses first and then plans (several chains concurrently), and the
experiment cells are written by the model."""),
    code("""\
if HAVE_LLM:
    import pathlib

    import mlr_copilot_jupyter

    paper = pathlib.Path(mlr_copilot_jupyter.__file__).parent / "data" / "demo_paper.md"
    get_ipython().run_line_magic("mlr_paper", str(paper))
    get_ipython().run_line_magic("mlr_idea", "-n 2")
else:
    print(SKIPPED)"""),
]

# -- 03 ------------------------------------------------------------------------------------------
BATCH_AND_SEEDS = [
    md("""
# 03 · Re-running a record over seeds

A run's record, `experiment.ipynb`, re-runs without an LLM: failed or rejected code is kept as raw
cells, and the first code cell is tagged `parameters` (`seed`, `data_dir`). So papermill can re-run
the search's result with other seeds, which is how you check that an improvement is not luck."""),
    md("""
## 1. A short experiment

Two steps on the bundled `wine` task, offline, into `runs/batch_demo`. This notebook keeps its
research state in its own folder (`MLRCopilot.run_dir`), so an idea accepted in notebook 01 is not
picked up here: with no idea, the plan is the task's description."""),
    code("""\
%load_ext mlr_copilot_jupyter
%config MLRCopilot.run_dir = "runs/03_state"
"""),
    code("%mlr_experiment --task wine --max-steps 2 --wait --out runs/batch_demo"),
    md("""
## 2. Batch over seeds

`%mlr_batch` executes the record once per seed with papermill, two executions at a time
(`--workers 2`; `--scheduler local` or `tcp://...` uses Dask instead). Each execution's notebook goes
to `runs/batch_seeds/`; `results.csv` has one row per execution with the metrics it reported,
`summary.csv` the mean and standard error per configuration, and `summary.png` the plot shown below.
The same batch is `mlr-copilot batch ... -p seed 0 1 2` on the command line, or
`mlr_copilot_jupyter.batch.batch(notebook, {"seed": [0, 1, 2]}, out=...)` in Python."""),
    code("""\
results = %mlr_batch runs/batch_demo/experiment.ipynb -p seed 0 1 2 --workers 2 --out runs/batch_seeds""",
         "check-batch"),
    md("""
The magic returns the results table, one row per execution. Its metric column is the last value
each re-run reported, i.e. that of the record's last successful node (`--metric-agg max` takes the
best one instead)."""),
    code("""\
metric = _mlr_run.summary["metric"]
results[["seed", "status", "elapsed_s", metric]]""", "check-results"),
]

# -- 04 ------------------------------------------------------------------------------------------
MLAGENTBENCH_TASK = [
    md("""
# 04 · Your own task in the MLAgentBench layout

MLR-Copilot evaluates on MLAgentBench tasks. A task folder in that layout is:

```text
my_task/
  env/train.py                      # the baseline the agent starts from, and the data files
  scripts/research_problem.txt      # what to improve
  scripts/eval.py                   # get_score(submission_folder) -> float
  scripts/read_only_files.txt       # files the agent must not change
```

`eval.py` holds the test labels, so the search never sees its score: nodes are compared on a
validation metric, and `eval.py` scores the baseline and the verified best node once, on the
held-out test. This notebook builds such a folder from scikit-learn's bundled breast cancer data
(no download)."""),
    md("""
## 1. Data: a fixed train/test split

The test labels go only to `scripts/answers.csv`, which `eval.py` reads: `test.csv` in the
agent's workspace (`env/`) has the features alone, so no step can select on the test labels. The
offline engine finds the label column as the one that `train.csv` has and `test.csv` lacks."""),
    code("""\
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

TASK = Path("runs/mlab_breast_cancer")
(TASK / "env").mkdir(parents=True, exist_ok=True)
(TASK / "scripts").mkdir(exist_ok=True)

data = load_breast_cancer(as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
train, test = train_test_split(data, test_size=0.3, random_state=0, stratify=data["target"])
train.to_csv(TASK / "env" / "train.csv", index=False)
test.drop(columns=["target"]).to_csv(TASK / "env" / "test.csv", index=False)  # no labels
test[["target"]].to_csv(TASK / "scripts" / "answers.csv", index=False)
print(f"{len(train)} training rows, {len(test)} test rows, {data.shape[1] - 1} features")"""),
    md("""
## 2. A deliberately weak baseline, `env/train.py`

A depth-1 tree on one feature; it writes its predictions for `test.csv` to `submission.csv`."""),
    code('''\
%%writefile runs/mlab_breast_cancer/env/train.py
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
features = [c for c in train.columns if c != "target"][:1]
model = DecisionTreeClassifier(max_depth=1, random_state=0)
model.fit(train[features], train["target"])
pd.DataFrame({"prediction": model.predict(test[features])}).to_csv("submission.csv", index=False)
print("wrote submission.csv")'''),
    md("## 3. The scorer, `scripts/eval.py`: accuracy of `submission.csv` against the answers"),
    code('''\
%%writefile runs/mlab_breast_cancer/scripts/eval.py
import os

import pandas as pd


def get_score(submission_folder="../env"):
    answers = pd.read_csv(os.path.join(os.path.dirname(__file__), "answers.csv"))
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    return float((submission["prediction"].values == answers["target"].values).mean())'''),
    md("## 4. The research problem and the read-only files"),
    code("""\
(TASK / "scripts" / "research_problem.txt").write_text(
    "Predict whether a tumour is malignant from cell measurements in train.csv. Improve the "
    "accuracy of train.py's predictions for test.csv, written to submission.csv.\\n")
(TASK / "scripts" / "read_only_files.txt").write_text("train.csv\\ntest.csv\\n")
sorted(str(p.relative_to(TASK)) for p in TASK.rglob("*") if p.is_file())"""),
    md("""
## 5. Run the experiment on the folder

`--task` takes the folder. The baseline node runs `train.py` as it is. It prints no validation
metric, and the task has no dev file, so the copilot reruns it once with 20% of `train.csv`
carved out as validation rows (seed 0) in place of `test.csv` and scores what it predicts. Later
nodes report their own validation metric (`report_metric()`); `eval.py` scores the submissions
of the baseline and of the verified best node. (As in notebook 03, this notebook keeps its
research state in its own `run_dir`.)"""),
    code("""\
%load_ext mlr_copilot_jupyter
%config MLRCopilot.run_dir = "runs/04_state"
%mlr_experiment --task runs/mlab_breast_cancer --max-steps 3 --wait"""),
    md("""
## 6. Who scored the nodes?

`journal.json` is the search tree. Its `metric_source` field says where each validation metric
came from: the baseline's validation replay, else `MLR_METRIC` (the line `report_metric()`
prints); `test_metric` is `eval.py`'s score, for the baseline and the verified best node only."""),
    code("""\
import json

import pandas as pd

summary = _mlr_run.summary
journal = json.loads(Path(summary["journal"]).read_text())
nodes = pd.DataFrame(journal["nodes"])
display(nodes[["id", "kind", "parent", "title", "status", "metric", "metric_source", "test_metric"]])
print("selected on:", journal["selection"], "-", journal["validation"])
print("metric sources:", ", ".join(sorted(set(nodes["metric_source"].dropna()) - {""})))
print(f"validation: baseline {summary['baseline_metric']:.4f} -> best verified "
      f"{summary['best_metric']:.4f}: improvement {summary['relative_improvement']:+.1%}")
print(f"held-out test (eval.py): baseline {summary['baseline_test_metric']:.4f} -> best "
      f"{summary['best_test_metric']:.4f}: improvement {summary['test_improvement']:+.1%}")""",
         "check-eval"),
    md("""
The data files listed in `read_only_files.txt` are checked: the run's workspace copy is compared
with the original after every cell (`read_only.sha256.json` in the run folder)."""),
]

# -- 05 ------------------------------------------------------------------------------------------
MCP_SERVER = [
    md("""
# 05 · The copilot as an MCP server, driven like an agent would

`mlr-copilot mcp` serves the copilot over the Model Context Protocol, so a general agent (Jupyter
AI, Claude Code, notebook-intelligence, Cursor, ...) can read a paper, generate and review ideas
and run verified experiments. This notebook plays that agent with the official `mcp` SDK client:
it starts the server over stdio, lists its tools, walks paper → ideas → experiment, polls the run
and reads the record as a resource. It runs offline (the offline engine; no LLM).

How to register the server with your agent (config snippets for Claude Code,
notebook-intelligence and Jupyter AI) is in the README, section *Use it from your own agent (MCP)*."""),
    md("""
## 1. The server command

The client starts `mlr-copilot mcp` itself (stdio). `--root .` lets it read files in this folder
only; runs go to `runs/05_mcp`. The demo paper is copied next to this notebook so that it is inside
the allowed folder."""),
    code("""\
import os
import pathlib
import shutil
import sys

import mlr_copilot_jupyter
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

pathlib.Path("runs").mkdir(exist_ok=True)
PAPER = shutil.copy(pathlib.Path(mlr_copilot_jupyter.__file__).parent / "data" / "demo_paper.md",
                    "runs/05_demo_paper.md")
SERVER = StdioServerParameters(
    command=sys.executable, args=["-m", "mlr_copilot_jupyter", "mcp", "--root", "."],
    env={**os.environ, "MLR_COPILOT_RUN_DIR": "runs/05_mcp"}, cwd=os.getcwd())
SERVER_LOG = open("runs/05_mcp_server.log", "w")  # the server's stderr (a kernel has no fd for it)


async def call(session, tool, **arguments):
    \"\"\"One tool call; its structured result, or the server's one-line error.\"\"\"
    result = await session.call_tool(tool, arguments)
    if result.is_error:
        return "error: " + result.content[0].text
    return result.structured_content"""),
    md("""
## 2. An agent's session

Tools carry JSON schemas and descriptions written for agents; results are structured (JSON).
`run_experiment` returns a run id at once; the agent polls `run_status` (progress, best metric,
last node) and then reads the report and the record notebook (`mlr://runs/<id>/experiment.ipynb`)."""),
    code("""\
import asyncio
import json

async with stdio_client(SERVER, errlog=SERVER_LOG) as (read, write), ClientSession(read, write) as session:
    await session.initialize()
    tools = (await session.list_tools()).tools
    print("tools:", ", ".join(t.name for t in tools))
    paper = await call(session, "read_paper", source=PAPER)
    print("paper:", paper["title"])
    problem = await call(session, "extract_problem")
    print("problem:", problem["task_definition"][:160], "...")
    await call(session, "generate_ideas", n=3)
    ranked = (await call(session, "review_ideas"))["ideas"]
    top = ranked[0]
    print(f"top idea: [{top['id']}] {top['title']} (overall {top['overall']:.2f})")
    await call(session, "decide_idea", idea_id=top["id"], action="accept", comment="agent's pick")
    started = await call(session, "run_experiment", task="digits", idea_id=top["id"], max_steps=1)
    run_id = started["run_id"]
    print("run started:", run_id)
    while not (status := await call(session, "run_status", run_id=run_id))["done"]:
        progress = status["progress"]
        print(f"  {progress['nodes']} node(s), {progress['steps_done']}/{progress['max_steps']} steps")
        await asyncio.sleep(2)
    print("status:", status["status"], "| best", status["metric"], status["best"]["metric"])
    report = await call(session, "get_report", run_id=run_id)
    record = await session.read_resource(f"mlr://runs/{run_id}/experiment.ipynb")
    refused = await call(session, "read_paper", source="../../etc/passwd")

print(report["markdown"].split("|")[0])
nb = json.loads(record.contents[0].text)
print(f"record: {len(nb['cells'])} cells, nbformat {nb['nbformat']}.{nb['nbformat_minor']}")
print(refused)""", "check-mcp"),
    md("""
The last line is the server refusing a path outside its folders: one line, no traceback, and the
session went on. Over HTTP the same tools are at `http://127.0.0.1:PORT/mcp`
(`mlr-copilot mcp --http 127.0.0.1:8765`); any other address needs `--token`."""),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_openai_compatible.ipynb": OPENAI_COMPATIBLE,
    "03_batch_and_seeds.ipynb": BATCH_AND_SEEDS,
    "04_mlagentbench_task.ipynb": MLAGENTBENCH_TASK,
    "05_mcp_server.ipynb": MCP_SERVER,
}


def build(name: str, cells: list[Cell]) -> Any:
    """The notebook ``name`` from its cells, with stable cell ids and no outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    stem = name.split("_", 1)[0]
    for k, (kind, source, tags) in enumerate(cells):
        cell = (nbformat.v4.new_markdown_cell(source) if kind == "markdown"
                else nbformat.v4.new_code_cell(source))
        cell.id = f"nb{stem}-{k:02d}"
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    return nbformat.writes(build(name, NOTEBOOKS[name])) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="Only compare: exit 1 when a notebook differs from this script.")
    parser.add_argument("--out", type=Path, default=HERE, help="Folder (default: this one).")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path, text = args.out / name, render(name)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python {Path(__file__).name})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
