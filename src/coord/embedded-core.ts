// The embedded coordinator's state machine. PURE: no sockets, no timers, no clock — time
// comes in with every command, so a test (or the simulator) decides when leases expire.
// The shell (embedded-server.ts) feeds it HTTP requests and wakes watchers with the
// events it returns.
//
// Semantics follow etcd's, so that code written against the embedded coordinator means
// the same on etcd: one store-wide revision bumped once per change; a commit is all or
// nothing; a lease's expiry deletes its records in one change; a put without a lease
// detaches the key from the one it had.

import { assert, unreachable } from '../lib/index.js';
import { leaseId, type Commit, type CoordRecord, type Expectation, type LeaseId, type Listing, type Revision, type WatchEvent } from './coordinator.js';

export interface CoreLimits {
  readonly maxLeases: number;
  readonly maxKeys: number;
  /** Watch history kept, in events; older revisions answer Compacted. */
  readonly maxHistoryEvents: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly maxOpsPerCommit: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  /** Events per watch reply: a slow watcher reads history in pages. */
  readonly maxEventsPerReply: number;
}

/** Sized for one world of a few dozen regions and partitions, with room to spare. */
export const defaultCoreLimits: CoreLimits = {
  maxLeases: 10_000,
  maxKeys: 100_000,
  maxHistoryEvents: 10_000,
  maxKeyBytes: 1024,
  maxValueBytes: 64 * 1024,
  maxOpsPerCommit: 128,
  minTtlMs: 10,
  maxTtlMs: 10 * 60_000,
  maxEventsPerReply: 1000,
};

export type Command =
  | { readonly kind: 'grant'; readonly ttlMs: number }
  | { readonly kind: 'keepalive'; readonly lease: LeaseId }
  | { readonly kind: 'revoke'; readonly lease: LeaseId }
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'list'; readonly prefix: string }
  | { readonly kind: 'commit'; readonly commit: Commit }
  | { readonly kind: 'events'; readonly prefix: string; readonly fromRevision: Revision };

export type Failure =
  | { readonly code: 'conflict'; readonly key: string }
  | { readonly code: 'lease-expired'; readonly lease: LeaseId }
  | { readonly code: 'compacted'; readonly fromRevision: Revision; readonly oldestRevision: Revision }
  | { readonly code: 'bad-request'; readonly message: string };

export type Reply =
  | { readonly kind: 'lease'; readonly id: LeaseId; readonly ttlMs: number }
  | { readonly kind: 'ttl'; readonly ttlMs: number }
  | { readonly kind: 'revision'; readonly revision: Revision }
  | { readonly kind: 'record'; readonly record: CoordRecord | null; readonly revision: Revision }
  | { readonly kind: 'listing'; readonly listing: Listing }
  /** Events from `fromRevision` on; resume from `nextRevision`. */
  | { readonly kind: 'events'; readonly events: readonly WatchEvent[]; readonly nextRevision: Revision }
  | { readonly kind: 'failed'; readonly failure: Failure };

export interface StepResult {
  readonly reply: Reply;
  /** The changes this step made (expiries included), in order: what watchers are woken with. */
  readonly changes: readonly WatchEvent[];
}

interface LeaseState {
  readonly ttlMs: number;
  expiresAtMs: number;
  readonly keys: Set<string>;
}

export class CoordCore {
  private revision: Revision = 0;
  private readonly records = new Map<string, CoordRecord>();
  private readonly leases = new Map<LeaseId, LeaseState>();
  private nextLease = 1;
  /** Recent changes, oldest first, whole revisions only. */
  private history: WatchEvent[] = [];
  /** Every revision at or below this has left the history. */
  private compactedThrough: Revision = 0;
  private lastNowMs = -Infinity;

  /** @param leasePrefix makes lease ids unique across coordinator restarts (the shell passes random text) */
  constructor(private readonly leasePrefix: string, private readonly limits: CoreLimits = defaultCoreLimits) {}

  get currentRevision(): Revision {
    return this.revision;
  }

  /** When the next lease would expire, for the shell's timer; null with no leases. */
  nextExpiryMs(): number | null {
    let next: number | null = null;
    for (const l of this.leases.values()) if (next === null || l.expiresAtMs < next) next = l.expiresAtMs;
    return next;
  }

