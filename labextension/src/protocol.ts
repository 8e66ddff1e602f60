/**
 * The `mlr_copilot` comm protocol, in TypeScript.
 *
 * The protocol is defined once, as a JSON Schema shipped in the Python package
 * (`mlr_copilot_jupyter/jupyter_ui/comm_protocol.schema.json`); these types and guards mirror it, and
 * `test/protocol.test.ts` checks that the guards accept and reject the same examples as the
 * schema.  Every message is a JSON object whose `action` field names it.
 */

/** A JSON object of unknown shape (read through the guards below). */
export type Fields = { [key: string]: unknown };

export function isFields(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Set by the kernel on requests; echoed (or null) in the replies. */
export type RequestId = string | null;

export type CellType = 'code' | 'markdown' | 'raw';
export const CELL_TYPES: readonly CellType[] = ['code', 'markdown', 'raw'];

export type Capability = 'insert_cells' | 'open_notebook' | 'state' | 'notify';
export const CAPABILITIES: Capability[] = ['insert_cells', 'open_notebook', 'state', 'notify'];

export type NotifyType = 'info' | 'success' | 'warning' | 'error' | 'default';
export const NOTIFY_TYPES: readonly NotifyType[] = ['info', 'success', 'warning', 'error', 'default'];

/** A notebook cell to insert (`Cell` in the schema). */
export interface ICell {
  cell_type: CellType;
  source: string | string[];
  metadata: Fields;
  outputs?: Fields[];
  execution_count?: number | null;
  attachments?: Fields;
}

// -- kernel -> frontend ---------------------------------------------------------------------

export interface IInsertCellsMessage {
  action: 'insert_cells';
  request_id: string;
  cells: ICell[];
  run: boolean;
  after_cell_id?: string;
  group?: string;
  anchor_cell_id?: string | null;
  activate?: boolean;
  /** Sent again to a frontend that connected before the notebook was saved with it. */
  replay?: boolean;
}

export interface IOpenNotebookMessage {
  action: 'open_notebook';
  request_id: string;
  path: string;
  relative_to?: 'notebook';
}

export interface IStateMessage {
  action: 'state';
  state: Fields;
}

export interface INotifyMessage {
  action: 'notify';
  message: string;
  type?: NotifyType;
  auto_close?: number | false;
}

export interface IPingMessage {
  action: 'ping';
  request_id?: RequestId;
}

export type KernelToFrontendMessage =
  | IInsertCellsMessage
  | IOpenNotebookMessage
  | IStateMessage
  | INotifyMessage
  | IPingMessage;

// -- frontend -> kernel ---------------------------------------------------------------------

export interface IHelloMessage {
  action: 'hello';
  version: string;
  capabilities: Capability[];
  jupyterlab_version: string;
  notebook_path: string | null;
  server_root: string | null;
}

/** The reply to a request; the optional fields depend on the request. */
export interface IAckMessage {
  action: 'ack';
  request_id: RequestId;
  for_action?: string;
  ok: boolean;
  error?: string;
  inserted?: number;
  index?: number;
  cell_ids?: string[];
  notebook_path?: string;
  run?: boolean;
  path?: string;
}

/** The fields of an ack besides action, request_id and for_action. */
export type AckResult = Omit<IAckMessage, 'action' | 'request_id' | 'for_action'>;

export interface IRunDoneMessage {
  action: 'run_done';
  request_id: RequestId;
  ok: boolean;
  cell_ids?: string[];
  error?: string;
}

export interface IPongMessage {
  action: 'pong';
  request_id: RequestId;
}

export interface IRequestStateMessage {
  action: 'request_state';
}

/** The notebook was saved with the cells of these group inserts: the kernel stops keeping them. */
export interface ISavedMessage {
  action: 'saved';
  request_ids: string[];
}

/** The side panel's run buttons. */
export type RunAction = 'open_run' | 'insert_run' | 'stop_run';
export const RUN_ACTIONS: readonly RunAction[] = ['open_run', 'insert_run', 'stop_run'];

export interface IRunActionMessage {
  action: RunAction;
  run_id: string;
}

export interface IInsertWinnerMessage {
  action: 'insert_winner';
  comparison_id: string;
}

export type FrontendToKernelMessage =
  | IHelloMessage
  | IAckMessage
  | IRunDoneMessage
  | IPongMessage
  | IRequestStateMessage
  | ISavedMessage
  | IRunActionMessage
  | IInsertWinnerMessage;

export const KERNEL_TO_FRONTEND_ACTIONS: readonly KernelToFrontendMessage['action'][] = [
  'insert_cells',
  'open_notebook',
  'state',
  'notify',
  'ping'
];
export const FRONTEND_TO_KERNEL_ACTIONS: readonly FrontendToKernelMessage['action'][] = [
  'hello',
  'ack',
  'run_done',
  'pong',
  'request_state',
  'saved',
  ...RUN_ACTIONS,
  'insert_winner'
];

// -- guards -----------------------------------------------------------------------------------

type Check = (v: unknown) => boolean;

const isString: Check = v => typeof v === 'string';
const isBoolean: Check = v => typeof v === 'boolean';
const isInteger = (min?: number): Check => v =>
  typeof v === 'number' && Number.isInteger(v) && (min === undefined || v >= min);
const isNullable = (check: Check): Check => v => v === null || check(v);
const isArrayOf = (check: Check): Check => v => Array.isArray(v) && v.every(check);
const isOneOf = <T>(values: readonly T[]): Check => v => values.includes(v as T);
const isConst = (value: unknown): Check => v => v === value;

/** An object with exactly the given fields (required ones must be there), each passing its check. */
function hasShape(v: unknown, required: { [k: string]: Check }, optional: { [k: string]: Check } = {}): boolean {
  if (!isFields(v)) {
    return false;
  }
  for (const [key, check] of Object.entries(required)) {
    if (!(key in v) || !check(v[key])) {
      return false;
    }
  }
  for (const [key, value] of Object.entries(v)) {
    if (key in required) {
      continue;
    }
    const check = optional[key];
    if (!check || !check(value)) {
      return false;
    }
  }
  return true;
}

export function isCell(v: unknown): v is ICell {
  return hasShape(
    v,
    {
      cell_type: isOneOf(CELL_TYPES),
      source: s => isString(s) || isArrayOf(isString)(s),
      metadata: isFields
    },
    {
      outputs: isArrayOf(isFields),
      execution_count: isNullable(isInteger()),
      attachments: isFields
    }
  );
}

const requestId: Check = isNullable(isString);

const kernelToFrontend: { [action: string]: (v: Fields) => boolean } = {
  insert_cells: v =>
    hasShape(
      v,
      { action: isString, request_id: isString, cells: isArrayOf(isCell), run: isBoolean },
      {
        after_cell_id: isString,
        group: isString,
        anchor_cell_id: isNullable(isString),
        activate: isBoolean,
        replay: isBoolean
      }
    ),
  open_notebook: v =>
    hasShape(
      v,
      { action: isString, request_id: isString, path: p => isString(p) && p !== '' },
      { relative_to: isConst('notebook') }
    ),
  state: v => hasShape(v, { action: isString, state: isFields }),
  notify: v =>
    hasShape(
      v,
      { action: isString, message: isString },
      {
        type: isOneOf(NOTIFY_TYPES),
        auto_close: a => a === false || (typeof a === 'number' && isFinite(a) && a >= 0)
      }
    ),
  ping: v => hasShape(v, { action: isString }, { request_id: requestId })
};

const runAction = (v: Fields): boolean => hasShape(v, { action: isString, run_id: isString });

const frontendToKernel: { [action: string]: (v: Fields) => boolean } = {
  hello: v =>
    hasShape(v, {
      action: isString,
      version: isString,
      capabilities: isArrayOf(isOneOf(CAPABILITIES)),
      jupyterlab_version: isString,
      notebook_path: isNullable(isString),
      server_root: isNullable(isString)
    }),
  ack: v =>
    hasShape(
      v,
      { action: isString, request_id: requestId, ok: isBoolean },
      {
        for_action: isString,
        error: isString,
        inserted: isInteger(0),
        index: isInteger(0),
        cell_ids: isArrayOf(isString),
        notebook_path: isString,
        run: isBoolean,
        path: isString
      }
    ),
  run_done: v =>
    hasShape(
      v,
      { action: isString, request_id: requestId, ok: isBoolean },
      { cell_ids: isArrayOf(isString), error: isString }
    ),
  pong: v => hasShape(v, { action: isString, request_id: requestId }),
  request_state: v => hasShape(v, { action: isString }),
  saved: v => hasShape(v, { action: isString, request_ids: isArrayOf(isString) }),
  open_run: runAction,
  insert_run: runAction,
  stop_run: runAction,
  insert_winner: v => hasShape(v, { action: isString, comparison_id: isString })
};

function check(table: { [action: string]: (v: Fields) => boolean }, v: unknown): boolean {
  if (!isFields(v) || typeof v.action !== 'string') {
    return false;
  }
  const guard = Object.prototype.hasOwnProperty.call(table, v.action) ? table[v.action] : undefined;
  return guard !== undefined && guard(v);
}

/** Whether `v` is a well-formed kernel -> frontend message (as the schema says). */
export function isKernelToFrontendMessage(v: unknown): v is KernelToFrontendMessage {
  return check(kernelToFrontend, v);
}

/** Whether `v` is a well-formed frontend -> kernel message (as the schema says). */
export function isFrontendToKernelMessage(v: unknown): v is FrontendToKernelMessage {
  return check(frontendToKernel, v);
}

/** The request id of a message, or null (what replies echo). */
export function requestIdOf(data: Fields): RequestId {
  const id = data.request_id;
  return id === undefined || id === null ? null : typeof id === 'string' ? id : String(id);
}
