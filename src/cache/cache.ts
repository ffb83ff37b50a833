// The gateway's HTTP cache: a shared cache (a CDN edge) per RFC 9111 and RFC 5861.
//
// One request goes: unsafe method → upstream, then invalidate (§4.4); a precondition or
// Range the cache does not evaluate → upstream untouched; otherwise select a stored
// response (primary key, then Vary, §4.1) and reuse it if fresh (§4.2), stale as allowed
// (max-stale, stale-while-revalidate), or validate it (§4.3) — collapsed with other
// requests for the key — and fall back to it on errors only as stale-if-error allows.
//
// Time comes from `now()`, upstream is an argument, and nothing here starts a timer:
// background revalidation is a promise the cache keeps track of, so tests drive a fake
// clock and never sleep.

import { assert } from '../lib/index.js';
import { ageBasis, ageFieldSec, currentAgeSec, type AgeBasis } from './age.js';
import { InFlight, UncollapsibleKeys } from './collapse.js';
import { requestDirectives, responseDirectives, type RequestDirectives } from './directives.js';
import { buildEntry } from './entry.js';
import { lowerCaseHeaders, without } from './header-fields.js';
import { invalidatedKeys, safeMethods } from './invalidation.js';
import { cacheKey, pathOnly, type CacheKeyParts } from './key.js';
import { forMethod, fromStore, gatewayTimeout, notModified } from './responses.js';
import { decideReuse, isFresh, originForbidsStale, staleIfErrorAllows } from './reuse.js';
import { compileRules, ruleTtlMs, type CompiledRule } from './rules.js';
import { mayBeStorable } from './storability.js';
import { ResponseStore, type StoredResponse } from './store.js';
import { PassThroughSignal, type CacheRequest, type CacheResult, type CacheStatus, type HeaderMap, type HttpCacheOptions, type HttpCacheStats, type StepAside, type Upstream, type UpstreamResponse } from './types.js';
import { clientNotModified, clientValidators, conditionalHeaders, hasValidator, mergeNotModified, notModifiedSelects, passThroughPreconditions } from './validation.js';
import { varyMatches } from './vary.js';

/** Errors in the sense of RFC 5861 §4. */
const serverErrors = new Set([500, 502, 503, 504]);

const counterOf = { hit: 'hits', miss: 'misses', stale: 'stale', revalidated: 'revalidated', bypass: 'bypass' } as const satisfies Record<CacheStatus, string>;

/** What a request without Cache-Control or Pragma asks of the cache: nothing. */
const noRequestDirectives = requestDirectives({});

/** A waiter that finds the fetch it waited for useless looks again at most this often. */
const maxLookupRounds = 2;

interface Context {
  readonly req: CacheRequest;
  readonly headers: HeaderMap;
  readonly key: CacheKeyParts;
  readonly head: boolean;
  readonly directives: RequestDirectives;
  readonly authorized: boolean;
  readonly upstream: Upstream;
  /** What upstream is sent: the client's fields without the conditionals the cache answers itself. */
  readonly upstreamHeaders: HeaderMap;
}

/** How a fetch ended, for the requests that waited on it. */
type FetchOutcome =
  | { readonly kind: 'stored'; readonly entry: StoredResponse }
  | { readonly kind: 'not-stored'; readonly serverError: boolean }
  | { readonly kind: 'failed'; readonly error: unknown };

/** What a request is answered with, before HEAD, Age and the client's conditionals are applied. */
type Reply =
  | { readonly kind: 'entry'; readonly entry: StoredResponse; readonly status: CacheStatus }
  | { readonly kind: 'direct'; readonly response: UpstreamResponse; readonly status: CacheStatus; readonly ageSec: number | null; readonly receivedMs: number }
  | { readonly kind: 'error'; readonly error: unknown };

interface Fetched {
  readonly reply: Reply;
  readonly outcome: FetchOutcome;
}

/** A fetch in progress; a purge that may cover its key marks it doomed so it stores nothing. */
interface FetchTicket {
  readonly key: string;
  doomed: boolean;
}

