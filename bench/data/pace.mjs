#!/usr/bin/env node
// The paced writer of bench/data's replication-lag run: open loop, a fixed rate per region.
// Each region gets `--rate` PUTs per second of its own distinct keys, sent on schedule
// whether or not earlier ones were answered (a slow region does not slow the writer
// down, so lag and latency are those of the offered load, not of a load that backs off).
// Latency is counted from the moment a write is handed to the HTTP pool (a write waiting
// there for a connection counts), not from its scheduled time: the sender is open loop and
// never waits for an answer, so the only gap between the two is this process's own 1 ms
// tick (a write goes out at the first tick after its time, ~0.5-1 ms later on this
// machine), which is the load generator's artefact, not the system's latency. That gap is
// reported per table as senderLateMs, and latencyFromScheduleMs gives the figures counted
// from the scheduled time, so a sender that fell behind (coordinated omission) shows.
//
//   node bench/data/pace.mjs --targets us-east-1=http://127.62.1.1:7070,... --rate 1000 \
//       --warmup 5 --seconds 25 --table bench [--connections 32]     (token: BENCH_TOKEN)
//
// Home tables (bench/data's survive: region and takeover parts): --tables a,b alternates
// each region's writes between tables (figures per table); --home self|REGION sends
// x-meridian-home (self: the target's own region); --timeout MS per request (default
// 10000); --records FILE writes every write of the run (key, table, wall-clock start and
// end, HTTP status or error) as JSON, for checking acknowledged writes against the stores.
//
// Prints {"phase":"warmup"} at start, {"phase":"measure","atMs":..} when the measured part
// begins, then one final line {"phase":"done", "regions": {...}} with, per region, the
// measured part's writes scheduled, answered 2xx, errors by kind, the achieved rate, and
// latency p50/p99/max; then exits.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values: a } = parseArgs({
  options: {
    targets: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '25' },
    table: { type: 'string', default: 'bench' },
    connections: { type: 'string' },
    prefix: { type: 'string', default: `p${process.pid}` },
    tables: { type: 'string' },
    home: { type: 'string' },
    timeout: { type: 'string', default: '10000' },
    records: { type: 'string' },
  },
});
const token = process.env.BENCH_TOKEN ?? '';
const rate = Number(a.rate);
const warmupMs = Number(a.warmup) * 1000;
const measureMs = Number(a.seconds) * 1000;
const targets = (a.targets ?? '').split(',').filter((s) => s !== '').map((s) => {
  const i = s.indexOf('=');
  return { region: s.slice(0, i), url: s.slice(i + 1) };
});
if (targets.length === 0 || !(rate > 0)) {
  console.error('usage: node bench/data/pace.mjs --targets region=url,... --rate N --warmup S --seconds S');
  process.exit(2);
}
// With --records (the takeover runs) 512 connections, so that no write waits in the pool
// behind writes held up by the dead node: its start time is when it was sent.
const connections = Number(a.connections ?? (a.records === undefined ? 32 : 512));
const tables = (a.tables ?? a.table).split(',').filter((x) => x !== '');
const timeoutMs = Number(a.timeout);
/** Wall-clock ms with sub-ms precision (comparable with the runner's Date.now()). */
const wallMs = () => performance.timeOrigin + performance.now();
const records = [];
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const pad = 'x'.repeat(40);

const streams = targets.map((t) => ({
  ...t,
  pool: new Pool(t.url, { connections, pipelining: 1, keepAliveTimeout: 30_000 }),
  issued: 0,
  inflight: 0,
  maxInflight: 0,
  m: { scheduled: 0, ok: 0, errors: {}, latMs: [], lateMs: [], fromScheduleMs: [] },
  /** Per second of the measured window (by scheduled time): latencies of the 2xx answers. */
  perSecond: [],
  byTable: Object.fromEntries(tables.map((t) => [t, { scheduled: 0, ok: 0, errors: {}, latMs: [], lateMs: [], fromScheduleMs: [] }])),
}));

const t0 = performance.now();
const measureFrom = t0 + warmupMs;
const endAt = measureFrom + measureMs;
say({ phase: 'warmup', atMs: Date.now() });
let measuring = false;

