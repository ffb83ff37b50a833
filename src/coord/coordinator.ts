// The one interface region nodes use for leadership: leases with a TTL, compare-and-set
// records (optionally bound to a lease, gone when it ends), atomic multi-key commits and
// prefix watches resumable from a revision. Two implementations: embedded (one machine,
// the local world) and etcd (production). Both pass test/coord/contract.ts.
//
// Revisions follow etcd: one counter for the whole store, bumped once per change (a
// commit, a delete, a lease's expiry); every record carries the revision that last
// modified it, and CAS compares against that.

export type LeaseId = string & { readonly brand: 'LeaseId' };
export const leaseId = (s: string): LeaseId => s as LeaseId;

/** Store-wide revision: the number of changes so far. */
export type Revision = number;

export interface Lease {
  readonly id: LeaseId;
  /** The TTL the coordinator granted (etcd rounds up to whole seconds, at least its minimum). */
  readonly ttlMs: number;
}

export interface CoordRecord {
  readonly key: string;
  /** Text; leadership records hold JSON. */
  readonly value: string;
  /** The revision of the change that last wrote this key: what CAS compares. */
  readonly modRevision: Revision;
  /** The revision that created the key; 0 never appears for a present key. */
  readonly createRevision: Revision;
  /** The lease this record is bound to, or null when it lives until deleted. */
  readonly lease: LeaseId | null;
}

/** What a commit requires of a key before it applies. */
export type Expectation =
  | { readonly kind: 'absent' }
  | { readonly kind: 'revision'; readonly modRevision: Revision }
  | { readonly kind: 'present' };

export interface Check {
  readonly key: string;
  readonly expect: Expectation;
}

export interface Put {
  readonly key: string;
  readonly value: string;
  /** Bind the record to this lease: it is deleted when the lease expires or is revoked. */
  readonly lease?: LeaseId;
}

/** All checks hold, then all puts and deletes apply at one revision; or nothing applies. */
export interface Commit {
  readonly checks: readonly Check[];
  readonly puts: readonly Put[];
  readonly deletes: readonly string[];
}

export type WatchEvent =
  | { readonly kind: 'put'; readonly revision: Revision; readonly record: CoordRecord }
  | { readonly kind: 'delete'; readonly revision: Revision; readonly key: string };

export interface Listing {
  readonly records: readonly CoordRecord[];
  /** The store's revision when listed: watch from revision + 1 to miss nothing. */
  readonly revision: Revision;
}

export interface CallOptions {
  /** Overrides the coordinator's default call timeout. */
  readonly timeoutMs?: number;
}

export interface WatchOptions {
  /** Deliver every change at or after this revision (history permitting); default: from now. */
  readonly fromRevision?: Revision;
  readonly onEvent: (e: WatchEvent) => void;
  /**
   * The watch has ended for good: Compacted (history gone: list again, watch anew) or the
   * coordinator was closed. Transient unavailability is retried inside, resuming from the
   * last revision delivered, and is not reported.
   */
  readonly onEnd?: (error: Error) => void;
}

export interface Watch {
  /** Stops delivering; no onEvent after this resolves. */
  cancel(): Promise<void>;
}

/**
 * Every call has a timeout (CallOptions or the implementation's default) and fails with
 * the typed errors of errors.ts: CoordUnavailable / CoordTimeout, Conflict, LeaseExpired,
 * Compacted.
 */
export interface Coordinator {
  /** Which implementation: for /status and logs. */
  readonly kind: 'embedded' | 'etcd';

  grantLease(ttlMs: number, o?: CallOptions): Promise<Lease>;
  /** Renews for another full TTL; LeaseExpired once it has ended. Returns the TTL granted. */
  keepAlive(lease: LeaseId, o?: CallOptions): Promise<number>;
  /** Ends the lease now and deletes its records; a lease already gone is not an error. */
  revokeLease(lease: LeaseId, o?: CallOptions): Promise<void>;

  get(key: string, o?: CallOptions): Promise<CoordRecord | null>;
  list(prefix: string, o?: CallOptions): Promise<Listing>;
  /** Atomic: Conflict (naming the first failed key) or LeaseExpired, or the new revision. */
  commit(c: Commit, o?: CallOptions): Promise<Revision>;

  watch(prefix: string, w: WatchOptions): Promise<Watch>;

  close(): Promise<void>;
}

/** The default per-call timeout: short enough that a leader learns of trouble well within a lease. */
export const defaultCallTimeoutMs = 1000;

// ---- conveniences over commit --------------------------------------------------------

/** Put only if the key is still at `modRevision` (or absent, with expect absent). */
export function putIf(c: Coordinator, put: Put, expect: Expectation, o?: CallOptions): Promise<Revision> {
  return c.commit({ checks: [{ key: put.key, expect }], puts: [put], deletes: [] }, o);
}

/** Delete only if the key is still at `modRevision`; Conflict otherwise. */
export function deleteIf(c: Coordinator, key: string, expect: Expectation, o?: CallOptions): Promise<Revision> {
  return c.commit({ checks: [{ key, expect }], puts: [], deletes: [key] }, o);
}
