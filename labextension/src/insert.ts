/**
 * Where and what `insert_cells` inserts: the kernel's cells normalised for the notebook's
 * shared model, and the index they go to.  Pure functions over the notebook's cell list.
 */
import { CELL_TYPES, CellType, Fields, ICell, isFields } from './protocol';

/** The part of a notebook's cell list (`INotebookModel['cells']`) the insertion reads. */
export interface ICellList {
  readonly length: number;
  get(index: number): {
    readonly id: string;
    readonly sharedModel: { getMetadata(): unknown; readonly cell_type?: string };
  };
}

/** The `mlr_copilot.run_id` of a cell's metadata, if any. */
export function cellGroup(metadata: unknown): string | null {
  const meta = isFields(metadata) ? metadata['mlr_copilot'] : null;
  return isFields(meta) && typeof meta.run_id === 'string' ? meta.run_id : null;
}

/** What makes a generated cell itself: run id, node id and cell type (null when it has none). */
export function nodeCellKey(metadata: unknown, cellType: unknown): string | null {
  const meta = isFields(metadata) ? metadata['mlr_copilot'] : null;
  if (!isFields(meta) || typeof meta.node_id !== 'string' || typeof meta.run_id !== 'string') {
    return null;
  }
  return `${meta.run_id}/${meta.node_id}/${String(cellType)}`;
}

/**
 * The cells of a group insert that the notebook does not have yet: a replay (the kernel sends
 * again what a reloaded page may have lost) must not insert a node's cells twice.
 */
export function missingCells(cellList: ICellList, cells: ICell[]): ICell[] {
  const present = new Set<string>();
  for (let i = 0; i < cellList.length; i++) {
    const shared = cellList.get(i).sharedModel;
    const key = nodeCellKey(shared.getMetadata(), shared.cell_type);
    if (key) {
      present.add(key);
    }
  }
  return cells.filter(cell => {
    const key = nodeCellKey(cell.metadata, cell.cell_type);
    return key === null || !present.has(key);
  });
}

/** Normalise a cell dict from the kernel into a ydoc cell. */
export function toCell(raw: Fields): ICell {
  const cellType: CellType = CELL_TYPES.find(t => t === raw.cell_type) ?? 'code';
  const rawSource = raw.source ?? '';
  const source = Array.isArray(rawSource) ? rawSource.join('') : String(rawSource);
  const metadata = isFields(raw.metadata) ? { ...raw.metadata } : {};
  const cell: ICell = { cell_type: cellType, source, metadata };
  if (cellType === 'code') {
    cell.outputs = Array.isArray(raw.outputs) ? raw.outputs.filter(isFields) : [];
    cell.execution_count =
      typeof raw.execution_count === 'number' ? raw.execution_count : null;
  }
  if (isFields(raw.attachments) && cellType !== 'code') {
    cell.attachments = raw.attachments;
  }
  return cell;
}

/**
 * The index where the cells of an insert_cells message (`data`) go in `cellList`.
 *
 * For a `group` (a run id): after the group's last cell in the notebook, else after
 * `anchor_cell_id` (the cell that started the run), else at the end behind a note (which is
 * prepended to `cells`).  Otherwise after `after_cell_id` if given and found, else below the
 * active cell, else at the end.
 */
export function insertIndex(
  cellList: ICellList,
  activeCellIndex: number,
  data: Fields,
  cells: ICell[]
): number {
  let index = -1;
  const group = typeof data.group === 'string' ? data.group : null;
  if (group) {
    for (let i = cellList.length - 1; i >= 0 && index < 0; i--) {
      if (cellGroup(cellList.get(i).sharedModel.getMetadata()) === group) {
        index = i + 1;
      }
    }
    const anchor = typeof data.anchor_cell_id === 'string' ? data.anchor_cell_id : null;
    for (let i = 0; i < cellList.length && index < 0 && anchor; i++) {
      if (cellList.get(i).id === anchor) {
        index = i + 1;
      }
    }
    if (index < 0) {
      index = cellList.length;
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
    for (let i = 0; i < cellList.length; i++) {
      if (cellList.get(i).id === data.after_cell_id) {
        index = i + 1;
        break;
      }
    }
  }
  if (index < 0) {
    index = activeCellIndex >= 0 ? activeCellIndex + 1 : cellList.length;
  }
  return Math.max(0, Math.min(index, cellList.length));
}
