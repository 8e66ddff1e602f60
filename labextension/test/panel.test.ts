// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import { CopilotBridge } from '../src/bridge';
import { CopilotPanel, renderState, summarizeState } from '../src/panel';
import { FakeComm, FakeHost, fakeTracker } from './fakes';
import { expectFrontendToKernel } from './schema';

const ENTRY = {
  idea_id: 'idea-1', title: 'Scale the features', run_id: 'idea-1-run', status: 'done',
  record_path: '/r/idea-1/experiment.ipynb', best_metric: 0.9, best_test_metric: null,
  baseline_metric: 0.8, seed_mean: null, seed_se: null, error: ''
};

function comparison(done: boolean) {
  return {
    comparison_id: 'cmp-1', task: 'wine', out_dir: '/r', notebook: done ? 'cmp/compare.ipynb' : '',
    metric_name: 'accuracy', direction: 'maximize', status: done ? 'done' : 'running',
    entries: [
      ENTRY,
      { ...ENTRY, idea_id: 'idea-2', title: 'Tune the forest', run_id: 'idea-2',
        status: done ? 'done' : 'running', best_metric: 0.97123, best_test_metric: 0.95,
        seed_mean: 0.96, seed_se: 0.01 },
      { ...ENTRY, idea_id: 'idea-3', title: 'Broken', run_id: null, status: 'failed',
        best_metric: null, error: 'ValueError: bad' }
    ],
    winner_idea_id: done ? 'idea-2' : null,
    winner_run_id: done ? 'idea-2' : null,
    verdict: done ? 'idea-2 wins by 0.07 accuracy' : '',
    updated: '2026-12-01T00:00:00'
  };
}

const STATE = {
  paper: { title: 'Attention Is All You Need' },
  problem: { task_definition: 'Translate better' },
  ideas: [
    { id: 'idea-1', title: 'Scale the features', status: 'accepted', review: { overall: 4.25 } },
    { idea_id: 'idea-2', name: 'Tune the forest', overall_score: 3 },
    'not an idea'
  ],
  runs: { 'run-1': { status: 'done', best_metric: { name: 'acc', value: 0.912345 } } },
  record_paths: { 'run-1': '/r/run-1/experiment.ipynb' },
  comparisons: [comparison(true), 'not a comparison', 7]
};

const q = (root: ParentNode, sel: string) => root.querySelector(sel) as HTMLElement;

describe('summarizeState', () => {
  it('reads paper, task, ideas, runs and comparisons from a state of loose shape', () => {
    const s = summarizeState(STATE);
    expect(s.paper_title).toBe('Attention Is All You Need');
    expect(s.task_definition).toBe('Translate better');
    expect(s.ideas).toEqual([
      { id: 'idea-1', title: 'Scale the features', status: 'accepted', overall: '4.250' },
      { id: 'idea-2', title: 'Tune the forest', status: null, overall: '3' }
    ]);
    expect(s.runs).toEqual([
      { id: 'run-1', status: 'done', best: '0.9123', metric_name: 'acc', idea_id: null,
        record_path: '/r/run-1/experiment.ipynb', sandbox: null, sandbox_active: null }
    ]);
    expect(s.comparisons.map(c => c.comparison_id)).toEqual(['cmp-1']);
    expect(s.comparisons[0].entries[2]).toMatchObject({ run_id: null, best_metric: null, error: 'ValueError: bad' });
  });

  it('copes with empty and malformed states', () => {
    for (const state of [null, undefined, 3, [], {}, { ideas: 'x', runs: 5, comparisons: {} }]) {
      expect(summarizeState(state)).toEqual({
        paper_title: null, task_definition: null, problem: null, ideas: [], runs: [],
        comparisons: []
      });
    }
    expect(summarizeState({ problem: 'plain text task', hypotheses: [{ summary: 's' }] })).toMatchObject({
      task_definition: 'plain text task', ideas: [{ title: 's', id: null, overall: null }]
    });
  });
});

