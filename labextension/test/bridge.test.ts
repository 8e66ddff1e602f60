// @vitest-environment happy-dom
import { PageConfig } from '@jupyterlab/coreutils';
import type { Kernel } from '@jupyterlab/services';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import packageJson from '../package.json';
import { COMM_TARGET, CopilotBridge, FRONTEND_MARK, VERSION } from '../src/bridge';
import { FakeComm, FakeHost, fakeTracker } from './fakes';
import { expectFrontendToKernel, validCommOpenData } from './schema';

function setup(kernelId: string | null = 'k1') {
  const host = new FakeHost();
  const bridge = new CopilotBridge(host, fakeTracker(kernelId));
  const changes: string[] = [];
  bridge.onChange = id => changes.push(id);
  const comm = new FakeComm();
  return { host, bridge, comm, changes };
}

/** Let the promises of async handlers (open_notebook) settle. */
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

describe('CopilotBridge', () => {
  let comms: FakeComm[] = [];
  beforeEach(() => {
    PageConfig.setOption('serverRoot', '/srv/lab');
    comms = [];
  });
  afterEach(() => {
    // Whatever a test made the bridge send must be a frontend -> kernel message of the schema.
    for (const comm of comms) {
      for (const message of comm.sent) {
        expectFrontendToKernel(message);
      }
    }
  });

  function open(kernelId: string | null = 'k1', data: unknown = { version: '0.1.0' }) {
    const ctx = setup(kernelId);
    comms.push(ctx.comm);
    ctx.bridge.onCommOpen('k1', ctx.comm.asComm(), data);
    return ctx;
  }

  it('answers a comm opened by the kernel with hello', () => {
    expect(validCommOpenData({ version: '0.1.0' })).toBe(true);
    const { comm, bridge, changes } = open();
    expect(comm.sent).toEqual([
      {
        action: 'hello',
        version: packageJson.version,
        capabilities: ['insert_cells', 'open_notebook', 'state', 'notify'],
        jupyterlab_version: '4.6.4',
        notebook_path: 'work/nb.ipynb',
        server_root: '/srv/lab'
      }
    ]);
    expect(VERSION).toBe(packageJson.version);
    expect(bridge.records.get('k1')?.comm).toBe(comm);
    expect(changes).toContain('k1');
  });

  it('handles a message carried by the comm_open data', () => {
    const { comm, bridge } = open('k1', { action: 'state', state: { paper_title: 'P' } });
    expect(comm.actions('hello')).toHaveLength(1);
    expect(bridge.records.get('k1')?.state).toEqual({ paper_title: 'P' });
  });

  it('routes state to the kernel record and reports the change', () => {
    const { comm, bridge, changes } = open();
    changes.length = 0;
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'state', state: { ideas: [] } });
    const rec = bridge.records.get('k1');
    expect(rec?.state).toEqual({ ideas: [] });
    expect(rec?.stateReceivedAt).toBeTypeOf('number');
    expect(changes).toEqual(['k1']);
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'state', state: 'garbage' });
    expect(rec?.state).toEqual({});
  });

  it('answers ping with pong, ignores ack and hello, refuses unknown actions', () => {
    const { comm, bridge } = open();
    comm.sent = [];
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'ping', request_id: 'p1' });
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'ping' });
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'ack', request_id: 'x', ok: true });
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'hello' });
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'frobnicate', request_id: 'r9' });
    bridge.handleKernelMessage('k1', comm.asComm(), { no_action: true });
    bridge.handleKernelMessage('k1', comm.asComm(), 'not an object');
    bridge.handleKernelMessage('k1', comm.asComm(), null);
    expect(comm.sent).toEqual([
      { action: 'pong', request_id: 'p1' },
      { action: 'pong', request_id: null },
      { action: 'ack', request_id: 'r9', for_action: 'frobnicate', ok: false, error: 'unknown action: frobnicate' },
      { action: 'ack', request_id: null, ok: false, error: 'unknown action: undefined' }
    ]);
  });

  it('shows notify messages as notifications with a known type', () => {
    const { comm, bridge, host } = open();
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'notify', message: 'm1', type: 'warning' });
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'notify', message: 'm2', type: 'shout', auto_close: false });
    bridge.handleKernelMessage('k1', comm.asComm(), { action: 'notify' });
    expect(host.notifications).toEqual([
      { message: 'm1', type: 'warning', autoClose: 5000 },
      { message: 'm2', type: 'info', autoClose: false },
      { message: '', type: 'info', autoClose: 5000 }
    ]);
    expect(comm.sent.map(m => m.action)).toEqual(['hello']);
  });

  it('opens notebooks by server-relative path and acks', async () => {
    const { comm, bridge, host } = open();
    const handle = (data: unknown) => bridge.handleKernelMessage('k1', comm.asComm(), data);
    handle({ action: 'open_notebook', request_id: 'o1', path: '/srv/lab/runs/r1/experiment.ipynb' });
    handle({ action: 'open_notebook', request_id: 'o2', path: 'cmp/compare.ipynb', relative_to: 'notebook' });
    handle({ action: 'open_notebook', request_id: 'o3', path: 'a/../b.ipynb' });
    handle({ action: 'open_notebook', request_id: 'o4' });
    await settle();
    expect(host.executed).toEqual([
      { id: 'docmanager:open', args: { path: 'runs/r1/experiment.ipynb' } },
      { id: 'docmanager:open', args: { path: 'work/cmp/compare.ipynb' } },
      { id: 'docmanager:open', args: { path: 'b.ipynb' } }
    ]);
    const acks = comm.actions('ack').sort((a, b) => String(a.request_id).localeCompare(String(b.request_id)));
    expect(acks).toEqual([
      { action: 'ack', request_id: 'o1', for_action: 'open_notebook', ok: true, path: 'runs/r1/experiment.ipynb' },
      { action: 'ack', request_id: 'o2', for_action: 'open_notebook', ok: true, path: 'work/cmp/compare.ipynb' },
      { action: 'ack', request_id: 'o3', for_action: 'open_notebook', ok: true, path: 'b.ipynb' },
      { action: 'ack', request_id: 'o4', for_action: 'open_notebook', ok: false, error: 'missing path' }
    ]);
  });

  it('refuses insert_cells when no notebook holds the kernel', () => {
    const { comm, bridge } = open(null);
    bridge.handleKernelMessage('k1', comm.asComm(), {
      action: 'insert_cells', request_id: 'i1', run: false,
      cells: [{ cell_type: 'code', source: 'x = 1', metadata: {} }]
    });
    expect(comm.actions('ack')).toEqual([
      { action: 'ack', request_id: 'i1', for_action: 'insert_cells', ok: false, inserted: 0,
        error: 'no open notebook is attached to this kernel' }
    ]);
  });

  it('sends to a kernel only over a live comm', () => {
    const { comm, bridge } = open();
    expect(bridge.sendToKernel('k1', { action: 'request_state' })).toBe(true);
    expect(bridge.sendToKernel('k2', { action: 'request_state' })).toBe(false);
    comm.isDisposed = true;
    expect(bridge.sendToKernel('k1', { action: 'request_state' })).toBe(false);
    expect(comm.actions('request_state')).toHaveLength(1);
  });

  it('registers the comm target once per kernel and marks its execute requests', () => {
    const { bridge, comm } = setup();
    comms.push(comm);
    const targets: { name: string; cb: (c: unknown, msg: unknown) => void }[] = [];
    const requests: unknown[] = [];
    const kernel = {
      id: 'k1',
      registerCommTarget: (name: string, cb: (c: unknown, msg: unknown) => void) => targets.push({ name, cb }),
      disposed: { connect: () => undefined },
      requestExecute: (content: unknown, disposeOnDone?: boolean, metadata?: unknown) => {
        requests.push(metadata);
        return null;
      }
    } as unknown as Kernel.IKernelConnection;
    bridge.registerKernel(kernel);
    bridge.registerKernel(kernel);
    expect(targets.map(t => t.name)).toEqual([COMM_TARGET]);
    kernel.requestExecute({ code: '1' });
    kernel.requestExecute({ code: '2' }, false, { cellId: 'c1' });
    expect(requests).toEqual([
      { [FRONTEND_MARK]: packageJson.version },
      { cellId: 'c1', [FRONTEND_MARK]: packageJson.version }
    ]);
    targets[0].cb(comm, { content: { data: { version: '0.1.0' } } });
    expect(comm.actions('hello')).toHaveLength(1);
    expect(bridge.records.get('k1')?.comm).toBe(comm);
  });

  it('reconnects a reloaded page to a kernel whose copilot is loaded, once', async () => {
    const { bridge, comm } = setup();
    comms.push(comm);
    const opened: unknown[] = [];
    let inUse: { [id: string]: { target_name: string } } = {};
    const kernel = {
      id: 'k1',
      isDisposed: false,
      requestCommInfo: async (content: { target_name?: string }) => {
        expect(content.target_name).toBe(COMM_TARGET);
        return { content: { status: 'ok', comms: inUse } };
      },
      createComm: (target: string) => {
        expect(target).toBe(COMM_TARGET);
        return Object.assign(comm, {
          open: (data: unknown) => {
            opened.push(data);
            return null;
          }
        });
      }
    } as unknown as Kernel.IKernelConnection;
    // a fresh kernel (the copilot not loaded): nothing to reconnect to
    expect(await bridge.reconnect(kernel)).toBe(false);
    expect(opened).toHaveLength(0);
    // the copilot's comm is open on the kernel (the page before the reload had it)
    inUse = { old: { target_name: COMM_TARGET } };
    expect(await bridge.reconnect(kernel)).toBe(true);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ action: 'hello', version: VERSION });
    expect(bridge.records.get('k1')?.comm).toBe(comm);
    // live now: no second comm
    expect(await bridge.reconnect(kernel)).toBe(false);
    expect(opened).toHaveLength(1);
  });
});
