/**
 * CopilotBridge: the core of the extension, independent of the UI.
 *
 * Registers the comm target `mlr_copilot` on notebook kernels, keeps one record per kernel
 * (its live comm and last research state) and handles the kernel's messages (see
 * `protocol.ts` and `mlr_copilot_jupyter/jupyter_ui/comm_protocol.schema.json`).  JupyterLab services
 * that need a running application (notifications, running cells) come in through
 * `IBridgeHost`, so that the message handling can be tested without one.
 */
import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import type { Cell } from '@jupyterlab/cells';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { JSONObject, ReadonlyPartialJSONObject } from '@lumino/coreutils';

import packageJson from '../package.json';
import { insertIndex, missingCells, toCell } from './insert';
import {
  AckResult,
  CAPABILITIES,
  FrontendToKernelMessage,
  Fields,
  IHelloMessage,
  NOTIFY_TYPES,
  NotifyType,
  isFields,
  requestIdOf
} from './protocol';

/** The extension's version: that of package.json (which is also the Python package's). */
export const VERSION: string = packageJson.version;
export const COMM_TARGET = 'mlr_copilot';
/** Execute-request metadata key telling the kernel this frontend has the extension. */
export const FRONTEND_MARK = 'mlr_copilot_frontend';

/** What the bridge needs from JupyterLab besides the notebook tracker. */
export interface IBridgeHost {
  /** JupyterLab's version (sent in hello). */
  readonly version: string;
  readonly commands: {
    execute(id: string, args?: ReadonlyPartialJSONObject): Promise<unknown>;
  };
  /** Show a notification. */
  notify(message: string, type: NotifyType, autoClose: number | false): void;
  /** Run cells of a notebook panel (NotebookActions.runCells). */
  runCells(panel: NotebookPanel, cells: readonly Cell[]): Promise<boolean>;
}

/** The part of a comm the bridge uses (Kernel.IComm). */
export type BridgeComm = Pick<Kernel.IComm, 'send' | 'isDisposed' | 'onMsg' | 'onClose'>;

/** Per-kernel connection record: the live comm (if any) and the last state. */
export interface IKernelRecord {
  kernelId: string;
  comm: BridgeComm | null;
  state: Fields | null;
  stateReceivedAt: number | null;
  /** Group inserts taken since the notebook was last saved (request ids, for `saved`). */
  unsaved: string[];
}

const markedKernels = new WeakSet<Kernel.IKernelConnection>();

/**
 * Add `{mlr_copilot_frontend: VERSION}` to the metadata of every execute request sent
 * through `kernel`.  The kernel reads it when the cell starts, so it knows that inserts sent
 * over the comm will arrive, without waiting for a reply: comm messages from the frontend are
 * only processed between cells (after all cells queued by "Run All").
 */
export function markExecuteRequests(kernel: Kernel.IKernelConnection): void {
  if (markedKernels.has(kernel)) {
    return;
  }
  const original = kernel.requestExecute.bind(kernel);
  kernel.requestExecute = (
    content: KernelMessage.IExecuteRequestMsg['content'],
    disposeOnDone?: boolean,
    metadata?: JSONObject
  ) => original(content, disposeOnDone, { ...(metadata ?? {}), [FRONTEND_MARK]: VERSION });
  markedKernels.add(kernel);
}

export class CopilotBridge {
  constructor(
    readonly host: IBridgeHost,
    readonly tracker: INotebookTracker
  ) {}

  /** Called whenever a kernel's state or connection changes. */
  onChange: (kernelId: string) => void = () => undefined;

  readonly records = new Map<string, IKernelRecord>();
  private _registered = new WeakSet<Kernel.IKernelConnection>();

  record(kernelId: string): IKernelRecord {
    let rec = this.records.get(kernelId);
    if (!rec) {
      rec = { kernelId, comm: null, state: null, stateReceivedAt: null, unsaved: [] };
      this.records.set(kernelId, rec);
    }
    return rec;
  }

