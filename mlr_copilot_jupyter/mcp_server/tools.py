"""The MCP tools: each a typed signature (its JSON schema), a description for agents, a dict result."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from ..options_spec import IDEAS_N, MAX_STEPS
from ..types import bundled_tasks
from .runs import STATUS_FIELDS, describe_fields, follow
from .service import PROBLEM_FIELDS, CellAction, Decision, ResearchService

#: ``max_steps`` as the tools take it: the range in the input schema is the spec's, and the
#: spec's one check refuses a value outside it with the same line as the CLI and the magics
MaxSteps = Annotated[int | None, Field(json_schema_extra=MAX_STEPS.json_schema(),
                                       description="search steps after the baseline, "
                                                   f"{MAX_STEPS.low:g}..{MAX_STEPS.high:g}; "
                                                   "default: the task's [budget] max_steps, "
                                                   "else 10")]
#: ``n`` of generate_ideas: the range of ``-n`` (1..20), in the schema and in the one check
IdeasN = Annotated[int, Field(json_schema_extra=IDEAS_N.json_schema())]


#: Tool descriptions made from what the tools really take and return: the bundled tasks on disk,
#: the problem's fields, the status fields (a test holds each to the code).
EXTRACT_PROBLEM = (
    "Extract the research problem of the loaded paper. Needs read_paper first. Returns "
    + ", ".join(f"`{name}`" for name in PROBLEM_FIELDS)
    + " (`related_works`: the related papers found so far, {title, year, url, source}; "
    "generate_ideas searches for them; `engine`: offline or llm:<model>). The problem is saved in the research "
    "state (resource mlr://state) and used by generate_ideas.")
RUN_EXPERIMENT = (
    "Start an experiment in the background and return its run id at once. `task` is a bundled "
    f"task ({', '.join(bundled_tasks())}) or a task folder in the allowed folders; `idea_id` "
    "the idea to test (or free text in `plan`). The agent writes notebook cells, runs them in a "
    "Jupyter kernel, debugs, improves for `max_steps` steps "
    f"({MAX_STEPS.low:g}-{MAX_STEPS.high:g}; default: the task's budget, else 10) and verifies "
    "the best result in a fresh kernel; `seed` (default 0) goes to the record's parameters "
    "cell. `mode=\"approve\"` holds each code cell until decide_cell answers it. `resume` "
    "continues an interrupted run by id. Poll run_status until `report_ready` is true, then "
    "get_report; `wait=true` instead follows the run to its end with progress notifications "
    "(cancelling the request interrupts the run, whose record stays valid and resumable).")
RUN_STATUS = "The state of a run: " + describe_fields(STATUS_FIELDS) + "."


def register_tools(server: MCPServer[Any], service: ResearchService) -> None:
    """Add every tool to ``server``; results pass through the service's redactor."""
    clean = service.redactor.data

    async def in_thread(fn: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args)

    def progress_of(ctx: Context[Any, Any]) -> Any:
        async def report(done: float, total: float | None, message: str) -> None:
            await ctx.report_progress(done, total, service.redactor.text(message))

        return report

    @server.tool()
    async def read_paper(source: str, ctx: Context[Any, Any]) -> dict[str, Any]:
        """Load a research paper and start a new research line with it. `source` is a PDF,
        .txt or .md file inside the server's allowed folders (relative paths are taken from the
        first --root folder), or an arXiv id/URL. Returns the title, abstract, the sections found
        and the engine in use. Call extract_problem next."""
        await ctx.report_progress(0, 1, "reading the paper")
        result = await in_thread(service.read_paper, source)
        await ctx.report_progress(1, 1, "paper loaded")
        return clean(result)

    @server.tool(description=EXTRACT_PROBLEM)
    async def extract_problem(ctx: Context[Any, Any]) -> dict[str, Any]:
        await ctx.report_progress(0, 1, "extracting the research problem")
        result = await in_thread(service.extract_problem)
        await ctx.report_progress(1, 1, "done")
        return clean(result)

    @server.tool()
    async def generate_ideas(ctx: Context[Any, Any], n: IdeasN = IDEAS_N.default,
                             keep_existing: bool = False,
                             semantic_scholar: bool = True) -> dict[str, Any]:
        """Generate `n` (1-20) research ideas for the current problem: each a hypothesis with a
        rationale and an experiment plan, with an id used by decide_idea, run_experiment and
        compare_ideas. Extracts the problem first if needed. `keep_existing` adds to the ideas
        already in the state instead of replacing them. Related works come from Semantic
        Scholar (cached on disk) unless the state holds some or `semantic_scholar` is false;
        offline, one line in `warnings` says so and the ideas come without them. Returns
        `ideas`, `engine`, `related_works` (how many the ideas built on) and `warnings`."""
        await ctx.report_progress(0, n, f"generating {n} ideas")
        result = await in_thread(service.generate_ideas, n, keep_existing, semantic_scholar)
        await ctx.report_progress(n, n, "done")
        return clean(result)

    @server.tool()
    async def review_ideas(ctx: Context[Any, Any]) -> dict[str, Any]:
        """Review every idea in the state (clarity, validity, rigor, innovativeness,
        generalizability, novelty) and rank them, best first. Returns the ranked ideas with their
        scores and the ranking formula."""
        await ctx.report_progress(0, 1, "reviewing ideas")
        result = await in_thread(service.review_ideas)
        await ctx.report_progress(1, 1, "done")
        return clean(result)

    @server.tool()
    async def decide_idea(idea_id: str, action: Decision, comment: str = "",
                          edits: dict[str, str] | None = None) -> dict[str, Any]:
        """Record the researcher's decision on an idea: `accept`, `reject`, `reset` (back to
        pending) or `edit` (change text fields given in `edits`, e.g. {"hypothesis": "..."}; plan
        fields such as "method" or "metric" too). `comment` is kept with the decision. Accepted
        ideas are the ones worth running."""
        return clean(await in_thread(service.decide_idea, idea_id, action, comment, edits))

    @server.tool(description=RUN_EXPERIMENT)
    async def run_experiment(ctx: Context[Any, Any], task: str | None = None,
                             idea_id: str | None = None, plan: str = "",
                             max_steps: MaxSteps = None,
                             mode: Literal["auto", "approve"] = "auto", seed: int | None = None,
                             verify: bool = True, resume: str | None = None,
                             wait: bool = False) -> dict[str, Any]:
        run = await in_thread(lambda: service.start_run(
            task, idea_id=idea_id, plan=plan, max_steps=max_steps, mode=mode, seed=seed,
            verify=verify, resume=resume))
        if wait:
            await follow([run], progress_of(ctx))
            return clean(service.run_status(run.run_id))
        return clean(service.started(run))

    @server.tool(description=RUN_STATUS)
    async def run_status(run_id: str) -> dict[str, Any]:
        return clean(await in_thread(service.run_status, run_id))

    @server.tool()
    async def send_feedback(run_id: str, text: str) -> dict[str, Any]:
        """Send free-text feedback to a running experiment (e.g. "try a smaller learning
        rate"); the agent reads it in its next step and the record keeps it."""
        return clean(await in_thread(service.send_feedback, run_id, text))

    @server.tool()
    async def decide_cell(run_id: str, action: CellAction, code: str | None = None,
                          comment: str = "") -> dict[str, Any]:
        """Answer the code cell a run in approve mode is waiting on (see run_status
        `pending_approval`): `approve` runs it, `edit` runs `code` instead, `reject` skips it and
        tells the agent `comment`. Refused when the server was started with --human-approval."""
        return clean(await in_thread(service.decide_cell, run_id, action, code, comment))

    @server.tool()
    async def stop_run(run_id: str, ctx: Context[Any, Any],
                       timeout: float = 120.0) -> dict[str, Any]:
        """Stop a run after its current cell (a cell waiting for approval is rejected), wait up
        to `timeout` seconds for the report, and return the run's status. The record notebook
        and journal stay valid; run_experiment(resume=run_id) continues it."""
        run = await in_thread(service.stop_run, run_id)
        with anyio.move_on_after(max(1.0, timeout)):
            await follow([run], progress_of(ctx))
        return clean(service.run_status(run_id))

    @server.tool()
    async def compare_ideas(ctx: Context[Any, Any], task: str, idea_ids: list[str],
                            max_steps: MaxSteps = None,
                            seed: int | None = None) -> dict[str, Any]:
        """Run each idea as its own experiment on the same task, in parallel (`max_steps` and
        `seed` as for run_experiment), and return a comparison table (baseline, best verified metric per idea, the winner). Waits for every
        run, with progress notifications; cancelling the request interrupts all of them and
        leaves each record valid. Each run is also reachable by its run id."""
        if not idea_ids:
            raise ValueError("idea_ids is empty: give at least one idea id")
        runs: list[Any] = []
        try:
            for idea_id in idea_ids:
                runs.append(await in_thread(lambda i=idea_id: service.start_run(
                    task, idea_id=i, plan="", max_steps=max_steps, mode="auto", seed=seed,
                    verify=True, resume=None)))
        except BaseException:
            for run in runs:
                run.cancel()
            raise
        await follow(runs, progress_of(ctx))
        return clean(service.comparison(runs, idea_ids))

    @server.tool()
    async def get_report(run_id: str) -> dict[str, Any]:
        """The run's report (markdown: result, verified metric, steps) and the paths of its
        record notebook and journal, also readable as resources mlr://runs/<run_id>/.... Ready
        when run_status says `report_ready: true` (an error before)."""
        return clean(await in_thread(service.report, run_id))

    @server.tool()
    async def batch(ctx: Context[Any, Any], notebooks: list[str],
                    params: dict[str, list[Any]] | None = None, out: str | None = None,
                    workers: int = 2) -> dict[str, Any]:
        """Re-run notebooks (e.g. experiment records) with papermill over a parameter grid
        (`params`: name -> list of values, cartesian product) and return one row per execution
        with its metrics. Notebooks and `out` must be inside the allowed folders."""
        await ctx.report_progress(0, 1, f"running {len(notebooks)} notebook(s) over the grid")
        result = await in_thread(service.batch, notebooks, params, out, workers)
        await ctx.report_progress(1, 1, "done")
        return clean(result)
