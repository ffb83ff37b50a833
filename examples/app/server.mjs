#!/usr/bin/env node
// The example application: what a team would run in every region behind Meridian. It
// keeps its data in Meridian through the SDK (`meridian/client`), one table of each kind
// that examples/world.yaml declares:
//
//   accounts  home, home from the client, survive: region   GET/PUT/DELETE /api/accounts/:id[?home=REGION]
//   carts     home, home from the row's `region` field       GET/PUT/DELETE /api/carts/:id   (body needs "region")
//   catalog   global, written at the primary                 GET/PUT/DELETE /api/catalog/:sku
//   prefs     global, written anywhere (last writer wins)    GET/PUT/DELETE /api/prefs/:user
//   views     global counter                                 POST /api/views/:page {"by"?: n}, GET /api/views/:page
//   GET /api/<table>?prefix=&limit=&cursor=                  a page of rows
//
// Reads take ?consistency=local|strong or ?max_staleness_ms=N. Writes pass the request's
// `if-match` (compare-and-set), `if-none-match: *` (create only) and `idempotency-key`
// headers on to the data API, so a caller retrying through the gateway is applied once.
// Data API errors come back with their status, code and reason.
//
// Plain JavaScript so it runs as it is (after `npm run build`, which makes meridian/client).
//
//   MERIDIAN_DATA_URL=http://127.0.1.1:7070 MERIDIAN_APP_TOKEN=... \
//   node examples/app/server.mjs --listen 127.0.1.1:9000 --region us-east-1 [--exit-with-parent]
//   flags instead of the environment: --data-url URL, --app-token-env NAME (the variable holding the token)

import { createServer } from 'node:http';
import { connect, MeridianDataError } from 'meridian/client';

const args = new Map();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--exit-with-parent') args.set('exit-with-parent', true);
  else if (a.startsWith('--')) args.set(a.slice(2), process.argv[++i]);
}
const listen = String(args.get('listen') ?? '127.0.0.1:9000');
const region = String(args.get('region') ?? process.env.MERIDIAN_REGION ?? 'unknown');
const idx = listen.lastIndexOf(':');
const host = listen.slice(0, idx).replace(/^\[|\]$/g, '');
const port = Number(listen.slice(idx + 1));
const dataUrl = args.get('data-url') ?? process.env.MERIDIAN_DATA_URL;
const token = process.env[String(args.get('app-token-env') ?? 'MERIDIAN_APP_TOKEN')];

// Without a data API the app still serves /healthz, /static and /api/hello; data routes
// say what is missing. Timeouts and retries are kept under the users' own patience: at
// most 3 attempts × 1.5 s plus backoff, well inside the gateway's upstream timeout.
const db = dataUrl !== undefined && token !== undefined && token !== ''
  ? connect({ url: dataUrl, token, timeoutMs: 1500, retries: 2 })
  : null;

/** The tables of examples/world.yaml: how each is read by default, and what a write needs. */
const tables = {
  // Strong tables are read within a staleness bound until strong reads land (issue #6 part 2).
  accounts: { kind: 'row', read: { maxStalenessMs: 1000 }, homeFromQuery: true },
  carts: { kind: 'row', read: { maxStalenessMs: 1000 }, needsRegionField: true },
  catalog: { kind: 'row', read: 'local' },
  prefs: { kind: 'row', read: 'local' },
  views: { kind: 'counter', read: 'local' },
};

class HttpError extends Error {
  constructor(status, code, reason) {
    super(reason);
    this.status = status;
    this.code = code;
  }
}

