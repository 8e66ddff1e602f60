"""The comparison's verdict: chosen on validation (seed means when both of the top two have
them), with the gap against the seed noise stated, for either metric direction."""

from __future__ import annotations

import statistics

from mlr_copilot_jupyter.compare.table import choose_winner, comparison_table
from mlr_copilot_jupyter.state import ComparisonEntry, ComparisonRef


def entry(idea: str, best: float | None, seeds: list[float] = (), *,  # type: ignore[assignment]
          status: str = "done", base: float = 0.5, test: float | None = None) -> ComparisonEntry:
    seeds = list(seeds)
    mean = statistics.fmean(seeds) if len(seeds) > 1 else None
    se = statistics.stdev(seeds) / len(seeds) ** 0.5 if len(seeds) > 1 else None
    return ComparisonEntry(idea_id=idea, status=status, best_metric=best, baseline_metric=base,
                           best_test_metric=test, seeds=seeds, seed_mean=mean, seed_se=se)


def comparison(*entries: ComparisonEntry, direction: str = "maximize") -> ComparisonRef:
    return ComparisonRef(comparison_id="c", metric_name="accuracy", direction=direction,
                         entries=list(entries))


def test_a_gap_larger_than_the_seed_noise_is_a_win() -> None:
    win, text = choose_winner(comparison(
        entry("idea-1", 0.90, [0.90, 0.89, 0.91]), entry("idea-2", 0.80, [0.80, 0.81, 0.79]),
        entry("idea-3", 0.70)))
    assert win is not None and win.idea_id == "idea-1"
    assert text.startswith("idea-1 wins: accuracy 0.9") and "vs 0.8 for idea-2" in text
    assert "+80.0% over its baseline" in text and "larger than the seed noise" in text


def test_a_gap_within_the_seed_noise_is_not_a_reliable_win() -> None:
    _, text = choose_winner(comparison(
        entry("idea-1", 0.86, [0.86, 0.70, 0.95]), entry("idea-2", 0.85, [0.85, 0.75, 0.90])))
    assert "within the seed noise" in text and "not a reliable win" in text


def test_seed_means_decide_over_a_lucky_single_run() -> None:
    win, text = choose_winner(comparison(
        entry("lucky", 0.95, [0.95, 0.60, 0.61]), entry("steady", 0.90, [0.90, 0.89, 0.91])))
    assert win is not None and win.idea_id == "steady"
    assert text.startswith("steady wins")


def test_lower_is_better_for_a_minimised_metric() -> None:
    win, text = choose_winner(comparison(
        entry("idea-1", 55.0, base=60.0), entry("idea-2", 48.0, base=60.0, test=49.5),
        direction="minimize"))
    assert win is not None and win.idea_id == "idea-2"
    assert "held-out test 49.5" in text and "+20.0% over its baseline" in text
    assert "no seed re-runs" in text


def test_failed_ideas_never_win_and_ties_are_called_ties() -> None:
    win, text = choose_winner(comparison(entry("bad", None, status="failed"),
                                         entry("a", 1.0), entry("b", 1.0)))
    assert win is not None and win.idea_id == "a" and "tie" in text
    nobody, text = choose_winner(comparison(entry("bad", None, status="failed")))
    assert nobody is None and "no idea finished" in text and "1 failed" in text
    table = comparison_table(comparison(entry("bad", None, status="failed"), entry("a", 0.75)))
    assert list(table["idea_id"]) == ["bad", "a"]
    assert table.loc[table["idea_id"] == "a", "improvement_pct"].item() == 50.0
