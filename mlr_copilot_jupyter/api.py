"""``Copilot``: the one facade that the magics, CLI and widgets call."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .api_ideas import IdeaAgentMethods
from .config import MLRCopilot, StatusTable
from .errors import InputError
from .llm import Backend, Reply, UsageMeter, backends, get_backend
from .llm.base import Message, usage_scope
from .models import Idea
from .options_spec import BatchOptions, ExperimentOptions, RunKeywords
from .state import STATE_FILE, ComparisonRef, ResearchState, RunRef

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .batch import BatchResult
    from .bench import BenchPlan, BenchReport
    from .compare.background import ComparisonRun
    from .compare.session import ComparisonResult
    from .experiment.agent import ExperimentAgent
    from .experiment.background import BackgroundRun
    from .experiment.from_data import TaskFromData
    from .experiment.report import RunSummary
    from .retrieval import RetrievalResult


class Copilot(IdeaAgentMethods):
    """A research copilot session: settings, the LLM backend, the research state, usage.

    Parameters
    ----------
    settings
        An :class:`MLRCopilot` configurable; by default one built from environment variables.
    announce_to
        Where to say (once per process) that the offline engine is in use; default stderr.
    **overrides
        Setting values that win over the environment, e.g. ``model="gpt-4o"``.
    """

    def __init__(
        self,
        settings: MLRCopilot | None = None,
        *,
        announce_to: TextIO | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings or MLRCopilot()
        for name, value in overrides.items():
            if value is not None:
                setattr(self.settings, name, value)
        self._announce_to = announce_to
        self._backend: Backend | None = None
        self._backend_key: tuple[Any, ...] | None = None
        self._state: ResearchState | None = None
        self._state_path: Path | None = None
        self._pinned_path: Path | None = None
        self.usage = UsageMeter()
        self.warnings: list[str] = []
        #: Serialises state writes (a comparison's driver thread publishes while the UI decides).
        self.state_lock = threading.RLock()

    # -- backend ---------------------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        """The backend for the current settings (rebuilt when the settings change)."""
        s = self.settings
        key = (s.resolved_backend(), s.model, s.base_url, s.api_key_env, s.request_timeout,
               s.max_retries, s.concurrency)
        if self._backend is None or key != self._backend_key:
            if self._backend is not None:
                self._backend.close()  # its HTTP clients belong to the old settings
            self._backend = get_backend(s)
            self._backend_key = key
            self._backend.announce(self._announce_to or sys.stderr)
        return self._backend

    def close(self) -> None:
        """Close the backend's HTTP clients (a later call opens new ones)."""
        if self._backend is not None:
            self._backend.close()

    def __enter__(self) -> Copilot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self) -> StatusTable:
        """Backend, model, base URL and whether a key is set (never the key)."""
        return self.settings.status_table(backends.status_notes(self.settings.resolved_backend()))

    def query(self, messages: Sequence[Message] | str, **kwargs: Any) -> Reply[Any]:
        """One LLM call through the configured backend, counted in :attr:`usage`."""
        with usage_scope(self.usage):
            return self.backend.query(messages, **kwargs)

    async def aquery(self, messages: Sequence[Message] | str, **kwargs: Any) -> Reply[Any]:
        """Async twin of :meth:`query`."""
        with usage_scope(self.usage):
            return await self.backend.aquery(messages, **kwargs)

    # -- research state --------------------------------------------------------------------
    @classmethod
    def for_state(cls, state: ResearchState, state_path: str | os.PathLike[str],
                  **kwargs: Any) -> Copilot:
        """A session over a given research state saved to ``state_path`` (e.g. a review board
        built from a state in memory); the run directory setting does not move it."""
        copilot = cls(**kwargs)
        copilot._pinned_path = copilot._state_path = Path(state_path)
        copilot._state = state
        return copilot

    @property
    def state_path(self) -> Path:
        if self._pinned_path is not None:
            return self._pinned_path
        return self.settings.run_path() / STATE_FILE

    @property
    def state(self) -> ResearchState:
        """The research state of the run directory (loaded lazily, reloaded if the folder changes)."""
        if self._state is None or self._state_path != self.state_path:
            self._state_path = self.state_path
            self._state = ResearchState.load(self._state_path)
        return self._state

    def save_state(self) -> Path:
        with self.state_lock:
            return self.state.save(self.state_path)

    def record_comparison(self, comparison: ComparisonRef, runs: Sequence[RunRef] = ()) -> None:
        """Put a comparison's status (and the runs of its ideas that ended) in the research
        state and save it; a running comparison calls this at every change."""
        with self.state_lock:
            self.state.upsert_comparison(comparison)
            for run in runs:
                self.state.upsert_run(run)
            self.save_state()

    # -- batch -----------------------------------------------------------------------------
    def batch(self, notebooks: Sequence[str | os.PathLike[str]],
              params: dict[str, list[Any]] | None = None, *, out: str | os.PathLike[str],
              grid_file: str | os.PathLike[str] | None = None, workers: int = 2,
              scheduler: str | None = None, kernel_name: str | None = None,
              timeout: float | None = None, retries: int = 0, metric_agg: str = "last",
              progress: bool = True, sandbox: str | None = None,
              sandbox_network: bool | None = None) -> Any:
        """Re-run notebooks with papermill over a parameter grid; returns the results DataFrame
        (one row per execution in ``out``; the other options as :func:`batch.batch`'s, the
        sandbox by default the settings')."""
        from .batch import batch

        return batch([Path(n) for n in notebooks], params, out=Path(out),
                     grid_file=Path(grid_file) if grid_file is not None else None,
                     workers=workers, scheduler=scheduler, kernel_name=kernel_name,
                     timeout=timeout, retries=retries, metric_agg=metric_agg, progress=progress,
                     sandbox=sandbox or self.settings.sandbox,  # the MCP server's require, ...
                     sandbox_network=(self.settings.sandbox_network if sandbox_network is None
                                      else sandbox_network))

    @staticmethod
    def batch_from_options(options: BatchOptions, warn: Callable[[str], None]) -> BatchResult:
        """Run the batch that ``%mlr_batch`` / ``mlr-copilot batch`` describe (typed
        :class:`~.options_spec.BatchOptions`); returns its :class:`~.types.BatchResult`.
        Needs no LLM session, so the CLI calls it without building one."""
        from .batch import run_options

        return run_options(options, warn)

    # -- ExperimentAgent -------------------------------------------------------------------
    def _resolve_idea(self, idea: Idea | str | None) -> Idea | None:
        if idea is None or isinstance(idea, Idea):
            return idea
        return self.state.idea(idea)

    def prepare_experiment(
        self,
        task: str | os.PathLike[str],
        *,
        idea: Idea | str | None = None,
        plan: str = "",
        out: str | os.PathLike[str] | None = None,
        resume: str | os.PathLike[str] | None = None,
        hooks: Any = None,
        metric: str | None = None,
        direction: str | None = None,
        context: str = "",
        options: ExperimentOptions | None = None,
        **keywords: Unpack[RunKeywords],
    ) -> ExperimentAgent:
        """An :class:`ExperimentAgent` ready to run (new run in ``out`` or ``resume`` an old one).

        ``options`` (an :class:`~.options_spec.ExperimentOptions`, what every surface builds)
        are the run's options; its fields may also be given as keywords (``max_steps=3``,
        ``seed=1``, ``sandbox="off"``, ...), which win over ``options``.
        ``metric`` / ``direction`` ("min", "max", "minimize", "maximize") override the task's
        metric for a new run (``Task.with_metric``); a resumed run keeps the metric it has.
        ``context`` is notebook context the researcher agreed to send (into every step's prompt
        and, verbatim, into the record and journal); a resumed run keeps its own.
        """
        from .experiment.agent import RunOptions
        from .experiment.runner import create_run, resume_run
        from .experiment.task import check_metric_override, load_task

        chosen_options = (options or ExperimentOptions()).with_keywords(keywords)
        check_metric_override(metric, direction)
        if resume is not None and (metric is not None or direction is not None):
            raise InputError("--metric/--direction apply to a new run; a resumed run keeps "
                             "the metric it started with")
        if resume is not None and context:
            raise InputError("--context applies to a new run; a resumed run keeps its own")
        if resume is not None and (kept := chosen_options.new_run_only()):
            raise InputError(f"{', '.join(kept)} {'applies' if len(kept) == 1 else 'apply'} to a "
                             "new run; a resumed run keeps its own")
        limits = self._limits(chosen_options)
        sandbox = self.sandbox_options(chosen_options)
        if resume is not None:  # the sandbox is chosen afresh: this process's kernels
            return resume_run(Path(resume), self.backend, hooks=hooks,
                              max_steps=chosen_options.max_steps, limits={**limits, **sandbox})
        loaded = load_task(os.fspath(task)).with_metric(metric, direction)
        # options left unset take the task's [budget] in the runner (fill_task_defaults)
        run_options = RunOptions(**{**chosen_options.given(), **limits, **sandbox})
        run_options.extra_env_deny = (*run_options.extra_env_deny, self.settings.api_key_env)
        if loaded.metric_origin in ("inferred", "default"):
            from .aio import run_sync
            from .experiment.metric_infer import confirm_metric

            # an LLM checks the reading against eval.py; the offline engine keeps it
            loaded = run_sync(confirm_metric(loaded, self.backend))
        chosen = self._resolve_idea(idea)
        return create_run(loaded, self.backend, run_root=self.settings.run_path(),
                          options=run_options, idea=chosen, plan_text=plan,
                          paper=self.state.paper, problem=self.state.problem, hooks=hooks,
                          run_dir=Path(out) if out else None, context=context)

    def task_from_data(self, data: Any, target: str, *, out: str | os.PathLike[str] | None = None,
                       source: str | None = None, metric: str | None = None,
                       direction: str | None = None,
                       test_size: float | str | None = None) -> TaskFromData:
        """Write a task folder from a DataFrame or a CSV / Parquet path; returns a
        :class:`~.experiment.from_data.TaskFromData` (``.folder``, ``.choice_line()``).

        ``out`` defaults to ``<run dir>/tasks/<name>-<timestamp>``; ``metric``, ``direction``
        and ``test_size`` override what the data suggests (see
        :func:`~.experiment.from_data.task_from_data`).
        """
        from datetime import datetime

        from .experiment.from_data import task_from_data, task_name

        if out is None:
            label = source or (str(data) if isinstance(data, (str, os.PathLike)) else "data")
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            out = self.settings.run_path() / "tasks" / f"{task_name(label)}-{stamp}"
        return task_from_data(data, target, Path(out), source=source, metric=metric,
                              direction=direction, test_size=test_size)

    def sandbox_options(self, options: ExperimentOptions | dict[str, Any]) -> dict[str, Any]:
        """``sandbox`` / ``sandbox_network`` of a run: the given ones, else the settings'.

        ``require`` without a working bubblewrap raises :class:`~.errors.SandboxError` here,
        before any run folder is written."""
        from .experiment.runtime import run_sandbox

        given = options.given() if isinstance(options, ExperimentOptions) else options
        mode = given.get("sandbox") or self.settings.sandbox
        network = bool(given.get("sandbox_network") or self.settings.sandbox_network)
        run_sandbox(mode, network)
        return {"sandbox": mode, "sandbox_network": network}

    def _limits(self, options: ExperimentOptions) -> dict[str, Any]:
        """Budgets of a run: the given ones (--token-budget ...), else the settings' (0 = none).

        Prices always come from the settings. Only limits actually set are returned, so a
        resumed run keeps the budgets it was started with unless new ones are given.
        """
        s = self.settings
        out: dict[str, Any] = {}
        for name in ("token_budget", "cost_budget", "deadline"):
            value = getattr(options, name)
            value = value if value is not None else (getattr(s, name) or None)
            if value is not None:
                out[name] = value
        if s.price_per_1k_prompt or s.price_per_1k_completion:
            out["price_per_1k_prompt"] = s.price_per_1k_prompt
            out["price_per_1k_completion"] = s.price_per_1k_completion
        return out

    async def arun_experiment(self, agent: ExperimentAgent) -> RunSummary:
        """Run a prepared experiment to its report; the run is recorded in the research state."""
        from .experiment.runner import arun_to_report
        from .state import RunRef

        def remember(status: str, summary: dict[str, Any] | None = None) -> None:
            j = agent.journal
            sandbox = j.sandbox or {}
            ref = RunRef(run_id=j.run_id, idea_id=agent.idea.id if agent.idea else None,
                         task=j.task, status=status, record_path=str(agent.record_path),
                         metric_name=j.metric_name,
                         sandbox=str(sandbox.get("description") or ""),
                         sandbox_active=bool(sandbox.get("active")) if sandbox else None,
                         baseline_metric=(summary or {}).get("baseline_metric"),
                         best_metric=(summary or {}).get("best_metric"),
                         baseline_test_metric=(summary or {}).get("baseline_test_metric"),
                         best_test_metric=(summary or {}).get("best_test_metric"))
            self.state.upsert_run(ref)
            self.save_state()

        remember("running")
        with usage_scope(self.usage):
            try:
                summary = await arun_to_report(agent)
            except BaseException:
                remember(agent.journal.status)
                raise
        remember(summary["status"], summary)
        return summary

    def run_experiment(self, task: str | os.PathLike[str], *, idea: Idea | str | None = None,
                       plan: str = "", out: str | os.PathLike[str] | None = None,
                       resume: str | os.PathLike[str] | None = None, hooks: Any = None,
                       metric: str | None = None, direction: str | None = None,
                       context: str = "", options: ExperimentOptions | None = None,
                       **keywords: Unpack[RunKeywords]) -> RunSummary:
        """Plan -> cells -> executed, debugged, improved and verified; returns the run summary.
        The arguments are those of :meth:`prepare_experiment`."""
        from .aio import run_sync

        agent = self.prepare_experiment(task, idea=idea, plan=plan, out=out, resume=resume,
                                        hooks=hooks, metric=metric, direction=direction,
                                        context=context, options=options, **keywords)
        return run_sync(self.arun_experiment(agent))

    def start_experiment(self, task: str | os.PathLike[str], *, listeners: Sequence[Any] = (),
                         idea: Idea | str | None = None, plan: str = "",
                         out: str | os.PathLike[str] | None = None,
                         resume: str | os.PathLike[str] | None = None, hooks: Any = None,
                         metric: str | None = None, direction: str | None = None,
                         context: str = "", options: ExperimentOptions | None = None,
                         **keywords: Unpack[RunKeywords]) -> BackgroundRun:
        """Start an experiment in a background thread; returns its
        :class:`~mlr_copilot_jupyter.experiment.background.BackgroundRun` at once (stop, cancel,
        feedback, approval). The other arguments are those of :meth:`prepare_experiment`."""
        from .experiment.background import BackgroundRun

        agent = self.prepare_experiment(task, idea=idea, plan=plan, out=out, resume=resume,
                                        hooks=hooks, metric=metric, direction=direction,
                                        context=context, options=options, **keywords)
        return BackgroundRun(agent, self, listeners=tuple(listeners))

    # -- models and datasets ---------------------------------------------------------------
    def retrieve(self, query: str, kind: str = "model", *, task_type: str | None = None,
                 source: str = "all", limit: int = 10, hyde: bool = False,
                 hub_timeout: float | None = None) -> RetrievalResult:
        """Models or datasets for ``query`` from the Hugging Face Hub and this machine, best
        first; ``hyde`` re-ranks with the backend's description of the ideal candidate, an
        unreachable Hub is a warning (see :func:`~mlr_copilot_jupyter.retrieval.retrieve`)."""
        from .retrieval import HubSource, retrieve

        hub = HubSource(kind, timeout=hub_timeout) if source != "local" else None
        return retrieve(query, kind, task_type=task_type, source=source, limit=limit,
                        backend=self.backend if hyde else None, hub=hub)

    # -- benchmark -------------------------------------------------------------------------
    def prepare_bench(self, tasks: Sequence[str], seeds: int, out: str | os.PathLike[str], *,
                      max_steps: int | None = None, metric: str | None = None,
                      direction: str | None = None) -> BenchPlan:
        """Check a benchmark (tasks x seeds 0..seeds-1 into ``out``) before anything runs."""
        from .bench import BenchPlan

        return BenchPlan(tuple(tasks), seeds, Path(out), max_steps=max_steps, metric=metric,
                         direction=direction)

    def run_bench(self, plan: BenchPlan, *, command: str = "",
                  on_run: Callable[[Any], Any] | None = None) -> BenchReport:
        """Run a checked benchmark; ``on_run(run)`` after each run; writes bench.csv/.md/.png."""
        from .bench import run_bench

        return run_bench(self, plan, command=command, on_run=on_run)

    # -- comparisons -----------------------------------------------------------------------
    def _comparison(self, ideas: str | Sequence[str | Idea], task: str | os.PathLike[str], *,
                    out: str | os.PathLike[str] | None, workers: int, scheduler: str | None,
                    seeds: int, on_update: Callable[[Any], Any] | None,
                    progress: Callable[[str], None] | None, metric: str | None,
                    direction: str | None, context: str, options: ExperimentOptions | None,
                    keywords: RunKeywords) -> tuple[str, Callable[[Callable[[], bool]], Any]]:
        """Check a comparison's options and start it (:func:`compare.facade.prepare_comparison`):
        each idea's run gets every given run option, ``metric``, ``direction`` and ``context``."""
        from .compare.facade import prepare_comparison
        from .experiment.options import RunOptions

        chosen = (options or ExperimentOptions()).with_keywords(keywords)
        if chosen.mode == "approve":
            raise InputError("--mode approve does not go with a comparison: its ideas run "
                             "unattended in worker processes; run one idea at a time to "
                             "approve steps")
        RunOptions(**{**chosen.given(), **self._limits(chosen)})  # refused here, not per idea
        per_run: dict[str, Any] = {**chosen.given(), "metric": metric, "direction": direction,
                                   "context": context or None}
        max_steps = per_run.pop("max_steps", None)
        return prepare_comparison(self, ideas, task, out=out, workers=workers,
                                  scheduler=scheduler, seeds=seeds, max_steps=max_steps,
                                  on_update=on_update, progress=progress,
                                  **{k: v for k, v in per_run.items() if v is not None})

    def compare(self, ideas: str | Sequence[str | Idea], task: str | os.PathLike[str], *,
                out: str | os.PathLike[str] | None = None, workers: int = 2,
                scheduler: str | None = None, seeds: int = 2,
                on_update: Callable[[Any], Any] | None = None,
                progress: Callable[[str], None] | None = None, metric: str | None = None,
                direction: str | None = None, context: str = "",
                options: ExperimentOptions | None = None,
                **keywords: Unpack[RunKeywords]) -> ComparisonResult:
        """Run several ideas as concurrent experiments on ``task``, then compare them.

        ``ideas``: ``"accepted"`` (the state's accepted ideas), idea ids of the state, or
        :class:`Idea` objects. Keywords: ``out`` (default ``<run_dir>/compare-<stamp>``),
        ``workers`` (2), ``scheduler`` (None: local process pool; ``"local"``: a Dask
        LocalCluster; ``"tcp://host:port"``), ``seeds`` (2; re-runs of the top two, 0 = none),
        ``on_update(comparison_ref)``, ``progress(line)``, ``metric`` / ``direction`` /
        ``context`` and the experiment's options (``options``, or as keywords: ``max_steps``,
        ``cell_timeout``, ``token_budget``, ...; ``mode="approve"`` is refused). Returns a
        :class:`~mlr_copilot_jupyter.compare.ComparisonResult`; Ctrl-C raises
        :class:`~mlr_copilot_jupyter.compare.ComparisonInterrupted` after saving.
        """
        _, work = self._comparison(ideas, task, out=out, workers=workers, scheduler=scheduler,
                                   seeds=seeds, on_update=on_update, progress=progress,
                                   metric=metric, direction=direction, context=context,
                                   options=options, keywords=keywords)
        result: ComparisonResult = work(lambda: False)
        return result

    def start_compare(self, ideas: str | Sequence[str | Idea], task: str | os.PathLike[str], *,
                      out: str | os.PathLike[str] | None = None, workers: int = 2,
                      scheduler: str | None = None, seeds: int = 2,
                      on_update: Callable[[Any], Any] | None = None,
                      progress: Callable[[str], None] | None = None,
                      metric: str | None = None, direction: str | None = None,
                      context: str = "", options: ExperimentOptions | None = None,
                      **keywords: Unpack[RunKeywords]) -> ComparisonRun:
        """:meth:`compare` in a background thread; returns its
        :class:`~mlr_copilot_jupyter.compare.ComparisonRun` at once (``.done``, ``.result``,
        ``.comparison_id``, ``.stop()``). Bad input raises here, before the thread starts."""
        from .compare import ComparisonRun

        comparison_id, work = self._comparison(
            ideas, task, out=out, workers=workers, scheduler=scheduler, seeds=seeds,
            on_update=on_update, progress=progress, metric=metric, direction=direction,
            context=context, options=options, keywords=keywords)
        return ComparisonRun(comparison_id, work).start()