  /** Ends the leases whose time is up at `nowMs` (and their records). */
  tick(nowMs: number): WatchEvent[] {
    // A clock that steps back must not revive a lease: time here only moves forward.
    this.lastNowMs = Math.max(this.lastNowMs, nowMs);
    const out: WatchEvent[] = [];
    for (const [id, l] of this.leases) if (l.expiresAtMs <= this.lastNowMs) out.push(...this.endLease(id));
    return out;
  }

  step(cmd: Command, nowMs: number): StepResult {
    const expired = this.tick(nowMs);
    const r = this.apply(cmd);
    this.checkInvariants();
    return { reply: r.reply, changes: expired.length === 0 ? r.changes : [...expired, ...r.changes] };
  }

  private apply(cmd: Command): StepResult {
    const none: WatchEvent[] = [];
    switch (cmd.kind) {
      case 'grant': {
        if (!(Number.isInteger(cmd.ttlMs) && cmd.ttlMs >= this.limits.minTtlMs && cmd.ttlMs <= this.limits.maxTtlMs)) {
          return failed({ code: 'bad-request', message: `ttlMs ${cmd.ttlMs} outside ${this.limits.minTtlMs}..${this.limits.maxTtlMs}` });
        }
        if (this.leases.size >= this.limits.maxLeases) return failed({ code: 'bad-request', message: `too many leases (${this.limits.maxLeases})` });
        const id = leaseId(`${this.leasePrefix}${(this.nextLease++).toString(16)}`);
        this.leases.set(id, { ttlMs: cmd.ttlMs, expiresAtMs: this.lastNowMs + cmd.ttlMs, keys: new Set() });
        return { reply: { kind: 'lease', id, ttlMs: cmd.ttlMs }, changes: none };
      }
      case 'keepalive': {
        const l = this.leases.get(cmd.lease);
        if (l === undefined) return failed({ code: 'lease-expired', lease: cmd.lease });
        l.expiresAtMs = this.lastNowMs + l.ttlMs;
        return { reply: { kind: 'ttl', ttlMs: l.ttlMs }, changes: none };
      }
      case 'revoke': {
        const changes = this.leases.has(cmd.lease) ? this.endLease(cmd.lease) : [];
        return { reply: { kind: 'revision', revision: this.revision }, changes };
      }
      case 'get':
        return { reply: { kind: 'record', record: this.records.get(cmd.key) ?? null, revision: this.revision }, changes: none };
      case 'list': {
        const records = [...this.records.values()].filter((r) => r.key.startsWith(cmd.prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        return { reply: { kind: 'listing', listing: { records, revision: this.revision } }, changes: none };
      }
      case 'commit':
        return this.commit(cmd.commit);
      case 'events':
        return { reply: this.eventsFrom(cmd.prefix, cmd.fromRevision), changes: none };
      default:
        return unreachable(cmd);
    }
  }

  private commit(c: Commit): StepResult {
    const bad = this.commitProblem(c);
    if (bad !== null) return failed({ code: 'bad-request', message: bad });
    for (const check of c.checks) {
      if (!holds(this.records.get(check.key), check.expect)) return failed({ code: 'conflict', key: check.key });
    }
    for (const p of c.puts) if (p.lease !== undefined && !this.leases.has(p.lease)) return failed({ code: 'lease-expired', lease: p.lease });
    const newKeys = new Set(c.puts.map((p) => p.key).filter((k) => !this.records.has(k)));
    if (this.records.size + newKeys.size > this.limits.maxKeys) return failed({ code: 'bad-request', message: `too many keys (${this.limits.maxKeys})` });
    const deleting = c.deletes.filter((k) => this.records.has(k));
    if (c.puts.length === 0 && deleting.length === 0) return { reply: { kind: 'revision', revision: this.revision }, changes: [] };

    const rev = ++this.revision;
    const changes: WatchEvent[] = [];
    for (const key of deleting) changes.push(this.remove(key, rev));
    for (const p of c.puts) {
      const old = this.records.get(p.key);
      if (old !== undefined && old.lease !== null) this.leases.get(old.lease)?.keys.delete(p.key);
      const record: CoordRecord = { key: p.key, value: p.value, modRevision: rev, createRevision: old?.createRevision ?? rev, lease: p.lease ?? null };
      this.records.set(p.key, record);
      if (p.lease !== undefined) this.leases.get(p.lease)?.keys.add(p.key);
      changes.push({ kind: 'put', revision: rev, record });
    }
    this.remember(changes);
    return { reply: { kind: 'revision', revision: rev }, changes };
  }

  private commitProblem(c: Commit): string | null {
    const ops = c.checks.length + c.puts.length + c.deletes.length;
    if (ops > this.limits.maxOpsPerCommit) return `a commit of ${ops} operations; at most ${this.limits.maxOpsPerCommit}`;
    const written = new Set<string>();
    for (const key of [...c.puts.map((p) => p.key), ...c.deletes]) {
      if (written.has(key)) return `${key} is written twice in one commit`;
      written.add(key);
    }
    for (const key of [...written, ...c.checks.map((x) => x.key)]) {
      if (key === '' || Buffer.byteLength(key) > this.limits.maxKeyBytes) return `key ${JSON.stringify(key.slice(0, 40))} must be 1..${this.limits.maxKeyBytes} bytes`;
    }
    for (const p of c.puts) if (Buffer.byteLength(p.value) > this.limits.maxValueBytes) return `value of ${p.key} is over ${this.limits.maxValueBytes} bytes`;
    return null;
  }

  private endLease(id: LeaseId): WatchEvent[] {
    const l = this.leases.get(id);
    assert(l !== undefined, `endLease of unknown lease ${id}`);
    this.leases.delete(id);
    if (l.keys.size === 0) return [];
    const rev = ++this.revision;
    const changes = [...l.keys].sort().map((key) => this.remove(key, rev));
    this.remember(changes);
    return changes;
  }

  private remove(key: string, rev: Revision): WatchEvent {
    const old = this.records.get(key);
    assert(old !== undefined, `remove of absent key ${key}`);
    if (old.lease !== null) this.leases.get(old.lease)?.keys.delete(key);
    this.records.delete(key);
    return { kind: 'delete', revision: rev, key };
  }

  private remember(changes: readonly WatchEvent[]): void {
    this.history.push(...changes);
    if (this.history.length <= this.limits.maxHistoryEvents) return;
    // Drop whole revisions, so a watcher never sees half a commit.
    let cut = this.history.length - this.limits.maxHistoryEvents;
    const lastDropped = this.history[cut - 1]?.revision ?? 0;
    while (cut < this.history.length && this.history[cut]?.revision === lastDropped) cut++;
    this.history = this.history.slice(cut);
    this.compactedThrough = lastDropped;
  }

  private eventsFrom(prefix: string, fromRevision: Revision): Reply {
    if (!Number.isInteger(fromRevision) || fromRevision < 1) return { kind: 'failed', failure: { code: 'bad-request', message: `fromRevision ${fromRevision} must be an integer from 1` } };
    if (fromRevision <= this.compactedThrough) return { kind: 'failed', failure: { code: 'compacted', fromRevision, oldestRevision: this.compactedThrough + 1 } };
    const events: WatchEvent[] = [];
    for (const e of this.history) {
      if (e.revision < fromRevision) continue;
      // Page at a revision boundary: a reply never ends in the middle of a commit.
      const last = events[events.length - 1];
      if (events.length >= this.limits.maxEventsPerReply && last !== undefined && last.revision !== e.revision) {
        return { kind: 'events', events, nextRevision: last.revision + 1 };
      }
      if ((e.kind === 'put' ? e.record.key : e.key).startsWith(prefix)) events.push(e);
    }
    return { kind: 'events', events, nextRevision: Math.max(fromRevision, this.revision + 1) };
  }

  /** Paired with every change: each lease's key set and each record's lease agree. */
  private checkInvariants(): void {
    for (const [id, l] of this.leases) for (const k of l.keys) assert(this.records.get(k)?.lease === id, `lease ${id} lists ${k}, which is not bound to it`);
    for (const r of this.records.values()) {
      assert(r.modRevision <= this.revision && r.createRevision <= r.modRevision, `revisions of ${r.key}`);
      if (r.lease !== null) assert(this.leases.get(r.lease)?.keys.has(r.key) === true, `${r.key} is bound to lease ${r.lease}, which does not list it`);
    }
  }
}

function holds(r: CoordRecord | undefined, e: Expectation): boolean {
  switch (e.kind) {
    case 'absent':
      return r === undefined;
    case 'present':
      return r !== undefined;
    case 'revision':
      return r !== undefined && r.modRevision === e.modRevision;
    default:
      return unreachable(e);
  }
}

function failed(failure: Failure): StepResult {
  return { reply: { kind: 'failed', failure }, changes: [] };
}
