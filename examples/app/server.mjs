#!/usr/bin/env node
// The example application: what a team would run in every region behind Meridian.
// Plain JavaScript so it runs as it is; later it uses the data SDK (meridian/client).
//
//   node examples/app/server.mjs --listen 127.0.1.1:9000 --region us-east-1 [--exit-with-parent]

import { createServer } from 'node:http';

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

let requests = 0;

const server = createServer((req, res) => {
  requests++;
  const url = new URL(req.url ?? '/', 'http://app');
  const send = (status, body, headers = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  if (url.pathname === '/healthz') return send(200, { ok: true, region });
  if (url.pathname.startsWith('/static/')) return send(200, `static ${url.pathname} from ${region}\n`, { 'cache-control': 'public, max-age=60' });
  if (url.pathname === '/' || url.pathname.startsWith('/api/')) {
    return send(200, { region, path: url.pathname, requests, at: new Date().toISOString() }, { 'cache-control': 'no-store' });
  }
  return send(404, { error: 'not_found', path: url.pathname });
});
server.keepAliveTimeout = 30_000;
server.listen(port, host, () => {
  console.error(`example app for ${region} on ${host}:${port}`);
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
