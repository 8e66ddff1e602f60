/**
 * The "MLR Copilot" side panel (id `mlr-copilot-panel`): the last research `state` sent by
 * the current notebook's kernel (paper, task, ideas, runs, comparisons) and buttons that send
 * the side panel's actions (`open_run`, `insert_run`, `stop_run`, `insert_winner`) to it.
 */
import { Widget } from '@lumino/widgets';

import type { CopilotBridge } from './bridge';
import { IComparison, insertWinnerMessage, parseComparisons, renderComparisons } from './comparisons';
import { el, fmtNumber, str } from './dom';
import { Fields, RUN_ACTIONS, isFields } from './protocol';

export const PANEL_ID = 'mlr-copilot-panel';
/** The command the panel's Refresh button runs (registered by the plugin). */
export const REFRESH_COMMAND = 'mlr-copilot:refresh';

const NOT_CONNECTED = 'kernel not connected (run the copilot in the notebook)';

export interface IIdeaSummary {
  id: string | null;
  title: string;
  status: string | null;
  overall: string | null;
}

export interface IRunSummary {
  id: string;
  status: string | null;
  best: string | null;
  metric_name: string | null;
  idea_id: string | null;
  record_path: string | null;
  /** Which sandbox ran the run's kernels ("bubblewrap: no network, ..." or "none: <reason>"). */
  sandbox: string | null;
  /** Whether that sandbox confined them (null: not known). */
  sandbox_active: boolean | null;
}

/** One reported result of the paper, with where the paper states it. */
export interface IResultSummary {
  metric: string;
  dataset: string | null;
  value: string;
  page: number | null;
  quote: string | null;
}

export interface IRelatedSummary {
  title: string;
  year: string | null;
  url: string | null;
}

/** The research problem's sections (a state's `problem` object; absent for a plain string). */
export interface IProblemSummary {
  method: string | null;
  datasets: string[];
  results: IResultSummary[];
  /** Claims an LLM made that the paper's text does not bear out ("kind: text — reason"). */
  unsupported: string[];
  gaps: string[];
  limitations: string[];
  related: IRelatedSummary[];
  keywords: string[];
}

/** What the panel shows of a research state. */
export interface IStateSummary {
  paper_title: string | null;
  task_definition: string | null;
  problem: IProblemSummary | null;
  ideas: IIdeaSummary[];
  runs: IRunSummary[];
  comparisons: IComparison[];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(x => str(x)).filter((x): x is string => !!x) : [];
}

/** The sections of a problem object (null when the state has none, or only its text). */
export function summarizeProblem(v: unknown): IProblemSummary | null {
  if (!isFields(v)) {
    return null;
  }
  const page = (x: unknown) => (typeof x === 'number' && isFinite(x) ? x : null);
  return {
    method: str(v.method_summary) || null,
    datasets: strings(v.datasets),
    results: asList(v.reported_results).map(r => ({
      metric: str(r.metric) ?? '',
      dataset: str(r.dataset) || null,
      value: str(r.value) ?? '',
      page: page(r.page),
      quote: str(r.quote) || null
    })),
    unsupported: asList(v.unsupported).map(
      u => `${str(u.kind) ?? 'claim'}: ${str(u.text) ?? ''} — ${str(u.reason) ?? ''}`
    ),
    gaps: strings(v.research_gaps),
    limitations: strings(v.limitations),
    related: asList(v.related_works).map(w => ({
      title: str(w.title) ?? '(untitled)',
      year: str(w.year),
      url: typeof w.url === 'string' && /^https?:\/\//.test(w.url) ? w.url : null
    })),
    keywords: strings(v.keywords)
  };
}

function asList(v: unknown): Fields[] {
  if (Array.isArray(v)) {
    return v.filter(isFields);
  }
  if (isFields(v)) {
    // A mapping id -> item.
    return Object.entries(v)
      .filter((entry): entry is [string, Fields] => isFields(entry[1]))
      .map(([k, x]) => ({ id: k, ...x }));
  }
  return [];
}

function fields(v: unknown): Fields {
  return isFields(v) ? v : {};
}

