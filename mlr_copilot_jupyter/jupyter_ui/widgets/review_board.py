"""The idea review board: accept, reject, edit, reorder and launch ideas from a notebook.

Every click changes the :class:`ResearchState` through the :class:`~..api.Copilot` facade, which
saves it to the state file at once, so the decisions outlive the widget: a new kernel, the CLI and :meth:`ReviewBoard.markdown` all see them.
Callbacks never wait for anything; errors inside them become a one-line message on the board.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ipywidgets as w

from ...api import Copilot
from ...errors import InputError, MLRCopilotError, StorageError
from ...models import REVIEW_CRITERIA, ExperimentPlan, Idea, ResearchProblem, Review
from ...state import ResearchState
from .errors_area import ErrorArea, esc

STATUS_COLOURS = {"pending": "#757575", "accepted": "#2e7d32", "rejected": "#c62828"}
DEFAULT_TASK = "digits"
RunCallback = Callable[[Idea], Any]
CompareCallback = Callable[[list[Idea]], Any]
MIN_COMPARED = 2  # a comparison needs at least two ideas


def _current_shell() -> Any:
    """The running IPython shell, or ``None`` outside IPython."""
    from IPython import get_ipython  # ipywidgets depends on IPython

    return get_ipython()


def _prepare_next_cell(command: str) -> str:
    """Put ``command`` in the next input cell (in a notebook); the note that says so."""
    shell = _current_shell()
    code = f"<code>{esc(command)}</code>"
    if shell is None:
        return f"run this in a notebook cell: {code}"
    shell.set_next_input(command, replace=False)
    return f"prepared in the next cell: {code}"


def _items(tag: str, items: Iterable[str]) -> str:
    lis = "".join(f"<li>{esc(item)}</li>" for item in items)
    return f"<{tag} style='margin:2px 0 2px 18px;padding:0'>{lis}</{tag}>"


def status_badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#757575")
    return (f"<span style='background:{colour};color:white;border-radius:8px;"
            f"padding:1px 8px;font-size:85%'>{esc(status)}</span>")


def plan_html(plan: ExperimentPlan) -> str:
    """The experiment plan as compact HTML."""
    parts = [f"<b>Objective:</b> {esc(plan.objective)}", f"<b>Method:</b> {esc(plan.method)}"]
    for label, values in (("Datasets", plan.datasets), ("Baselines", plan.baselines),
                          ("Metrics", plan.metrics)):
        if values:
            parts.append(f"<b>{label}:</b> {esc(', '.join(values))}")
    html_text = "<br>".join(parts)
    if plan.steps:
        html_text += "<br><b>Steps</b>" + _items("ol", plan.steps)
    if plan.risks:
        html_text += "<b>Risks</b>" + _items("ul", plan.risks)
    return html_text


def builds_on_html(idea: Idea, problem: ResearchProblem | None) -> str:
    """The "Builds on" line: the paper's results (with page and quote) the idea names, or that
    it names none of them; nothing without a problem or results."""
    if problem is None or not problem.reported_results:
        return ""
    used = problem.results_used_by(idea)
    if not used:
        return ("<div class='mlr-builds-on'><b>Builds on:</b> <i>none of the paper's "
                f"{len(problem.reported_results)} cited results</i></div>")
    return ("<div class='mlr-builds-on'><b>Builds on:</b>"
            + _items("ul", [r.line() for r in used]) + "</div>")


def _bar(fraction: float, colour: str = "#1976d2") -> str:
    width = round(80 * max(0.0, min(1.0, fraction)))
    return (f"<div style='background:#eee;width:80px;height:8px'>"
            f"<div style='background:{colour};width:{width}px;height:8px'></div></div>")


def review_html(review: Review | None) -> str:
    """Scores as bars with their justifications (also as row tooltips)."""
    if review is None:
        return "<i>not reviewed yet</i>"
    extra = sorted(set(review.scores) - set(REVIEW_CRITERIA))
    rows = []
    for name in (*REVIEW_CRITERIA, *extra):
        if name not in review.scores:
            continue
        score, why = review.scores[name], esc(review.justifications.get(name, ""))
        rows.append(f"<tr title='{why}'><td>{esc(name)}</td><td>{_bar(score / 5)}</td>"
                    f"<td>{score}/5</td><td style='color:#555'>{why}</td></tr>")
    why = esc(review.justifications.get("novelty", ""))
    rows.append(f"<tr title='{why}'><td>novelty</td><td>{_bar(review.novelty, '#6a1b9a')}</td>"
                f"<td>{review.novelty:.2f}</td><td style='color:#555'>{why}</td></tr>")
    rows.append(f"<tr><td><b>overall</b></td><td></td><td><b>{review.overall:.2f}</b></td><td></td></tr>")
    if review.heuristic:
        label = "<i>heuristic scores (offline engine)</i>"
    else:
        label = f"<i>reviewed by {esc(review.reviewer)}</i>" if review.reviewer else ""
    return f"{label}<table style='font-size:90%'>{''.join(rows)}</table>"


def _md_cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


class IdeaCard:
    """The widgets of one idea; the board makes the state changes and saves them."""

    def __init__(self, board: ReviewBoard, idea_id: str) -> None:
        self.board = board
        self.idea_id = idea_id
        full = w.Layout(width="95%")

        def button(label: str, icon: str, tip: str) -> w.Button:
            return w.Button(description=label, icon=icon, tooltip=tip, layout=w.Layout(width="auto"))

        self.header = w.HTML()
        self.status_label = w.HTML()
        self.body = w.HTML()
        self.comment = w.Text(description="Comment", placeholder="saved with accept / reject",
                              layout=full)
        self.accept_button = button("Accept", "check", "Accept (click again to reset to pending)")
        self.reject_button = button("Reject", "times", "Reject (click again to reset to pending)")
        self.edit_button = button("Edit", "pencil", "Edit title, hypothesis and steps")
        self.up_button = button("", "arrow-up", "Move up")
        self.down_button = button("", "arrow-down", "Move down")
        self.run_button = button("Run experiment", "play", "Run the experiment of an accepted idea")
        self.title_input = w.Text(description="Title", layout=full)
        self.hypothesis_input = w.Textarea(description="Hypothesis", rows=3, layout=full)
        self.steps_input = w.Textarea(description="Steps", rows=6, placeholder="one step per line",
                                      layout=full)
        self.save_button = button("Save", "save", "Save the edit")
        self.cancel_button = button("Cancel", "undo", "Discard the edit")
        self.edit_box = w.VBox([self.title_input, self.hypothesis_input, self.steps_input,
                                w.HBox([self.save_button, self.cancel_button])],
                               layout=w.Layout(display="none"))
        self.note = w.HTML()
        guard = board._guarded
        self.accept_button.on_click(guard(lambda: board.decide(idea_id, "accept")))
        self.reject_button.on_click(guard(lambda: board.decide(idea_id, "reject")))
        self.edit_button.on_click(guard(self.start_edit))
        self.save_button.on_click(guard(lambda: board.save_edit(idea_id)))
        self.cancel_button.on_click(guard(self.stop_edit))
        self.up_button.on_click(guard(lambda: board.move(idea_id, -1)))
        self.down_button.on_click(guard(lambda: board.move(idea_id, +1)))
        self.run_button.on_click(guard(lambda: board.run(idea_id)))
        buttons = [self.accept_button, self.reject_button, self.edit_button, self.up_button,
                   self.down_button, self.run_button]
        self.widget = w.VBox(
            [w.HBox([self.header, self.status_label]), self.body, self.comment, w.HBox(buttons),
             self.edit_box, self.note],
            layout=w.Layout(border="1px solid #ccc", padding="6px", margin="4px 0"))
        self.comment.value = board.state.idea(idea_id).comment
        self.render()

    def render(self) -> None:
        """Show the idea as it is in the state now."""
        idea = self.board.state.idea(self.idea_id)
        self.header.value = f"<b>{esc(idea.title)}</b> <code>{esc(idea.id)}</code>&nbsp;"
        self.status_label.value = status_badge(idea.status)
        rationale = (f"<details><summary>Rationale</summary>{esc(idea.rationale)}</details>"
                     if idea.rationale else "")
        self.body.value = (
            f"<div><b>Hypothesis:</b> {esc(idea.hypothesis)}</div>"
            f"{builds_on_html(idea, self.board.state.problem)}{rationale}"
            f"<details><summary>Plan</summary>{plan_html(idea.plan)}</details>"
            f"<details open><summary>Review</summary>{review_html(idea.review)}</details>")
        self.accept_button.button_style = "success" if idea.status == "accepted" else ""
        self.reject_button.button_style = "danger" if idea.status == "rejected" else ""
        self.run_button.disabled = idea.status != "accepted"

    def start_edit(self) -> None:
        idea = self.board.state.idea(self.idea_id)
        self.title_input.value = idea.title
        self.hypothesis_input.value = idea.hypothesis
        self.steps_input.value = "\n".join(idea.plan.steps)
        self.edit_box.layout.display = "flex"

    def stop_edit(self) -> None:
        self.edit_box.layout.display = "none"


class ReviewBoard(ErrorArea):
    """Cards for every idea of a :class:`ResearchState`, each change saved to ``state_path``.

    ``on_run(idea)`` is called by "Run experiment"; it must return promptly (start work in the
    background) or return an awaitable, which is scheduled on the kernel's running event loop.
    Without it, the ``%mlr_experiment --idea <id> --task <task>`` call is prepared as the next cell.

    ``on_run_accepted(ideas)`` is called likewise by "Run accepted ideas" (a comparison of every
    accepted idea on the board's task, at least two); without it the
    ``%mlr_experiment --ideas accepted --task <task>`` call is prepared. ``compare_args`` is
    appended to that call (e.g. ``--max-steps 2``).
    """

    def __init__(self, state: ResearchState | Copilot, state_path: str | Path | None = None, *,
                 on_run: RunCallback | None = None, task: str = DEFAULT_TASK,
                 on_run_accepted: CompareCallback | None = None, compare_args: str = "") -> None:
        if isinstance(state, Copilot):
            self.copilot = state
        else:  # a state in memory: a session over it, saved to state_path
            if state_path is None:
                raise InputError("a review board over a ResearchState needs its state_path")
            self.copilot = Copilot.for_state(state, state_path)
        self.on_run = on_run
        self.on_run_accepted = on_run_accepted
        self.task = task
        self.compare_args = compare_args.strip()
        self.cards: dict[str, IdeaCard] = {}
        self.summary_html = w.HTML()
        self.error_html = w.HTML()
        self.compare_button = w.Button(
            description="Run accepted ideas", icon="play-circle", layout=w.Layout(width="auto"),
            tooltip="Compare every accepted idea on the task: parallel experiments, one verdict")
        self.compare_button.on_click(self._guarded(self.run_accepted))
        self.compare_html = w.HTML()
        self._cards_box = w.VBox()
        self.widget = w.VBox([self.summary_html, w.HBox([self.compare_button, self.compare_html]),
                              self.error_html, self._cards_box])
        self.refresh()

    @property
    def state(self) -> ResearchState:
        return self.copilot.state

    @property
    def state_path(self) -> Path:
        return self.copilot.state_path

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- rendering -------------------------------------------------------------------------
    def refresh(self, state: ResearchState | None = None) -> None:
        """Re-render every card from the state (optionally a new one, e.g. reloaded from disk)."""
        if state is not None:
            self.copilot = Copilot.for_state(state, self.state_path)
        ids = [idea.id for idea in self.state.ideas]
        self.cards = {i: self.cards.get(i) or IdeaCard(self, i) for i in ids}
        for card in self.cards.values():
            card.render()
        self._layout()

    def _layout(self) -> None:
        ids = [idea.id for idea in self.state.ideas]
        self._cards_box.children = tuple(self.cards[i].widget for i in ids)
        for index, idea_id in enumerate(ids):
            self.cards[idea_id].up_button.disabled = index == 0
            self.cards[idea_id].down_button.disabled = index == len(ids) - 1
        counts = {s: sum(i.status == s for i in self.state.ideas) for s in STATUS_COLOURS}
        self.summary_html.value = (
            f"<b>{len(ids)} ideas</b> · {counts['accepted']} accepted · "
            f"{counts['rejected']} rejected · {counts['pending']} pending "
            f"<span style='color:#777'>(saved to {esc(self.state_path)})</span>")
        accepted = counts["accepted"]
        self.compare_button.disabled = accepted < MIN_COMPARED
        if accepted < MIN_COMPARED and not self._comparing:
            self.compare_html.value = (
                f"<span style='color:#777'>comparing needs at least {MIN_COMPARED} accepted "
                f"ideas ({accepted} accepted)</span>")
        elif not self._comparing:
            self.compare_html.value = (f"<span style='color:#777'>compares the {accepted} "
                                       f"accepted ideas on {esc(self.task)}</span>")

    _comparing = False  # a comparison was requested: compare_html shows its status

    def show_compare_status(self, text: str) -> None:
        """Show one line about the requested comparison next to "Run accepted ideas"."""
        self._comparing = True
        self.compare_html.value = f"<span data-role='compare-status'>{esc(text)}</span>"

    def _save(self, write: Callable[[], object]) -> bool:
        """Make a change through the copilot (which saves the state file); on a failed save say
        so on the board (the change stays in memory)."""
        try:
            write()
        except StorageError as exc:
            self.show_error(f"could not save the research state ({exc.one_line()}); "
                            "the change is kept in memory only")
            return False
        return True

    # -- actions (also usable from code) ----------------------------------------------------
    def decide(self, idea_id: str, action: str) -> None:
        """Accept or reject; repeating the current decision resets the idea to pending."""
        card, idea = self.cards[idea_id], self.state.idea(idea_id)
        target = {"accept": "accepted", "reject": "rejected"}[action]
        self._save(lambda: self.copilot.decide(idea_id, "reset" if idea.status == target
                                               else action, comment=card.comment.value.strip()))
        card.render()
        self._layout()

    def save_edit(self, idea_id: str) -> None:
        card, idea = self.cards[idea_id], self.state.idea(idea_id)
        title = card.title_input.value.strip()
        if not title:
            raise InputError("the title of an idea cannot be empty")
        steps = [line.strip() for line in card.steps_input.value.splitlines() if line.strip()]
        new = {"title": title, "hypothesis": card.hypothesis_input.value.strip(), "steps": steps}
        old = {"title": idea.title, "hypothesis": idea.hypothesis, "steps": idea.plan.steps}
        changed = {k: v for k, v in new.items() if v != old[k]}
        if changed:
            self._save(lambda: self.copilot.edit_idea(idea_id, **changed))
        card.stop_edit()
        card.render()

    def move(self, idea_id: str, offset: int) -> None:
        self._save(lambda: self.copilot.move_idea(idea_id, offset))
        self._layout()

    def experiment_command(self, idea_id: str) -> str:
        return f"%mlr_experiment --idea {idea_id} --task {self.task}"

    def run(self, idea_id: str) -> None:
        """Hand an accepted idea to ``on_run``, or prepare the ``%mlr_experiment`` cell."""
        card, idea = self.cards[idea_id], self.state.idea(idea_id)
        if idea.status != "accepted":
            raise InputError(f"idea {idea_id} is {idea.status}", hint="accept it before running it")
        command = self.experiment_command(idea_id)
        self._save(lambda: self.copilot.record_run_request(
            [idea_id], "on_run" if self.on_run else command))
        if self.on_run is not None:
            result = self.on_run(idea)
            if inspect.isawaitable(result):
                self._schedule(result)
            card.note.value = f"experiment requested for <code>{esc(idea_id)}</code>"
            return
        card.note.value = _prepare_next_cell(command)

    def compare_command(self) -> str:
        command = f"%mlr_experiment --ideas accepted --task {self.task}"
        return f"{command} {self.compare_args}" if self.compare_args else command

    def run_accepted(self) -> None:
        """Hand the accepted ideas to ``on_run_accepted``, or prepare the comparison cell."""
        accepted = self.state.accepted()
        if len(accepted) < MIN_COMPARED:
            raise InputError(f"comparing needs at least {MIN_COMPARED} accepted ideas, "
                             f"{len(accepted)} accepted", hint="accept more ideas first")
        command = self.compare_command()
        how = "on_run_accepted" if self.on_run_accepted else command
        # one "run" decision per compared idea, like a single run
        self._save(lambda: self.copilot.record_run_request(
            [i.id for i in accepted], f"compare on {self.task}: {how}"))
        ids = ", ".join(i.id for i in accepted)
        if self.on_run_accepted is not None:
            result = self.on_run_accepted(accepted)
            if inspect.isawaitable(result):
                self._schedule(result)
            if not self._comparing:
                self.show_compare_status(f"comparison of {ids} requested")
            return
        self._comparing = True
        self.compare_html.value = _prepare_next_cell(command)

    def _schedule(self, awaitable: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise InputError("on_run returned an awaitable but no event loop is running",
                             hint="call the board from a Jupyter kernel or pass a plain function"
                             ) from None
        task = asyncio.ensure_future(awaitable, loop=loop)

        def report(done: asyncio.Future[Any]) -> None:
            if not done.cancelled() and done.exception() is not None:
                exc = done.exception()
                self.show_error(exc.one_line() if isinstance(exc, MLRCopilotError)
                                else f"{type(exc).__name__}: {exc}")

        task.add_done_callback(report)

    # -- persistence in the notebook ---------------------------------------------------------
    def markdown(self) -> str:
        """The decisions as a Markdown table, visible in a saved notebook without widget state."""
        lines = ["| # | id | title | status | overall | comment |",
                 "|---|----|-------|--------|---------|---------|"]
        for n, idea in enumerate(self.state.ideas, 1):
            overall = f"{idea.review.overall:.2f}" if idea.review else "–"
            lines.append(f"| {n} | {_md_cell(idea.id)} | {_md_cell(idea.title)} | {idea.status} "
                         f"| {overall} | {_md_cell(idea.comment)} |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ReviewBoard({len(self.state.ideas)} ideas, state={self.state_path})"
