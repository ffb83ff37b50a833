// Reference rows, not contenders: the least a single node process does to proxy a request
// or to answer one from memory, with the same building blocks as Meridian's gateway
// (node:http server, undici Pool to the upstream with LocalApp's settings) and none of its
// work (no stages, no cache lookup, no header filtering beyond the hop-by-hop ones, no
// metrics, no server-timing). What node itself costs per request on this machine.
//
//   node --max-semi-space-size=4 bench/gateway/node-floor.mjs --mode proxy --upstream http://127.0.0.10:PORT [--host 127.0.0.1] [--port 0]
//   node --max-semi-space-size=4 bench/gateway/node-floor.mjs --mode static --body-bytes 128 [--host ...] [--port 0]
//
// Prints {"ready":true,"port":N,"pid":P} on stdout once it listens; exits on SIGTERM,
// SIGINT, or when standard input closes.

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'proxy' },
    upstream: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'body-bytes': { type: 'string', default: '128' },
  },
});

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

let handler;
if (args.mode === 'proxy') {
  if (args.upstream === undefined) {
    console.error('node-floor: --mode proxy needs --upstream');
    process.exit(2);
  }
  const pool = new Pool(args.upstream, { connections: 128, keepAliveTimeout: 30_000, connectTimeout: 2000 });
  handler = async (req, res) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!hopByHop.has(k)) headers[k] = v;
    headers['x-forwarded-for'] = req.socket.remoteAddress;
    try {
      const up = await pool.request({ method: req.method, path: req.url, headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req });
      const out = {};
      for (const [k, v] of Object.entries(up.headers)) if (!hopByHop.has(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    } catch (e) {
      if (!res.headersSent) res.writeHead(502).end(String(e.message));
      else res.destroy();
    }
  };
} else if (args.mode === 'static') {
  const body = Buffer.alloc(Number(args['body-bytes']), 'x');
  handler = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'cache-control': 'public, max-age=3600', age: '1' });
    res.end(body);
  };
} else {
  console.error(`node-floor: --mode ${args.mode}: expected proxy or static`);
  process.exit(2);
}

const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => void handler(req, res));
server.listen(Number(args.port), args.host, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port, pid: process.pid, mode: args.mode })}\n`);
});
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