describe('the sandbox of a run', () => {
  const BWRAP = 'bubblewrap: no network, workspace-only writes';
  const runs = [
    // as the kernel's RunRef sends it
    { run_id: 'boxed', status: 'done', sandbox: BWRAP, sandbox_active: true },
    { run_id: 'open', status: 'running', sandbox: 'none: bubblewrap not found', sandbox_active: false },
    // a run from before sandboxing: nothing is said
    { run_id: 'old', status: 'done', sandbox: '', sandbox_active: null },
    // a journal's sandbox dict
    { run_id: 'journal', status: 'done', sandbox: { description: BWRAP, active: true, mode: 'auto' } }
  ];

  it('reads the description and whether it was active', () => {
    expect(summarizeState({ runs }).runs.map(r => [r.id, r.sandbox, r.sandbox_active])).toEqual([
      ['boxed', BWRAP, true],
      ['open', 'none: bubblewrap not found', false],
      ['old', null, null],
      ['journal', BWRAP, true]
    ]);
  });

  it('shows it under each run, as a warning when the kernels were not confined', () => {
    const root = document.createElement('div');
    root.append(...renderState({ runs }));
    const line = (id: string) => root.querySelector(`[data-run-id="${id}"] [data-field="sandbox"]`) as HTMLElement | null;
    const boxed = line('boxed')!;
    expect(boxed.textContent).toBe(`Sandbox: ${BWRAP}`);
    expect(boxed.getAttribute('data-sandbox-active')).toBe('true');
    expect(boxed.classList.contains('mlr-copilot-warning')).toBe(false);
    const open = line('open')!;
    expect(open.textContent).toBe('⚠ Sandbox: none: bubblewrap not found');
    expect(open.getAttribute('data-sandbox-active')).toBe('false');
    expect(open.classList.contains('mlr-copilot-warning')).toBe(true);
    expect(open.getAttribute('style')).toContain('--jp-warn-color0');
    expect(line('old')).toBeNull();
    expect(line('journal')!.textContent).toBe(`Sandbox: ${BWRAP}`);
  });
});

describe('the comparison section', () => {
  function section(done: boolean): HTMLElement {
    const root = document.createElement('div');
    root.append(...renderState({ comparisons: [comparison(done)] }));
    return q(root, '[data-section="comparisons"]');
  }

  it('shows entries with statuses, metrics, errors, the winner and the verdict', () => {
    const s = section(true);
    expect(q(s, 'h3').textContent).toBe('Comparisons (1)');
    const cmp = q(s, '[data-comparison-id="cmp-1"]');
    expect(cmp.getAttribute('data-status')).toBe('done');
    expect(q(cmp, '[data-field="metric"]').textContent).toBe('accuracy (maximize)');
    const entries = [...cmp.querySelectorAll('li')];
    expect(entries.map(e => [e.getAttribute('data-idea-id'), e.getAttribute('data-status'), e.getAttribute('data-winner')]))
      .toEqual([['idea-1', 'done', 'false'], ['idea-2', 'done', 'true'], ['idea-3', 'failed', 'false']]);
    expect(q(entries[1], '[data-field="best"]').textContent).toBe('val 0.9712');
    expect(q(entries[1], '[data-field="test"]').textContent).toBe('test 0.9500');
    expect(q(entries[1], '[data-field="seeds"]').textContent).toBe('mean over seeds 0.9600 ± 0.01000');
    expect(q(entries[2], '[data-field="error"]').textContent).toBe('ValueError: bad');
    expect(entries[2].querySelector('[data-field="best"]')).toBeNull();
    expect(q(cmp, '[data-field="winner"]').textContent).toBe('Winner: Tune the forest');
    expect(q(cmp, '[data-field="verdict"]').textContent).toBe('idea-2 wins by 0.07 accuracy');
    const insert = q(cmp, '[data-action="insert_winner"]');
    expect(insert.hasAttribute('disabled')).toBe(false);
    expect(q(cmp, '[data-action="open_comparison"]').getAttribute('data-path')).toBe('cmp/compare.ipynb');
  });

  it('disables "Insert winner" while there is no winner', () => {
    const s = section(false);
    const cmp = q(s, '[data-comparison-id="cmp-1"]');
    expect(cmp.getAttribute('data-status')).toBe('running');
    expect(cmp.querySelector('[data-field="winner"]')).toBeNull();
    expect(cmp.querySelector('[data-field="verdict"]')).toBeNull();
    const insert = q(cmp, '[data-action="insert_winner"]');
    expect(insert.getAttribute('disabled')).toBe('true');
    expect(insert.getAttribute('title')).toMatch(/No winner yet/);
    expect(cmp.querySelector('[data-action="open_comparison"]')).toBeNull();
  });

  it('says when there are no comparisons', () => {
    const root = document.createElement('div');
    root.append(...renderState({}));
    expect(q(root, '[data-section="comparisons"] .mlr-copilot-empty').textContent).toBe('No comparisons yet.');
  });
});