/** Extract the fields shown by the panel from a state of unknown shape. */
export function summarizeState(state: unknown): IStateSummary {
  const s = fields(state);
  const paper = fields(s.paper);
  const problem = fields(s.problem);
  const recordPaths = fields(s.record_paths);
  const ideas = asList(s.ideas ?? s.hypotheses).map(i => {
    const scores = fields(i.scores);
    const review = fields(i.review);
    return {
      id: str(i.id ?? i.idea_id),
      title: str(i.title ?? i.name ?? i.summary) ?? '(untitled idea)',
      status: str(i.status),
      overall: fmtNumber(
        i.overall_score ?? i.overall ?? scores.overall ?? review.overall ?? i.score
      )
    };
  });
  const runs = asList(s.runs ?? s.experiments).map(r => {
    let best = r.best_metric ?? r.best ?? r.metric;
    let metricName = str(r.metric_name);
    if (isFields(best)) {
      metricName = metricName ?? str(best.name);
      best = best.value ?? best.score;
    }
    const runKey = r.id ?? r.run_id;
    // a RunRef has `sandbox` (its description) and `sandbox_active`; a journal, the dict
    const sandbox = fields(r.sandbox);
    const active = r.sandbox_active ?? sandbox.active;
    return {
      id: str(runKey) ?? '',
      status: str(r.status),
      best: fmtNumber(best),
      metric_name: metricName,
      idea_id: str(r.idea_id),
      record_path: str(
        r.record_path ??
          (isFields(s.record_paths) ? recordPaths[String(runKey)] : null) ??
          s.record_path
      ),
      sandbox: str(isFields(r.sandbox) ? sandbox.description : r.sandbox) || null,
      sandbox_active: typeof active === 'boolean' ? active : null
    };
  });
  return {
    paper_title: str(paper.title ?? s.paper_title),
    task_definition: str(
      problem.task_definition ??
        problem.task ??
        s.task_definition ??
        (typeof s.problem === 'string' ? s.problem : null)
    ),
    problem: summarizeProblem(s.problem),
    ideas,
    runs,
    comparisons: parseComparisons(s.comparisons)
  };
}

/** "p. 6: “quote”" for a result (the quote alone without a page). */
export function citation(r: IResultSummary): string {
  const where = r.page !== null ? `p. ${r.page}` : '';
  const quote = r.quote ? `\u201c${r.quote}\u201d` : '';
  return [where, quote].filter(x => x).join(': ');
}

/** One collapsible section of the problem, open unless said otherwise. */
function details(key: string, summary: string, body: HTMLElement, open = true): HTMLElement {
  return el(
    'details',
    { class: 'mlr-copilot-problem-section', 'data-problem-section': key, open: open ? '' : null },
    el('summary', {}, summary),
    body
  );
}

/** A section listing ``items`` with their count, or nothing when there are none. */
function problemSection(
  key: string,
  name: string,
  items: (HTMLElement | string)[],
  open = true
): HTMLElement | null {
  if (!items.length) {
    return null;
  }
  const list = el('ul', { class: 'mlr-copilot-problem-list' });
  for (const item of items) {
    list.appendChild(typeof item === 'string' ? el('li', {}, item) : item);
  }
  return details(key, `${name} (${items.length})`, list, open);
}

function renderProblem(s: IStateSummary): HTMLElement {
  const p = s.problem;
  const sections: (HTMLElement | null)[] = [];
  if (p) {
    sections.push(
      p.method ? details('method', 'Method', el('div', { 'data-field': 'method' }, p.method)) : null,
      problemSection('datasets', 'Datasets', p.datasets),
      problemSection(
        'results',
        'Reported results',
        p.results.map(r =>
          el(
            'li',
            { class: 'mlr-copilot-result' },
            `${r.metric}${r.dataset ? ` on ${r.dataset}` : ''}: ${r.value}`,
            r.quote || r.page !== null
              ? el('div', { 'data-field': 'citation', class: 'mlr-copilot-citation' }, citation(r))
              : null
          )
        )
      ),
      problemSection('gaps', 'Research gaps', p.gaps),
      problemSection('limitations', 'Limitations', p.limitations),
      problemSection(
        'related',
        'Related works',
        p.related.map(w =>
          el(
            'li',
            {},
            w.url ? el('a', { href: w.url, target: '_blank', rel: 'noopener' }, w.title) : w.title,
            w.year ? ` (${w.year})` : ''
          )
        )
      ),
      problemSection('keywords', 'Keywords', p.keywords.length ? [p.keywords.join(', ')] : []),
      // kept aside: closed by default
      problemSection('unsupported', 'Not in the paper’s text (used nowhere)', p.unsupported, false)
    );
  }
  return el(
    'section',
    { 'data-section': 'problem' },
    el('h3', {}, 'Task definition'),
    el('div', { 'data-field': 'task-definition', class: 'mlr-copilot-task' }, s.task_definition ?? '—'),
    ...sections
  );
}

