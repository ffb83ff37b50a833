import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meridian } from './run.js';

interface Decision {
  client: { known: boolean; country?: string };
  subnet: string;
  answer: string[];
  allDown: boolean;
  ranked: { region: string; up: boolean; reason: string; rttMs: number | null }[];
}

function routeJson(args: string[]): Decision {
  const r = meridian(['route', '--config', 'examples/world.yaml', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Decision;
}

describe('meridian route (the command)', () => {
  it('sends a London client to eu-west-1, with a reason and an RTT for every region', () => {
    const d = routeJson(['--client-ip', '81.2.69.160']);
    assert.equal(d.client.country, 'GB');
    assert.equal(d.subnet, '81.2.69.0/24');
    assert.deepEqual(d.answer, ['eu-west-1']);
    assert.equal(d.ranked.length, 6);
    for (const r of d.ranked) {
      assert.ok(r.reason.length > 0);
      assert.equal(typeof r.rttMs, 'number');
    }
  });
  it('--down moves the client to the next region and ranks the down one last', () => {
    const d = routeJson(['--client-ip', '81.2.69.160', '--down', 'eu-west-1']);
    assert.deepEqual(d.answer, ['eu-central-1']);
    assert.equal(d.ranked.at(-1)?.region, 'eu-west-1');
    assert.equal(d.ranked.at(-1)?.up, false);
  });
  it('answers with every region when all are down, and says so', () => {
    const all = 'us-east-1,us-west-2,eu-west-1,eu-central-1,ap-southeast-1,sa-east-1';
    const d = routeJson(['--client-ip', '81.2.69.160', '--down', all]);
    assert.equal(d.allDown, true);
    assert.equal(d.answer.length, 6);
    const text = meridian(['route', '--config', 'examples/world.yaml', '--client-ip', '81.2.69.160', '--down', all]);
    assert.match(text.stdout, /all 6 regions down/);
  });
  it('prints a readable table with the estimated RTT', () => {
    const r = meridian(['route', '--config', 'examples/world.yaml', '--client-ip', '200.160.2.3']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^client 200\.160\.2\.3: .*BR \(SA\)/m);
    assert.match(r.stdout, /^\s+1\. sa-east-1\s+up\s+\d+ ms\s+nearest healthy/m);
  });
  it('an IPv6 client is located too', () => {
    const d = routeJson(['--client-ip', '2a00:1450:4001::1']);
    assert.equal(d.client.country, 'DE');
    assert.ok(['eu-central-1', 'eu-west-1'].includes(d.answer[0] ?? ''));
  });
  it('a private address routes without a location', () => {
    const d = routeJson(['--client-ip', '10.0.0.1']);
    assert.equal(d.client.known, false);
    assert.equal(d.ranked[0]?.rttMs, null);
  });
  it('refuses a bad address or an unknown region with exit 2', () => {
    assert.equal(meridian(['route', '--config', 'examples/world.yaml', '--client-ip', 'nope']).code, 2);
    const r = meridian(['route', '--config', 'examples/world.yaml', '--client-ip', '8.8.8.8', '--down', 'mars-1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown region "mars-1"/);
  });
});
