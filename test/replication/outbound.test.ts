import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultReplicationConfig, type ReplicationConfig } from '../../src/replication/config.js';
import { initialOutbound, outboundWakeMs, stepOutbound, type OutboundEffect, type OutboundInput, type OutboundState } from '../../src/replication/outbound.js';

const cfg: ReplicationConfig = { flushMs: 5, maxBatch: 4, maxInflight: 3, retryMs: 100, heartbeatMs: 50, logKeep: 1000, antiEntropyMs: 1000, snapshotPageSize: 100 };

function run(s: OutboundState, input: OutboundInput): { s: OutboundState; fx: readonly OutboundEffect[] } {
  const r = stepOutbound(s, input, cfg);
  return { s: r.state, fx: r.effects };
}
const sends = (fx: readonly OutboundEffect[]): { id: number; firstSeq: number; lastSeq: number }[] =>
  fx.flatMap((e) => (e.kind === 'send' ? [{ id: e.id, firstSeq: e.firstSeq, lastSeq: e.lastSeq }] : []));
const fresh = (): OutboundState => ({ ...initialOutbound('us-east-1', 0, { firstSeq: 1, lastSeq: 0 }), nextId: 1 });

test('cuts contiguous batches of at most maxBatch, at most maxInflight in flight', () => {
  const { s, fx } = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 1, lastSeq: 20 } });
  assert.deepEqual(sends(fx), [
    { id: 1, firstSeq: 1, lastSeq: 4 },
    { id: 2, firstSeq: 5, lastSeq: 8 },
    { id: 3, firstSeq: 9, lastSeq: 12 },
  ]);
  assert.equal(s.inflight.length, 3);
  // Full pipeline: nothing more until a reply, even on the next cadence.
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1010, log: { firstSeq: 1, lastSeq: 20 } }).fx), []);
});

test('ships on a cadence: a second flush waits flushMs after the first', () => {
  let { s } = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 1, lastSeq: 2 } });
  ({ s } = run(s, { kind: 'reply', nowMs: 1001, id: 1, reply: { result: 'applied', applied: 2 } }));
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1002, log: { firstSeq: 1, lastSeq: 3 } }).fx), []);
  assert.equal(outboundWakeMs(s, cfg, 3), 1005);
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1005, log: { firstSeq: 1, lastSeq: 3 } }).fx), [{ id: 2, firstSeq: 3, lastSeq: 3 }]);
});

test('an acknowledgement frees the pipeline and is persisted', () => {
  let { s } = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 1, lastSeq: 20 } });
  const r = run(s, { kind: 'reply', nowMs: 1001, id: 2, reply: { result: 'applied', applied: 8 } });
  s = r.s;
  assert.deepEqual(r.fx, [{ kind: 'persist_ack', acked: 8 }]);
  assert.equal(s.acked, 8);
  assert.deepEqual(s.inflight.map((b) => b.id), [3]);
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1005, log: { firstSeq: 1, lastSeq: 20 } }).fx), [
    { id: 4, firstSeq: 13, lastSeq: 16 },
    { id: 5, firstSeq: 17, lastSeq: 20 },
  ]);
});

test('a gap reply goes back to the expected sequence and resends from there', () => {
  let { s } = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 1, lastSeq: 12 } });
  ({ s } = run(s, { kind: 'reply', nowMs: 1001, id: 2, reply: { result: 'gap', expected: 1 } }));
  assert.equal(s.inflight.length, 0);
  assert.equal(s.sentUpTo, 0);
  // A stale gap for a batch already given up on changes nothing.
  assert.deepEqual(run(s, { kind: 'reply', nowMs: 1002, id: 3, reply: { result: 'gap', expected: 1 } }).s, s);
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1005, log: { firstSeq: 1, lastSeq: 12 } }).fx)[0], { id: 4, firstSeq: 1, lastSeq: 4 });
});

test('a batch unanswered for retryMs is resent (go-back-N), with fresh ids', () => {
  let { s } = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 1, lastSeq: 6 } });
  ({ s } = run(s, { kind: 'reply', nowMs: 1010, id: 1, reply: { result: 'applied', applied: 4 } }));
  assert.equal(outboundWakeMs(s, cfg, 6), 1100);
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1099, log: { firstSeq: 1, lastSeq: 6 } }).fx), []);
  const r = run(s, { kind: 'tick', nowMs: 1100, log: { firstSeq: 1, lastSeq: 6 } });
  assert.deepEqual(sends(r.fx), [{ id: 3, firstSeq: 5, lastSeq: 6 }]);
});

test('a transport failure pauses the stream for retryMs, then resends from the ack', () => {
  let { s } = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 1, lastSeq: 6 } });
  ({ s } = run(s, { kind: 'failed', nowMs: 1001, id: 1 }));
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1050, log: { firstSeq: 1, lastSeq: 6 } }).fx), []);
  assert.equal(outboundWakeMs(s, cfg, 6), 1101);
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1101, log: { firstSeq: 1, lastSeq: 6 } }).fx), [
    { id: 3, firstSeq: 1, lastSeq: 4 },
    { id: 4, firstSeq: 5, lastSeq: 6 },
  ]);
});

