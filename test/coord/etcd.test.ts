// The etcd coordinator against a real three-member cluster on loopback addresses: the
// shared contract, then the loss of one member (leases and CAS go on with two of three).
// Skipped, saying why, where the etcd binary is absent (apt-get install etcd-server).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EtcdCoordinator, putIf, takeLeadership } from '../../src/coord/index.js';
import { coordinatorContract } from './contract.js';
import { EtcdCluster, etcdBinary, etcdMissing } from './etcd-cluster.js';

let cluster: EtcdCluster | undefined;
let started: Promise<EtcdCluster | string> | undefined;

/** One cluster for the file, started on first use. */
function theCluster(): Promise<EtcdCluster | string> {
  started ??= (async () => {
    if (etcdBinary === undefined) return etcdMissing;
    cluster = new EtcdCluster();
    await cluster.start();
    return cluster;
  })();
  return started;
}

after(async () => {
  await cluster?.stop();
});

const prefix = `/meridian-test-${process.pid}/`;

coordinatorContract('etcd (three members on loopback)', async () => {
  const c = await theCluster();
  if (typeof c === 'string') return c;
  const a = new EtcdCoordinator({ endpoints: c.endpoints, prefix, callTimeoutMs: 3000 });
  const b = new EtcdCoordinator({ endpoints: c.endpoints, prefix, callTimeoutMs: 3000 });
  return {
    a,
    b,
    // etcd's own clock decides: wait it out (its lessor checks every 500 ms).
    passTime: (ms) => new Promise((r) => setTimeout(r, ms + 600)),
    close: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
});

describe('etcd coordinator: one member lost', () => {
  let c: EtcdCluster | undefined;
  before(async () => {
    const r = await theCluster();
    if (typeof r !== 'string') c = r;
  });

  it('leases, keep-alives, CAS and takes go on with two of three members', async (t) => {
    if (etcdBinary === undefined) return t.skip(etcdMissing);
    assert.ok(c);
    const coord = new EtcdCoordinator({ endpoints: c.endpoints, prefix: `${prefix}quorum/`, callTimeoutMs: 5000 });
    try {
      const before = await coord.grantLease(2000);
      const r1 = await putIf(coord, { key: 'k', value: 'one' }, { kind: 'absent' });
      await c.kill(c.members[0] as (typeof c.members)[number]);
      await c.waitHealthy(c.members.slice(1));
      // The lease granted before the loss is still kept alive; new ones are granted.
      assert.ok((await coord.keepAlive(before.id)) >= 1000);
      const lease = await coord.grantLease(2000);
      const r2 = await putIf(coord, { key: 'k', value: 'two' }, { kind: 'revision', modRevision: r1 });
      assert.ok(r2 > r1);
      await assert.rejects(putIf(coord, { key: 'k', value: 'stale' }, { kind: 'revision', modRevision: r1 }), /changed since/);
      const take = await takeLeadership(coord, { partition: 'accounts', region: 'eu-west-1', lease: lease.id, led: null });
      assert.equal(take.ok, true);
      await coord.revokeLease(lease.id);
      assert.equal(await coord.get('leader/accounts'), null, 'revoked with two members: the leader key is gone');
    } finally {
      await coord.close();
    }
  });
});
