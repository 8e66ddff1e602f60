/**
 * mlr-copilot-jupyter: JupyterLab 4 frontend.  The plugin is in `plugin.ts`; the comm bridge
 * in `bridge.ts`, the message types in `protocol.ts`, the side panel in `panel.ts`.
 */
export * from './plugin';
export { default } from './plugin';
