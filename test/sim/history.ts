// What clients saw of strong operations, recorded as they happen, for the
// linearizability checker (src/world/linearizability.ts). An operation is invoked when
// the client sends it and completes when the answer reaches the client; one whose answer
// never arrives (its region crashed, the client gave up) stays pending — it may or may
// not have taken effect, and the checker allows both.

import { checkLinearizability, type HistoryOp, type LinearizabilityResult, type RegisterOp, type RegisterValue } from '../../src/world/index.js';
import type { StrongOp } from './protocol.js';

interface Open {
  readonly id: number;
  readonly client: string;
  readonly invokeMs: number;
  readonly table: string;
  readonly op: StrongOp;
  completeMs: number | null;
  output: RegisterValue | 'ok' | 'fail' | null;
}

export class StrongHistory {
  private readonly ops = new Map<number, Open>();
  private nextId = 1;

  invoke(client: string, table: string, op: StrongOp, atMs: number): number {
    const id = this.nextId++;
    this.ops.set(id, { id, client, invokeMs: atMs, table, op, completeMs: null, output: null });
    return id;
  }

  complete(id: number, atMs: number, output: RegisterValue | 'ok' | 'fail'): void {
    const o = this.ops.get(id);
    if (o === undefined || o.completeMs !== null) return;
    o.completeMs = atMs;
    o.output = output;
  }

  /** The client learned it failed without effect (refused): it is not part of the history. */
  forget(id: number): void {
    this.ops.delete(id);
  }

  get size(): number {
    return this.ops.size;
  }

  /** As the checker takes it: each table's keys are registers of their own. */
  toHistory(): HistoryOp[] {
    return [...this.ops.values()].map((o): HistoryOp => ({ id: o.id, client: o.client, invokeMs: o.invokeMs, completeMs: o.completeMs, op: registerOp(o) }));
  }

  check(): LinearizabilityResult {
    return checkLinearizability(this.toHistory());
  }
}

function registerOp(o: Open): RegisterOp {
  const key = `${o.table}/${o.op.key}`;
  switch (o.op.kind) {
    case 'read':
      return { kind: 'read', key, output: o.output === 'ok' || o.output === 'fail' ? null : o.output };
    case 'write':
      return { kind: 'write', key, value: o.op.value };
    case 'cas':
      return { kind: 'cas', key, expected: o.op.expected, value: o.op.value, output: o.output === 'ok' ? 'ok' : 'fail' };
  }
}