export class HttpCache {
  private readonly store: ResponseStore;
  private readonly maxObjectBytes: number;
  private readonly rules: CompiledRule[];
  private readonly now: () => number;
  private readonly onEvent: (e: { kind: string; key: string }) => void;
  private readonly inFlight = new InFlight<FetchOutcome>();
  private readonly uncollapsible = new UncollapsibleKeys();
  private readonly fetches = new Set<FetchTicket>();
  private seq = 0;
  private readonly counts = { hits: 0, misses: 0, stale: 0, revalidated: 0, bypass: 0, evictions: 0, collapsed: 0 };

  constructor(o: HttpCacheOptions) {
    assert(Number.isFinite(o.maxBytes) && o.maxBytes > 0, 'HttpCache: maxBytes must be a positive number');
    this.maxObjectBytes = Math.min(o.maxObjectBytes ?? Math.min(o.maxBytes / 8, 8 * 1024 * 1024), o.maxBytes);
    assert(this.maxObjectBytes > 0, 'HttpCache: maxObjectBytes must be positive');
    this.rules = compileRules(o.rules ?? []);
    this.now = o.now ?? Date.now;
    this.onEvent = o.onEvent ?? (() => undefined);
    this.store = new ResponseStore(o.maxBytes, (e) => {
      this.counts.evictions++;
      this.onEvent({ kind: 'evict', key: e.key });
    });
  }

  async handle(req: CacheRequest, upstream: Upstream): Promise<CacheResult> {
    // Method names are case-sensitive (RFC 9110 §9.1): `get` is an unknown method, hence unsafe.
    const method = req.method;
    const key = cacheKey(req.host, req.path);
    if (!safeMethods.has(method)) return this.unsafe(req, key, upstream);
    const headers = lowerCaseHeaders(req.headers);
    // Other methods, and preconditions or ranges the cache does not evaluate, go through untouched.
    if ((method !== 'GET' && method !== 'HEAD') || passThroughPreconditions.some((h) => headers[h] !== undefined)) {
      this.counts.bypass++;
      return { response: await upstream(req), status: 'bypass', ageSec: null };
    }
    const ctx: Context = {
      req,
      headers,
      key,
      head: method === 'HEAD',
      directives: requestDirectives(headers),
      authorized: headers.authorization !== undefined,
      upstream,
      upstreamHeaders: without(headers, clientValidators),
    };
    return this.finish(ctx, await this.lookup(ctx, 0));
  }

  /**
   * The hit fast path: the stored response a plain GET or HEAD for `host` + `path` is
   * answered with when it is fresh — counted as a hit and marked used — else undefined (then
   * handle() decides). Plain is the caller's promise: no Cache-Control, Pragma, conditional,
   * Range or Authorization field, no body; `headers` have lower-case names (node's), for Vary.
   */
  freshHit(host: string, path: string, headers: Readonly<Record<string, string | string[] | undefined>>): { readonly entry: StoredResponse; readonly ageSec: number } | undefined {
    const variants = this.store.variants(cacheKey(host, path).key);
    if (variants.length === 0) return undefined;
    let best: StoredResponse | undefined;
    for (const v of variants) {
      if ((best === undefined || v.seq > best.seq) && (v.vary.fields.length === 0 || varyMatches(v.vary, headers as HeaderMap))) best = v;
    }
    if (best === undefined) return undefined;
    const nowMs = this.now();
    if (decideReuse(best, noRequestDirectives, nowMs).kind !== 'fresh') return undefined;
    this.store.touch(best);
    this.counts.hits++;
    return { entry: best, ageSec: ageFieldSec(currentAgeSec(best.age, nowMs)) };
  }

  /**
   * A request the cache will neither answer from the store nor learn from, so the caller may
   * send it upstream itself and stream the response through, without buffering it or the
   * cache's miss path: an unsafe method (the caller reports the response, for §4.4), a
   * precondition or Range the cache does not evaluate, or a GET/HEAD for a key in the
   * hit-for-miss list with nothing stored, and nothing in the request the cache would act
   * on (its own validators, Cache-Control, Pragma). Null: use handle(). Counted here.
   * Header names are lower case (as node:http gives them); other spellings take handle().
   */
  stepAside(req: CacheRequest): StepAside | null {
    const method = req.method;
    const h = req.headers;
    if (!safeMethods.has(method)) {
      this.counts.bypass++;
      return { kind: 'unsafe', key: cacheKey(req.host, req.path) };
    }
    if (method !== 'GET' && method !== 'HEAD') return null; // OPTIONS, TRACE: handle() bypasses them
    for (const p of passThroughPreconditions) {
      if (h[p] !== undefined) {
        this.counts.bypass++;
        return { kind: 'bypass' };
      }
    }
    if (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || h['cache-control'] !== undefined || h.pragma !== undefined) return null;
    const key = cacheKey(req.host, req.path);
    if (!this.uncollapsible.has(key.key, this.now()) || this.store.variants(key.key).length > 0) return null;
    this.counts.misses++;
    return { kind: 'hit-for-miss', key, authorized: h.authorization !== undefined, head: method === 'HEAD', sentMs: this.now() };
  }

