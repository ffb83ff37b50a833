// The server as a real client sees it: BIND's dig (bind9-dnsutils) against 127.0.0.1 over
// UDP and TCP. dig's own parser reads every reply, so a wire-format mistake the tests'
// dns-packet would forgive fails here. Output is dig's +yaml (9.16+): flags, rcode and
// sections compared as dig prints them. Skipped, with the install hint, where dig is absent.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { host, startServer, type Running } from './fixtures.js';

const run = promisify(execFile);

/** dig's version, or why the tests cannot run. `dig -v` prints to stderr. */
async function findDig(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const { stdout, stderr } = await run('dig', ['-v']);
    const m = /DiG (\d+)\.(\d+)/.exec(stdout + stderr);
    if (m === null) return { ok: false, reason: `dig -v printed no version: ${stdout}${stderr}` };
    if (Number(m[1]) * 100 + Number(m[2]) < 916) return { ok: false, reason: `dig ${m[1]}.${m[2]} has no +yaml: install bind9-dnsutils 9.16 or later` };
    return { ok: true };
  } catch {
    return { ok: false, reason: 'dig not installed: apt-get install bind9-dnsutils' };
  }
}

const dig = await findDig();

interface DigReply {
  protocol: 'UDP' | 'TCP';
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  /** The OPT pseudo-section's CLIENT-SUBNET: 'address/source/scope'. */
  clientSubnet: string | undefined;
}

/** The message data of dig's +yaml output, which it prints in the form YAML knows; the
 *  comment lines it adds (`; Transfer failed.`) start with ';' and are dropped. */
interface DigYaml {
  type: string;
  message?: { socket_protocol: 'UDP' | 'TCP'; response_message_data: Record<string, unknown> };
}

const answerSections = { answer: 'ANSWER_SECTION', authority: 'AUTHORITY_SECTION', additional: 'ADDITIONAL_SECTION' } as const;

