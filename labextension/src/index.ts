/**
 * mlr-copilot-jupyter: JupyterLab 4 frontend.
 *
 * - Registers the comm target `mlr_copilot` on every notebook kernel.  The
 *   Python side (mlr_copilot_jupyter) opens a comm to that target and sends
 *   JSON messages `{"action": ...}`; see `handleKernelMessage` for the protocol.
 * - Adds the "MLR Copilot" side panel (id `mlr-copilot-panel`) to the right
 *   area, showing the last research `state` sent by the current notebook's
 *   kernel.
 * - Adds the palette commands `mlr-copilot:toggle-panel` and
 *   `mlr-copilot:refresh` (category "MLR Copilot"), plus the hidden
 *   `mlr-copilot:debug-info` command that returns a JSON summary (for tests).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  ISessionContextDialogs,
  Notification
} from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import {
  insertWinnerMessage,
  parseComparisons,
  renderComparisons
} from './comparisons';
import { el, fmtNumber, str } from './dom';

/** Keep in sync with package.json / pyproject.toml. */
export const VERSION = '0.1.0';
export const PLUGIN_ID = 'mlr-copilot-jupyter:plugin';
export const COMM_TARGET = 'mlr_copilot';
export const PANEL_ID = 'mlr-copilot-panel';
export const CAPABILITIES = ['insert_cells', 'open_notebook', 'state', 'notify'];

export namespace CommandIDs {
  export const togglePanel = 'mlr-copilot:toggle-panel';
  export const refresh = 'mlr-copilot:refresh';
  export const debugInfo = 'mlr-copilot:debug-info';
}

type JSONish = { [key: string]: any };

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M9 21c0 .55.45 1 1 1h4c.55 0 1-.45 1-1v-1H9v1zm3-19C8.14 2 5 5.14 5 9c0 2.38 1.19 4.47 3 5.74V17c0 .55.45 1 1 1h6c.55 0 1-.45 1-1v-2.26c1.81-1.27 3-3.36 3-5.74 0-3.86-3.14-7-7-7z"/>' +
  '</svg>';

const copilotIcon = new LabIcon({ name: 'mlr-copilot:icon', svgstr: ICON_SVG });

/**
 * Per-kernel connection record: the live comm (if any) and the last state.
 */
interface IKernelRecord {
  kernelId: string;
  comm: Kernel.IComm | null;
  state: JSONish | null;
  stateReceivedAt: number | null;
}

/** Execute-request metadata key telling the kernel this frontend has the extension. */
export const FRONTEND_MARK = 'mlr_copilot_frontend';

/**
 * Add `{mlr_copilot_frontend: VERSION}` to the metadata of every execute request sent
 * through `kernel`.  The kernel reads it when the cell starts, so it knows that inserts sent
 * over the comm will arrive, without waiting for a reply: comm messages from the frontend are
 * only processed between cells (after all cells queued by "Run All").
 */
function markExecuteRequests(kernel: Kernel.IKernelConnection): void {
  const target = kernel as any;
  if (target.__mlrCopilotMarked) {
    return;
  }
  const original = kernel.requestExecute.bind(kernel);
  target.requestExecute = (
    content: KernelMessage.IExecuteRequestMsg['content'],
    disposeOnDone?: boolean,
    metadata?: JSONish
  ) => original(content, disposeOnDone, { ...(metadata ?? {}), [FRONTEND_MARK]: VERSION });
  target.__mlrCopilotMarked = true;
}

/** The `mlr_copilot.run_id` of a cell's metadata, if any. */
function cellGroup(metadata: JSONish): string | null {
  const meta = metadata ? metadata['mlr_copilot'] : null;
  return meta && typeof meta === 'object' && typeof meta.run_id === 'string'
    ? meta.run_id
    : null;
}

/**
 * The core of the extension, independent of the UI.
 */
class CopilotBridge {
  constructor(
    readonly app: JupyterFrontEnd,
    readonly tracker: INotebookTracker,
    readonly sessionDialogs: ISessionContextDialogs | null
  ) {}

  /** Called whenever a kernel's state or connection changes. */
  onChange: (kernelId: string) => void = () => undefined;

  readonly records = new Map<string, IKernelRecord>();
  private _registered = new WeakSet<Kernel.IKernelConnection>();

