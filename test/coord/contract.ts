// The one contract every Coordinator keeps, run against each implementation (embedded over
// loopback HTTP, etcd): the same calls, the same answers, the same errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Conflict, LeaseExpired, deleteIf, putIf, readLeader, releaseLeadership, takeLeadership, watchLeader, type Coordinator, type LeaderRecord, type WatchEvent } from '../../src/coord/index.js';

export interface ContractWorld {
  /** Two clients of one coordinator, as two regions would have. */
  readonly a: Coordinator;
  readonly b: Coordinator;
  /** Lets at least this much lease time pass (a fake clock, or real waiting). */
  passTime(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function coordinatorContract(name: string, open: () => Promise<ContractWorld | string>): void {
  describe(`coordinator contract: ${name}`, () => {
    let w: ContractWorld | undefined;
    let skip: string | undefined;
    before(async () => {
      const r = await open();
      if (typeof r === 'string') skip = r;
      else w = r;
    });
    after(async () => {
      await w?.close();
    });
    /** Each test under its own keys, so they share one coordinator without meeting. */
    let n = 0;
    const test = (title: string, f: (w: ContractWorld, p: string) => Promise<void>): void => {
      it(title, async (t) => {
        if (w === undefined) return t.skip(skip ?? 'no coordinator');
        await f(w, `t${++n}-${Date.now().toString(36)}/`);
      });
    };

    test('create only if absent, put only at the read revision, delete likewise', async ({ a, b }, p) => {
      const r1 = await putIf(a, { key: `${p}k`, value: 'one' }, { kind: 'absent' });
      await assert.rejects(putIf(b, { key: `${p}k`, value: 'two' }, { kind: 'absent' }), (e) => e instanceof Conflict && e.key === `${p}k`);
      const rec = await b.get(`${p}k`);
      assert.deepEqual(rec && { value: rec.value, modRevision: rec.modRevision, createRevision: rec.createRevision, lease: rec.lease }, { value: 'one', modRevision: r1, createRevision: r1, lease: null });
      const r2 = await putIf(b, { key: `${p}k`, value: 'two' }, { kind: 'revision', modRevision: r1 });
      assert.ok(r2 > r1);
      await assert.rejects(putIf(a, { key: `${p}k`, value: 'stale' }, { kind: 'revision', modRevision: r1 }), Conflict);
      await assert.rejects(deleteIf(a, `${p}k`, { kind: 'revision', modRevision: r1 }), Conflict);
      await deleteIf(a, `${p}k`, { kind: 'revision', modRevision: r2 });
      assert.equal(await a.get(`${p}k`), null);
    });

    test('a commit applies whole or not at all, and a conflict names the failed key', async ({ a }, p) => {
      await a.commit({ checks: [], puts: [{ key: `${p}x`, value: '1' }], deletes: [] });
      await assert.rejects(
        a.commit({ checks: [{ key: `${p}y`, expect: { kind: 'absent' } }, { key: `${p}x`, expect: { kind: 'absent' } }], puts: [{ key: `${p}y`, value: '2' }], deletes: [`${p}x`] }),
        (e) => e instanceof Conflict && e.key === `${p}x`,
      );
      assert.equal(await a.get(`${p}y`), null);
      assert.equal((await a.get(`${p}x`))?.value, '1');
      const l = await a.list(p);
      assert.deepEqual(l.records.map((r) => r.key), [`${p}x`]);
      assert.ok(l.revision >= (l.records[0]?.modRevision ?? 0));
    });

    test('records bound to a lease: alive while kept alive, gone when revoked; the lease then refuses', async ({ a, b }, p) => {
      const lease = await a.grantLease(2000);
      assert.ok(lease.ttlMs >= 2000);
      await a.commit({ checks: [], puts: [{ key: `${p}held`, value: 'v', lease: lease.id }], deletes: [] });
      assert.equal((await b.get(`${p}held`))?.lease, lease.id);
      assert.ok((await a.keepAlive(lease.id)) >= 2000);
      await a.revokeLease(lease.id);
      assert.equal(await b.get(`${p}held`), null);
      await assert.rejects(a.keepAlive(lease.id), LeaseExpired);
      await assert.rejects(a.commit({ checks: [], puts: [{ key: `${p}late`, value: 'v', lease: lease.id }], deletes: [] }), LeaseExpired);
      await a.revokeLease(lease.id); // already gone: not an error
    });

    test('a lease not kept alive expires, and takes its records along', async ({ a, b, passTime }, p) => {
      const lease = await a.grantLease(1000);
      await a.commit({ checks: [], puts: [{ key: `${p}leader`, value: 'v', lease: lease.id }, { key: `${p}plain`, value: 'v' }], deletes: [] });
      await passTime(lease.ttlMs);
      await eventually('the leased record is gone', async () => (await b.get(`${p}leader`)) === null, lease.ttlMs + 5000);
      assert.ok(await b.get(`${p}plain`));
      await assert.rejects(a.keepAlive(lease.id), LeaseExpired);
    });

    test('watches see puts and deletes under their prefix only, and resume from a revision', async ({ a, b }, p) => {
      const seen: WatchEvent[] = [];
      const w = await b.watch(`${p}w/`, { onEvent: (e) => seen.push(e) });
      const r1 = await a.commit({ checks: [], puts: [{ key: `${p}w/1`, value: 'a' }, { key: `${p}other`, value: 'no' }], deletes: [] });
      const r2 = await a.commit({ checks: [], puts: [], deletes: [`${p}w/1`] });
      await eventually('two events', () => seen.length >= 2);
      await w.cancel();
      assert.deepEqual(seen.map((e) => [e.kind, e.revision, e.kind === 'put' ? e.record.key : e.key]), [['put', r1, `${p}w/1`], ['delete', r2, `${p}w/1`]]);
      // Resumed from r1: the history is delivered again, in order.
      const again: WatchEvent[] = [];
      const w2 = await a.watch(`${p}w/`, { fromRevision: r1, onEvent: (e) => again.push(e) });
      await eventually('history replayed', () => again.length >= 2);
      await w2.cancel();
      assert.deepEqual(again.map((e) => e.revision), [r1, r2]);
    });

    test('leadership: one holder; the next takes the next epoch once the lease is gone; followers watch', async ({ a, b }, p) => {
      const part = `${p}accounts`;
      const seen: (LeaderRecord | null)[] = [];
      const watching = await watchLeader(b, part, (h) => seen.push(h));
      const la = await a.grantLease(2000);
      const lb = await b.grantLease(2000);
      const takeA = await takeLeadership(a, { partition: part, region: 'us-east-1', lease: la.id, led: null });
      assert.deepEqual(takeA.ok && takeA.epoch, 1);
      assert.deepEqual(await takeLeadership(b, { partition: part, region: 'eu-west-1', lease: lb.id, led: null }), { ok: false, holder: { region: 'us-east-1', epoch: 1 } });
      await releaseLeadership(a, { partition: part, region: 'us-east-1', epoch: 1, lease: la.id });
      const takeB = await takeLeadership(b, { partition: part, region: 'eu-west-1', lease: lb.id, led: null });
      assert.deepEqual(takeB.ok && takeB.epoch, 2);
      assert.deepEqual((await readLeader(a, part)).holder, { region: 'eu-west-1', epoch: 2 });
      await eventually('the follower saw every change', () => seen.length >= 4);
      await watching.cancel();
      assert.deepEqual(seen, [null, { region: 'us-east-1', epoch: 1 }, null, { region: 'eu-west-1', epoch: 2 }]);
      await b.revokeLease(lb.id);
    });

    test('eligibility: a region that led an epoch another region was granted after may not take until it reconciled', async ({ a, b }, p) => {
      const part = `${p}orders`;
      const la = await a.grantLease(2000);
      assert.deepEqual((await takeLeadership(a, { partition: part, region: 'a', lease: la.id, led: null })).ok, true); // a: epoch 1
      await releaseLeadership(a, { partition: part, region: 'a', epoch: 1, lease: la.id });
      const lb = await b.grantLease(2000);
      const takeB = await takeLeadership(b, { partition: part, region: 'b', lease: lb.id, led: null }); // b: epoch 2
      assert.deepEqual(takeB.ok && takeB.epoch, 2);
      await releaseLeadership(b, { partition: part, region: 'b', epoch: 2, lease: lb.id });
      // a led epoch 1 and has not reconciled; b was granted 2 since: a may not take.
      const la2 = await a.grantLease(2000);
      assert.deepEqual(await takeLeadership(a, { partition: part, region: 'a', lease: la2.id, led: 1 }), { ok: false, holder: null, ineligible: { region: 'b', epoch: 2 } });
      assert.equal((await readLeader(a, part)).holder, null, 'nothing was granted');
      // b's own record: b may take again even if its store never marked epoch 2 led
      // (a take whose answer it lost); so may a region with nothing unreconciled.
      const lb2 = await b.grantLease(2000);
      const again = await takeLeadership(b, { partition: part, region: 'b', lease: lb2.id, led: 1 });
      assert.deepEqual(again.ok && again.epoch, 3);
      await releaseLeadership(b, { partition: part, region: 'b', epoch: 3, lease: lb2.id });
      const third = await takeLeadership(a, { partition: part, region: 'a', lease: la2.id, led: null });
      assert.deepEqual(third.ok && third.epoch, 4, 'a, once it reconciled (nothing of its own left unreconciled), may take');
      await a.revokeLease(la2.id);
    });

    test('racing takes: exactly one wins, with a fresh epoch', async ({ a, b }, p) => {
      const part = `${p}carts`;
      const [la, lb] = await Promise.all([a.grantLease(2000), b.grantLease(2000)]);
      const results = await Promise.all([
        takeLeadership(a, { partition: part, region: 'a', lease: la.id, led: null, minEpoch: 5 }),
        takeLeadership(b, { partition: part, region: 'b', lease: lb.id, led: null }),
      ]);
      assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results));
      await Promise.all([a.revokeLease(la.id), b.revokeLease(lb.id)]);
    });
  });
}
