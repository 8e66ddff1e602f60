/**
 * The JupyterLab plugin of mlr-copilot-jupyter.
 *
 * - Registers the comm target `mlr_copilot` on every notebook kernel (`bridge.ts`).  The
 *   Python side (mlr_copilot_jupyter) opens a comm to that target and sends JSON messages
 *   `{"action": ...}`; the protocol is `mlr_copilot_jupyter/jupyter_ui/comm_protocol.schema.json`
 *   (typed in `protocol.ts`).
 * - Adds the "MLR Copilot" side panel (id `mlr-copilot-panel`, `panel.ts`) to the right
 *   area, showing the last research `state` sent by the current notebook's kernel.
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
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import type { JSONObject } from '@lumino/coreutils';

import { COMM_TARGET, CopilotBridge, IBridgeHost, VERSION } from './bridge';
import { CopilotPanel, PANEL_ID, REFRESH_COMMAND } from './panel';

export { COMM_TARGET, FRONTEND_MARK, VERSION } from './bridge';
export { PANEL_ID, summarizeState } from './panel';
export { CAPABILITIES } from './protocol';
export const PLUGIN_ID = 'mlr-copilot-jupyter:plugin';

export namespace CommandIDs {
  export const togglePanel = 'mlr-copilot:toggle-panel';
  export const refresh = REFRESH_COMMAND;
  export const debugInfo = 'mlr-copilot:debug-info';
}

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M9 21c0 .55.45 1 1 1h4c.55 0 1-.45 1-1v-1H9v1zm3-19C8.14 2 5 5.14 5 9c0 2.38 1.19 4.47 3 5.74V17c0 .55.45 1 1 1h6c.55 0 1-.45 1-1v-2.26c1.81-1.27 3-3.36 3-5.74 0-3.86-3.14-7-7-7z"/>' +
  '</svg>';

const copilotIcon = new LabIcon({ name: 'mlr-copilot:icon', svgstr: ICON_SVG });

/** Refresh: 'sent' (over the kernel's comm), 'opened' (no comm yet: a frontend comm was
 * opened; it only lives if the kernel registered the `mlr_copilot` target) or 'no-kernel'. */
function refresh(bridge: CopilotBridge, kernel: Kernel.IKernelConnection | null): string {
  if (!kernel) {
    return 'no-kernel';
  }
  bridge.registerKernel(kernel);
  if (bridge.sendToKernel(kernel.id, { action: 'request_state' })) {
    return 'sent';
  }
  const comm = bridge.openFrontendComm(kernel);
  return bridge.send(comm, { action: 'request_state' }) ? 'opened' : 'no-kernel';
}

function debugInfo(bridge: CopilotBridge, panel: CopilotPanel): JSONObject {
  const kernels: JSONObject[] = [];
  bridge.records.forEach(rec => {
    const nb = bridge.findPanel(rec.kernelId);
    kernels.push({
      kernel_id: rec.kernelId,
      notebook_path: nb ? nb.context.path : null,
      connected: !!(rec.comm && !rec.comm.isDisposed),
      has_state: !!rec.state,
      // The state is the JSON the kernel sent.
      state: rec.state as JSONObject | null
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
    const host: IBridgeHost = {
      version: app.version,
      commands: app.commands,
      notify: (message, type, autoClose) => {
        Notification.emit(message, type, { autoClose });
      },
      runCells: (nbPanel, cells) =>
        NotebookActions.runCells(
          nbPanel.content,
          cells,
          nbPanel.sessionContext,
          sessionDialogs ?? undefined
        )
    };
    const bridge = new CopilotBridge(host, tracker);
    const panel = new CopilotPanel(bridge);
    panel.title.icon = copilotIcon;

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
        let kernel = bridge.currentKernel();
        if (typeof args.path === 'string') {
          const nb = tracker.find(p => p.context.path === args.path);
          kernel = nb?.sessionContext.session?.kernel ?? null;
        }
        const status = refresh(bridge, kernel);
        if (kernel) {
          scheduleRender();
        }
        return status;
      }
    });

    app.commands.addCommand(CommandIDs.debugInfo, {
      label: 'MLR Copilot: debug info',
      execute: () => debugInfo(bridge, panel)
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
