// The on-disk layout. One SQLite file per region (WAL mode). Versions are stored as their
// three parts so that SQL can order by them.

export const schemaVersion = 2;

export const ddl = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;

-- Current state: one line per (table, key). value NULL is a tombstone.
CREATE TABLE IF NOT EXISTS rows (
  tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT,
  vw INTEGER NOT NULL, vl INTEGER NOT NULL, vr TEXT NOT NULL,
  home TEXT, bucket INTEGER NOT NULL, epoch INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rows_by_bucket ON rows (tbl, home, bucket);

-- Counters: one slot per region that changed the counter.
CREATE TABLE IF NOT EXISTS counter_slots (
  tbl TEXT NOT NULL, key TEXT NOT NULL, slot TEXT NOT NULL,
  p INTEGER NOT NULL, n INTEGER NOT NULL,
  vw INTEGER NOT NULL, vl INTEGER NOT NULL, vr TEXT NOT NULL, bucket INTEGER NOT NULL,
  PRIMARY KEY (tbl, key, slot)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS slots_by_bucket ON counter_slots (tbl, bucket);

-- The change log: what this region originated, in commit order. Shipped to the others,
-- truncated once they all have it (or when it outgrows its bound).
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY, committed_ms INTEGER NOT NULL, kind TEXT NOT NULL,
  tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT,
  vw INTEGER NOT NULL, vl INTEGER NOT NULL, vr TEXT NOT NULL,
  pw INTEGER, pl INTEGER, pr TEXT, home TEXT,
  slot TEXT, p INTEGER, n INTEGER, epoch INTEGER NOT NULL DEFAULT 0
);

-- The newest leadership epoch known per home partition: changes of older epochs are
-- refused (fencing). led: the newest epoch this region led the partition under and has
-- not reconciled; led_since: the first epoch of that unbroken run of its own leads (its
-- rows of every epoch from led_since to led are what a reconcile compares). Both NULL once
-- reconciled. (Schema 2 added led_since; Store adds it to a schema-1 file.)
CREATE TABLE IF NOT EXISTS partition_epochs (partition TEXT PRIMARY KEY, epoch INTEGER NOT NULL, led INTEGER, led_since INTEGER) WITHOUT ROWID;

-- Writes a failover could not carry over (survive: zone): kept, listed, never dropped.
CREATE TABLE IF NOT EXISTS lost_writes (
  id INTEGER PRIMARY KEY, partition TEXT NOT NULL, epoch INTEGER NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL,
  value TEXT, vw INTEGER NOT NULL, vl INTEGER NOT NULL, vr TEXT NOT NULL, found_ms INTEGER NOT NULL, acknowledged INTEGER NOT NULL
);

-- Watermarks. inbound: the last sequence applied from each source (in the same
-- transaction as the changes, so a batch is applied once). outbound: the last sequence
-- each destination acknowledged.
CREATE TABLE IF NOT EXISTS inbound (source TEXT PRIMARY KEY, applied INTEGER NOT NULL, source_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbound (dest TEXT PRIMARY KEY, acked INTEGER NOT NULL) WITHOUT ROWID;

-- Answers to writes by idempotency key, so a retried write is applied once.
CREATE TABLE IF NOT EXISTS idempotency (id TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT NOT NULL, created_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (created_ms);
`;
