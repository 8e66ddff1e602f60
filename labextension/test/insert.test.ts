import { describe, expect, it } from 'vitest';

import { ICellList, insertIndex, missingCells, nodeCellKey, toCell } from '../src/insert';
import type { ICell } from '../src/protocol';

function cells(...specs: [string, string | null][]): ICellList {
  return {
    length: specs.length,
    get: (i: number) => ({
      id: specs[i][0],
      sharedModel: { getMetadata: () => (specs[i][1] ? { mlr_copilot: { run_id: specs[i][1] } } : {}) }
    })
  };
}

const NB = cells(['a', null], ['b', 'run-1'], ['c', 'run-1'], ['d', null], ['e', 'run-2']);
const one = (): ICell[] => [{ cell_type: 'code', source: 'x', metadata: {} }];

describe('insertIndex', () => {
  it('puts a group after its last cell, else after its anchor', () => {
    expect(insertIndex(NB, 0, { group: 'run-1', anchor_cell_id: 'a' }, one())).toBe(3);
    expect(insertIndex(NB, 0, { group: 'run-3', anchor_cell_id: 'd' }, one())).toBe(4);
  });

  it('puts a group whose anchor is gone at the end behind a note', () => {
    const batch = one();
    expect(insertIndex(NB, 1, { group: 'run-3', anchor_cell_id: 'zz' }, batch)).toBe(5);
    expect(batch).toHaveLength(2);
    expect(batch[0]).toMatchObject({ cell_type: 'markdown', metadata: { mlr_copilot: { stage: 'note', run_id: 'run-3' } } });
    const noAnchor = one();
    expect(insertIndex(NB, 1, { group: 'run-3', anchor_cell_id: null }, noAnchor)).toBe(5);
    expect(noAnchor).toHaveLength(1);
  });

  it('otherwise goes after after_cell_id, else below the active cell, else at the end', () => {
    expect(insertIndex(NB, 0, { after_cell_id: 'c' }, one())).toBe(3);
    expect(insertIndex(NB, 1, { after_cell_id: 'gone' }, one())).toBe(2);
    expect(insertIndex(NB, -1, {}, one())).toBe(5);
    expect(insertIndex(cells(), -1, {}, one())).toBe(0);
  });
});

describe('missingCells', () => {
  const node = (run: string, id: string, type: 'code' | 'markdown'): ICell => ({
    cell_type: type,
    source: `${id} ${type}`,
    metadata: { mlr_copilot: { run_id: run, node_id: id, stage: 'draft' } }
  });
  const notebook = (...have: ICell[]): ICellList => ({
    length: have.length,
    get: (i: number) => ({
      id: `c${i}`,
      sharedModel: { getMetadata: () => have[i].metadata, cell_type: have[i].cell_type }
    })
  });

  it('skips the cells of nodes the notebook already has (a replay after a reload)', () => {
    const saved = notebook(node('run-1', 'n1', 'markdown'), node('run-1', 'n1', 'code'));
    const replay = [node('run-1', 'n1', 'markdown'), node('run-1', 'n1', 'code')];
    expect(missingCells(saved, replay)).toEqual([]);
    const lost = [node('run-1', 'n2', 'markdown'), node('run-1', 'n2', 'code')];
    expect(missingCells(saved, [...replay, ...lost])).toEqual(lost);
  });

  it('keeps another run\'s node of the same id, and cells without a node id', () => {
    const saved = notebook(node('run-1', 'n1', 'code'));
    const other = node('run-2', 'n1', 'code');
    const plain: ICell = { cell_type: 'code', source: 'x', metadata: { mlr_copilot: { run_id: 'run-1' } } };
    expect(missingCells(saved, [other, plain])).toEqual([other, plain]);
    expect(nodeCellKey({}, 'code')).toBeNull();
    expect(nodeCellKey(other.metadata, 'code')).toBe('run-2/n1/code');
  });
});

describe('toCell', () => {
  it('normalises kernel cells for the shared model', () => {
    expect(toCell({ cell_type: 'markdown', source: ['a', 'b'], metadata: { k: 1 }, outputs: [] })).toEqual({
      cell_type: 'markdown', source: 'ab', metadata: { k: 1 }
    });
    expect(toCell({ cell_type: 'weird', source: 3 })).toEqual({
      cell_type: 'code', source: '3', metadata: {}, outputs: [], execution_count: null
    });
    expect(toCell({ cell_type: 'raw', source: 'r', metadata: [], attachments: { 'a.png': {} } })).toEqual({
      cell_type: 'raw', source: 'r', metadata: {}, attachments: { 'a.png': {} }
    });
  });
});