  /**
   * The response to a request the cache stepped aside for (status and headers, names in
   * lower case). An unsafe method's invalidates (§4.4). For a hit-for-miss GET, true when
   * the response may be storable: the caller then hands it to handle() (as `prefetched`, see
   * UpstreamResponse) so it is stored as any fetched response would be. `mayStore` false:
   * this response may not be stored here.
   */
  afterStepAside(s: StepAside, status: number, headers: HeaderMap, mayStore: boolean): boolean {
    switch (s.kind) {
      case 'unsafe':
        this.invalidate(s.key, { status, headers, body: Buffer.alloc(0) });
        return false;
      case 'bypass':
        return false;
      case 'hit-for-miss': {
        if (!mayStore || serverErrors.has(status) || !mayBeStorable(status, headers, responseDirectives(headers), ruleTtlMs(this.rules, pathOnly(s.key.target)), s.authorized)) return false;
        if (s.head) {
          // A HEAD response has no body to store: let the next request take the full path.
          this.uncollapsible.clear(s.key.key);
          return false;
        }
        this.counts.misses--; // handle() counts it again
        return true;
      }
      default:
        return s satisfies never;
    }
  }

  purgeUrl(host: string, path: string): number {
    const { key } = cacheKey(host, path);
    this.doom((t) => t.key === key);
    const n = this.store.removeKey(key);
    this.onEvent({ kind: 'purge', key });
    return n;
  }

  purgeKey(surrogateKey: string): number {
    // Which keys a fetch in flight will carry is unknown until it answers: doom them all.
    this.doom(() => true);
    const n = this.store.removeTag(surrogateKey);
    this.onEvent({ kind: 'purge', key: `tag:${surrogateKey}` });
    return n;
  }

  purgeAll(): number {
    this.doom(() => true);
    const n = this.store.clear();
    this.onEvent({ kind: 'purge', key: '*' });
    return n;
  }

  stats(): HttpCacheStats {
    return { entries: this.store.entries, bytes: this.store.bytes, maxBytes: this.store.maxBytes, ...this.counts };
  }

  // --- the request path -------------------------------------------------------------

  private async lookup(ctx: Context, round: number): Promise<Reply> {
    const entry = this.select(ctx);
    if (entry !== undefined) {
      const reuse = decideReuse(entry, ctx.directives, this.now());
      switch (reuse.kind) {
        case 'fresh':
          return { kind: 'entry', entry, status: 'hit' };
        case 'stale-allowed':
          return { kind: 'entry', entry, status: 'stale' };
        case 'stale-while-revalidate':
          this.revalidateInBackground(ctx, entry);
          return { kind: 'entry', entry, status: 'stale' };
        case 'validate':
          break;
        default:
          return reuse satisfies never;
      }
    }
    if (ctx.directives.onlyIfCached) {
      // §5.2.1.7: the client will not have upstream contacted.
      return this.generated(gatewayTimeout('only-if-cached and no usable stored response', this.now()));
    }
    return this.fetch(ctx, entry, round);
  }

  /** The most recent stored variant this request may be answered with (§4.1, §3.5). */
  private select(ctx: Context): StoredResponse | undefined {
    let best: StoredResponse | undefined;
    for (const v of this.store.variants(ctx.key.key)) {
      if (!varyMatches(v.vary, ctx.headers)) continue;
      // §3.5: a request with Authorization is answered from the cache only by responses that
      // said it may be (public, s-maxage, must-revalidate).
      if (ctx.authorized && !v.allowsAuthorized) continue;
      if (best === undefined || v.seq > best.seq) best = v;
    }
    return best;
  }