test('an idle stream sends a heartbeat (an empty range at its ack) every heartbeatMs', () => {
  let { s } = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 1, lastSeq: 2 } });
  ({ s } = run(s, { kind: 'reply', nowMs: 1001, id: 1, reply: { result: 'applied', applied: 2 } }));
  assert.deepEqual(sends(run(s, { kind: 'tick', nowMs: 1049, log: { firstSeq: 1, lastSeq: 2 } }).fx), []);
  assert.equal(outboundWakeMs(s, cfg, 2), 1050);
  const r = run(s, { kind: 'tick', nowMs: 1050, log: { firstSeq: 1, lastSeq: 2 } });
  assert.deepEqual(sends(r.fx), [{ id: 2, firstSeq: 3, lastSeq: 2 }]);
  // Its answer clears it.
  assert.equal(run(r.s, { kind: 'reply', nowMs: 1051, id: 2, reply: { result: 'applied', applied: 2 } }).s.inflight.length, 0);
});

test('a destination whose ack is below the log start gets a snapshot, and resumes after it', () => {
  let r = run({ ...initialOutbound('us-east-1', 3, { firstSeq: 1, lastSeq: 0 }), nextId: 1 }, { kind: 'tick', nowMs: 1000, log: { firstSeq: 10, lastSeq: 30 } });
  assert.deepEqual(r.fx, [{ kind: 'snapshot' }]);
  assert.notEqual(r.s.snapshot, null);
  // Nothing else while it runs: no batches, no heartbeats.
  assert.deepEqual(run(r.s, { kind: 'tick', nowMs: 5000, log: { firstSeq: 10, lastSeq: 30 } }).fx, []);
  assert.equal(outboundWakeMs(r.s, cfg, 30), Infinity);
  r = run(r.s, { kind: 'snapshot_done', nowMs: 1200, seq: 28 });
  assert.deepEqual(r.fx, [{ kind: 'persist_ack', acked: 28 }]);
  assert.equal(r.s.snapshots, 1);
  assert.deepEqual(sends(run(r.s, { kind: 'tick', nowMs: 1205, log: { firstSeq: 10, lastSeq: 30 } }).fx), [{ id: 1, firstSeq: 29, lastSeq: 30 }]);
});

test('a failed snapshot is retried after retryMs', () => {
  let r = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 5, lastSeq: 9 } });
  assert.deepEqual(r.fx, [{ kind: 'snapshot' }]);
  r = run(r.s, { kind: 'snapshot_failed', nowMs: 1010 });
  assert.deepEqual(run(r.s, { kind: 'tick', nowMs: 1050, log: { firstSeq: 5, lastSeq: 9 } }).fx, []);
  assert.deepEqual(run(r.s, { kind: 'tick', nowMs: 1110, log: { firstSeq: 5, lastSeq: 9 } }).fx, [{ kind: 'snapshot' }]);
});

test('a gap that reaches below the log start leads to a snapshot', () => {
  let { s } = run(fresh(), { kind: 'tick', nowMs: 1000, log: { firstSeq: 1, lastSeq: 4 } });
  ({ s } = run(s, { kind: 'reply', nowMs: 1001, id: 1, reply: { result: 'applied', applied: 4 } }));
  // The destination lost its data (expected 1) and the log now starts at 3.
  ({ s } = run(s, { kind: 'tick', nowMs: 1060, log: { firstSeq: 3, lastSeq: 4 } }));
  const hb = s.inflight[0]?.id as number;
  const r = run(s, { kind: 'reply', nowMs: 1061, id: hb, reply: { result: 'gap', expected: 1 } });
  assert.deepEqual(r.fx, [{ kind: 'persist_ack', acked: 0 }]);
  assert.deepEqual(run(r.s, { kind: 'tick', nowMs: 1070, log: { firstSeq: 3, lastSeq: 4 } }).fx, [{ kind: 'snapshot' }]);
});

test('on a long link the window covers a round trip: a change waits for its flush, never for a reply', () => {
  // 1,000 commits/s over a 200 ms round trip with the default pacing (5 ms, 8 in flight):
  // at 5 ms a flush, 8 batches covered 40 ms and later commits waited up to 160 ms for the
  // window to open. With the flush spaced by RTT / maxInflight they wait at most one flush.
  const d: ReplicationConfig = { ...defaultReplicationConfig };
  const rtt = 200;
  let s: OutboundState = { ...initialOutbound('ap-southeast-1', 0, { firstSeq: 1, lastSeq: 0 }), nextId: 1 };
  const replies: { atMs: number; id: number; lastSeq: number }[] = [];
  const sentAt = new Map<number, number>();
  let worstWait = 0;
  for (let now = 0; now < 5000; now++) {
    const lastSeq = now; // one commit per ms, seq = its ms
    for (const r of replies.filter((x) => x.atMs === now)) s = stepOutbound(s, { kind: 'reply', nowMs: now, id: r.id, reply: { result: 'applied', applied: r.lastSeq } }, d).state;
    const step = stepOutbound(s, { kind: 'tick', nowMs: now, log: { firstSeq: 1, lastSeq } }, d);
    s = step.state;
    for (const e of step.effects) {
      if (e.kind !== 'send') continue;
      replies.push({ atMs: now + rtt, id: e.id, lastSeq: e.lastSeq });
      for (let q = e.firstSeq; q <= e.lastSeq; q++) sentAt.set(q, now);
    }
    assert.ok(s.inflight.length <= d.maxInflight);
  }
  for (let q = 2000; q < 4500; q++) worstWait = Math.max(worstWait, (sentAt.get(q) ?? Infinity) - q);
  assert.ok(Math.abs(s.rttMs - rtt) < 2, `smoothed RTT ${s.rttMs}`);
  assert.ok(worstWait <= rtt / d.maxInflight + 1, `a change waited ${worstWait} ms to be sent`);
});
