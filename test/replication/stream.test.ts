// The two state machines end to end, with a hostile network in between: messages are
// lost, duplicated, delayed and reordered, all from one seed. Whatever happens, the
// destination applies every change exactly once, in order, and catches up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ReplicationConfig } from '../../src/replication/config.js';
import { initialInbound, stepInbound, type InboundInput, type InboundState } from '../../src/replication/inbound.js';
import type { BatchMessage, BatchReply } from '../../src/replication/messages.js';
import { initialOutbound, stepOutbound, type OutboundInput, type OutboundState } from '../../src/replication/outbound.js';
import type { LoggedChange } from '../../src/store/index.js';

const cfg: ReplicationConfig = { flushMs: 5, maxBatch: 3, maxInflight: 4, retryMs: 60, heartbeatMs: 40, logKeep: 10_000, antiEntropyMs: 1000, snapshotPageSize: 100 };
const lim = { maxParked: 4, parkMs: 15 };

type Wire = { atMs: number; kind: 'batch'; batch: BatchMessage } | { atMs: number; kind: 'reply'; id: number; reply: BatchReply } | { atMs: number; kind: 'fail'; id: number };

interface Net {
  readonly loss: number;
  readonly dup: number;
  readonly maxDelayMs: number;
}

function simulate(seed: number, total: number, net: Net): { applied: number[]; inb: InboundState; out: OutboundState; heartbeats: number } {
  let x = seed >>> 0 || 1;
  const rand = (): number => {
    // xorshift32: the run replays from its seed
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
  const log: LoggedChange[] = [];
  let out = initialOutbound('dest', 0, { firstSeq: 1, lastSeq: 0 });
  let inb = initialInbound('src', 0, 0);
  const applied: number[] = [];
  let wire: Wire[] = [];
  let heartbeats = 0;
  const send = (w: Wire): void => {
    if (rand() < net.loss) {
      // A lost request surfaces at the sender as a transport failure, sometimes.
      if (w.kind === 'batch' && rand() < 0.5) wire.push({ atMs: w.atMs + net.maxDelayMs, kind: 'fail', id: w.batch.id });
      return;
    }
    const copies = rand() < net.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) wire.push({ ...w, atMs: w.atMs + Math.floor(rand() * net.maxDelayMs) });
  };
  const toOut = (input: OutboundInput, nowMs: number): void => {
    const r = stepOutbound(out, input, cfg);
    out = r.state;
    for (const e of r.effects) {
      if (e.kind !== 'send') continue;
      if (e.lastSeq < e.firstSeq) heartbeats++;
      const changes = log.slice(e.firstSeq - 1, e.lastSeq);
      send({ atMs: nowMs, kind: 'batch', batch: { source: 'src', id: e.id, firstSeq: e.firstSeq, lastSeq: e.lastSeq, sourceMs: nowMs, changes } });
    }
  };
  const toIn = (input0: InboundInput, nowMs: number): void => {
    const queue: InboundInput[] = [input0];
    for (let input = queue.shift(); input !== undefined; input = queue.shift()) {
      const r = stepInbound(inb, input, lim);
      inb = r.state;
      for (const e of r.effects) {
        if (e.kind === 'apply') {
          applied.push(...e.changes.map((c) => c.seq));
          queue.push({ kind: 'applied', nowMs, ok: true });
        } else if (e.kind === 'reply') send({ atMs: nowMs, kind: 'reply', id: e.id, reply: e.reply });
      }
    }
  };

  for (let nowMs = 0; nowMs < 20_000; nowMs++) {
    if (log.length < total && rand() < 0.3) {
      const seq = log.length + 1;
      log.push({ kind: 'counter', seq, committedMs: nowMs, table: 't', key: 'k', slot: 'src', p: seq, n: 0, version: { wall: nowMs, logical: seq, region: 'src' } });
    }
    const due = wire.filter((w) => w.atMs <= nowMs);
    wire = wire.filter((w) => w.atMs > nowMs);
    for (const w of due) {
      if (w.kind === 'batch') toIn({ kind: 'batch', nowMs, batch: w.batch }, nowMs);
      else if (w.kind === 'reply') toOut({ kind: 'reply', nowMs, id: w.id, reply: w.reply }, nowMs);
      else toOut({ kind: 'failed', nowMs, id: w.id }, nowMs);
    }
    toIn({ kind: 'tick', nowMs }, nowMs);
    toOut({ kind: 'tick', nowMs, log: { firstSeq: 1, lastSeq: log.length } }, nowMs);
    assert.ok(out.inflight.length <= cfg.maxInflight);
    assert.ok(inb.parked.length <= lim.maxParked);
    if (log.length === total && inb.applied === total && out.acked === total && nowMs > 2000) break;
  }
  return { applied, inb, out, heartbeats };
}

test('property: over a lossy, duplicating, reordering network every change is applied once, in order, and the source learns it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** 31 }),
      fc.integer({ min: 1, max: 120 }),
      fc.record({ loss: fc.double({ min: 0, max: 0.3, noNaN: true }), dup: fc.double({ min: 0, max: 0.3, noNaN: true }), maxDelayMs: fc.integer({ min: 1, max: 40 }) }),
      (seed, total, net) => {
        const r = simulate(seed, total, net);
        assert.deepEqual(
          r.applied,
          Array.from({ length: total }, (_, i) => i + 1),
        );
        assert.equal(r.inb.applied, total);
        assert.equal(r.out.acked, total);
      },
    ),
    { numRuns: 60 },
  );
});

test('an idle stream keeps the destination fresh with heartbeats', () => {
  const r = simulate(42, 5, { loss: 0, dup: 0, maxDelayMs: 2 });
  assert.equal(r.inb.applied, 5);
  assert.ok(r.heartbeats > 10, `heartbeats: ${r.heartbeats}`);
  // Freshness follows the source's clock, not the last write (at ~20 ms there were none left).
  assert.ok(r.inb.sourceMs > 1500, `sourceMs ${r.inb.sourceMs}`);
});