  /** Fetches for `ctx`, or waits for the fetch already in flight for its key. */
  private async fetch(ctx: Context, candidate: StoredResponse | undefined, round: number): Promise<Reply> {
    const key = ctx.key.key;
    // A request with no-store will not store what it gets, so it neither leads nor waits.
    const collapsible = !ctx.directives.noStore && round < maxLookupRounds && !this.uncollapsible.has(key, this.now());
    if (!collapsible) return (await this.fetchUpstream(ctx, candidate)).reply;
    const pending = this.inFlight.waitFor(key);
    if (pending !== undefined) {
      this.counts.collapsed++;
      this.onEvent({ kind: 'collapse', key });
      return this.afterWait(ctx, candidate, await pending, round);
    }
    const settle = this.inFlight.lead(key);
    let fetched: Fetched;
    try {
      fetched = await this.fetchUpstream(ctx, candidate);
    } catch (error) {
      // A pass-through is not a failure: the waiters fetch for themselves.
      settle(error instanceof PassThroughSignal ? { kind: 'not-stored', serverError: false } : { kind: 'failed', error });
      throw error;
    }
    settle(fetched.outcome);
    return fetched.reply;
  }

  /** A waiter's answer once the fetch it waited for has ended (see collapse.ts). */
  private afterWait(ctx: Context, candidate: StoredResponse | undefined, outcome: FetchOutcome, round: number): Promise<Reply> | Reply {
    switch (outcome.kind) {
      case 'stored': {
        // Fetched after this request arrived, so it is as good as the waiter's own fetch —
        // even for no-cache or max-age=0 — if it fits the waiter.
        const e = outcome.entry;
        if (varyMatches(e.vary, ctx.headers) && (!ctx.authorized || e.allowsAuthorized)) return { kind: 'entry', entry: e, status: candidate === undefined ? 'miss' : 'revalidated' };
        return this.lookup(ctx, round + 1);
      }
      case 'failed':
        // Upstream is failing: answer as the leader did, without asking it again.
        return this.failedValidation(ctx, this.select(ctx), outcome.error);
      case 'not-stored': {
        const stored = this.select(ctx);
        if (outcome.serverError && stored !== undefined && staleIfErrorAllows(stored, ctx.directives, this.now())) return this.staleOnError(stored);
        return this.lookup(ctx, round + 1);
      }
      default:
        return outcome satisfies never;
    }
  }

  private revalidateInBackground(ctx: Context, entry: StoredResponse): void {
    const key = ctx.key.key;
    if (this.inFlight.waitFor(key) !== undefined) return; // one background fetch per key
    this.onEvent({ kind: 'background-revalidate', key });
    // The cache's own request: the client's cache directives do not apply to it.
    const headers = without(ctx.upstreamHeaders, ['cache-control', 'pragma']);
    const bg: Context = { ...ctx, head: false, headers: without(ctx.headers, ['cache-control', 'pragma']), directives: requestDirectives({}), upstreamHeaders: headers };
    const settle = this.inFlight.lead(key);
    void this.fetchUpstream(bg, entry).then(
      (f) => {
        const failed = f.outcome.kind === 'failed' || (f.outcome.kind === 'not-stored' && f.outcome.serverError);
        if (f.outcome.kind !== 'stored') this.onEvent({ kind: failed ? 'background-revalidate-failed' : 'background-revalidate-not-stored', key });
        settle(f.outcome);
      },
      (error: unknown) => {
        if (error instanceof PassThroughSignal) {
          error.abandon(); // nobody reads a background fetch's body
          this.onEvent({ kind: 'background-revalidate-not-stored', key });
          settle({ kind: 'not-stored', serverError: false });
          return;
        }
        this.onEvent({ kind: 'background-revalidate-failed', key });
        settle({ kind: 'failed', error });
      },
    );
  }

