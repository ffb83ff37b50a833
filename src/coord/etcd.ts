// The Coordinator over an etcd cluster (the `etcd3` client): leases are etcd leases, a
// commit is one etcd transaction comparing create/mod revisions, watches are etcd
// watches (which resume by themselves after a member is lost). Keys live under the
// topology's coord.prefix, so several deployments can share a cluster.
//
// etcd counts lease TTLs in whole seconds and has a minimum (about 2 s by default): the
// TTL granted, which grantLease returns, can be longer than asked. A leader must time its
// renewals by the granted TTL, never the requested one.

import { Etcd3, EtcdLeaseInvalidError, GRPCDeadlineExceededError, type IKeyValue, type IRequestOp, type ICompare, type IWatchResponse } from 'etcd3';
import { defaultCallTimeoutMs, leaseId, type CallOptions, type Check, type Commit, type Coordinator, type CoordRecord, type Lease, type LeaseId, type Listing, type Revision, type Watch, type WatchEvent, type WatchOptions } from './coordinator.js';
import { Compacted, Conflict, CoordError, CoordTimeout, CoordUnavailable, LeaseExpired } from './errors.js';

export interface EtcdCoordinatorOptions {
  /** http://host:port of the members; three or more, in different regions, in production. */
  readonly endpoints: readonly string[];
  /** Every key is stored under this prefix (coord.prefix). */
  readonly prefix: string;
  readonly callTimeoutMs?: number;
  /** How long to wait for a first connection to a member. */
  readonly dialTimeoutMs?: number;
}

export class EtcdCoordinator implements Coordinator {
  readonly kind = 'etcd';
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  private readonly watches = new Set<Watch>();

  constructor(private readonly o: EtcdCoordinatorOptions) {
    this.timeoutMs = o.callTimeoutMs ?? defaultCallTimeoutMs;
    this.client = new Etcd3({ hosts: [...o.endpoints], dialTimeout: o.dialTimeoutMs ?? this.timeoutMs });
  }

  grantLease(ttlMs: number, o?: CallOptions): Promise<Lease> {
    return this.run('grantLease', o, async (opts) => {
      const r = await this.client.leaseClient.leaseGrant({ TTL: Math.max(1, Math.ceil(ttlMs / 1000)), ID: 0 }, opts);
      if (r.error !== '') throw new CoordUnavailable(`etcd refused a lease: ${r.error}`);
      return { id: leaseId(r.ID), ttlMs: Number(r.TTL) * 1000 };
    });
  }

