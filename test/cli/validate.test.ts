import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { meridian } from './run.js';

describe('meridian validate (the command)', () => {
  it('prints the summary and exits 0 for the example world', () => {
    const r = meridian(['validate', 'examples/world.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok: 6 regions, 5 tables, model active-active');
  });
  it('prints one line per problem with file:line:col and path, and exits 2', () => {
    const r = meridian(['validate', 'examples/broken.yaml']);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    const problems = lines.filter((l) => l.startsWith('examples/broken.yaml:'));
    assert.ok(problems.length >= 12, r.stderr);
    for (const l of problems) assert.match(l, /^examples\/broken\.yaml:\d+:\d+: (warning: )?[^:]+: .+/);
    assert.ok(problems.some((l) => /regions\[1\]\.id: duplicate region id/.test(l)));
    assert.ok(problems.some((l) => /deployment\.primary: active-passive needs a primary/.test(l)));
    assert.match(lines[lines.length - 1] ?? '', /^invalid: \d+ problems$/);
  });
  it('reports broken YAML with its line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-'));
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'service:\n  name: shop\n   zone: x\n');
    const r = meridian(['validate', f]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^${f}:\\d+:\\d+: \\(yaml\\): `, 'm'));
  });
  it('compiles the DNS zone too: a CNAME loop fails validation, not a node start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-'));
    const f = join(dir, 'loop.yaml');
    writeFileSync(f, [
      'service:',
      '  name: shop',
      '  zone: shop.example.test',
      '  records:',
      '    - { name: a, type: CNAME, value: b.shop.example.test. }',
      '    - { name: b, type: CNAME, value: a.shop.example.test. }',
      'regions:',
      '  - { id: us-east-1, public: 127.0.1.1, mesh: "127.0.1.1:7070", app: "http://127.0.1.1:9000" }',
      '',
    ].join('\n'));
    const r = meridian(['validate', f]);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /service\.records: .*(loop|chain)/i);
  });
  it('says so when the file does not exist', () => {
    const r = meridian(['validate', 'nope.yaml']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nope\.yaml: \(file\): no such file/);
  });
  it('--help lists the commands', () => {
    const r = meridian(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /validate/);
    assert.match(r.stdout, /route/);
  });
});
