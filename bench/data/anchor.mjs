#!/usr/bin/env node
// The anchor of bench/data: bare better-sqlite3, one process, no HTTP, inserting the same
// rows (the same ~100-byte JSON values, distinct keys) with the same pragmas as a region's
// store (journal_mode WAL, synchronous FULL, busy_timeout 5000), in transactions of the
// batch size the group writer was measured to use. Nothing else: the most one core can do
// with SQLite at this durability, the bound Meridian's write path is compared against.
//
//   node bench/data/anchor.mjs --dir DIR --batch 40 --seconds 5 [--schema plain|meridian]
//
// --schema plain:    one table (tbl, key, value), PRIMARY KEY (tbl, key), WITHOUT ROWID;
//                    one INSERT OR REPLACE per write.
// --schema meridian: Meridian's schema (src/store/schema.ts, the DDL as built in dist/) and
//                    the statements one local put runs in Store.commitOne: the current row's
//                    SELECT, the row's INSERT OR REPLACE, the change log's INSERT — without
//                    the HLC, digests, JSON parsing or any JavaScript of Meridian's around
//                    them: what SQLite alone costs for what a put stores.
//
// Prints one JSON line: writes, seconds, writes/s, transactions, CPU µs per write (user and
// system, from process.cpuUsage), transaction latency p50/p99, RSS.

import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ddl } from '../../dist/store/schema.js';

const { values: a } = parseArgs({
  options: {
    dir: { type: 'string' },
    batch: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '5' },
    schema: { type: 'string', default: 'plain' },
    synchronous: { type: 'string', default: 'FULL' },
  },
});
if (a.dir === undefined || !['plain', 'meridian'].includes(a.schema)) {
  console.error('usage: node bench/data/anchor.mjs --dir DIR [--batch N] [--seconds S] [--schema plain|meridian]');
  process.exit(2);
}
const batch = Math.max(1, Math.round(Number(a.batch)));
const seconds = Number(a.seconds);
mkdirSync(a.dir, { recursive: true });
const file = join(a.dir, `anchor-${a.schema}-${process.pid}.db`);
for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${a.synchronous}`);
db.pragma('busy_timeout = 5000');

let put;
if (a.schema === 'plain') {
  db.exec('CREATE TABLE IF NOT EXISTS kv (tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (tbl, key)) WITHOUT ROWID');
  const ins = db.prepare('INSERT OR REPLACE INTO kv (tbl, key, value) VALUES (?, ?, ?)');
  put = (key, value) => ins.run('bench', key, value);
} else {
  db.exec(ddl);
  const get = db.prepare('SELECT tbl, key, value, vw, vl, vr, home FROM rows WHERE tbl = ? AND key = ?');
  const row = db.prepare('INSERT OR REPLACE INTO rows (tbl, key, value, vw, vl, vr, home, bucket) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const log = db.prepare('INSERT INTO changes (seq, committed_ms, kind, tbl, key, value, vw, vl, vr, pw, pl, pr, home, slot, p, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  let seq = 0;
  put = (key, value) => {
    const now = Date.now();
    get.get('bench', key);
    row.run('bench', key, value, now, seq & 0xffff, 'us-east-1', null, seq & 1023);
    seq++;
    log.run(seq, now, 'row', 'bench', key, value, now, seq & 0xffff, 'us-east-1', null, null, null, null, null, null, null);
  };
}

const pad = 'x'.repeat(40);
let n = 0;
const commit = db.transaction((first, count) => {
  for (let i = first; i < first + count; i++) {
    const key = `anchor-${i}`;
    put(key, `{"user":"${key}","score":${i},"tags":["a","b"],"note":"${pad}"}`);
  }
});

const txMs = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const end = t0 + seconds * 1000;
let tx = 0;
while (performance.now() < end) {
  const s = performance.now();
  commit(n, batch);
  txMs.push(performance.now() - s);
  n += batch;
  tx++;
}
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
txMs.sort((x, y) => x - y);
const q = (p) => txMs[Math.min(txMs.length - 1, Math.max(0, Math.ceil(p * txMs.length) - 1))];
db.close();
for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
console.log(JSON.stringify({
  schema: a.schema,
  synchronous: a.synchronous,
  batch,
  writes: n,
  seconds: Math.round(elapsed * 1000) / 1000,
  writesPerSec: Math.round(n / elapsed),
  transactions: tx,
  cpuUsPerWrite: Math.round(((cpu.user + cpu.system) / n) * 10) / 10,
  userUsPerWrite: Math.round((cpu.user / n) * 10) / 10,
  sysUsPerWrite: Math.round((cpu.system / n) * 10) / 10,
  cpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100),
  txP50Ms: Math.round(q(0.5) * 1000) / 1000,
  txP99Ms: Math.round(q(0.99) * 1000) / 1000,
  rssMiB: Math.round((process.memoryUsage().rss / 1048576) * 10) / 10,
}));