  record(kernelId: string): IKernelRecord {
    let rec = this.records.get(kernelId);
    if (!rec) {
      rec = { kernelId, comm: null, state: null, stateReceivedAt: null };
      this.records.set(kernelId, rec);
    }
    return rec;
  }

  /** Watch a notebook panel: register the comm target on each of its kernels. */
  watchPanel(panel: NotebookPanel): void {
    const ctx = panel.sessionContext;
    const register = () => {
      const kernel = ctx.session?.kernel;
      if (kernel) {
        this.registerKernel(kernel);
      }
      this.onChange(kernel?.id ?? '');
    };
    ctx.kernelChanged.connect(register);
    ctx.statusChanged.connect((_, status) => {
      const kernel = ctx.session?.kernel;
      if (!kernel) {
        return;
      }
      if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
        // Comms do not survive a restart; the kernel must open a new one.
        const rec = this.records.get(kernel.id);
        if (rec && rec.comm) {
          rec.comm = null;
          this.onChange(kernel.id);
        }
      }
    });
    void ctx.ready.then(register);
    register();
  }

  registerKernel(kernel: Kernel.IKernelConnection): void {
    if (this._registered.has(kernel)) {
      return;
    }
    this._registered.add(kernel);
    markExecuteRequests(kernel);
    kernel.registerCommTarget(COMM_TARGET, (comm, openMsg) =>
      this.onCommOpen(kernel, comm, openMsg)
    );
    kernel.disposed.connect(() => {
      const rec = this.records.get(kernel.id);
      if (rec) {
        rec.comm = null;
        this.onChange(kernel.id);
      }
    });
  }

  /** The notebook panel whose kernel has this id (the current one first). */
  findPanel(kernelId: string): NotebookPanel | null {
    const current = this.tracker.currentWidget;
    if (current && current.sessionContext.session?.kernel?.id === kernelId) {
      return current;
    }
    let found: NotebookPanel | null = null;
    this.tracker.forEach(panel => {
      if (!found && panel.sessionContext.session?.kernel?.id === kernelId) {
        found = panel;
      }
    });
    return found;
  }

  /** The kernel of the current notebook, if any. */
  currentKernel(): Kernel.IKernelConnection | null {
    return this.tracker.currentWidget?.sessionContext.session?.kernel ?? null;
  }

  private hello(kernelId: string): JSONish {
    const panel = this.findPanel(kernelId);
    return {
      action: 'hello',
      version: VERSION,
      capabilities: CAPABILITIES,
      jupyterlab_version: this.app.version,
      notebook_path: panel ? panel.context.path : null,
      server_root: PageConfig.getOption('serverRoot') || null
    };
  }

  private attachComm(kernelId: string, comm: Kernel.IComm): void {
    const rec = this.record(kernelId);
    rec.comm = comm;
    // NB: never return a long-running promise from onMsg: the kernel
    // connection pauses all message processing until it settles.
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      this.handleKernelMessage(kernelId, comm, msg.content.data as JSONish);
    };
    comm.onClose = () => {
      const r = this.records.get(kernelId);
      if (r && r.comm === comm) {
        r.comm = null;
        this.onChange(kernelId);
      }
    };
    this.onChange(kernelId);
  }

  /** A kernel opened a comm to the `mlr_copilot` target. */
  private onCommOpen(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    openMsg: KernelMessage.ICommOpenMsg
  ): void {
    const kernelId = kernel.id;
    this.attachComm(kernelId, comm);
    this.send(comm, this.hello(kernelId));
    const data = openMsg.content.data as JSONish;
    if (data && typeof data.action === 'string') {
      this.handleKernelMessage(kernelId, comm, data);
    }
  }

  /**
   * Open a comm from the frontend side (used by "refresh" when the kernel has
   * not opened one).  Works only if the kernel registered the `mlr_copilot`
   * target (`comm.get_comm_manager().register_target(...)`); the comm is
   * opened with the hello message as data.
   */
  openFrontendComm(kernel: Kernel.IKernelConnection): Kernel.IComm | null {
    try {
      const comm = kernel.createComm(COMM_TARGET);
      this.attachComm(kernel.id, comm);
      comm.open(this.hello(kernel.id));
      return comm;
    } catch (e) {
      console.warn('mlr-copilot: could not open a comm', e);
      return null;
    }
  }

  send(comm: Kernel.IComm | null, data: JSONish): boolean {
    if (!comm || comm.isDisposed) {
      return false;
    }
    try {
      comm.send(data);
      return true;
    } catch (e) {
      console.warn('mlr-copilot: failed to send on comm', e);
      return false;
    }
  }

  /** Send a message to a kernel (by id) over its comm. */
  sendToKernel(kernelId: string, data: JSONish): boolean {
    const rec = this.records.get(kernelId);
    return this.send(rec ? rec.comm : null, data);
  }

  private reply(
    comm: Kernel.IComm,
    request: JSONish,
    extra: JSONish
  ): void {
    this.send(comm, {
      action: 'ack',
      request_id: request.request_id ?? null,
      for_action: request.action,
      ...extra
    });
  }

  /**
   * Dispatch one message from the kernel.  Must not block: long work runs
   * asynchronously and reports back over the comm.
   */
  handleKernelMessage(kernelId: string, comm: Kernel.IComm, data: JSONish): void {
    if (!data || typeof data !== 'object') {
      return;
    }
    const action = data.action;
    try {
      switch (action) {
        case 'insert_cells':
          this.insertCells(kernelId, comm, data);
          break;
        case 'open_notebook':
          void this.openPath(kernelId, data.path, data.relative_to).then(
            res => this.reply(comm, data, res),
            err => this.reply(comm, data, { ok: false, error: String(err) })
          );
          break;
        case 'state': {
          const rec = this.record(kernelId);
          rec.state = (data.state as JSONish) ?? {};
          rec.stateReceivedAt = Date.now();
          this.onChange(kernelId);
          break;
        }
        case 'notify': {
          const type = ['info', 'success', 'warning', 'error', 'default'].includes(
            data.type
          )
            ? data.type
            : 'info';
          Notification.emit(String(data.message ?? ''), type, {
            autoClose: data.auto_close ?? 5000
          });
          break;
        }
        case 'ping':
          this.send(comm, { action: 'pong', request_id: data.request_id ?? null });
          break;
        case 'ack':
        case 'hello':
          break;
        default:
          this.reply(comm, data, {
            ok: false,
            error: `unknown action: ${String(action)}`
          });
      }
    } catch (err) {
      console.error('mlr-copilot: error handling', action, err);
      this.reply(comm, data, { ok: false, error: String(err) });
    }
  }

  /** Normalise a cell dict from the kernel into a ydoc cell. */
  private toCell(raw: JSONish): JSONish {
    const cellType = ['code', 'markdown', 'raw'].includes(raw.cell_type)
      ? raw.cell_type
      : 'code';
    let source = raw.source ?? '';
    if (Array.isArray(source)) {
      source = source.join('');
    }
    const metadata =
      raw.metadata && typeof raw.metadata === 'object' ? { ...raw.metadata } : {};
    const cell: JSONish = { cell_type: cellType, source: String(source), metadata };
    if (cellType === 'code') {
      cell.outputs = Array.isArray(raw.outputs) ? raw.outputs : [];
      cell.execution_count =
        typeof raw.execution_count === 'number' ? raw.execution_count : null;
    }
    if (raw.attachments && cellType !== 'code') {
      cell.attachments = raw.attachments;
    }
    return cell;
  }

  private insertCells(kernelId: string, comm: Kernel.IComm, data: JSONish): void {
    const panel = this.findPanel(kernelId);
    if (!panel || !panel.content.model) {
      this.reply(comm, data, {
        ok: false,
        inserted: 0,
        error: 'no open notebook is attached to this kernel'
      });
      return;
    }
    const notebook = panel.content;
    const model = notebook.model!;
    const cells = (Array.isArray(data.cells) ? data.cells : []).map((c: JSONish) =>
      this.toCell(c ?? {})
    );
    // Position: for a `group` (a run id), after the group's last cell in the
    // notebook, else after `anchor_cell_id` (the cell that started the run),
    // else at the end behind a note.  Otherwise after `after_cell_id` if given
    // and found, else below the active cell, else at the end.
    let index = -1;
    const group = typeof data.group === 'string' ? data.group : null;
    if (group) {
      for (let i = model.cells.length - 1; i >= 0 && index < 0; i--) {
        if (cellGroup(model.cells.get(i).sharedModel.getMetadata() as JSONish) === group) {
          index = i + 1;
        }
      }
      const anchor = typeof data.anchor_cell_id === 'string' ? data.anchor_cell_id : null;
      for (let i = 0; i < model.cells.length && index < 0 && anchor; i++) {
        if (model.cells.get(i).id === anchor) {
          index = i + 1;
        }
      }
      if (index < 0) {
        index = model.cells.length;
        if (anchor) {
          cells.unshift({
            cell_type: 'markdown',
            source:
              `*The cell that started run \`${group}\` is no longer in this notebook; ` +
              'the cells it generated follow.*',
            metadata: { mlr_copilot: { stage: 'note', run_id: group } }
          });
        }
      }
    }
    if (index < 0 && typeof data.after_cell_id === 'string') {
      for (let i = 0; i < model.cells.length; i++) {
        if (model.cells.get(i).id === data.after_cell_id) {
          index = i + 1;
          break;
        }
      }
    }
    if (index < 0) {
      index =
        notebook.activeCellIndex >= 0
          ? notebook.activeCellIndex + 1
          : model.cells.length;
    }
    index = Math.max(0, Math.min(index, model.cells.length));
    if (cells.length) {
      model.sharedModel.insertCells(index, cells as any);
    }
    const inserted: Cell[] = notebook.widgets.slice(index, index + cells.length);
    if (cells.length && data.activate !== false) {
      // Later insertions then go below these ones.
      notebook.activeCellIndex = index + cells.length - 1;
    }
    this.reply(comm, data, {
      ok: true,
      inserted: cells.length,
      index,
      cell_ids: inserted.map(c => c.model.id),
      notebook_path: panel.context.path,
      run: !!data.run
    });
    const codeCells = inserted.filter(c => c.model.type === 'code');
    if (data.run && codeCells.length) {
      // Run after the ack has been sent so the kernel sees the ack first.
      void NotebookActions.runCells(
        notebook,
        codeCells,
        panel.sessionContext,
        this.sessionDialogs ?? undefined
      ).then(
        ok =>
          this.send(comm, {
            action: 'run_done',
            request_id: data.request_id ?? null,
            ok,
            cell_ids: codeCells.map(c => c.model.id)
          }),
        err =>
          this.send(comm, {
            action: 'run_done',
            request_id: data.request_id ?? null,
            ok: false,
            error: String(err)
          })
      );
    }
  }

  /** Turn a kernel-supplied path into a server-relative path. */
  resolvePath(kernelId: string, path: string, relativeTo?: string): string {
    let p = String(path).replace(/\\/g, '/');
    const root = (PageConfig.getOption('serverRoot') || '').replace(/\\/g, '/');
    if (p.startsWith('/') || /^[A-Za-z]:\//.test(p)) {
      const r = root.endsWith('/') ? root : root + '/';
      if (root && p.startsWith(r)) {
        p = p.slice(r.length);
      }
      return p;
    }
    if (relativeTo === 'notebook') {
      const panel = this.findPanel(kernelId);
      if (panel) {
        return PathExt.join(PathExt.dirname(panel.context.path), p);
      }
    }
    return PathExt.normalize(p);
  }

  async openPath(kernelId: string, path: string, relativeTo?: string): Promise<JSONish> {
    if (typeof path !== 'string' || !path) {
      return { ok: false, error: 'missing path' };
    }
    const resolved = this.resolvePath(kernelId, path, relativeTo);
    await this.app.commands.execute('docmanager:open', { path: resolved });
    return { ok: true, path: resolved };
  }
}