  /**
   * Watch a notebook panel: register the comm target on each of its kernels, reconnect to a
   * kernel whose copilot is already loaded (a reloaded page), and tell the kernel which inserts
   * each save put on disk.
   */
  watchPanel(panel: NotebookPanel): void {
    const ctx = panel.sessionContext;
    const register = () => {
      const kernel = ctx.session?.kernel;
      if (kernel) {
        this.registerKernel(kernel);
        void this.reconnect(kernel);
      }
      this.onChange(kernel?.id ?? '');
    };
    let saving: string[] = [];
    panel.context.saveState.connect((_, state) => {
      const kernel = ctx.session?.kernel;
      const rec = kernel ? this.records.get(kernel.id) : undefined;
      if (!kernel || !rec) {
        return;
      }
      if (state === 'started') {
        saving = [...rec.unsaved];
      } else if (state === 'completed' && saving.length) {
        const done = new Set(saving);
        if (this.sendToKernel(kernel.id, { action: 'saved', request_ids: saving })) {
          rec.unsaved = rec.unsaved.filter(id => !done.has(id));
        }
        saving = [];
      }
    });
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
      this.onCommOpen(kernel.id, comm, openMsg.content.data)
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

  hello(kernelId: string): IHelloMessage {
    const panel = this.findPanel(kernelId);
    return {
      action: 'hello',
      version: VERSION,
      capabilities: CAPABILITIES,
      jupyterlab_version: this.host.version,
      notebook_path: panel ? panel.context.path : null,
      server_root: PageConfig.getOption('serverRoot') || null
    };
  }

  private attachComm(kernelId: string, comm: BridgeComm): void {
    const rec = this.record(kernelId);
    rec.comm = comm;
    // NB: never return a long-running promise from onMsg: the kernel
    // connection pauses all message processing until it settles.
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      this.handleKernelMessage(kernelId, comm, msg.content.data);
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

  /** A kernel opened a comm to the `mlr_copilot` target (`data`: that of the comm_open). */
  onCommOpen(kernelId: string, comm: BridgeComm, data: unknown): void {
    this.attachComm(kernelId, comm);
    this.send(comm, this.hello(kernelId));
    if (isFields(data) && typeof data.action === 'string') {
      this.handleKernelMessage(kernelId, comm, data);
    }
  }

  /**
   * A page loaded (or reloaded) onto a kernel whose copilot is already loaded has no comm with
   * it: the kernel's comm went to the page before. Ask the kernel whether its `mlr_copilot`
   * target has a comm open (a `comm_info` request: answered at once by an idle kernel, after
   * the running cell otherwise) and, if so, open one from here. The kernel then sends again the
   * inserts the notebook was not saved with (`replay`).
   */
  async reconnect(kernel: Kernel.IKernelConnection): Promise<boolean> {
    const live = () => {
      const rec = this.records.get(kernel.id);
      return !!(rec && rec.comm && !rec.comm.isDisposed);
    };
    if (live()) {
      return false;
    }
    try {
      const reply = await kernel.requestCommInfo({ target_name: COMM_TARGET });
      const content = reply.content;
      const comms = content.status === 'ok' ? content.comms : {};
      if (!Object.keys(comms).length || live() || kernel.isDisposed) {
        return false;
      }
    } catch (e) {
      return false; // a kernel gone or restarting: nothing to reconnect to
    }
    return this.openFrontendComm(kernel) !== null;
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
      comm.open({ ...this.hello(kernel.id) });
      return comm;
    } catch (e) {
      console.warn('mlr-copilot: could not open a comm', e);
      return null;
    }
  }

  send(comm: BridgeComm | null, data: FrontendToKernelMessage): boolean {
    if (!comm || comm.isDisposed) {
      return false;
    }
    try {
      comm.send({ ...data });
      return true;
    } catch (e) {
      console.warn('mlr-copilot: failed to send on comm', e);
      return false;
    }
  }

  /** Send a message to a kernel (by id) over its comm. */
  sendToKernel(kernelId: string, data: FrontendToKernelMessage): boolean {
    const rec = this.records.get(kernelId);
    return this.send(rec ? rec.comm : null, data);
  }

  private reply(comm: BridgeComm, request: Fields, result: AckResult): void {
    this.send(comm, {
      action: 'ack',
      request_id: requestIdOf(request),
      ...(typeof request.action === 'string' ? { for_action: request.action } : {}),
      ...result
    });
  }

  /**
   * Dispatch one message from the kernel.  Must not block: long work runs
   * asynchronously and reports back over the comm.  Fields are read leniently (a missing
   * or malformed optional field gets its default).
   */
  handleKernelMessage(kernelId: string, comm: BridgeComm, data: unknown): void {
    if (!isFields(data)) {
      return;
    }
    const action = data.action;
    try {
      switch (action) {
        case 'insert_cells':
          this.insertCells(kernelId, comm, data);
          break;
        case 'open_notebook':
          void this.openPath(
            kernelId,
            data.path,
            typeof data.relative_to === 'string' ? data.relative_to : undefined
          ).then(
            res => this.reply(comm, data, res),
            err => this.reply(comm, data, { ok: false, error: String(err) })
          );
          break;
        case 'state': {
          const rec = this.record(kernelId);
          rec.state = isFields(data.state) ? data.state : {};
          rec.stateReceivedAt = Date.now();
          this.onChange(kernelId);
          break;
        }
        case 'notify': {
          const type = NOTIFY_TYPES.find(t => t === data.type) ?? 'info';
          const autoClose =
            typeof data.auto_close === 'number' || data.auto_close === false
              ? data.auto_close
              : 5000;
          this.host.notify(String(data.message ?? ''), type, autoClose);
          break;
        }
        case 'ping':
          this.send(comm, { action: 'pong', request_id: requestIdOf(data) });
          break;
        case 'ack':
        case 'hello':
          break;
        default:
          this.reply(comm, data, { ok: false, error: `unknown action: ${String(action)}` });
      }
    } catch (err) {
      console.error('mlr-copilot: error handling', action, err);
      this.reply(comm, data, { ok: false, error: String(err) });
    }
  }

  private insertCells(kernelId: string, comm: BridgeComm, data: Fields): void {
    const panel = this.findPanel(kernelId);
    const model = panel?.content.model;
    if (!panel || !model) {
      this.reply(comm, data, {
        ok: false,
        inserted: 0,
        error: 'no open notebook is attached to this kernel'
      });
      return;
    }
    const notebook = panel.content;
    const given = (Array.isArray(data.cells) ? data.cells : []).map(c =>
      toCell(isFields(c) ? c : {})
    );
    // a group's node already in the notebook (a replay after a reload) is not inserted twice
    const cells = typeof data.group === 'string' ? missingCells(model.cells, given) : given;
    const index = insertIndex(model.cells, notebook.activeCellIndex, data, cells);
    if (cells.length) {
      // ICell is the JSON of an nbformat cell, which is what the shared model takes.
      type SharedCells = Parameters<typeof model.sharedModel.insertCells>[1];
      model.sharedModel.insertCells(index, cells as unknown as SharedCells);
    }
    const inserted: Cell[] = notebook.widgets.slice(index, index + cells.length);
    if (cells.length && data.activate !== false) {
      // Later insertions then go below these ones.
      notebook.activeCellIndex = index + cells.length - 1;
    }
    if (typeof data.group === 'string') {
      this.record(kernelId).unsaved.push(requestIdOf(data) ?? '');
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
      const requestId = requestIdOf(data);
      void this.host.runCells(panel, codeCells).then(
        ok =>
          this.send(comm, {
            action: 'run_done',
            request_id: requestId,
            ok,
            cell_ids: codeCells.map(c => c.model.id)
          }),
        err =>
          this.send(comm, { action: 'run_done', request_id: requestId, ok: false, error: String(err) })
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

  async openPath(kernelId: string, path: unknown, relativeTo?: string): Promise<AckResult> {
    if (typeof path !== 'string' || !path) {
      return { ok: false, error: 'missing path' };
    }
    const resolved = this.resolvePath(kernelId, path, relativeTo);
    await this.host.commands.execute('docmanager:open', { path: resolved });
    return { ok: true, path: resolved };
  }
}