const maxBodyBytes = 64 * 1024;

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > maxBodyBytes) throw new HttpError(413, 'too_large', `the body is over ${maxBodyBytes} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'bad_request', 'the body is not JSON');
  }
}

function readConsistency(url, fallback) {
  const ms = url.searchParams.get('max_staleness_ms');
  if (ms !== null) {
    const n = Number(ms);
    if (!Number.isFinite(n) || n < 0) throw new HttpError(400, 'bad_request', 'max_staleness_ms must be a number of ms >= 0');
    return { maxStalenessMs: n };
  }
  const c = url.searchParams.get('consistency');
  if (c === null) return fallback;
  if (c !== 'local' && c !== 'strong') throw new HttpError(400, 'bad_request', 'consistency must be local or strong');
  return c;
}

const header = (req, name) => {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** The write options a request carries through to the data API. */
function writeOptions(req, url, spec) {
  const o = {};
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined) o.ifVersion = ifMatch;
  if (header(req, 'if-none-match') === '*') o.ifAbsent = true;
  const idem = header(req, 'idempotency-key');
  if (idem !== undefined) o.idempotencyKey = idem;
  const home = url.searchParams.get('home');
  if (spec.homeFromQuery && home !== null && home !== '') o.home = home;
  return o;
}

async function handleData(req, url, table, key) {
  const spec = tables[table];
  if (db === null) throw new HttpError(503, 'no_data_api', 'this app was started without MERIDIAN_DATA_URL and MERIDIAN_APP_TOKEN');
  if (key === undefined) {
    if (req.method !== 'GET' || spec.kind !== 'row') throw new HttpError(405, 'method_not_allowed', `${req.method} /api/${table} is not served; GET lists rows`);
    const limit = url.searchParams.get('limit');
    const page = await db.table(table).list({
      prefix: url.searchParams.get('prefix') ?? undefined,
      limit: limit === null ? undefined : Number(limit),
      cursor: url.searchParams.get('cursor') ?? undefined,
    });
    return [200, page];
  }
  if (spec.kind === 'counter') {
    const views = db.counter(table);
    if (req.method === 'POST') {
      const body = (await readJson(req)) ?? {};
      const by = body.by ?? 1;
      if (!Number.isSafeInteger(by)) throw new HttpError(400, 'bad_request', '"by" must be an integer');
      const idem = header(req, 'idempotency-key');
      return [200, { table, key, value: await views.increment(key, by, idem === undefined ? {} : { idempotencyKey: idem }) }];
    }
    if (req.method === 'GET') return [200, { table, key, value: await views.get(key, { consistency: readConsistency(url, spec.read) }) }];
    throw new HttpError(405, 'method_not_allowed', `${table} is a counter: POST increments, GET reads`);
  }
  const t = db.table(table);
  switch (req.method) {
    case 'GET': {
      const home = url.searchParams.get('home');
      const row = await t.get(key, { consistency: readConsistency(url, spec.read), ...(home !== null && home !== '' && { home }) });
      if (row === null) throw new HttpError(404, 'not_found', `no ${table} row ${key}`);
      return [200, row];
    }
    case 'PUT': {
      const value = await readJson(req);
      if (value === undefined) throw new HttpError(400, 'bad_request', 'PUT needs a JSON body: the row\'s value');
      if (spec.needsRegionField && (typeof value !== 'object' || value === null || typeof value.region !== 'string')) {
        throw new HttpError(400, 'bad_request', `${table} rows are homed by their "region" field: send {"region": "<region id>", ...}`);
      }
      return [200, await t.put(key, value, writeOptions(req, url, spec))];
    }
    case 'DELETE': {
      const done = await t.delete(key, writeOptions(req, url, spec));
      if (done === null) throw new HttpError(404, 'not_found', `no ${table} row ${key}`);
      return [200, done];
    }
    default:
      throw new HttpError(405, 'method_not_allowed', `${req.method} is not served; GET, PUT and DELETE are`);
  }
}

let requests = 0;

const server = createServer((req, res) => {
  requests++;
  const url = new URL(req.url ?? '/', 'http://app');
  const send = (status, body, headers = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  if (url.pathname === '/healthz') return send(200, { ok: true, region, data: db !== null });
  if (url.pathname.startsWith('/static/')) return send(200, `static ${url.pathname} from ${region}\n`, { 'cache-control': 'public, max-age=60' });
  const m = /^\/api\/([a-z]+)(?:\/([^/]+))?$/.exec(url.pathname);
  if (m !== null && Object.hasOwn(tables, m[1])) {
    let key;
    try {
      key = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    } catch {
      return send(400, { error: 'bad_request', reason: 'the key is not valid percent-encoding', app: region });
    }
    handleData(req, url, m[1], key).then(
      ([status, body]) => send(status, { ...body, app: region }, { 'cache-control': 'no-store' }),
      (e) => {
        // The data API's answer as it was (status, code, reason); no answer at all is 503.
        if (e instanceof MeridianDataError) {
          return send(e.status === 0 ? 503 : e.status, { error: e.code, reason: e.reason, retryable: e.retryable, ...(e.current !== undefined && { current: e.current }), app: region }, { 'cache-control': 'no-store' });
        }
        if (e instanceof HttpError) return send(e.status, { error: e.code, reason: e.message, app: region }, { 'cache-control': 'no-store' });
        console.error(e);
        return send(500, { error: 'internal', reason: String(e?.message ?? e), app: region });
      },
    );
    return;
  }
  if (url.pathname === '/' || url.pathname.startsWith('/api/')) {
    return send(200, { region, path: url.pathname, requests, at: new Date().toISOString() }, { 'cache-control': 'no-store' });
  }
  return send(404, { error: 'not_found', path: url.pathname });
});
server.keepAliveTimeout = 30_000;
server.listen(port, host, () => {
  const a = server.address();
  console.error(`example app for ${region} on ${host}:${a.port}; data API ${db === null ? 'not configured' : dataUrl}`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (args.get('exit-with-parent')) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