  /**
   * One upstream exchange: a conditional request when there is a stored response with a
   * validator (§4.3.1), else a plain one. HEAD is fetched as GET so the answer can fill the
   * cache (Varnish does the same). Never throws for upstream failures: they become replies.
   */
  private async fetchUpstream(ctx: Context, candidate: StoredResponse | undefined): Promise<Fetched> {
    const ticket: FetchTicket = { key: ctx.key.key, doomed: false };
    this.fetches.add(ticket);
    try {
      const conditional = candidate !== undefined && hasValidator(candidate.headers);
      const headers = conditional ? conditionalHeaders(ctx.upstreamHeaders, candidate.headers) : ctx.upstreamHeaders;
      const requestTimeMs = this.now();
      let raw: UpstreamResponse;
      try {
        raw = await ctx.upstream({ method: 'GET', path: ctx.req.path, host: ctx.req.host, headers });
      } catch (error) {
        if (error instanceof PassThroughSignal) throw error;
        return { reply: this.failedValidation(ctx, candidate, error), outcome: { kind: 'failed', error } };
      }
      const responseTimeMs = this.now();
      const res = withDate({ ...raw, headers: lowerCaseHeaders(raw.headers) }, responseTimeMs);
      const age = ageBasis(res.headers, raw.requestTimeMs ?? requestTimeMs, responseTimeMs);

      if (serverErrors.has(res.status)) {
        this.markUncollapsible(ctx, ticket, responseTimeMs);
        const outcome: FetchOutcome = { kind: 'not-stored', serverError: true };
        if (candidate !== undefined && staleIfErrorAllows(candidate, ctx.directives, responseTimeMs)) return { reply: this.staleOnError(candidate), outcome };
        // The stored response stays: a 5xx says nothing about it (§4.3.3).
        return { reply: { kind: 'direct', response: res, status: 'miss', ageSec: null, receivedMs: responseTimeMs }, outcome };
      }

      if (res.status === 304 && conditional) {
        if (!notModifiedSelects(candidate.headers, res.headers)) {
          // §4.3.4: a 304 that selects nothing must not update anything; ask again, plainly.
          this.onEvent({ kind: 'revalidate-mismatch', key: ticket.key });
          return await this.fetchUpstream(ctx, undefined);
        }
        // §4.3.4 / §3.2: the stored response, with the 304's fields, validated now.
        const merged = mergeNotModified(candidate.headers, res.headers);
        this.onEvent({ kind: 'revalidate', key: ticket.key });
        // A request with no-store may not update the store (§5.2.1.5); the stored response
        // stays as it was — the 304 says its content is still right.
        const stored = ctx.directives.noStore ? undefined : this.tryStore(ctx, ticket, candidate.status, merged, candidate.body, age, [candidate], raw.mayStore);
        if (stored !== undefined) return { reply: { kind: 'entry', entry: stored, status: 'revalidated' }, outcome: { kind: 'stored', entry: stored } };
        // Otherwise the merged response may no longer be stored (a 304 can bring no-store).
        if (!ctx.directives.noStore) this.store.remove(candidate);
        const ageSec = ageFieldSec(currentAgeSec(age, responseTimeMs));
        return {
          reply: { kind: 'direct', response: { status: candidate.status, headers: { ...merged, age: String(ageSec) }, body: candidate.body }, status: 'revalidated', ageSec, receivedMs: responseTimeMs },
          outcome: { kind: 'not-stored', serverError: false },
        };
      }

      // A full response: it replaces the stored one (§4.3.3), if it may be stored at all.
      const stored = res.status === 304 ? undefined : this.tryStore(ctx, ticket, res.status, res.headers, res.body, age, candidate === undefined ? [] : [candidate], raw.mayStore);
      if (stored === undefined) {
        // The stored response is known to be out of date now, whether or not this one is kept.
        if (candidate !== undefined) this.store.remove(candidate);
        this.markUncollapsible(ctx, ticket, responseTimeMs);
      }
      // The requester gets the response as upstream sent it (its Set-Cookie included).
      return {
        reply: { kind: 'direct', response: res, status: 'miss', ageSec: null, receivedMs: responseTimeMs },
        outcome: stored === undefined ? { kind: 'not-stored', serverError: false } : { kind: 'stored', entry: stored },
      };
    } finally {
      this.fetches.delete(ticket);
    }
  }

  /**
   * After a response that could not be stored, stop collapsing requests for the key for a
   * while — unless the reason was this request's own (no-store, Authorization) or a purge.
   */
  private markUncollapsible(ctx: Context, ticket: FetchTicket, nowMs: number): void {
    if (ticket.doomed || ctx.directives.noStore || ctx.authorized) return;
    this.uncollapsible.mark(ticket.key, nowMs);
  }

