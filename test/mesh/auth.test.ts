import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sign, signatureWindowMs, verify } from '../../src/mesh/index.js';

const secret = 's3cret-s3cret-s3cret';
const now = 1_800_000_000_000;

describe('mesh authentication', () => {
  it('accepts its own signature and names the sender', () => {
    const h = sign(secret, 'eu-west-1', 'GET', '/status', now);
    assert.deepEqual(verify(secret, h, 'GET', '/status', now + 1000), { ok: true, from: 'eu-west-1' });
  });
  it('refuses another secret, method, path, sender or an old timestamp', () => {
    const h = sign(secret, 'eu-west-1', 'GET', '/status', now);
    assert.equal(verify('other-secret-xxxxxxx', h, 'GET', '/status', now).ok, false);
    assert.equal(verify(secret, h, 'POST', '/status', now).ok, false);
    assert.equal(verify(secret, h, 'GET', '/metrics', now).ok, false);
    assert.equal(verify(secret, { ...h, 'x-meridian-from': 'us-east-1' }, 'GET', '/status', now).ok, false);
    assert.equal(verify(secret, h, 'GET', '/status', now + signatureWindowMs + 1).ok, false);
    assert.equal(verify(secret, { ...h, 'x-meridian-ts': 'soon' }, 'GET', '/status', now).ok, false);
  });
  it('takes the secret as a bearer token for operators, and nothing else', () => {
    assert.deepEqual(verify(secret, { authorization: `Bearer ${secret}` }, 'GET', '/metrics', now), { ok: true, from: 'operator' });
    assert.deepEqual(verify(secret, { authorization: 'Bearer nope' }, 'GET', '/metrics', now), { ok: false, reason: 'bad bearer token' });
    assert.deepEqual(verify(secret, {}, 'GET', '/metrics', now), { ok: false, reason: 'no credentials' });
  });
});
