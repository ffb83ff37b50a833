// The example application (examples/app/server.mjs) over the SDK, against the contract
// fake: each of the five table kinds through its REST surface, and the data API's errors
// passed through with their status and reason. Runs the built SDK (meridian/client
// resolves to dist/ by the package's self-reference), as the world does.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeDataApi, token } from './client-fake-api.js';

const appPath = fileURLToPath(new URL('../../examples/app/server.mjs', import.meta.url));

async function startApp(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [appPath, '--listen', '127.0.0.1:0', '--region', 'eu-west-1'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m !== null) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the app exited (${code}): ${err}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the example application over meridian/client', () => {
  const api = new FakeDataApi();
  let app: { child: ChildProcess; url: string };
  let bare: { child: ChildProcess; url: string };

  before(async () => {
    await api.start();
    app = await startApp({ MERIDIAN_DATA_URL: api.url, MERIDIAN_APP_TOKEN: token });
    bare = await startApp({});
  });
  after(() => {
    app.child.kill();
    bare.child.kill();
    api.server.close();
  });

  it('writes and reads accounts (home from the client), carts (home from their region field), catalog and prefs', async () => {
    const acct = await call(app.url, 'PUT', '/api/accounts/u1?home=eu-west-1', { name: 'Ada' });
    assert.equal(acct.status, 200, JSON.stringify(acct.body));
    assert.equal(acct.body.home, 'eu-west-1', 'the home given by the client reaches the data API');
    assert.equal(api.seen.at(-1)?.headers['x-meridian-home'], 'eu-west-1');
    const read = await call(app.url, 'GET', '/api/accounts/u1');
    assert.deepEqual(read.body.value, { name: 'Ada' });
    assert.equal(new URL(api.seen.at(-1)?.url ?? '', 'http://x').searchParams.get('max_staleness_ms'), '1000', 'strong tables are read within a staleness bound for now');

    assert.equal((await call(app.url, 'PUT', '/api/carts/c1', { region: 'eu-west-1', items: ['tea'] })).status, 200);
    assert.deepEqual((await call(app.url, 'GET', '/api/carts/c1')).body.value, { region: 'eu-west-1', items: ['tea'] });
    const noRegion = await call(app.url, 'PUT', '/api/carts/c2', { items: [] });
    assert.equal(noRegion.status, 400);
    assert.match(String(noRegion.body.reason), /region/);

    assert.equal((await call(app.url, 'PUT', '/api/catalog/sku-1', { title: 'Kettle', price: 30 })).status, 200);
    assert.equal((await call(app.url, 'GET', '/api/catalog/sku-1')).body.app, 'eu-west-1');
    assert.equal((await call(app.url, 'PUT', '/api/prefs/u1', { theme: 'dark' })).status, 200);
    const list = await call(app.url, 'GET', '/api/prefs?prefix=u');
    assert.deepEqual((list.body.rows as { key: string }[]).map((r) => r.key), ['u1']);
    assert.equal((await call(app.url, 'DELETE', '/api/prefs/u1')).status, 200);
    assert.equal((await call(app.url, 'GET', '/api/prefs/u1')).status, 404);
  });

  it('counts views with the counter', async () => {
    assert.equal((await call(app.url, 'POST', '/api/views/home')).body.value, 1);
    assert.equal((await call(app.url, 'POST', '/api/views/home', { by: 4 })).body.value, 5);
    assert.equal((await call(app.url, 'GET', '/api/views/home')).body.value, 5);
    assert.equal((await call(app.url, 'POST', '/api/views/home', { by: 'x' })).status, 400);
  });

  it('passes the data API errors through, and conditional and idempotent writes on', async () => {
    const first = await call(app.url, 'PUT', '/api/prefs/u9', { theme: 'light' }, { 'if-none-match': '*' });
    assert.equal(first.status, 200);
    const again = await call(app.url, 'PUT', '/api/prefs/u9', { theme: 'dark' }, { 'if-none-match': '*' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'version_conflict');
    assert.equal(again.body.current, first.body.version);
    const cas = await call(app.url, 'PUT', '/api/prefs/u9', { theme: 'dark' }, { 'if-match': String(first.body.version), 'idempotency-key': 'k-1' });
    assert.equal(cas.status, 200);
    assert.equal(api.seen.at(-1)?.headers['idempotency-key'], 'k-1');
    const strong = await call(app.url, 'GET', '/api/accounts/u1?consistency=strong');
    assert.equal(strong.status, 501);
    assert.equal(strong.body.error, 'not_implemented');
    api.failNext = [503, 503, 503];
    const down = await call(app.url, 'GET', '/api/catalog/sku-1');
    assert.equal(down.status, 503, 'after its retries the app answers the data API\'s 503');
    assert.equal(down.body.retryable, true);
  });

  it('answers 503 no_data_api for data routes when started without the data API, and still serves the rest', async () => {
    const r = await call(bare.url, 'GET', '/api/prefs/u1');
    assert.equal(r.status, 503);
    assert.equal(r.body.error, 'no_data_api');
    assert.equal((await call(bare.url, 'GET', '/api/hello')).status, 200);
    assert.equal((await call(bare.url, 'GET', '/healthz')).status, 200);
  });
});
