import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keepTickObjectShape } from '../../src/lib/index.js';

describe('keepTickObjectShape', () => {
  it("keeps one of nextTick's queue entries: the callback and node's two async id symbols", () => {
    const t = keepTickObjectShape() as Record<string | symbol, unknown> | undefined;
    assert.ok(t !== undefined, 'no TickObject was captured');
    assert.deepEqual(Object.getOwnPropertySymbols(t).map((s) => s.description), ['async_id_symbol', 'trigger_async_id_symbol']);
    assert.equal(typeof t.callback, 'function');
  });

  it('captures once per process: later calls (another RegionNode in the process) return the same entry', async () => {
    const a = keepTickObjectShape();
    await new Promise<void>((r) => process.nextTick(r));
    assert.equal(keepTickObjectShape(), a);
  });
});