  keepAlive(lease: LeaseId, o?: CallOptions): Promise<number> {
    return this.run('keepAlive', o, async (opts) => {
      // One request on the keep-alive stream, as etcd3's own keepaliveOnce does.
      const stream = await this.client.leaseClient.leaseKeepAlive(opts);
      try {
        const res = await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.write({ ID: lease });
        });
        if (Number(res.TTL) <= 0) throw new LeaseExpired(lease);
        return Number(res.TTL) * 1000;
      } finally {
        stream.end();
      }
    });
  }

  revokeLease(lease: LeaseId, o?: CallOptions): Promise<void> {
    return this.run('revokeLease', o, async (opts) => {
      try {
        await this.client.leaseClient.leaseRevoke({ ID: lease }, opts);
      } catch (e) {
        if (!(e instanceof EtcdLeaseInvalidError)) throw e; // already gone: what revoke wanted
      }
    });
  }

  get(key: string, o?: CallOptions): Promise<CoordRecord | null> {
    return this.run('get', o, async (opts) => {
      const r = await this.client.kv.range({ key: this.k(key) }, opts);
      const kv = r.kvs[0];
      return kv === undefined ? null : this.record(kv);
    });
  }

  list(prefix: string, o?: CallOptions): Promise<Listing> {
    return this.run('list', o, async (opts) => {
      const start = this.k(prefix);
      const r = await this.client.kv.range({ key: start, range_end: prefixEnd(start) }, opts);
      return { records: r.kvs.map((kv) => this.record(kv)), revision: Number(r.header.revision) };
    });
  }

  commit(c: Commit, o?: CallOptions): Promise<Revision> {
    return this.run('commit', o, async (opts) => {
      const success: IRequestOp[] = [
        ...c.deletes.map((key): IRequestOp => ({ request_delete_range: { key: this.k(key) } })),
        ...c.puts.map((p): IRequestOp => ({ request_put: { key: this.k(p.key), value: Buffer.from(p.value), lease: p.lease ?? '0' } })),
      ];
      // On failure, read the checked keys back so the Conflict can name the one that failed.
      const failure = c.checks.map((x): IRequestOp => ({ request_range: { key: this.k(x.key) } }));
      let r;
      try {
        r = await this.client.kv.txn({ compare: c.checks.map((x) => this.compare(x)), success, failure }, opts);
      } catch (e) {
        if (e instanceof EtcdLeaseInvalidError) throw new LeaseExpired(c.puts.find((p) => p.lease !== undefined)?.lease ?? 'unknown');
        throw e;
      }
      if (r.succeeded) return Number(r.header.revision);
      const failed = c.checks.find((x, i) => !holds(r.responses[i]?.response_range.kvs[0], x));
      throw new Conflict(failed?.key ?? c.checks[0]?.key ?? '');
    });
  }

  async watch(prefix: string, w: WatchOptions): Promise<Watch> {
    const from = w.fromRevision ?? (await this.list(prefix, { timeoutMs: this.timeoutMs })).revision + 1;
    const start = this.k(prefix);
    const watcher = this.client.watch().inRange({ start, end: prefixEnd(start) }).startRevision(String(from)).watcher();
    let stopped = false;
    watcher.on('data', (res: IWatchResponse) => {
      for (const e of res.events ?? []) {
        if (stopped) return;
        const revision = Number(e.kv.mod_revision);
        const event: WatchEvent = e.type === 'Delete' ? { kind: 'delete', revision, key: this.unk(e.kv.key) } : { kind: 'put', revision, record: this.record(e.kv) };
        w.onEvent(event);
      }
    });
    // Disconnections are retried by etcd3 itself, resuming after the last revision seen;
    // an error is the end: the revision was compacted, or the watch was refused.
    watcher.on('error', (err: Error) => {
      if (stopped) return;
      stopped = true;
      void watcher.cancel().catch(() => undefined);
      this.watches.delete(handle);
      w.onEnd?.(/compact/i.test(err.message) ? new Compacted(from, 0) : new CoordUnavailable(`etcd watch ended: ${err.message}`));
    });
    const handle: Watch = {
      cancel: async () => {
        stopped = true;
        this.watches.delete(handle);
        await watcher.cancel().catch(() => undefined);
      },
    };
    this.watches.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.cancel()));
    this.client.close();
  }

  // ---- translation ----------------------------------------------------------------------

  private k(key: string): Buffer {
    return Buffer.from(this.o.prefix + key);
  }

  private unk(key: Buffer): string {
    return key.toString('utf8').slice(this.o.prefix.length);
  }

  private record(kv: IKeyValue): CoordRecord {
    return {
      key: this.unk(kv.key),
      value: kv.value.toString('utf8'),
      modRevision: Number(kv.mod_revision),
      createRevision: Number(kv.create_revision),
      lease: kv.lease === '0' || kv.lease === '' ? null : leaseId(kv.lease),
    };
  }

  private compare(x: Check): ICompare {
    const key = this.k(x.key);
    switch (x.expect.kind) {
      case 'absent':
        return { key, target: 'Create', result: 'Equal', create_revision: 0 };
      case 'present':
        return { key, target: 'Create', result: 'Greater', create_revision: 0 };
      case 'revision':
        return { key, target: 'Mod', result: 'Equal', mod_revision: x.expect.modRevision };
    }
  }

  /** One call: a gRPC deadline, a timer behind it, and the errors translated. */
  private async run<T>(what: string, o: CallOptions | undefined, f: (opts: { deadline: Date }) => Promise<T>): Promise<T> {
    const timeoutMs = o?.timeoutMs ?? this.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    // The timer is the backstop for a stream or a retry that would outlive the deadline.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CoordTimeout(`etcd ${what}`, timeoutMs)), timeoutMs);
    });
    const deadline = Date.now() + timeoutMs;
    // A member lost mid-call (the client's connection was to it) is an UNAVAILABLE the
    // next member answers: calls that may safely run twice try again within the deadline
    // (a grant run twice leaks a lease that expires on its own). Commits are not retried:
    // their outcome would be unknown.
    const attempt = async (): Promise<T> => {
      for (;;) {
        try {
          return await f({ deadline: new Date(deadline) });
        } catch (e) {
          const transient = !(e instanceof CoordError) && !(e instanceof GRPCDeadlineExceededError) && !(e instanceof EtcdLeaseInvalidError);
          if (what === 'commit' || !transient || Date.now() + 100 > deadline) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    try {
      return await Promise.race([attempt(), late]);
    } catch (e) {
      if (e instanceof CoordError) throw e;
      if (e instanceof GRPCDeadlineExceededError) throw new CoordTimeout(`etcd ${what}`, timeoutMs);
      if (e instanceof EtcdLeaseInvalidError) throw new LeaseExpired('unknown');
      throw new CoordUnavailable(`etcd ${what}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

function holds(kv: IKeyValue | undefined, x: Check): boolean {
  switch (x.expect.kind) {
    case 'absent':
      return kv === undefined;
    case 'present':
      return kv !== undefined;
    case 'revision':
      return kv !== undefined && Number(kv.mod_revision) === x.expect.modRevision;
  }
}

/** etcd's range end for "every key with this prefix": the prefix with its last byte + 1. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key
}
