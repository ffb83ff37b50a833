// The embedded coordinator's shell: an HTTP server on a loopback address around the pure
// core. It reads the clock, runs a timer for lease expiry, authenticates every request
// with the mesh secret, and holds watch requests open until a change they care about
// (long polling: no stream to resume, a client just asks again from its next revision).
// Node runs handlers one at a time, so each core step is atomic without locks.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verify } from '../mesh/index.js';
import type { WatchEvent } from './coordinator.js';
import { CoordCore, defaultCoreLimits, type Command, type CoreLimits, type Reply } from './embedded-core.js';
import { coordPathPrefix, endpoints, failureStatus, maxRequestBytes, watchBody, type WatchBody } from './embedded-wire.js';

export interface EmbeddedServerOptions {
  /** A loopback address: the embedded coordinator serves one machine. */
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly secret: string;
  /** Lease time (monotonic ms); tests drive a fake one. Default performance.now. */
  readonly clock?: () => number;
  readonly limits?: CoreLimits;
  /** Watch requests held open at once; more are answered 503 at once. */
  readonly maxWaitingWatches?: number;
}

interface Waiter {
  readonly prefix: string;
  readonly fromRevision: number;
  readonly answer: () => void;
}

export class EmbeddedCoordServer {
  private readonly core: CoordCore;
  private readonly clock: () => number;
  private readonly server: Server;
  private readonly waiters = new Set<Waiter>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: EmbeddedServerOptions) {
    this.core = new CoordCore(`${randomBytes(4).toString('hex')}-`, o.limits ?? defaultCoreLimits);
    this.clock = o.clock ?? (() => performance.now());
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  async start(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => resolve());
    });
    this.armExpiry();
    return this.address();
  }

  address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Applies lease expiry at the clock's current time now (tests with a fake clock). */
  expireNow(): void {
    this.wake(this.core.tick(this.clock()));
    this.armExpiry();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.expiryTimer);
    for (const w of [...this.waiters]) w.answer();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { ok: true, revision: this.core.currentRevision });
    const auth = verify(this.o.secret, req.headers, req.method ?? 'GET', path, Date.now());
    if (!auth.ok) return json(res, 401, { failure: { code: 'unauthenticated', message: auth.reason } });
    if (req.method !== 'POST' || !path.startsWith(coordPathPrefix)) return json(res, 404, { failure: { code: 'bad-request', message: `no endpoint POST ${path}` } });
    const name = path.slice(coordPathPrefix.length);
    readJson(req).then((body) => {
      if (body === undefined) return json(res, 400, { failure: { code: 'bad-request', message: `body must be JSON of at most ${maxRequestBytes} bytes` } });
      if (name === 'watch') {
        const w = watchBody.safeParse(body);
        return w.success ? this.watch(w.data, res) : json(res, 400, { failure: { code: 'bad-request', message: w.error.message } });
      }
      const schema = (endpoints as Record<string, (typeof endpoints)[keyof typeof endpoints] | undefined>)[name];
      if (schema === undefined) return json(res, 404, { failure: { code: 'bad-request', message: `no endpoint POST ${path}` } });
      const cmd = schema.safeParse(body);
      if (!cmd.success) return json(res, 400, { failure: { code: 'bad-request', message: cmd.error.message } });
      return reply(res, this.step(cmd.data));
    }, () => json(res, 400, { failure: { code: 'bad-request', message: 'unreadable body' } }));
  }

  private step(cmd: Command): Reply {
    const r = this.core.step(cmd, this.clock());
    this.wake(r.changes);
    this.armExpiry();
    return r.reply;
  }

  private watch(w: WatchBody, res: ServerResponse): void {
    const fromRevision = w.fromRevision ?? this.core.currentRevision + 1;
    const first = this.step({ kind: 'events', prefix: w.prefix, fromRevision });
    if (first.kind !== 'events' || first.events.length > 0 || w.waitMs === 0 || this.closed) return reply(res, first);
    if (this.waiters.size >= (this.o.maxWaitingWatches ?? 1000)) return json(res, 503, { failure: { code: 'unavailable', message: 'too many open watches' } });
    let done = false;
    const waiter: Waiter = {
      prefix: w.prefix,
      fromRevision,
      answer: () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        reply(res, this.step({ kind: 'events', prefix: w.prefix, fromRevision }));
      },
    };
    const timer = setTimeout(waiter.answer, w.waitMs);
    this.waiters.add(waiter);
    res.once('close', () => {
      done = true;
      clearTimeout(timer);
      this.waiters.delete(waiter);
    });
  }

  /** Answers the watches that one of these changes concerns. */
  private wake(changes: readonly WatchEvent[]): void {
    if (changes.length === 0) return;
    for (const w of [...this.waiters]) {
      if (changes.some((c) => c.revision >= w.fromRevision && (c.kind === 'put' ? c.record.key : c.key).startsWith(w.prefix))) w.answer();
    }
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    const next = this.core.nextExpiryMs();
    if (next === null || this.closed) return;
    // At least 5 ms between wake-ups: a frozen test clock must not spin the loop.
    this.expiryTimer = setTimeout(() => this.expireNow(), Math.max(5, Math.ceil(next - this.clock())));
    this.expiryTimer.unref();
  }
}

function reply(res: ServerResponse, r: Reply): void {
  if (r.kind === 'failed') json(res, failureStatus(r.failure), { failure: r.failure });
  else json(res, 200, r);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > maxRequestBytes) return undefined;
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