// ---------------------------------------------------------------------------
// Side panel
// ---------------------------------------------------------------------------

function asList(v: any): JSONish[] {
  if (Array.isArray(v)) {
    return v.filter(x => x && typeof x === 'object');
  }
  if (v && typeof v === 'object') {
    // A mapping id -> item.
    return Object.entries(v)
      .filter(([, x]) => x && typeof x === 'object')
      .map(([k, x]) => ({ id: k, ...(x as JSONish) }));
  }
  return [];
}

/** Extract the fields shown by the panel from a state of unknown shape. */
export function summarizeState(state: JSONish): JSONish {
  const s = state || {};
  const paper = s.paper && typeof s.paper === 'object' ? s.paper : {};
  const problem = s.problem && typeof s.problem === 'object' ? s.problem : {};
  const ideas = asList(s.ideas ?? s.hypotheses).map(i => {
    const scores = i.scores && typeof i.scores === 'object' ? i.scores : {};
    const review = i.review && typeof i.review === 'object' ? i.review : {};
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
    if (best && typeof best === 'object') {
      metricName = metricName ?? str(best.name);
      best = best.value ?? best.score;
    }
    return {
      id: str(r.id ?? r.run_id) ?? '',
      status: str(r.status),
      best: fmtNumber(best),
      metric_name: metricName,
      idea_id: str(r.idea_id),
      record_path: str(
        r.record_path ??
          (s.record_paths && typeof s.record_paths === 'object'
            ? s.record_paths[r.id ?? r.run_id]
            : null) ??
          s.record_path
      )
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
    ideas,
    runs,
    comparisons: parseComparisons(s.comparisons)
  };
}

class CopilotPanel extends Widget {
  constructor(private bridge: CopilotBridge) {
    super();
    this.id = PANEL_ID;
    this.addClass('mlr-copilot-panel');
    this.title.icon = copilotIcon;
    this.title.caption = 'MLR Copilot';
    this.node.setAttribute('data-mlr-copilot', 'panel');
    this.node.addEventListener('click', this);
    this.render();
  }

  handleEvent(event: Event): void {
    if (event.type !== 'click') {
      return;
    }
    const target = (event.target as HTMLElement).closest(
      '[data-action]'
    ) as HTMLElement | null;
    if (!target || !this.node.contains(target)) {
      return;
    }
    const action = target.getAttribute('data-action')!;
    const kernel = this.bridge.currentKernel();
    if (action === 'refresh') {
      void this.bridge.app.commands.execute(CommandIDs.refresh);
      return;
    }
    const comparisonId = target.getAttribute('data-comparison-id');
    if (comparisonId !== null) {
      this.comparisonAction(kernel, action, comparisonId, target.getAttribute('data-path'));
      return;
    }
    const runId = target.getAttribute('data-run-id');
    if (!kernel || runId === null) {
      return;
    }
    const sent = this.bridge.sendToKernel(kernel.id, { action, run_id: runId });
    if (action === 'open_run') {
      const recordPath = target.getAttribute('data-record-path');
      if (recordPath) {
        void this.bridge.openPath(kernel.id, recordPath).catch(err =>
          console.warn('mlr-copilot: cannot open', recordPath, err)
        );
      }
    }
    this.setStatus(
      sent ? `sent ${action} ${runId}` : 'kernel not connected (run the copilot in the notebook)'
    );
  }

  private comparisonAction(
    kernel: Kernel.IKernelConnection | null,
    action: string,
    comparisonId: string,
    path: string | null
  ): void {
    if (!kernel) {
      this.setStatus('kernel not connected (run the copilot in the notebook)');
      return;
    }
    if (action === 'open_comparison' && path) {
      void this.bridge.openPath(kernel.id, path).catch(err =>
        console.warn('mlr-copilot: cannot open', path, err)
      );
      this.setStatus(`opening ${path}`);
    } else if (action === 'insert_winner') {
      const sent = this.bridge.sendToKernel(kernel.id, { ...insertWinnerMessage(comparisonId) });
      this.setStatus(
        sent
          ? `asked for the winner of ${comparisonId}`
          : 'kernel not connected (run the copilot in the notebook)'
      );
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
    const s = summarizeState(rec.state);

    node.appendChild(
      el(
        'section',
        { 'data-section': 'paper' },
        el('h3', {}, 'Paper'),
        el('div', { 'data-field': 'paper-title', class: 'mlr-copilot-paper-title' }, s.paper_title ?? '—')
      )
    );
    node.appendChild(
      el(
        'section',
        { 'data-section': 'problem' },
        el('h3', {}, 'Task definition'),
        el('div', { 'data-field': 'task-definition', class: 'mlr-copilot-task' }, s.task_definition ?? '—')
      )
    );

    const ideaList = el('ul', { class: 'mlr-copilot-ideas' });
    for (const idea of s.ideas as JSONish[]) {
      ideaList.appendChild(
        el(
          'li',
          {
            'data-idea-id': idea.id ?? '',
            'data-status': idea.status ?? '',
            class: 'mlr-copilot-idea'
          },
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
    node.appendChild(
      el(
        'section',
        { 'data-section': 'ideas' },
        el('h3', {}, `Ideas (${s.ideas.length})`),
        s.ideas.length ? ideaList : el('div', { class: 'mlr-copilot-empty' }, 'No ideas yet.')
      )
    );

    const runList = el('div', { class: 'mlr-copilot-runs' });
    for (const run of s.runs as JSONish[]) {
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
              run.best !== null
                ? run.metric_name
                  ? `${run.metric_name}=${run.best}`
                  : run.best
                : '—'
            )
          ),
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
    node.appendChild(
      el(
        'section',
        { 'data-section': 'runs' },
        el('h3', {}, `Runs (${s.runs.length})`),
        s.runs.length ? runList : el('div', { class: 'mlr-copilot-empty' }, 'No runs yet.')
      )
    );
    node.appendChild(renderComparisons(s.comparisons));
  }
}

// ---------------------------------------------------------------------------
// Plugin
// ---------------------------------------------------------------------------

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'MLR Copilot: comm target `mlr_copilot` on notebook kernels, side panel and commands.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer, ISessionContextDialogs],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    sessionDialogs: ISessionContextDialogs | null
  ) => {
    const bridge = new CopilotBridge(app, tracker, sessionDialogs);
    const panel = new CopilotPanel(bridge);

    let pending = false;
    const scheduleRender = () => {
      if (pending) {
        return;
      }
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        panel.render();
      });
    };
    bridge.onChange = () => scheduleRender();

    tracker.widgetAdded.connect((_, nbPanel) => bridge.watchPanel(nbPanel));
    tracker.forEach(nbPanel => bridge.watchPanel(nbPanel));
    tracker.currentChanged.connect(scheduleRender);

    app.shell.add(panel, 'right', { rank: 900 });
    if (restorer) {
      restorer.add(panel, PANEL_ID);
    }

    app.commands.addCommand(CommandIDs.togglePanel, {
      label: 'Show MLR Copilot Panel',
      caption: 'Show and activate the MLR Copilot side panel',
      execute: () => {
        if (!panel.isAttached) {
          app.shell.add(panel, 'right', { rank: 900 });
        }
        app.shell.activateById(panel.id);
        panel.render();
      }
    });

    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh MLR Copilot State',
      caption:
        "Ask the current notebook's kernel (or that of args.path) for its research state",
      execute: args => {
        // Returns 'sent' (over the kernel's comm), 'opened' (no comm yet: a
        // frontend comm was opened; it only lives if the kernel registered
        // the `mlr_copilot` target) or 'no-kernel'.
        let kernel = bridge.currentKernel();
        if (typeof args.path === 'string') {
          const nb = tracker.find(p => p.context.path === args.path);
          kernel = nb?.sessionContext.session?.kernel ?? null;
        }
        if (!kernel) {
          return 'no-kernel';
        }
        bridge.registerKernel(kernel);
        let status = 'sent';
        if (!bridge.sendToKernel(kernel.id, { action: 'request_state' })) {
          const comm = bridge.openFrontendComm(kernel);
          status = bridge.send(comm, { action: 'request_state' }) ? 'opened' : 'no-kernel';
        }
        scheduleRender();
        return status;
      }
    });

    app.commands.addCommand(CommandIDs.debugInfo, {
      label: 'MLR Copilot: debug info',
      execute: () => {
        const kernels: JSONish[] = [];
        bridge.records.forEach(rec => {
          const nb = bridge.findPanel(rec.kernelId);
          kernels.push({
            kernel_id: rec.kernelId,
            notebook_path: nb ? nb.context.path : null,
            connected: !!(rec.comm && !rec.comm.isDisposed),
            has_state: !!rec.state,
            state: rec.state
          });
        });
        return {
          version: VERSION,
          plugin_id: PLUGIN_ID,
          comm_target: COMM_TARGET,
          panel_attached: panel.isAttached,
          current_kernel_id: bridge.currentKernel()?.id ?? null,
          kernels
        };
      }
    });

    if (palette) {
      const category = 'MLR Copilot';
      palette.addItem({ command: CommandIDs.togglePanel, category });
      palette.addItem({ command: CommandIDs.refresh, category });
    }
    console.log(`mlr-copilot-jupyter ${VERSION} activated`);
  }
};

export default plugin;
