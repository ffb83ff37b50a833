// Pieces of Meridian's gateway path timed without sockets, in a tight loop, from dist/: what
// the profile points at, in microseconds per call, with a what-if beside some of them.
// Diagnosis only (run.mjs runs it when it profiles); nothing here changes src/.
//
//   node --max-semi-space-size=4 bench/gateway/components.mjs
//
// Prints one JSON line: { name: { usPerOp, opsPerSec } }. Times are this process's CPU time
// (process.cpuUsage: user + system, GC threads included), not wall time, so another busy
// process on the machine moves them less. Meridian's own code runs first: the library
// micro-tests at the end declare tens of thousands of classes, as libraryPolicy() did
// before its class was declared once.

import { Counter, Histogram, Registry } from 'prom-client';
import CachePolicy from 'http-cache-semantics';
import { HttpCache } from '../../dist/cache/index.js';
import { responseDirectives } from '../../dist/cache/directives.js';
import { assessStorability } from '../../dist/cache/storability.js';
import { endToEnd, withForwarding } from '../../dist/gateway/index.js';
import { forwardHeaders } from '../../dist/gateway/headers.js';
import { createNodeMetrics } from '../../dist/observe/metrics.js';

let sink = 0;
const keep = (x) => {
  sink ^= x === undefined || x === null ? 0 : typeof x === 'object' ? 1 : Number(Boolean(x));
};

const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const result = (us) => ({ usPerOp: Math.round(us * 1000) / 1000, opsPerSec: Math.round(1e6 / us) });

function time(fn, { warm = 20_000, n = 100_000 } = {}) {
  for (let i = 0; i < warm; i++) keep(fn(i));
  const t0 = cpuUs();
  for (let i = 0; i < n; i++) keep(fn(i));
  return result((cpuUs() - t0) / n);
}

async function timeAsync(fn, { warm = 20_000, n = 50_000 } = {}) {
  for (let i = 0; i < warm; i++) keep(await fn(i));
  const t0 = cpuUs();
  for (let i = 0; i < n; i++) keep(await fn(i));
  return result((cpuUs() - t0) / n);
}

const out = {};
const body = Buffer.alloc(128, 'x');
const date = new Date().toUTCString();
// The origin's response, as undici hands its headers over (lower-case).
const noStore = { server: 'nginx/1.22.1', date, 'content-type': 'text/plain', 'content-length': '128', connection: 'keep-alive', 'cache-control': 'no-store' };
const cacheable = { ...noStore, 'cache-control': 'public, max-age=3600' };
// wrk's request headers, as node:http parses them.
const wrkRequest = { host: '127.0.0.11:8080' };

// 1. Is a no-store response storable? What the cache stage asks for every proxied response.
const directives = responseDirectives(noStore);
out['assessStorability(no-store response), as dist/cache/storability.js'] = time(() =>
  assessStorability({ status: 200, responseHeaders: noStore, directives, requestHeaders: wrkRequest, responseTimeMs: Date.now(), ruleTtlMs: null }),
);
const cacheableDirectives = responseDirectives(cacheable);
out['assessStorability(cacheable response: the library is asked)'] = time(() =>
  assessStorability({ status: 200, responseHeaders: cacheable, directives: cacheableDirectives, requestHeaders: wrkRequest, responseTimeMs: Date.now(), ruleTtlMs: null }),
);
out['responseDirectives(no-store response)'] = time(() => responseDirectives(noStore));
// 2. The request headers every proxied request gets before any stage runs.
out['forwardHeaders(request headers): one pass, as the gateway does'] = time(() => forwardHeaders(wrkRequest, '127.0.0.1', wrkRequest.host, new Set(['x-meridian-sig'])));
out['was: withForwarding(endToEnd(request headers))'] = time(() => withForwarding(endToEnd(wrkRequest), '127.0.0.1', wrkRequest.host));

