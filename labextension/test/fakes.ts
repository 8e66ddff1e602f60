/**
 * Stand-ins for the JupyterLab objects around the code under test: a comm that records what
 * is sent, a notebook tracker with one notebook, a host that records notifications and
 * commands.  The bridge, the panel and the protocol are the real ones.
 */
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel } from '@jupyterlab/services';

import type { BridgeComm, IBridgeHost } from '../src/bridge';
import type { NotifyType } from '../src/protocol';

export class FakeComm {
  sent: { [key: string]: unknown }[] = [];
  isDisposed = false;
  onMsg: unknown = null;
  onClose: unknown = null;

  send(data: { [key: string]: unknown }): void {
    this.sent.push(JSON.parse(JSON.stringify(data)));
  }

  actions(name: string): { [key: string]: unknown }[] {
    return this.sent.filter(m => m.action === name);
  }

  asComm(): BridgeComm {
    return this as unknown as BridgeComm;
  }
}

export class FakeHost implements IBridgeHost {
  readonly version = '4.6.4';
  notifications: { message: string; type: NotifyType; autoClose: number | false }[] = [];
  executed: { id: string; args: unknown }[] = [];
  readonly commands = {
    execute: async (id: string, args?: unknown): Promise<unknown> => {
      this.executed.push({ id, args });
      return undefined;
    }
  };

  notify(message: string, type: NotifyType, autoClose: number | false): void {
    this.notifications.push({ message, type, autoClose });
  }

  async runCells(): Promise<boolean> {
    throw new Error('no cells to run in these tests');
  }
}

/** A tracker whose current (and only) notebook is `path`, attached to kernel `kernelId`. */
export function fakeTracker(kernelId: string | null, path = 'work/nb.ipynb'): INotebookTracker {
  const panel =
    kernelId === null
      ? null
      : {
          sessionContext: { session: { kernel: { id: kernelId } } },
          context: { path },
          content: { model: null }
        };
  return {
    currentWidget: panel,
    forEach: (fn: (p: unknown) => void) => {
      if (panel) {
        fn(panel);
      }
    }
  } as unknown as INotebookTracker;
}

export type { NotebookPanel, Kernel };
