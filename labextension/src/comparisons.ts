/**
 * The side panel's "Comparisons" section: each comparison of accepted ideas on one task
 * (`ResearchState.summary()["comparisons"]`, i.e. `ComparisonRef.model_dump()` on the kernel
 * side), its ideas with their live status and best metrics, and the winner with the verdict.
 *
 * "Insert winner" sends `{action: 'insert_winner', comparison_id}` to the kernel, which inserts
 * the winning run's lineage with provenance metadata; "Open notebook" opens compare.ipynb.
 */
import { el, fmtNumber } from './dom';
import { Fields, IInsertWinnerMessage, isFields } from './protocol';

export type { IInsertWinnerMessage };

/** One idea's experiment inside a comparison (`ComparisonEntry`). */
export interface IComparisonEntry {
  idea_id: string;
  title: string;
  run_id: string | null;
  status: string;
  record_path: string;
  best_metric: number | null;
  best_test_metric: number | null;
  baseline_metric: number | null;
  seed_mean: number | null;
  seed_se: number | null;
  error: string;
}

/** A comparison of several ideas on one task (`ComparisonRef`). */
export interface IComparison {
  comparison_id: string;
  task: string;
  out_dir: string;
  notebook: string;
  metric_name: string;
  direction: string;
  status: string;
  entries: IComparisonEntry[];
  winner_idea_id: string | null;
  winner_run_id: string | null;
  verdict: string;
  updated: string;
}

function text(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function textOrNull(v: unknown): string | null {
  return typeof v === 'string' && v ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

function parseEntry(raw: Fields): IComparisonEntry {
  return {
    idea_id: text(raw.idea_id),
    title: text(raw.title),
    run_id: textOrNull(raw.run_id),
    status: text(raw.status, 'pending'),
    record_path: text(raw.record_path),
    best_metric: num(raw.best_metric),
    best_test_metric: num(raw.best_test_metric),
    baseline_metric: num(raw.baseline_metric),
    seed_mean: num(raw.seed_mean),
    seed_se: num(raw.seed_se),
    error: text(raw.error)
  };
}

/** The comparisons of a state message (malformed items are left out). */
export function parseComparisons(value: unknown): IComparison[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value.filter(isFields).map(raw => ({
    comparison_id: text(raw.comparison_id),
    task: text(raw.task),
    out_dir: text(raw.out_dir),
    notebook: text(raw.notebook),
    metric_name: text(raw.metric_name),
    direction: text(raw.direction),
    status: text(raw.status, 'running'),
    entries: (Array.isArray(raw.entries) ? raw.entries : []).filter(isFields).map(parseEntry),
    winner_idea_id: textOrNull(raw.winner_idea_id),
    winner_run_id: textOrNull(raw.winner_run_id),
    verdict: text(raw.verdict),
    updated: text(raw.updated)
  }));
}

function metric(label: string, field: string, value: number | null, name: string): HTMLElement | null {
  if (value === null) {
    return null;
  }
  const shown = fmtNumber(value) ?? '';
  return el(
    'span',
    { class: 'mlr-copilot-score', 'data-field': field, title: `${label} ${name}`.trim() },
    `${label} ${shown}`
  );
}

function renderEntry(cmp: IComparison, entry: IComparisonEntry): HTMLElement {
  const winner = cmp.winner_idea_id !== null && cmp.winner_idea_id === entry.idea_id;
  const seeds =
    entry.seed_mean !== null
      ? `mean over seeds ${fmtNumber(entry.seed_mean)}` +
        (entry.seed_se !== null ? ` ± ${fmtNumber(entry.seed_se)}` : '')
      : null;
  return el(
    'li',
    {
      class: 'mlr-copilot-comparison-entry',
      'data-idea-id': entry.idea_id,
      'data-run-id': entry.run_id,
      'data-status': entry.status,
      'data-winner': winner ? 'true' : 'false'
    },
    el('span', { 'data-field': 'title', class: 'mlr-copilot-idea-title' }, entry.title || entry.idea_id),
    el('code', { 'data-field': 'idea-id' }, entry.idea_id),
    el('span', { 'data-field': 'status', class: 'mlr-copilot-badge' }, entry.status),
    metric('val', 'best', entry.best_metric, cmp.metric_name),
    metric('test', 'test', entry.best_test_metric, cmp.metric_name),
    seeds ? el('span', { 'data-field': 'seeds', class: 'mlr-copilot-seeds' }, seeds) : null,
    entry.error ? el('div', { 'data-field': 'error', class: 'mlr-copilot-error' }, entry.error) : null
  );
}

function renderComparison(cmp: IComparison): HTMLElement {
  const winner = cmp.entries.find(e => e.idea_id === cmp.winner_idea_id) ?? null;
  const metricName = cmp.metric_name
    ? `${cmp.metric_name}${cmp.direction ? ` (${cmp.direction})` : ''}`
    : '';
  const list = el('ul', { class: 'mlr-copilot-comparison-entries' });
  for (const entry of cmp.entries) {
    list.appendChild(renderEntry(cmp, entry));
  }
  const canInsert = cmp.winner_run_id !== null;
  const insert = el(
    'button',
    {
      class: 'jp-Button mlr-copilot-btn',
      'data-action': 'insert_winner',
      'data-comparison-id': cmp.comparison_id,
      title: canInsert
        ? "Insert the winning run's cells into the notebook"
        : 'No winner yet: the comparison has not finished',
      disabled: canInsert ? null : 'true'
    },
    'Insert winner'
  );
  const open = cmp.notebook
    ? el(
        'button',
        {
          class: 'jp-Button mlr-copilot-btn',
          'data-action': 'open_comparison',
          'data-comparison-id': cmp.comparison_id,
          'data-path': cmp.notebook
        },
        'Open notebook'
      )
    : null;
  return el(
    'div',
    {
      class: 'mlr-copilot-comparison',
      'data-comparison-id': cmp.comparison_id,
      'data-status': cmp.status
    },
    el(
      'div',
      { class: 'mlr-copilot-run-line' },
      el('span', { 'data-field': 'task', class: 'mlr-copilot-run-id', title: cmp.comparison_id }, cmp.task || cmp.comparison_id),
      el('span', { 'data-field': 'status', class: 'mlr-copilot-badge' }, cmp.status),
      metricName ? el('span', { 'data-field': 'metric', class: 'mlr-copilot-metric' }, metricName) : null
    ),
    list,
    winner || cmp.winner_idea_id
      ? el(
          'div',
          { 'data-field': 'winner', class: 'mlr-copilot-winner' },
          `Winner: ${winner?.title || cmp.winner_idea_id}`
        )
      : null,
    cmp.verdict ? el('div', { 'data-field': 'verdict', class: 'mlr-copilot-verdict' }, cmp.verdict) : null,
    el('div', { class: 'mlr-copilot-actions' }, insert, open)
  );
}

/** The "Comparisons" section of the side panel. */
export function renderComparisons(comparisons: IComparison[]): HTMLElement {
  const items = comparisons.map(renderComparison);
  return el(
    'section',
    { 'data-section': 'comparisons' },
    el('h3', {}, `Comparisons (${comparisons.length})`),
    ...(items.length
      ? items
      : [el('div', { class: 'mlr-copilot-empty' }, 'No comparisons yet.')])
  );
}

/** The message "Insert winner" sends to the kernel. */
export function insertWinnerMessage(comparisonId: string): IInsertWinnerMessage {
  return { action: 'insert_winner', comparison_id: comparisonId };
}
