// The topology's `dns` section: its defaults, and a bad value named with its path and range.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem, parseTopology, type LoadResult } from '../../src/topology/index.js';
import { baseTopology, yaml } from './fixtures.js';

function load(dns: unknown): LoadResult {
  return parseTopology(yaml({ ...baseTopology(), ...(dns !== undefined && { dns }) }));
}

function expectError(r: LoadResult, path: string, fragment: RegExp): void {
  const all = r.problems.map((x) => formatProblem(x)).join('\n');
  assert.equal(r.ok, false, `expected an error at ${path}`);
  assert.ok(r.problems.some((p) => p.severity === 'error' && p.path === path && fragment.test(`${p.message} ${p.expected ?? ''}`)), `expected an error at ${path} matching ${fragment}; got:\n${all}`);
}

describe('topology: dns', () => {
  it('defaults: rate limit 100/s, burst 200, slip 2, /24 and /56; 1232 bytes; factor 10', () => {
    const r = load(undefined);
    assert.ok(r.ok, JSON.stringify(r.problems));
    assert.deepEqual(r.topology.file.dns, {
      rate_limit: { responses_per_second: 100, burst: 200, slip: 2, ipv4_prefix: 24, ipv6_prefix: 56 },
      max_udp_payload: 1232,
      amplification_factor: 10,
    });
  });

  it('a partial section keeps the other defaults; 0 turns rate limiting off', () => {
    const r = load({ rate_limit: { responses_per_second: 0 }, max_udp_payload: 4096 });
    assert.ok(r.ok, JSON.stringify(r.problems));
    assert.deepEqual(r.topology.file.dns.rate_limit, { responses_per_second: 0, burst: 200, slip: 2, ipv4_prefix: 24, ipv6_prefix: 56 });
    assert.equal(r.topology.file.dns.max_udp_payload, 4096);
    assert.equal(r.topology.file.dns.amplification_factor, 10);
  });

  it('refuses values out of range, naming the key', () => {
    expectError(load({ rate_limit: { slip: 11 } }), 'dns.rate_limit.slip', /at most 10/);
    expectError(load({ rate_limit: { responses_per_second: -1 } }), 'dns.rate_limit.responses_per_second', /at least 0/);
    expectError(load({ rate_limit: { burst: 0 } }), 'dns.rate_limit.burst', /at least 1/);
    expectError(load({ rate_limit: { ipv4_prefix: 33 } }), 'dns.rate_limit.ipv4_prefix', /at most 32/);
    expectError(load({ rate_limit: { ipv6_prefix: 8 } }), 'dns.rate_limit.ipv6_prefix', /at least 16/);
    expectError(load({ max_udp_payload: 100 }), 'dns.max_udp_payload', /at least 512/);
    expectError(load({ max_udp_payload: 9000 }), 'dns.max_udp_payload', /at most 4096/);
    expectError(load({ amplification_factor: 2.5 }), 'dns.amplification_factor', /2\.5.*int/);
  });

  it('refuses unknown keys (strict), listing the known ones', () => {
    expectError(load({ rate_limt: {} }), 'dns.rate_limt', /unknown key.*rate_limit/);
    expectError(load({ rate_limit: { rps: 10 } }), 'dns.rate_limit.rps', /unknown key.*responses_per_second/);
  });
});