describe('CopilotPanel', () => {
  function panelWithState(state: unknown) {
    const host = new FakeHost();
    const bridge = new CopilotBridge(host, fakeTracker('k1'));
    const comm = new FakeComm();
    bridge.onCommOpen('k1', comm.asComm(), { version: '0.1.0' });
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'state', state });
    const panel = new CopilotPanel(bridge);
    document.body.appendChild(panel.node);
    comm.sent = [];
    return { panel, comm, host };
  }

  it('renders the state of the current kernel', () => {
    const { panel } = panelWithState(STATE);
    const node = panel.node;
    expect(node.getAttribute('data-connected')).toBe('true');
    expect(node.getAttribute('data-has-state')).toBe('true');
    expect(node.getAttribute('data-notebook-path')).toBe('work/nb.ipynb');
    expect(q(node, '[data-role="status"]').textContent).toBe('Connected.');
    expect(q(node, '[data-field="paper-title"]').textContent).toBe('Attention Is All You Need');
    expect(q(node, '[data-section="ideas"] h3').textContent).toBe('Ideas (2)');
    expect(q(node, '[data-run-id="run-1"] [data-field="best"]').textContent).toBe('acc=0.9123');
  });

  it('sends the panel actions to the kernel as protocol messages', () => {
    const { panel, comm, host } = panelWithState(STATE);
    const click = (sel: string) => q(panel.node, sel).click();
    click('[data-action="insert_run"][data-run-id="run-1"]');
    expect(q(panel.node, '[data-role="status"]').textContent).toBe('sent insert_run run-1');
    click('[data-action="stop_run"]');
    click('[data-action="open_run"]');
    click('.mlr-copilot-comparison [data-action="insert_winner"]');
    expect(q(panel.node, '[data-role="status"]').textContent).toBe('asked for the winner of cmp-1');
    click('[data-action="open_comparison"]');
    click('[data-action="refresh"]');
    expect(comm.sent).toEqual([
      { action: 'insert_run', run_id: 'run-1' },
      { action: 'stop_run', run_id: 'run-1' },
      { action: 'open_run', run_id: 'run-1' },
      { action: 'insert_winner', comparison_id: 'cmp-1' }
    ]);
    comm.sent.forEach(expectFrontendToKernel);
    expect(host.executed.map(e => e.id)).toEqual(['docmanager:open', 'docmanager:open', 'mlr-copilot:refresh']);
    expect(host.executed[0].args).toEqual({ path: '/r/run-1/experiment.ipynb' });
  });

  it('says when the kernel is not connected', () => {
    const { panel, comm } = panelWithState(STATE);
    comm.isDisposed = true;
    panel.render();
    expect(panel.node.getAttribute('data-connected')).toBe('false');
    expect(q(panel.node, '[data-role="status"]').textContent).toBe('Copilot not connected to this kernel.');
    q(panel.node, '[data-action="insert_run"]').click();
    expect(q(panel.node, '[data-role="status"]').textContent).toMatch(/kernel not connected/);
    expect(comm.sent).toEqual([]);
  });
});

describe('the research problem', () => {
  const problem = {
    task_definition: 'Recognise speech with few labels.',
    method_summary: 'Sparse mixture adapters.',
    datasets: ['LibriSpeech', 'Common Voice'],
    reported_results: [
      { metric: 'WER', dataset: 'Common Voice', value: '12.3%', page: 6,
        quote: 'On Common Voice the WER drops to 12.3%.' },
      { metric: 'WER', dataset: '', value: '7.4%', page: null, quote: '' }
    ],
    unsupported: [{ kind: 'result', text: 'accuracy 93.1%', reason: 'the number is not in the paper' }],
    research_gaps: ['Labels are scarce.'],
    limitations: ['Five languages only.'],
    related_works: [
      { title: 'Adapters', year: 2021, url: 'https://example.org/a' },
      { title: 'Evil', url: 'javascript:alert(1)' }
    ],
    keywords: ['speech', 'adapters']
  };

  it('shows every section, collapsible, results with page and quote, links for related works', () => {
    const root = document.createElement('div');
    root.append(...renderState({ problem }));
    const section = (key: string) => q(root, `[data-problem-section="${key}"]`);
    expect(q(root, '[data-field="task-definition"]').textContent).toBe('Recognise speech with few labels.');
    for (const key of ['method', 'datasets', 'results', 'gaps', 'limitations', 'related', 'keywords']) {
      expect(section(key).tagName).toBe('DETAILS');
      expect(section(key).hasAttribute('open')).toBe(true);
    }
    expect(section('unsupported').hasAttribute('open')).toBe(false);
    expect(section('unsupported').textContent).toContain('accuracy 93.1% — the number is not in the paper');
    const cites = [...root.querySelectorAll('[data-field="citation"]')].map(n => n.textContent);
    expect(cites).toEqual(['p. 6: \u201cOn Common Voice the WER drops to 12.3%.\u201d']);
    expect(section('results').textContent).toContain('WER: 7.4%');
    const links = [...section('related').querySelectorAll('a')].map(a => a.getAttribute('href'));
    expect(links).toEqual(['https://example.org/a']); // no javascript: link
    expect(section('related').textContent).toContain('Adapters (2021)');
  });

  it('shows the task definition alone for a problem given as text', () => {
    const root = document.createElement('div');
    root.append(...renderState({ problem: 'plain text task' }));
    expect(q(root, '[data-field="task-definition"]').textContent).toBe('plain text task');
    expect(root.querySelector('[data-problem-section]')).toBeNull();
  });
});
