"""The notebook side of comparisons: the review board's "Run accepted ideas" and "Insert winner".

``%mlr_review`` wires :func:`board_comparison` as the board's ``on_run_accepted``: it starts
``Copilot.start_compare`` in the background and keeps a one-line status on the board while the
comparison's ``on_update`` pushes the research state to the side panel. The panel's "Insert
winner" sends ``insert_winner``; :func:`insert_winner` puts the winning run's lineage into the
notebook. :func:`run_record` finds a run's record among plain runs and comparison entries.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..state import ComparisonRef, ResearchState

COMPARISON_STAGE = "comparison"


def run_record(state: ResearchState, run_id: str) -> Path | None:
    """The record notebook of ``run_id``: a run of the state, or an idea's run in a comparison."""
    for ref in state.runs:
        if ref.run_id == run_id and ref.record_path:
            return Path(ref.record_path)
    for comparison in state.comparisons:
        for entry in comparison.entries:
            if entry.run_id == run_id and entry.record_path:
                return Path(entry.record_path)
    return None


def known_run_ids(state: ResearchState) -> list[str]:
    ids = [r.run_id for r in state.runs]
    ids += [e.run_id for c in state.comparisons for e in c.entries if e.run_id]
    return list(dict.fromkeys(ids))


def comparison(state: ResearchState, comparison_id: str) -> ComparisonRef:
    for ref in state.comparisons:
        if ref.comparison_id == comparison_id:
            return ref
    known = ", ".join(c.comparison_id for c in state.comparisons) or "none yet"
    raise InputError(f"no comparison {comparison_id!r} in the research state",
                     hint=f"comparisons: {known}")


def status_line(ref: ComparisonRef) -> str:
    """One line for the board: id, progress, where the results go, the winner once known."""
    finished = sum(e.status in {"done", "failed", "stopped"} for e in ref.entries)
    line = (f"comparison {ref.comparison_id} on {ref.task}: {ref.status}, "
            f"{finished}/{len(ref.entries)} ideas finished")
    if ref.winner_idea_id:
        line += f", winner {ref.winner_idea_id}"
    where = ref.notebook or ref.out_dir
    if where:
        line += f" · results in {where}"
    return line + " · details in the MLR Copilot side panel"


def winner_cells(state: ResearchState, comparison_id: str) -> list[dict[str, Any]]:
    """A provenance note and the winning run's best lineage, ready to insert."""
    from ..types import RecordNotebook

    ref = comparison(state, comparison_id)
    if not ref.winner_run_id:
        raise InputError(f"comparison {comparison_id} has no winner yet ({ref.status})",
                         hint="insert the winner once the comparison is done")
    entry = next((e for e in ref.entries if e.run_id == ref.winner_run_id), None)
    record = (Path(entry.record_path) if entry is not None and entry.record_path
              else run_record(state, ref.winner_run_id))
    if record is None or not record.is_file():
        raise InputError(f"the record of {ref.winner_run_id}, winner of {comparison_id}, is "
                         f"missing ({record or 'no record path'})")
    title = entry.title if entry is not None and entry.title else ref.winner_idea_id or ""
    provenance = {"stage": COMPARISON_STAGE, "comparison_id": ref.comparison_id,
                  "idea_id": ref.winner_idea_id, "run_id": ref.winner_run_id,
                  "record_path": str(record)}
    note = (f"### Winner of comparison `{ref.comparison_id}`: {title}\n\n"
            f"{ref.verdict or 'No verdict recorded.'}\n\n"
            f"Task `{ref.task}`; the cells below are run `{ref.winner_run_id}`'s best lineage "
            f"(record: `{record}`).")
    cells = RecordNotebook.load(record).lineage_cells()
    for cell in cells:
        cell["metadata"]["mlr_copilot"]["comparison_id"] = ref.comparison_id
    return [{"cell_type": "markdown", "source": note,
             "metadata": {"mlr_copilot": provenance}}, *cells]


def insert_winner(magics: Any, comparison_id: str) -> str:
    """Insert a comparison's winner below the active cell; returns ``"comm"`` or ``"fallback"``."""
    cells = winner_cells(magics.copilot.state, comparison_id)
    return str(magics.bridge.insert_cells(cells))


def board_comparison(magics: Any, board: Any, task: str,
                     options: dict[str, Any]) -> Callable[[list[Any]], Any]:
    """The board's ``on_run_accepted``: start the comparison in the background, show its status
    on the board and push every update to the side panel."""

    def update(*_: Any) -> bool:  # from the comparison's thread
        handle = getattr(magics, "current_compare", None)
        state = magics.copilot.state
        ref = next((c for c in state.comparisons
                    if handle is not None and c.comparison_id == handle.comparison_id), None)
        if ref is not None:
            board.show_compare_status(status_line(ref))
        magics.publish_state()
        return ref is not None

    def start(ideas: list[Any]) -> Any:
        running = getattr(magics, "current_compare", None)
        if running is not None and not running.done:
            raise InputError(f"comparison {running.comparison_id} is still running",
                             hint="wait for it or stop it (_mlr_compare.stop())")
        given = {k: v for k, v in options.items() if v is not None}
        handle = magics.copilot.start_compare("accepted", task=task, on_update=update, **given)
        magics.current_compare = handle
        if magics.shell is not None:
            magics.shell.user_ns["_mlr_compare"] = handle
        if not update():
            board.show_compare_status(f"comparison {handle.comparison_id} of "
                                      f"{len(ideas)} ideas started on {task}")
        return handle

    return start
