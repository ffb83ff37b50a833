// The data API's contract played in memory on a real HTTP server (127.0.0.1), for the
// client SDK's tests and the example application's: a fake, so those tests run before
// and without the real server side.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const token = 'app-token-for-tests';

interface Stored { value: unknown; version: string; home: string | null }
export interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }

/** The data API in memory. Knobs let a test fail, delay or cut the next requests. */
export class FakeDataApi {
  readonly tables = new Map<string, Map<string, Stored>>(['accounts', 'carts', 'catalog', 'prefs', 'views'].map((t) => [t, new Map()]));
  /** Answers already given to writes, by idempotency key: a repeat gets the same answer. */
  readonly answered = new Map<string, { status: number; body: unknown }>();
  readonly seen: Seen[] = [];
  /** Writes actually applied (not repeats). */
  applied = 0;
  /** Statuses to answer with, in order, before handling requests normally. */
  failNext: number[] = [];
  /** Apply the next N writes, then destroy the socket before answering: a lost answer. */
  cutAfterApply = 0;
  /** Hold every answer this long. */
  delayMs = 0;
  private logical = 0;
  server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    for (const t of this.tables.values()) t.clear();
    this.answered.clear();
    this.seen.length = 0;
    this.applied = 0;
    this.failNext = [];
    this.cutAfterApply = 0;
    this.delayMs = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const c of req) body += (c as Buffer).toString();
    this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (res.destroyed) return;
    const send = (status: number, b: unknown): void => {
      const text = JSON.stringify(b);
      res.writeHead(status, { 'content-type': 'application/json', 'x-meridian-served-by': 'eu-west-1' });
      res.end(text);
    };
    const failure = this.failNext.shift();
    if (failure !== undefined) return send(failure, { error: failure === 503 ? 'leader_unreachable' : 'internal', reason: `injected ${failure}` });
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'unauthenticated', reason: 'the data API needs Authorization: Bearer <app token>' });

    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/data\/v1\/tables\/([^/]+)\/rows(?:\/([^/]+)(\/increment)?)?$/.exec(url.pathname);
    if (m === null) return send(404, { error: 'not_found', reason: 'no such endpoint' });
    const table = decodeURIComponent(m[1] as string);
    const rows = this.tables.get(table);
    if (rows === undefined) return send(404, { error: 'unknown_table', reason: `no table ${table}` });
    const key = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const row = (k: string, s: Stored): Record<string, unknown> => ({ table, key: k, value: s.value, version: s.version, home: s.home, region: 'eu-west-1' });

    if (key === undefined) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const after = url.searchParams.get('cursor');
      const keys = [...rows.keys()].filter((k) => k.startsWith(prefix) && (after === null || k > after)).sort();
      const page = keys.slice(0, limit);
      return send(200, { rows: page.map((k) => row(k, rows.get(k) as Stored)), cursor: keys.length > limit ? (page.at(-1) as string) : null });
    }
    if (req.method === 'GET') {
      if (url.searchParams.get('consistency') === 'strong') return send(501, { error: 'not_implemented', reason: 'strong reads come in part 2' });
      const s = rows.get(key);
      return s === undefined ? send(404, { error: 'not_found', reason: `no row ${table}/${key}` }) : send(200, row(key, s));
    }

    // A write: a repeat of an idempotency key gets the first answer, and is not applied.
    const idem = req.headers['idempotency-key'];
    const idemKey = typeof idem === 'string' ? `${table}/${key}/${idem}` : undefined;
    const repeat = idemKey === undefined ? undefined : this.answered.get(idemKey);
    if (repeat !== undefined) return send(repeat.status, repeat.body);
    const answer = this.write(req, table, rows, key, body, row);
    if (answer.status === 200) this.applied++;
    if (idemKey !== undefined) this.answered.set(idemKey, answer);
    if (answer.status === 200 && this.cutAfterApply > 0) {
      this.cutAfterApply--;
      res.socket?.destroy();
      return;
    }
    send(answer.status, answer.body);
  }

  private write(req: IncomingMessage, table: string, rows: Map<string, Stored>, key: string, body: string, row: (k: string, s: Stored) => Record<string, unknown>): { status: number; body: unknown } {
    const current = rows.get(key);
    const conflict = (): { status: number; body: unknown } => ({ status: 409, body: { error: 'version_conflict', reason: 'the row moved on', current: current?.version ?? null } });
    const version = `${1_700_000_000_000 + ++this.logical}.0.eu-west-1`;
    if (req.method === 'POST') {
      const by = (JSON.parse(body) as { by: number }).by;
      const total = ((current?.value as number | undefined) ?? 0) + by;
      rows.set(key, { value: total, version, home: null });
      return { status: 200, body: { table, key, value: total, region: 'eu-west-1' } };
    }
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch !== current?.version) return conflict();
    if (req.method === 'DELETE') {
      if (current === undefined) return { status: 404, body: { error: 'not_found', reason: `no row ${table}/${key}` } };
      rows.delete(key);
      return { status: 200, body: { table, key, deleted: true, version, region: 'eu-west-1' } };
    }
    if (req.headers['if-none-match'] === '*' && current !== undefined) return conflict();
    const home = typeof req.headers['x-meridian-home'] === 'string' ? req.headers['x-meridian-home'] : null;
    const s = { value: JSON.parse(body) as unknown, version, home };
    rows.set(key, s);
    return { status: 200, body: row(key, s) };
  }
}
