// The shapes the data API answers with, as an application sees them.

/**
 * A row's version: `<wall ms>.<logical>.<region>`, a hybrid logical clock stamp. Opaque
 * to applications: read it from a row and hand it back as `ifVersion`.
 */
export type RowVersion = string & { readonly brand: 'RowVersion' };

/** One row as read or written. */
export interface Row<V> {
  readonly table: string;
  readonly key: string;
  readonly value: V;
  readonly version: RowVersion;
  /** The row's home region (home tables), else null. */
  readonly home: string | null;
  /** The region whose node answered. */
  readonly region: string;
}

/**
 * How fresh a read must be:
 * - `'local'`: whatever this region has (fastest; may be behind).
 * - `'strong'`: from the home partition's leader (not served until issue #6 part 2;
 *   the node answers `not_implemented`).
 * - `{ maxStalenessMs }`: local if this region's copy is at most that far behind,
 *   else from the leader.
 */
export type Consistency = 'local' | 'strong' | { readonly maxStalenessMs: number };

/** Options every call takes. */
export interface CallOptions {
  /** Gives up the call (and its retries) when aborted. */
  readonly signal?: AbortSignal;
}

export interface GetOptions extends CallOptions {
  /** Default: the node's default for the table. */
  readonly consistency?: Consistency;
  /** Home tables: the row's home region, when the application knows it. */
  readonly home?: string;
}

/** Options of every write: the idempotency key makes a retried write apply once. */
export interface WriteOptions extends CallOptions {
  /**
   * Identifies this write: the node applies a write once per key and answers a repeat
   * with the first answer. Default: a random UUID made once per call and sent on every
   * retry of it. Pass your own to make a write idempotent across calls (e.g. a request
   * id your own caller retries with).
   */
  readonly idempotencyKey?: string;
  /** Home tables: the row's home region; else the node decides (the table's home_from). */
  readonly home?: string;
}

export interface PutOptions extends WriteOptions {
  /** Write only if the row is still at this version (compare-and-set); else version_conflict. */
  readonly ifVersion?: RowVersion;
  /** Create only: write only if there is no such row; else version_conflict. */
  readonly ifAbsent?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  /** Delete only if the row is still at this version; else version_conflict. */
  readonly ifVersion?: RowVersion;
}

/** What a delete left: the tombstone's version. */
export interface Deleted {
  readonly table: string;
  readonly key: string;
  readonly deleted: true;
  readonly version: RowVersion;
  readonly region: string;
}

export interface ListOptions extends CallOptions {
  /** Only keys starting with this. */
  readonly prefix?: string;
  /** Rows per page, 1..1000; the node's default is 100. */
  readonly limit?: number;
  /** Where the previous page ended (its `cursor`). */
  readonly cursor?: string;
}

export interface Page<V> {
  readonly rows: readonly Row<V>[];
  /** Pass to the next `list` for the following page; null after the last one. */
  readonly cursor: string | null;
}

export type IncrementOptions = Omit<WriteOptions, 'home'>;
