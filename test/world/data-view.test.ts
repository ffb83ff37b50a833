// The world's view of the data: /status `data` sections read tolerantly, the lag matrix
// and its text, writes/s from committed counts, the report's data section.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataMonitor, lagMatrix, readNodeDataStatus, renderLagMatrix, renderView, viewWidth, WorldStats, buildReport, renderReport } from '../../src/world/index.js';

const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

/** A node's /status as the contract shapes it, with the lags it measured per source. */
function status(region: string, committed: number, inbound: Record<string, [number, number]>, conflicts = 0): Record<string, unknown> {
  return {
    region,
    health: { [region]: { up: true } },
    data: {
      replication: {
        inbound: Object.fromEntries(Object.entries(inbound).map(([src, [p50, p99]]) => [src, { applied: '1.0.x', sourceMs: 1, lagMsLast: p50, lagMsP50: p50, lagMsP99: p99, changesApplied: 10 }])),
        outbound: {},
        conflicts: { total: conflicts, sample: [] },
        log: {},
      },
      writes: { committed, forwarded: 0 },
    },
  };
}

describe('the lag matrix', () => {
  it('reads cells[to][from] from each destination node\'s inbound lags, unknown as null', () => {
    const statuses = new Map([
      ['us-east-1', readNodeDataStatus(status('us-east-1', 5, { 'eu-west-1': [40, 70], 'ap-southeast-1': [110, 180] }))],
      ['eu-west-1', readNodeDataStatus(status('eu-west-1', 2, { 'us-east-1': [41, 75] }))],
      ['ap-southeast-1', null],
    ]);
    const m = lagMatrix(regions, statuses);
    assert.deepEqual(m.cells[0], [null, { p50Ms: 40, p99Ms: 70 }, { p50Ms: 110, p99Ms: 180 }]);
    assert.deepEqual(m.cells[1], [{ p50Ms: 41, p99Ms: 75 }, null, null], 'eu-west-1 applies nothing from ap-southeast-1 yet');
    assert.deepEqual(m.cells[2], [null, null, null], 'a node without data is unknown throughout');

    const text = renderLagMatrix(m);
    assert.equal(text[0], 'replication lag, ms p50/p99 (row: applied in; column: written in)');
    assert.match(text[1] as string, /from 1\s+from 2\s+from 3$/);
    assert.match(text[2] as string, /^1 us-east-1\s+·\s+40\/70\s+110\/180$/);
    assert.match(text[3] as string, /^2 eu-west-1\s+41\/75\s+·\s+-$/);
    assert.match(text[4] as string, /^3 ap-southeast-1\s+-\s+-\s+·$/);
  });

  it('shows "-" everywhere for nodes whose /status has no data section yet', () => {
    assert.equal(readNodeDataStatus({ region: 'us-east-1', health: {} }), null);
    assert.equal(readNodeDataStatus(null), null);
    const partial = readNodeDataStatus({ data: { reads: 3, committed: 9 } });
    assert.deepEqual(partial, { writesCommitted: null, writesForwarded: null, inbound: {}, conflictsTotal: null }, 'another shape reads as unknown, not zero');
    const m = lagMatrix(regions, new Map(regions.map((r) => [r, null])));
    const text = renderLagMatrix(m).slice(2);
    assert.ok(text.every((l) => /^\d \S+(\s+(-|·))+$/.test(l)), text.join('\n'));
  });

  it('lists the slowest pairs instead of a grid too wide for 100 columns', () => {
    const many = Array.from({ length: 12 }, (_, i) => `region-${i + 1}`);
    const statuses = new Map(many.map((r, i) => [r, readNodeDataStatus(status(r, 0, Object.fromEntries(many.filter((x) => x !== r).map((src, j) => [src, [i + j, 10 * (i + 1) + j]]))))]));
    const text = renderLagMatrix(lagMatrix(many, statuses));
    assert.match(text[0] as string, /the 8 slowest of 132 pairs/);
    assert.equal(text.length, 9);
    assert.match(text[1] as string, /region-\d+ -> region-12\s+\d+\/13\d$/, 'the highest p99 first');
    assert.ok(text.every((l) => l.length <= viewWidth));
  });
});