function renderIdeas(ideas: IIdeaSummary[]): HTMLElement {
  const ideaList = el('ul', { class: 'mlr-copilot-ideas' });
  for (const idea of ideas) {
    ideaList.appendChild(
      el(
        'li',
        { 'data-idea-id': idea.id ?? '', 'data-status': idea.status ?? '', class: 'mlr-copilot-idea' },
        el('span', { class: 'mlr-copilot-idea-title', 'data-field': 'title' }, idea.title),
        idea.status
          ? el('span', { class: 'mlr-copilot-badge', 'data-field': 'status' }, idea.status)
          : null,
        idea.overall !== null
          ? el('span', { class: 'mlr-copilot-score', 'data-field': 'overall', title: 'overall score' }, idea.overall)
          : null
      )
    );
  }
  return el(
    'section',
    { 'data-section': 'ideas' },
    el('h3', {}, `Ideas (${ideas.length})`),
    ideas.length ? ideaList : el('div', { class: 'mlr-copilot-empty' }, 'No ideas yet.')
  );
}

/** "Sandbox: <description>", a warning when the run's kernels were not confined. */
function renderSandbox(run: IRunSummary): HTMLElement | null {
  if (run.sandbox === null) {
    return null; // not known (a run from before sandboxing)
  }
  const active = run.sandbox_active === true;
  return el(
    'div',
    {
      class: `mlr-copilot-run-sandbox${active ? '' : ' mlr-copilot-warning'}`,
      'data-field': 'sandbox',
      'data-sandbox-active': active ? 'true' : 'false',
      title: active
        ? "the run's kernels ran confined by this sandbox"
        : "the run's kernels ran unconfined: model-written code could reach your files and network",
      style: active
        ? 'font-size: var(--jp-ui-font-size0); color: var(--jp-ui-font-color2)'
        : 'font-size: var(--jp-ui-font-size0); color: var(--jp-warn-color0); font-weight: bold'
    },
    `${active ? '' : '⚠ '}Sandbox: ${run.sandbox}`
  );
}

function renderRuns(runs: IRunSummary[]): HTMLElement {
  const runList = el('div', { class: 'mlr-copilot-runs' });
  for (const run of runs) {
    const btn = (action: string, label: string) =>
      el(
        'button',
        {
          class: 'jp-Button mlr-copilot-btn',
          'data-action': action,
          'data-run-id': run.id,
          'data-record-path': action === 'open_run' ? run.record_path : null
        },
        label
      );
    runList.appendChild(
      el(
        'div',
        { 'data-run-id': run.id, 'data-status': run.status ?? '', class: 'mlr-copilot-run' },
        el(
          'div',
          { class: 'mlr-copilot-run-line' },
          el('span', { 'data-field': 'id', class: 'mlr-copilot-run-id', title: run.id }, run.id),
          el('span', { 'data-field': 'status', class: 'mlr-copilot-badge' }, run.status ?? '—'),
          el(
            'span',
            { 'data-field': 'best', class: 'mlr-copilot-score', title: 'best metric' },
            run.best !== null ? (run.metric_name ? `${run.metric_name}=${run.best}` : run.best) : '—'
          )
        ),
        renderSandbox(run),
        el(
          'div',
          { class: 'mlr-copilot-actions' },
          btn('open_run', 'Open record'),
          btn('insert_run', 'Insert cells'),
          btn('stop_run', 'Stop')
        )
      )
    );
  }
  return el(
    'section',
    { 'data-section': 'runs' },
    el('h3', {}, `Runs (${runs.length})`),
    runs.length ? runList : el('div', { class: 'mlr-copilot-empty' }, 'No runs yet.')
  );
}

/** The body of the panel for a state (everything below the header and status line). */
export function renderState(state: unknown): HTMLElement[] {
  const s = summarizeState(state);
  return [
    el(
      'section',
      { 'data-section': 'paper' },
      el('h3', {}, 'Paper'),
      el('div', { 'data-field': 'paper-title', class: 'mlr-copilot-paper-title' }, s.paper_title ?? '—')
    ),
    renderProblem(s),
    renderIdeas(s.ideas),
    renderRuns(s.runs),
    renderComparisons(s.comparisons)
  ];
}