describe('dig against the server', { skip: dig.ok ? false : dig.reason }, () => {
  let s: Running;
  const hundred = Array.from({ length: 100 }, (_, i) => `10.0.0.${i + 1}`);
  before(async () => {
    s = await startServer({}, (name, family) => {
      if (family === 6) return { addresses: [], ttlSec: 30 };
      return { addresses: name === 'api' ? hundred : ['203.0.113.10'], ttlSec: 30 };
    });
  });
  after(() => s.stop());

  async function ask(name: string, type: string, ...options: string[]): Promise<DigReply> {
    const { stdout } = await run('dig', [`@${host}`, '-p', String(s.udpPort), name, type, '+yaml', '+tries=1', '+time=2', ...options]);
    const doc = parse(stdout.split('\n').filter((l) => !l.startsWith(';')).join('\n')) as DigYaml[];
    const message = doc.filter((d) => d.type === 'MESSAGE').at(-1)?.message;
    assert.ok(message, `dig printed no message:\n${stdout}`);
    const data = message.response_message_data;
    const section = (key: string) => ((data[key] as string[] | undefined) ?? []).map((line) => line.replace(/\s+/g, ' '));
    const edns = (data['OPT_PSEUDOSECTION'] as { EDNS?: Record<string, unknown> } | undefined)?.EDNS;
    return {
      protocol: message.socket_protocol,
      status: String(data['status']),
      flags: String(data['flags'] ?? '').split(' ').filter((f) => f !== ''),
      answer: section(answerSections.answer),
      authority: section(answerSections.authority),
      additional: section(answerSections.additional),
      clientSubnet: edns?.['CLIENT-SUBNET'] as string | undefined,
    };
  }

  const soa = 'shop.example.test. 300 IN SOA ns1.shop.example.test. hostmaster.shop.example.test. 2026010101 7200 900 1209600 300';

  test('A over UDP: NOERROR, flags qr aa rd (no ra), the policy\'s address', async () => {
    const r = await ask('www.shop.example.test', 'A');
    assert.deepEqual([r.protocol, r.status, r.flags], ['UDP', 'NOERROR', ['qr', 'aa', 'rd']]);
    assert.deepEqual(r.answer, ['www.shop.example.test. 30 IN A 203.0.113.10']);
  });

  test('A over TCP (+tcp): the same answer', async () => {
    const r = await ask('www.shop.example.test', 'A', '+tcp');
    assert.deepEqual([r.protocol, r.status, r.flags, r.answer], ['TCP', 'NOERROR', ['qr', 'aa', 'rd'], ['www.shop.example.test. 30 IN A 203.0.113.10']]);
  });

  test('+subnet=81.2.69.0/24: the policy sees the subnet, CLIENT-SUBNET comes back with scope /24', async () => {
    s.calls.length = 0;
    const r = await ask('www.shop.example.test', 'A', '+subnet=81.2.69.0/24');
    assert.equal(r.clientSubnet, '81.2.69.0/24/24');
    assert.deepEqual(s.calls.map((c) => c.client), [{ ip: '81.2.69.0', prefixLength: 24, source: 'ecs' }]);
    // A static answer does not depend on the client: scope 0, so resolvers share it.
    assert.equal((await ask('shop.example.test', 'MX', '+subnet=81.2.69.0/24')).clientSubnet, '81.2.69.0/24/0');
  });

  test('the CLIENT-SUBNET line in dig\'s classic output', async () => {
    const { stdout } = await run('dig', [`@${host}`, '-p', String(s.udpPort), 'www.shop.example.test', 'A', '+subnet=81.2.69.0/24', '+noall', '+comments', '+answer', '+tries=1', '+time=2']);
    assert.match(stdout, /^; CLIENT-SUBNET: 81\.2\.69\.0\/24\/24$/m);
    assert.match(stdout, /^;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1$/m);
    assert.match(stdout, /^www\.shop\.example\.test\.\s+30\s+IN\s+A\s+203\.0\.113\.10$/m);
  });

  test('+bufsize=512 with a 100-address answer: TC over UDP (+ignore shows it), and dig completes it over TCP', async () => {
    const truncated = await ask('api.shop.example.test', 'A', '+bufsize=512', '+ignore');
    assert.deepEqual([truncated.protocol, truncated.status, truncated.flags, truncated.answer], ['UDP', 'NOERROR', ['qr', 'aa', 'tc', 'rd'], []]);
    const retried = await ask('api.shop.example.test', 'A', '+bufsize=512');
    assert.deepEqual([retried.protocol, retried.flags, retried.answer.length], ['TCP', ['qr', 'aa', 'rd'], 100]);
    assert.equal(retried.answer[99], 'api.shop.example.test. 30 IN A 10.0.0.100');
  });

  test('+norec: flags qr aa only', async () => {
    const r = await ask('www.shop.example.test', 'A', '+norec');
    assert.deepEqual([r.status, r.flags], ['NOERROR', ['qr', 'aa']]);
  });

  test('NXDOMAIN: status, flags qr aa, the SOA in AUTHORITY with the negative TTL', async () => {
    const r = await ask('nope.shop.example.test', 'A', '+norec');
    assert.deepEqual([r.status, r.flags, r.answer, r.authority], ['NXDOMAIN', ['qr', 'aa'], [], [soa]]);
  });

  test('NODATA: NOERROR with no answer and the SOA, at a host and at an empty non-terminal', async () => {
    for (const [name, type] of [['www.shop.example.test', 'AAAA'], ['_tcp.shop.example.test', 'SRV'], ['mail.shop.example.test', 'TXT']]) {
      const r = await ask(name!, type!, '+norec');
      assert.deepEqual([r.status, r.flags, r.answer, r.authority], ['NOERROR', ['qr', 'aa'], [], [soa]], `${name} ${type}`);
    }
  });

  test('outside the zone: REFUSED, no aa, nothing in the sections', async () => {
    const r = await ask('example.com', 'A');
    assert.deepEqual([r.status, r.flags, r.answer, r.authority], ['REFUSED', ['qr', 'rd'], [], []]);
  });

  test('static MX with the exchange\'s addresses as additional data', async () => {
    const r = await ask('shop.example.test', 'MX');
    assert.deepEqual(r.answer, ['shop.example.test. 300 IN MX 10 mail.shop.example.test.', 'shop.example.test. 300 IN MX 20 mx.other.test.']);
    assert.deepEqual(r.additional, ['mail.shop.example.test. 300 IN A 192.0.2.25', 'mail.shop.example.test. 300 IN AAAA 2001:db8::25']);
  });

  test('static TXT, CAA and SRV as dig prints them', async () => {
    assert.deepEqual((await ask('shop.example.test', 'TXT')).answer, ['shop.example.test. 300 IN TXT "v=spf1 mx -all"']);
    assert.deepEqual((await ask('api.shop.example.test', 'TXT')).answer, ['api.shop.example.test. 30 IN TXT "hello" "world"']);
    assert.deepEqual((await ask('shop.example.test', 'CAA')).answer, ['shop.example.test. 3600 IN CAA 0 issue "letsencrypt.org"']);
    const srv = await ask('_sip._tcp.shop.example.test', 'SRV');
    assert.deepEqual([srv.answer, srv.additional], [['_sip._tcp.shop.example.test. 60 IN SRV 10 5 5060 sip.shop.example.test.'], ['sip.shop.example.test. 60 IN A 192.0.2.60']]);
  });

  test('a CNAME chain inside the zone, followed to the address', async () => {
    const r = await ask('chain.shop.example.test', 'A');
    assert.deepEqual(r.answer, [
      'chain.shop.example.test. 60 IN CNAME webmail.shop.example.test.',
      'webmail.shop.example.test. 60 IN CNAME mail.shop.example.test.',
      'mail.shop.example.test. 300 IN A 192.0.2.25',
    ]);
  });

  test('ANY: one HINFO (RFC 8482); AXFR: REFUSED over TCP', async () => {
    assert.deepEqual((await ask('shop.example.test', 'ANY')).answer, ['shop.example.test. 3600 IN HINFO "RFC8482" ""']);
    const axfr = await ask('shop.example.test', 'AXFR');
    assert.deepEqual([axfr.protocol, axfr.status, axfr.answer], ['TCP', 'REFUSED', []]);
  });

  test('nothing was reported as an error', () => {
    assert.deepEqual(s.errors, []);
  });
});