describe('the data monitor', () => {
  it('turns committed counts into writes/s, across a node restart, and sums conflicts', () => {
    const d = new DataMonitor(regions);
    d.observe('us-east-1', status('us-east-1', 100, {}, 2), 1000);
    d.observe('eu-west-1', status('eu-west-1', 10, {}, 1), 1000);
    d.observe('ap-southeast-1', { region: 'ap-southeast-1' }, 1000);
    assert.equal(d.snapshot().writesPerSec.get('us-east-1'), null, 'one sample is no rate');
    d.observe('us-east-1', status('us-east-1', 130, { 'eu-west-1': [30, 60] }, 3), 3000);
    d.observe('eu-west-1', status('eu-west-1', 14, { 'us-east-1': [31, 90] }, 1), 2000);
    const s = d.snapshot();
    assert.equal(s.writesPerSec.get('us-east-1'), 15);
    assert.equal(s.writesPerSec.get('eu-west-1'), 4);
    assert.equal(s.writesPerSec.get('ap-southeast-1'), null);
    assert.equal(s.totalWritesPerSec, 19);
    assert.equal(s.conflictsTotal, 4);
    // eu-west-1 restarts: its count starts again from 0; the run keeps what it had.
    d.observe('eu-west-1', null, 3000);
    assert.equal(d.snapshot().matrix.cells[1]?.[0], null, 'a node that does not answer shows no lag');
    d.observe('eu-west-1', status('eu-west-1', 6, { 'us-east-1': [20, 40] }, 0), 4000);
    const r = d.report(10);
    assert.deepEqual(r.byRegion, { 'us-east-1': { writesCommitted: 130 }, 'eu-west-1': { writesCommitted: 20 }, 'ap-southeast-1': { writesCommitted: null } });
    assert.equal(r.writesCommitted, 150);
    assert.equal(r.writesPerSec, 15);
    assert.deepEqual(r.lagMs['us-east-1->eu-west-1'], { p50Ms: 20, p99Ms: 40, p99MaxMs: 90 });
    assert.deepEqual(r.lagMs['eu-west-1->us-east-1'], { p50Ms: 30, p99Ms: 60, p99MaxMs: 60 });
    assert.equal(r.conflicts, 3);
  });

  it('reports unknown (null), not zero, when no node reports data', () => {
    const d = new DataMonitor(regions);
    for (const id of regions) d.observe(id, { region: id }, 1000);
    const r = d.report(5);
    assert.equal(r.writesCommitted, null);
    assert.equal(r.conflicts, null);
    assert.deepEqual(r.lagMs, {});
  });
});

describe('the live view and the report with data', () => {
  it('shows writes/s per region, the lag matrix and conflicts, every line within 100 columns', () => {
    const d = new DataMonitor(regions);
    d.observe('us-east-1', status('us-east-1', 0, {}), 0);
    d.observe('us-east-1', status('us-east-1', 12, { 'eu-west-1': [38, 64], 'ap-southeast-1': [120, 210] }, 7), 1000);
    d.observe('eu-west-1', status('eu-west-1', 3, { 'us-east-1': [39, 66] }), 1000);
    const stats = new WorldStats();
    stats.record({ atMs: 0, user: 1, continent: 'EU', resolvedTo: 'eu-west-1' as never, servedBy: 'eu-west-1', nearest: 'eu-west-1' as never, op: 'write prefs', status: 200, ok: true, latencyMs: 40 });
    const text = renderView({
      elapsedSec: 3, durationSec: 20, users: 60, windowSec: 1, total: stats.total, lastEvents: ['0.0s start: 3 regions up'], control: 'http://127.0.0.1:7999',
      rows: regions.map((r) => ({ region: r, health: 'up', window: stats.byRegion.get(r) })),
      data: d.snapshot(),
    });
    const lines = text.split('\n');
    assert.match(lines[2] as string, /errors\/s writes\/s$/);
    assert.match(lines.find((l) => l.startsWith('us-east-1')) as string, / 12\.0$/);
    assert.match(lines.find((l) => l.startsWith('eu-west-1')) as string, / -$/, 'no rate after one sample');
    assert.match(lines.find((l) => l.startsWith('total')) as string, / 12\.0$/);
    assert.match(text, /^1 us-east-1\s+·\s+38\/64\s+120\/210$/m);
    assert.match(text, /^conflicts resolved \(last writer wins\): 7$/m);
    const wide = lines.filter((l) => [...l].length > viewWidth);
    assert.deepEqual(wide, []);

    const report = buildReport(stats, { 'us-east-1': 'up', 'eu-west-1': 'up', 'ap-southeast-1': 'up' }, 0, 10_000, [], d.report(10));
    assert.deepEqual(Object.keys(report.ops), ['write prefs']);
    assert.equal(report.data?.writesCommitted, 15);
    const printed = renderReport(report);
    assert.match(printed, /^by request .*\nwrite prefs\s+1\s+0\s+40ms/m);
    assert.match(printed, /^data: 15 writes committed \(1\.5\/s\); conflicts resolved \(last writer wins\): 7$/m);
    assert.match(printed, /^ {2}by region: us-east-1 12, eu-west-1 3, ap-southeast-1 -$/m);
    assert.match(printed, /^ap-southeast-1 -> us-east-1\s+120ms\s+210ms\s+210ms$/m);
    assert.deepEqual(printed.split('\n').filter((l) => [...l].length > viewWidth), []);
  });

  it('renders without a data section as before, plus a writes/s column of "-"', () => {
    const stats = new WorldStats();
    const text = renderView({ elapsedSec: 1, durationSec: null, users: 0, windowSec: 1, total: stats.total, lastEvents: [], control: 'x', rows: [{ region: 'us-east-1', health: 'up', window: undefined }] });
    assert.match(text, /^us-east-1\s+up\s+0\s+0\.0\s+-\s+-\s+0\.0\s+-$/m);
    assert.doesNotMatch(text, /replication lag/);
  });
});