function send(s, i, scheduledAt) {
  const measured = scheduledAt >= measureFrom && scheduledAt < endAt;
  const table = tables[i % tables.length];
  const mt = s.byTable[table];
  if (measured) {
    s.m.scheduled++;
    mt.scheduled++;
  }
  const key = `${s.region}-${a.prefix}-${i}`;
  const body = `{"user":"${key}","score":${i},"tags":["a","b"],"note":"${pad}"}`;
  s.inflight++;
  s.maxInflight = Math.max(s.maxInflight, s.inflight);
  const rec = a.records === undefined ? null : { key, table, i, startedMs: wallMs(), endedMs: null, status: null };
  if (rec !== null) records.push(rec);
  const fail = (kind) => {
    if (rec !== null) rec.status = kind;
    if (measured) {
      s.m.errors[kind] = (s.m.errors[kind] ?? 0) + 1;
      mt.errors[kind] = (mt.errors[kind] ?? 0) + 1;
    }
  };
  const home = a.home === undefined ? {} : { 'x-meridian-home': a.home === 'self' ? s.region : a.home };
  const handedAt = performance.now();
  s.pool
    .request({ method: 'PUT', path: `/data/v1/tables/${table}/rows/${encodeURIComponent(key)}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...home }, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
    .then(async (r) => {
      // With --records, a refusal's error code is kept (why the write was not acknowledged).
      if (rec !== null && r.statusCode >= 300) {
        const text = await r.body.text().catch(() => '');
        rec.error = text.match(/"error":"([^"]*)"/)?.[1] ?? null;
        rec.reason = text.match(/"reason":"([^"]*)"/)?.[1]?.slice(0, 160) ?? null;
      }
      else await r.body.dump();
      if (rec !== null) rec.endedMs = wallMs();
      if (r.statusCode >= 200 && r.statusCode < 300) {
        if (rec !== null) rec.status = r.statusCode;
        if (measured) {
          const answeredAt = performance.now();
          const ms = answeredAt - handedAt;
          for (const m of [s.m, mt]) {
            m.ok++;
            m.latMs.push(ms);
            m.lateMs.push(handedAt - scheduledAt);
            m.fromScheduleMs.push(answeredAt - scheduledAt);
          }
          (s.perSecond[Math.floor((scheduledAt - measureFrom) / 1000)] ??= []).push(ms);
        }
      } else fail(`http_${r.statusCode}`);
    }, (e) => {
      if (rec !== null) rec.endedMs = wallMs();
      fail(e.code ?? e.name ?? 'error');
    })
    .finally(() => s.inflight--);
}

// Every millisecond (as near as timers go): send what is due by now, each with its own
// scheduled time, so a late timer sends a small burst rather than skipping writes.
const tick = setInterval(() => {
  const now = performance.now();
  if (!measuring && now >= measureFrom) {
    measuring = true;
    say({ phase: 'measure', atMs: Date.now() });
  }
  const until = Math.min(now, endAt);
  for (const s of streams) {
    // Writes 0..due-1 are scheduled at or before `until` (write i at t0 + i/rate). (Until
    // 2026-11-26 this was one short: every write went out one interval after its scheduled
    // time, and its latency carried that interval — 5 ms at 200 writes/s, 20 ms at 50.)
    const due = Math.min(Math.floor(((until - t0) * rate) / 1000) + 1, Math.ceil(((endAt - t0) * rate) / 1000));
    while (s.issued < due) {
      const scheduledAt = t0 + (s.issued * 1000) / rate;
      send(s, s.issued, scheduledAt);
      s.issued++;
    }
  }
  if (now >= endAt) {
    clearInterval(tick);
    void finish();
  }
}, 1);

async function finish() {
  // Let the writes in flight be answered (bounded), then report.
  const deadline = performance.now() + 10_000;
  while (streams.some((s) => s.inflight > 0) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const q = (xs, p) => (xs.length === 0 ? null : Math.round(xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))] * 100) / 100);
  const regions = {};
  const quantiles = (xs) => {
    const sorted = xs.sort((x, y) => x - y);
    return { p50: q(sorted, 0.5), p90: q(sorted, 0.9), p99: q(sorted, 0.99), max: q(sorted, 1) };
  };
  const summary = (m) => ({ scheduled: m.scheduled, ok: m.ok, errors: m.errors, latencyMs: quantiles(m.latMs), senderLateMs: quantiles(m.lateMs), latencyFromScheduleMs: quantiles(m.fromScheduleMs) });
  for (const s of streams) {
    const lat = s.m.latMs.sort((x, y) => x - y);
    regions[s.region] = {
      scheduled: s.m.scheduled,
      ok: s.m.ok,
      errors: s.m.errors,
      unanswered: s.inflight,
      achievedPerSec: Math.round((s.m.ok / measureMs) * 1000 * 10) / 10,
      maxInflight: s.maxInflight,
      perSecond: Array.from(s.perSecond, (xs = []) => {
        const sorted = xs.sort((x, y) => x - y);
        return { ok: sorted.length, p50: q(sorted, 0.5), p99: q(sorted, 0.99) };
      }),
      latencyMs: { p50: q(lat, 0.5), p99: q(lat, 0.99), max: q(lat, 1) },
      senderLateMs: quantiles(s.m.lateMs),
      latencyFromScheduleMs: quantiles(s.m.fromScheduleMs),
      ...(tables.length > 1 && { byTable: Object.fromEntries(Object.entries(s.byTable).map(([t, m]) => [t, summary(m)])) }),
    };
  }
  if (a.records !== undefined) writeFileSync(a.records, JSON.stringify(records));
  say({ phase: 'done', atMs: Date.now(), ratePerRegion: rate, measureSec: measureMs / 1000, regions });
  await Promise.all(streams.map((s) => s.pool.destroy()));
  process.exit(0);
}
