// The data API of one region node (the shell around placement and the store): it
// authenticates the caller, decides where each operation runs, runs it here through the
// group writer or forwards it over the mesh, and answers in JSON.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClockOffsetError, parseHlc, regionId, type Hlc, type Logger, type RegionId } from '../lib/index.js';
import { constantTimeEqual, verify, type MeshClient } from '../mesh/index.js';
import { pushSync } from '../replication/index.js';
import { ResidencyRefusal, type Change, type Idempotency, type LocalWrite, type Store, type WriteOutcome } from '../store/index.js';
import { counterAnswer, deletedAnswer, errorAnswer, rowAnswer, rowListItem, type Answer } from './answers.js';
import { placeRead, placeWrite, type Placement } from './placement.js';
import { cursorAfter, parseDataRequest, type DataRequest } from './route.js';
import { planOf, type PlacementView, type TablePlan } from './tables.js';
import { GroupWriter, QueueFullError } from './writer.js';
import type { TableConfig } from '../topology/index.js';

/** The deployment's primary, led like a home partition (src/node/leaders.ts). */
export const primaryPartition = '@primary';

/** Marks a request one region forwarded to another: it is run there, never forwarded on. */
export const dataFromHeader = 'x-meridian-data-from';
/** On a region's local read: answer only if this node caught up as the row's partition's
 *  leader under this epoch or a later one (a deposed leader's reconcile; before its
 *  catch-up the leader's rows may lack acknowledged writes — test/sim, seed 15863). */
export const reconcileEpochHeader = 'x-meridian-reconcile-epoch';
export const servedByHeader = 'x-meridian-served-by';
const maxIdempotencyKey = 200;

/** What the data path needs from replication. */
export interface ReplicationHooks {
  notifyCommitted(): void;
  /** The source's clock (ms) up to which this region has applied all its changes. */
  freshness(source: string): number | undefined;
}

/** What the data path needs from leadership (absent: every home region leads its own
 *  rows, as before leases; survive: region is then not enforced). */
export interface LeadershipHooks {
  /** May this region write the partition now, under which epoch? */
  serving(partition: string): { ok: true; epoch: number } | { ok: false; reason: string };
  /** Where the leader sends survive: region writes before acknowledging them. */
  syncFollower(partition: string): string | undefined;
  /** Records the follower in the coordinator before it is relied on (the next leader
   *  catches up from exactly that region). */
  recordSyncFollower(partition: string, region: string): Promise<void>;
  /** Strong operations stop while this node's clock is off (and say why). */
  clock(): { ok: true } | { ok: false; reason: string };
  /** The newest epoch this node caught up for as the partition's leader (0: none), for a
   *  deposed leader's reconcile reads. */
  caughtUpFor(partition: string): number;
}

export interface DataServiceOptions {
  readonly leadership?: LeadershipHooks;
  readonly region: RegionId;
  readonly tables: ReadonlyMap<string, TableConfig>;
  readonly view: PlacementView;
  readonly store: Store;
  readonly mesh: MeshClient;
  /** The applications' token; undefined: only the mesh may use the data API. */
  readonly appToken: string | undefined;
  readonly meshSecret: string;
  readonly maxValueBytes: number;
  readonly forwardTimeoutMs: number;
  readonly replication: ReplicationHooks;
  /** Told how long each survive: region write's synchronous copy took, to its follower. */
  readonly onSyncReplicated?: (follower: string, ms: number) => void;
  readonly logger: Logger;
  readonly now: () => number;
}

interface Caller {
  /** The region that forwarded this request, if one did. */
  readonly from: string | null;
}

export class DataService {
  private readonly plans = new Map<string, TablePlan>();
  readonly writer: GroupWriter;
  /** survive: region rows committed here whose synchronous copy is not confirmed yet (or
   *  failed): a strong read must not show them until it is — after a failover they would
   *  vanish, and the read would not be linearizable. */
  private readonly unconfirmed = new Map<string, number>();
  readonly counts = { reads: 0, readsForwarded: 0, searches: 0, writes: 0, writesForwarded: 0, syncPushed: 0, refused: {} as Record<string, number> };