  /** Stores a response if it may be (§3), replacing the variants it supersedes. */
  private tryStore(ctx: Context, ticket: FetchTicket, status: number, headers: HeaderMap, body: Buffer, age: AgeBasis, replaces: readonly StoredResponse[], mayStore: boolean | undefined): StoredResponse | undefined {
    const key = ticket.key;
    // Doomed by a purge while in flight, or refused by the caller (data residency).
    if (ticket.doomed || mayStore === false) {
      this.onEvent({ kind: 'not-stored', key });
      return undefined;
    }
    const v = buildEntry({ key: ctx.key, requestHeaders: ctx.headers, status, headers, body, age, rules: this.rules, maxObjectBytes: this.maxObjectBytes, seq: ++this.seq });
    if (!v.ok) {
      this.onEvent({ kind: v.why, key });
      return undefined;
    }
    // Variants this request would have selected are superseded by the new response.
    const superseded = new Set([...replaces, ...this.store.variants(key).filter((e) => varyMatches(e.vary, ctx.headers))]);
    this.store.put(v.entry, [...superseded]);
    this.uncollapsible.clear(key);
    this.onEvent({ kind: 'store', key });
    return v.entry;
  }

  /** Validation failed: stale-if-error if allowed, else 504 when something was stored (§5.2.2.2), else the error. */
  private failedValidation(ctx: Context, candidate: StoredResponse | undefined, error: unknown): Reply {
    if (candidate === undefined) return { kind: 'error', error };
    if (staleIfErrorAllows(candidate, ctx.directives, this.now())) return this.staleOnError(candidate);
    const why = originForbidsStale(candidate.directives) ? 'the stored response must be revalidated and upstream failed' : 'the stored response is stale and upstream failed';
    return this.generated(gatewayTimeout(why, this.now()));
  }

  private staleOnError(entry: StoredResponse): Reply {
    this.onEvent({ kind: 'stale-if-error', key: entry.key });
    return { kind: 'entry', entry, status: isFresh(entry, this.now()) ? 'hit' : 'stale' };
  }

  private generated(response: UpstreamResponse): Reply {
    return { kind: 'direct', response, status: 'miss', ageSec: null, receivedMs: this.now() };
  }

  /** HEAD, Age and the client's own conditionals (§4.3.2), then counted. */
  private finish(ctx: Context, reply: Reply): CacheResult {
    if (reply.kind === 'error') throw reply.error;
    let result: CacheResult;
    let receivedMs: number;
    if (reply.kind === 'entry') {
      const e = reply.entry;
      this.store.touch(e);
      const ageSec = ageFieldSec(currentAgeSec(e.age, this.now()));
      result = { response: fromStore(e.status, e.headers, e.body, ageSec, ctx.head), status: reply.status, ageSec };
      receivedMs = e.age.responseTimeMs;
    } else {
      result = { response: forMethod(reply.response, ctx.head), status: reply.status, ageSec: reply.ageSec };
      receivedMs = reply.receivedMs;
    }
    if (clientNotModified(ctx.headers, result.response.status, result.response.headers, receivedMs)) {
      result = { ...result, response: notModified(result.response) };
    }
    this.count(result.status);
    return result;
  }

  private count(status: CacheStatus): void {
    this.counts[counterOf[status]]++;
  }

  // --- invalidation -----------------------------------------------------------------

  /**
   * §4.4: an unsafe method's non-error response (2xx, 3xx) invalidates the target URI and
   * the same-origin Location and Content-Location URIs — every Vary variant of each. The
   * request is never answered from the cache.
   */
  private async unsafe(req: CacheRequest, key: CacheKeyParts, upstream: Upstream): Promise<CacheResult> {
    const response = await upstream(req);
    this.invalidate(key, response);
    this.counts.bypass++;
    return { response, status: 'bypass', ageSec: null };
  }

  private invalidate(key: CacheKeyParts, response: UpstreamResponse): void {
    for (const k of invalidatedKeys(key, response)) {
      this.doom((t) => t.key === k);
      if (this.store.removeKey(k) > 0) this.onEvent({ kind: 'invalidate', key: k });
    }
  }

  private doom(which: (t: FetchTicket) => boolean): void {
    for (const t of this.fetches) if (which(t)) t.doomed = true;
  }
}

/** RFC 9110 §6.6.1: a cache records a response without Date as dated when it arrived. */
function withDate(r: UpstreamResponse, receivedMs: number): UpstreamResponse {
  if (r.headers.date !== undefined) return r;
  return { ...r, headers: { ...r.headers, date: new Date(receivedMs).toUTCString() } };
}