// 3. A cache hit through HttpCache.handle (async, one await per call).
const cache = new HttpCache({ maxBytes: 256 * 1024 * 1024, maxObjectBytes: 8 * 1024 * 1024, rules: [] });
const upstream = async () => ({ status: 200, headers: { ...cacheable }, body });
const hitReq = { method: 'GET', path: '/cacheable', host: wrkRequest.host, headers: withForwarding(endToEnd(wrkRequest), '127.0.0.1', wrkRequest.host) };
const first = await cache.handle(hitReq, upstream);
const second = await cache.handle(hitReq, upstream);
if (first.status !== 'miss' || second.status !== 'hit') throw new Error(`components: expected miss then hit, got ${first.status}, ${second.status}`);
out['HttpCache.handle, a fresh hit'] = await timeAsync(() => cache.handle(hitReq, upstream));
out['HttpCache.freshHit: the gateway\'s hit fast path lookup'] = time(() => cache.freshHit(wrkRequest.host, '/cacheable', wrkRequest));
out['HttpCache.handle, a no-store miss (upstream answers at once)'] = await timeAsync(
  () => cache.handle({ ...hitReq, path: '/nostore' }, async () => ({ status: 200, headers: { ...noStore }, body })),
  { n: 30_000, warm: 10_000 },
);

// A no-store key is in the hit-for-miss list now: the stage steps aside for it.
const nostoreReq = { ...hitReq, path: '/nostore' };
if (cache.stepAside(nostoreReq)?.kind !== 'hit-for-miss') throw new Error('components: expected the cache to step aside for /nostore');
out['HttpCache.stepAside + afterStepAside, a no-store key (the proxied path)'] = time(() => {
  const s = cache.stepAside(nostoreReq);
  return cache.afterStepAside(s, 200, noStore, true);
});

// 4. The per-request metrics: as the node records them now (plain counter, one histogram
// observe), as it did (prom-client inc + observe with label objects), with label-bound children.
const nodeMetrics = createNodeMetrics('us-east-1', { regionUp: () => ({}), dnsQueries: () => ({}), dnsRateLimit: () => null });
out['metrics: gatewayRequest(), as onRequest now'] = time(() => {
  nodeMetrics.gatewayRequest('local', 200, 'us-east-1', 0.004);
  return 1;
});
const registry = new Registry();
const counter = new Counter({ name: 'c_total', help: 'c', labelNames: ['route', 'code', 'served_by'], registers: [registry] });
const histogram = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['route'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] });
out['was: counter.inc(labels) + histogram.observe(labels)'] = time(() => {
  counter.inc({ route: 'local', code: '200', served_by: 'us-east-1' });
  histogram.observe({ route: 'local' }, 0.004);
  return 1;
});
const boundCounter = counter.labels('local', '200', 'us-east-1');
const boundHistogram = histogram.labels('local');
out['what-if: label-bound children (labels() once)'] = time(() => {
  boundCounter.inc();
  boundHistogram.observe(0.004);
  return 1;
});

// 5. What libraryPolicy() does: a subclass of CachePolicy with a pinned clock, declared anew on
// every call, against the same subclass declared once.
const libReq = { method: 'GET', headers: {} };
const libRes = { status: 200, headers: { date, 'cache-control': 'no-store' } };
const libOpts = { shared: true, cacheHeuristic: 0.1, immutableMinTimeToLive: 0 };
out['was: CachePolicy for a no-store response, subclass declared per call (libraryPolicy before)'] = time(() => {
  const at = Date.now();
  const Clocked = class extends CachePolicy {
    now() {
      return at;
    }
  };
  return new Clocked(libReq, libRes, libOpts).storable();
}, { n: 50_000 });
let clockAt = 0;
const ClockedOnce = class extends CachePolicy {
  now() {
    return clockAt;
  }
};
out['the same, subclass declared once (libraryPolicy now)'] = time(() => {
  clockAt = Date.now();
  return new ClockedOnce(libReq, libRes, libOpts).storable();
});

process.stdout.write(`${JSON.stringify({ ...out, sink })}\n`);