  constructor(private readonly o: DataServiceOptions) {
    for (const [name, t] of o.tables) this.plans.set(name, planOf(t));
    this.writer = new GroupWriter(o.store, { maxQueued: 10_000, maxBatch: 1000, now: o.now, onCommitted: () => o.replication.notifyCommitted() });
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const caller = this.authenticate(req, method, url);
    let a: Answer;
    if (caller === null) a = errorAnswer(401, 'unauthenticated', 'the data API needs the application token (Authorization: Bearer …) or a mesh signature');
    else {
      try {
        a = await this.run(req, method, url, caller);
      } catch (e) {
        a = this.failure(e);
      }
    }
    if (a.status >= 400) {
      const code = /"error":"([a-z_]+)"/.exec(a.body)?.[1] ?? String(a.status);
      this.counts.refused[code] = (this.counts.refused[code] ?? 0) + 1;
    }
    if (!res.headersSent) {
      res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(a.body), 'cache-control': 'no-store', [servedByHeader]: (a as { servedBy?: string }).servedBy ?? this.o.region });
      res.end(req.method === 'HEAD' ? undefined : a.body);
    }
  }

  private authenticate(req: IncomingMessage, method: string, url: string): Caller | null {
    const auth = verify(this.o.meshSecret, req.headers, method, url, this.o.now());
    if (auth.ok) {
      const from = req.headers[dataFromHeader];
      return { from: auth.from !== 'operator' && typeof from === 'string' ? from : null };
    }
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (m !== null && this.o.appToken !== undefined && constantTimeEqual(m[1] as string, this.o.appToken)) return { from: null };
    return null;
  }

  private failure(e: unknown): Answer {
    if (e instanceof ResidencyRefusal) return errorAnswer(451, 'residency', e.message);
    if (e instanceof QueueFullError) return errorAnswer(503, 'overloaded', e.message);
    if (e instanceof ClockOffsetError) return errorAnswer(503, 'clock_offset', e.message);
    if (e instanceof BadRequest) return errorAnswer(e.status, e.code, e.message);
    this.o.logger.error({ err: (e as Error).message }, 'data request failed');
    return errorAnswer(500, 'internal', 'the data request failed in this region');
  }

  private async run(req: IncomingMessage, method: string, url: string, caller: Caller): Promise<Answer> {
    const r = parseDataRequest(method, url);
    if ('status' in r) return errorAnswer(r.status, r.status === 404 ? 'not_found' : r.status === 405 ? 'method_not_allowed' : 'bad_request', r.reason);
    const plan = this.plans.get(r.table);
    if (plan === undefined) return errorAnswer(404, 'unknown_table', `no table ${r.table}; the topology's data.tables has ${[...this.plans.keys()].join(', ') || 'none'}`);
    switch (r.op) {
      case 'list':
        return this.list(r);
      case 'get':
        return this.get(r, plan, caller, req, url);
      case 'put':
      case 'delete':
      case 'increment':
        return this.write(r, plan, caller, req, method, url);
    }
  }

  private list(r: Extract<DataRequest, { op: 'list' }>): Answer {
    this.counts.reads++;
    const rows = this.o.store.list(r.table, r.prefix, r.after, r.limit);
    const last = rows[rows.length - 1];
    const cursor = rows.length === r.limit && last !== undefined ? `"${cursorAfter(last.key)}"` : 'null';
    return { status: 200, body: `{"rows":[${rows.map(rowListItem).join(',')}],"cursor":${cursor},"region":"${this.o.region}"}` };
  }

  private async get(r: Extract<DataRequest, { op: 'get' }>, plan: TablePlan, caller: Caller, req: IncomingMessage, url: string): Promise<Answer> {
    this.counts.reads++;
    if (plan.kind === 'counter') {
      const c = this.o.store.counter(r.table, r.key);
      if (c.slots.length === 0) return errorAnswer(404, 'not_found', `no counter ${r.table}/${r.key}`);
      return counterAnswer(r.table, r.key, c.value, this.o.region);
    }
    const local = this.o.store.get(r.table, r.key);
    const home = local?.home ?? r.home;
    const reconcileEpoch = Number(header(req, reconcileEpochHeader) ?? NaN);
    if (caller.from !== null && Number.isInteger(reconcileEpoch)) {
      const caught = home === null ? 0 : (this.o.leadership?.caughtUpFor(home) ?? 0);
      if (caught < reconcileEpoch) return errorAnswer(503, 'not_caught_up', `${this.o.region} has not caught up as ${home ?? '(no partition)'}'s leader under epoch ${reconcileEpoch} (newest: ${caught})`);
    }
    let p = placeRead(this.o.view, plan, { home: home === null ? null : regionId(home), local: local !== undefined }, r.consistency, (s) => this.o.replication.freshness(s), this.o.now());
    if (caller.from !== null && p.at === 'search') p = { at: 'local' };
    if (p.at === 'local' && r.consistency.kind === 'strong') {
      const refusal = this.strongRefusal(plan.kind === 'home' ? (home ?? this.o.region) : null);
      if (refusal !== null) return refusal;
      if (local !== undefined && this.unconfirmed.has(`${r.table}\0${r.key}`)) {
        // Confirm the row's synchronous copy before showing it.
        const failed = await this.syncToFollower({ kind: 'row', table: local.table, key: local.key, value: local.value, version: local.version, prev: null, home: local.home, ...(local.epoch !== undefined && { epoch: local.epoch }) });
        if (failed !== null) return failed;
        this.unconfirmed.delete(`${r.table}\0${r.key}`);
      }
    }
    if (p.at === 'local') {
      if (local === undefined || local.value === null) return errorAnswer(404, 'not_found', `no row ${r.table}/${r.key} in ${this.o.region}`);
      return rowAnswer(local, this.o.region);
    }
    if (p.at === 'search') return this.search(p.among, req, url);
    return this.elsewhere(p, caller, req, 'GET', url, undefined);
  }

  /** Asks regions that may hold the row (rows homed in another strict jurisdiction are
   *  not replicated here) in order; the first that has it answers. */
  private async search(among: readonly RegionId[], req: IncomingMessage, url: string): Promise<Answer> {
    this.counts.searches++;
    for (const to of among) {
      const a = await this.forward(to, req, 'GET', url, undefined);
      if (a.status !== 404 && a.status < 500) return a;
    }
    const path = url.split('?')[0] ?? url;
    return errorAnswer(404, 'not_found', `no row at ${path} in ${this.o.region} or ${among.join(', ') || 'elsewhere'}`);
  }

  private async write(r: Extract<DataRequest, { op: 'put' | 'delete' | 'increment' }>, plan: TablePlan, caller: Caller, req: IncomingMessage, method: string, url: string): Promise<Answer> {
    const body = await readBody(req, this.o.maxValueBytes);
    const idemHeader = header(req, 'idempotency-key');
    if (idemHeader !== undefined && (idemHeader.length === 0 || idemHeader.length > maxIdempotencyKey)) throw new BadRequest(400, 'bad_request', `idempotency-key must be 1 to ${maxIdempotencyKey} characters`);
    const ifVersion = conditionOf(req);

    let write: LocalWrite;
    let homeHint: string | null = header(req, 'x-meridian-home') ?? null;
    if (r.op === 'increment') {
      if (plan.kind !== 'counter') throw new BadRequest(400, 'bad_request', `${r.table} is not a counter table; increment needs type: counter`);
      const by = parseJson(body, 'the body must be {"by": <integer>}') as { by?: unknown } | null;
      const n = by?.by ?? 1;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || Math.abs(n) > 1e12) throw new BadRequest(400, 'bad_request', 'by must be an integer of magnitude at most 10^12');
      write = { op: 'increment', table: r.table, key: r.key, by: n };
    } else {
      if (plan.kind === 'counter') throw new BadRequest(400, 'bad_request', `${r.table} is a counter table: POST …/increment with {"by": n}`);
      let value = '';
      if (r.op === 'put') {
        const parsed = parseJson(body, 'the body must be a JSON value');
        value = JSON.stringify(parsed);
        if (plan.kind === 'home' && typeof plan.homeFrom !== 'string') {
          const f = (parsed as Record<string, unknown> | null)?.[plan.homeFrom.field];
          if (typeof f !== 'string') throw new BadRequest(400, 'bad_request', `rows of ${r.table} are homed by their "${plan.homeFrom.field}" field: a region id string`);
          if (homeHint !== null && homeHint !== f) throw new BadRequest(400, 'bad_request', `x-meridian-home ${homeHint} disagrees with the value's ${plan.homeFrom.field} ${f}`);
          homeHint = f;
        }
      }
      // Only a home table's placement and a delete's 404 look at the row here; a global
      // table's put does not (a read saved per write: ~3% of a replicating source's CPU).
      const local = plan.kind === 'home' || r.op === 'delete' ? this.o.store.get(r.table, r.key) : undefined;
      let home = plan.kind === 'home' ? (local?.home ?? homeHint) : null;
      let p = placeWrite(this.o.view, plan, { home: home === null ? null : regionId(home), local: local !== undefined }, caller.from !== null);
      if (p.at === 'search') {
        // A new key here may be a row homed in another strict jurisdiction, not
        // replicated here: look before creating a second row under another home.
        const found = await this.search(p.among, req, url.split('?')[0] ?? url);
        const foundHome = found.status === 200 ? ((JSON.parse(found.body) as { home?: string | null }).home ?? null) : null;
        home = foundHome;
        p = placeWrite(this.o.view, plan, { home: foundHome === null ? null : regionId(foundHome), local: false }, true);
      }
      if (p.at === 'search') p = { at: 'local' }; // unreachable: a searched write is placed
      if (p.at === 'local' && plan.kind === 'home' && home === null) {
        // A new row is homed here; it is written where this region's rows are led now
        // (here, or this partition's leader after a failover).
        home = this.o.region;
        p = placeWrite(this.o.view, plan, { home: regionId(home), local: false }, true);
        if (p.at === 'search') p = { at: 'local' }; // unreachable: the home is known
      }
      let epoch: { epoch?: number } = {};
      if (p.at === 'local' && plan.kind === 'home' && home !== null && this.o.leadership !== undefined) {
        const refusal = plan.consistency === 'strong' ? this.strongRefusal(null) : null;
        if (refusal !== null) return refusal;
        const serving = this.o.leadership.serving(home);
        if (!serving.ok) return errorAnswer(503, 'leader_unreachable', `${this.o.region} does not lead ${home}'s rows now: ${serving.reason}`);
        epoch = { epoch: serving.epoch };
      }
      if (p.at === 'local' && plan.kind === 'global' && plan.writes === 'primary' && this.o.leadership !== undefined) {
        // The primary is a leadership too: only the region holding it writes.
        const serving = this.o.leadership.serving(primaryPartition);
        if (!serving.ok) return errorAnswer(503, 'leader_unreachable', `${this.o.region} is not the primary now: ${serving.reason}`);
      }
      const cond = ifVersion !== undefined ? { ifVersion } : {};
      write = r.op === 'put' ? { op: 'put', table: r.table, key: r.key, value, home, ...cond, ...epoch } : { op: 'delete', table: r.table, key: r.key, home, ...cond, ...epoch };
      if (p.at !== 'local') return this.elsewhere(p, caller, req, method, url, body);
      if (r.op === 'delete' && (local === undefined || local.value === null)) return errorAnswer(404, 'not_found', `no row ${r.table}/${r.key} in ${this.o.region}`);
    }
    const survive = plan.kind === 'home' && plan.survive === 'region' && this.o.leadership !== undefined;
    const unconfirmedId = `${r.table}\0${r.key}`;
    if (survive && this.unconfirmed.has(unconfirmedId)) {
      // A conditional write (or any write) is judged against the row as it is: confirm
      // its synchronous copy first, so the judgement cannot rest on a write a failover
      // would lose.
      const cur = this.o.store.get(r.table, r.key);
      if (cur !== undefined) {
        const failed = await this.syncToFollower({ kind: 'row', table: cur.table, key: cur.key, value: cur.value, version: cur.version, prev: null, home: cur.home, ...(cur.epoch !== undefined && { epoch: cur.epoch }) });
        if (failed !== null) return failed;
      }
      this.unconfirmed.delete(unconfirmedId);
    }
    return this.commitHere(write, idemHeader === undefined ? undefined : `${method} ${r.table}/${r.key} ${idemHeader}`, survive);
  }

  /** Why a strong operation may not run here now (clock, or leadership of `partition`). */
  private strongRefusal(partition: string | null): Answer | null {
    const l = this.o.leadership;
    if (l === undefined) return null;
    const clock = l.clock();
    if (!clock.ok) return errorAnswer(503, 'clock_unsafe', clock.reason);
    if (partition === null) return null;
    const s = l.serving(partition);
    return s.ok ? null : errorAnswer(503, 'leader_unreachable', `${this.o.region} does not lead ${partition}'s rows now: ${s.reason}`);
  }

  /** survive: region — the synchronous follower persists the change before the answer. */
  private async syncToFollower(change: Change): Promise<Answer | null> {
    if (change.kind !== 'row' || change.home === null || this.o.leadership === undefined) return null;
    const to = this.o.leadership.syncFollower(change.home);
    if (to === undefined) return errorAnswer(503, 'sync_follower_unreachable', `survive: region needs a second allowed region for ${change.home}'s rows, and none is reachable; the write is not acknowledged`);
    try {
      await this.o.leadership.recordSyncFollower(change.home, to);
    } catch (e) {
      return errorAnswer(503, 'sync_failed', `the synchronous follower ${to} could not be recorded in the coordinator (${(e as Error).message}); the write is not acknowledged — retry with the same idempotency key`);
    }
    try {
      const startedMs = performance.now();
      await pushSync(this.o.mesh, to, { partition: change.home, epoch: change.epoch ?? 0, changes: [change] }, this.o.forwardTimeoutMs);
      this.o.onSyncReplicated?.(to, performance.now() - startedMs);
      this.counts.syncPushed++;
      return null;
    } catch (e) {
      return errorAnswer(503, 'sync_failed', `the synchronous follower ${to} did not persist the write (${(e as Error).message}); it is not acknowledged — retry with the same idempotency key`);
    }
  }

  private async commitHere(write: LocalWrite, idemId: string | undefined, survive: boolean): Promise<Answer> {
    if (idemId !== undefined) {
      const seen = this.o.store.idempotent(idemId);
      if (seen !== undefined) {
        // A retry of a survive: region write whose follower did not answer: send the
        // row as it is now before repeating the original answer.
        if (survive && seen.status === 200) {
          const row = this.o.store.get(write.table, write.key);
          if (row !== undefined) {
            const failed = await this.syncToFollower({ kind: 'row', table: row.table, key: row.key, value: row.value, version: row.version, prev: null, home: row.home, ...(row.epoch !== undefined && { epoch: row.epoch }) });
            if (failed !== null) return failed;
          }
        }
        // The original may still be on its way to the disk.
        await this.o.store.sync();
        return { status: seen.status, body: seen.body };
      }
    }
    const answer = (o: WriteOutcome): Answer => this.describe(write, o);
    const idem: Idempotency | undefined = idemId === undefined ? undefined : { id: idemId, answer };
    const { outcome, durable } = await this.writer.write(write, idem, survive);
    this.counts.writes++;
    const onDisk = durable.then(
      () => null,
      (e: unknown) => errorAnswer(500, 'not_durable', `the write was committed but could not be made durable here (${(e as Error).message}); it is not acknowledged`),
    );
    if (survive && outcome.ok) {
      const id = `${write.table}\0${write.key}`;
      this.unconfirmed.set(id, (this.unconfirmed.get(id) ?? 0) + 1);
      // The synchronous copy travels while this region's fsync runs: one round trip plus the
      // slower of the two disks, not the sum.
      const [failed, diskFailed] = await Promise.all([this.syncToFollower(outcome.change), onDisk]);
      if (diskFailed !== null) return diskFailed;
      if (failed !== null) return failed; // stays unconfirmed until a later push succeeds
      const left = (this.unconfirmed.get(id) ?? 1) - 1;
      if (left <= 0) this.unconfirmed.delete(id);
      else this.unconfirmed.set(id, left);
      return answer(outcome);
    }
    const diskFailed = await onDisk;
    return diskFailed ?? answer(outcome);
  }

  private describe(write: LocalWrite, o: WriteOutcome): Answer {
    if (!o.ok && o.reason === 'duplicate') return { status: o.status, body: o.body };
    if (!o.ok) return errorAnswer(409, 'version_conflict', `${write.table}/${write.key} is no longer at the version the write expected`, { current: o.current === null ? null : `${o.current.version.wall}.${o.current.version.logical}.${o.current.version.region}` });
    if (write.op === 'increment') return counterAnswer(write.table, write.key, o.counter ?? 0, this.o.region);
    if (o.row === undefined) return errorAnswer(500, 'internal', 'the write left no row');
    return write.op === 'delete' ? deletedAnswer(o.row, this.o.region) : rowAnswer(o.row, this.o.region);
  }

  private async elsewhere(p: Exclude<Placement, { at: 'local' | 'search' }>, caller: Caller, req: IncomingMessage, method: string, url: string, body: Buffer | undefined): Promise<Answer> {
    if (p.at === 'refuse') return errorAnswer(p.status, p.error, p.reason);
    // A forwarded request that would be forwarded again: the regions disagree on where it
    // belongs (a topology change in flight). Refuse rather than bounce.
    if (caller.from !== null) return errorAnswer(503, 'misdirected', `${this.o.region} received this from ${caller.from}, but ${p.why}`);
    for (const to of p.to) {
      const a = await this.forward(to, req, method, url, body);
      if (a.status !== 502) return a;
    }
    return errorAnswer(503, 'region_unreachable', `${p.why}; ${p.to.join(', ')} did not answer`);
  }

  private async forward(to: RegionId, req: IncomingMessage, method: string, url: string, body: Buffer | undefined): Promise<Answer & { servedBy?: string }> {
    const headers: Record<string, string> = { [dataFromHeader]: this.o.region };
    for (const h of ['content-type', 'if-match', 'if-none-match', 'idempotency-key', 'x-meridian-home']) {
      const v = header(req, h);
      if (v !== undefined) headers[h] = v;
    }
    if (method === 'PUT' || method === 'DELETE' || method === 'POST') this.counts.writesForwarded++;
    else this.counts.readsForwarded++;
    try {
      const r = await this.o.mesh.request(to, { method: method as 'GET', path: url, headers, ...(body !== undefined && { body }), timeoutMs: this.o.forwardTimeoutMs });
      const text = await r.body.text();
      const servedBy = r.headers[servedByHeader];
      return { status: r.statusCode, body: text, servedBy: typeof servedBy === 'string' ? servedBy : to };
    } catch (e) {
      this.o.logger.warn({ to, err: (e as Error).message }, 'data: forwarding failed');
      return errorAnswer(502, 'region_unreachable', `${to} did not answer: ${(e as Error).message}`);
    }
  }

  stats(): Record<string, unknown> {
    const c = this.counts;
    return {
      writes: { committed: this.writer.committedTotal, received: c.writes, forwarded: c.writesForwarded, syncReplicated: c.syncPushed, batches: this.writer.batchesTotal, queued: this.writer.queued },
      reads: { total: c.reads, forwarded: c.readsForwarded, searches: c.searches },
      refused: c.refused,
    };
  }
}

class BadRequest extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function conditionOf(req: IncomingMessage): Hlc | 'absent' | undefined {
  const none = header(req, 'if-none-match');
  if (none !== undefined) {
    if (none.trim() === '*') return 'absent';
    throw new BadRequest(400, 'bad_request', 'if-none-match takes only * (create only)');
  }
  const match = header(req, 'if-match');
  if (match === undefined) return undefined;
  const v = parseHlc(match.trim().replace(/^"|"$/g, ''));
  if (v === null) throw new BadRequest(400, 'bad_request', 'if-match must be a row version as the API returns it (wall.logical.region)');
  return v;
}

function parseJson(body: Buffer, what: string): unknown {
  if (body.length === 0) throw new BadRequest(400, 'bad_request', `${what}; the body is empty`);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest(400, 'bad_request', `${what}; the body is not JSON`);
  }
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) {
    req.resume();
    throw new BadRequest(413, 'too_large', `a value is at most ${max} bytes (data.max_value_size)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new BadRequest(413, 'too_large', `a value is at most ${max} bytes (data.max_value_size)`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