export class CopilotPanel extends Widget {
  constructor(private bridge: CopilotBridge) {
    super();
    this.id = PANEL_ID;
    this.addClass('mlr-copilot-panel');
    this.title.caption = 'MLR Copilot';
    this.node.setAttribute('data-mlr-copilot', 'panel');
    this.node.addEventListener('click', this);
    this.render();
  }

  handleEvent(event: Event): void {
    if (event.type !== 'click' || !(event.target instanceof Element)) {
      return;
    }
    const target = event.target.closest('[data-action]');
    if (!target || !this.node.contains(target)) {
      return;
    }
    const action = target.getAttribute('data-action') ?? '';
    const kernel = this.bridge.currentKernel();
    if (action === 'refresh') {
      void this.bridge.host.commands.execute(REFRESH_COMMAND);
      return;
    }
    const comparisonId = target.getAttribute('data-comparison-id');
    if (comparisonId !== null) {
      this.comparisonAction(kernel?.id ?? null, action, comparisonId, target.getAttribute('data-path'));
      return;
    }
    const runId = target.getAttribute('data-run-id');
    const runAction = RUN_ACTIONS.find(a => a === action);
    if (!kernel || runId === null || !runAction) {
      return;
    }
    const sent = this.bridge.sendToKernel(kernel.id, { action: runAction, run_id: runId });
    if (runAction === 'open_run') {
      const recordPath = target.getAttribute('data-record-path');
      if (recordPath) {
        void this.bridge.openPath(kernel.id, recordPath).catch(err =>
          console.warn('mlr-copilot: cannot open', recordPath, err)
        );
      }
    }
    this.setStatus(sent ? `sent ${action} ${runId}` : NOT_CONNECTED);
  }

  private comparisonAction(
    kernelId: string | null,
    action: string,
    comparisonId: string,
    path: string | null
  ): void {
    if (kernelId === null) {
      this.setStatus(NOT_CONNECTED);
      return;
    }
    if (action === 'open_comparison' && path) {
      void this.bridge.openPath(kernelId, path).catch(err =>
        console.warn('mlr-copilot: cannot open', path, err)
      );
      this.setStatus(`opening ${path}`);
    } else if (action === 'insert_winner') {
      const sent = this.bridge.sendToKernel(kernelId, insertWinnerMessage(comparisonId));
      this.setStatus(sent ? `asked for the winner of ${comparisonId}` : NOT_CONNECTED);
    }
  }

  private setStatus(text: string): void {
    const node = this.node.querySelector('[data-role="status"]');
    if (node) {
      node.textContent = text;
    }
  }

  render(): void {
    const panel = this.bridge.tracker.currentWidget;
    const kernel = panel?.sessionContext.session?.kernel ?? null;
    const rec = kernel ? this.bridge.records.get(kernel.id) : undefined;
    const connected = !!(rec && rec.comm && !rec.comm.isDisposed);
    const node = this.node;
    node.setAttribute('data-kernel-id', kernel ? kernel.id : '');
    node.setAttribute('data-notebook-path', panel ? panel.context.path : '');
    node.setAttribute('data-connected', connected ? 'true' : 'false');
    node.setAttribute('data-has-state', rec && rec.state ? 'true' : 'false');
    node.textContent = '';

    node.appendChild(
      el(
        'div',
        { class: 'mlr-copilot-header' },
        el('h2', {}, 'MLR Copilot'),
        el(
          'button',
          { class: 'jp-Button mlr-copilot-btn', 'data-action': 'refresh', title: 'Ask the kernel for its state' },
          'Refresh'
        )
      )
    );
    let statusText: string;
    if (!panel) {
      statusText = 'No notebook is open.';
    } else if (!kernel) {
      statusText = 'The notebook has no kernel.';
    } else if (!connected) {
      statusText = 'Copilot not connected to this kernel.';
    } else if (!rec?.state) {
      statusText = 'Connected; no state received yet.';
    } else {
      statusText = 'Connected.';
    }
    node.appendChild(el('div', { class: 'mlr-copilot-status', 'data-role': 'status' }, statusText));
    if (!rec || !rec.state) {
      return;
    }
    for (const section of renderState(rec.state)) {
      node.appendChild(section);
    }
  }
}
