// The data API's paths, parsed. PURE.
//   GET    /data/v1/tables/{table}/rows?prefix=&limit=&cursor=
//   GET    /data/v1/tables/{table}/rows/{key}?consistency=&max_staleness_ms=&home=
//   PUT    /data/v1/tables/{table}/rows/{key}
//   DELETE /data/v1/tables/{table}/rows/{key}
//   POST   /data/v1/tables/{table}/rows/{key}/increment

import type { Consistency } from './placement.js';

export const dataPrefix = '/data/v1/';

export type DataRequest =
  | { readonly op: 'get'; readonly table: string; readonly key: string; readonly consistency: Consistency; readonly home: string | null }
  | { readonly op: 'put' | 'delete'; readonly table: string; readonly key: string }
  | { readonly op: 'increment'; readonly table: string; readonly key: string }
  | { readonly op: 'list'; readonly table: string; readonly prefix: string; readonly limit: number; readonly after: string };

export const maxKeyLength = 512;
export const maxListLimit = 1000;

/** A parsed request, or a reason it is not one (400; 405 for a known path). */
export function parseDataRequest(method: string, url: string): DataRequest | { readonly status: 400 | 404 | 405; readonly reason: string } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const m = /^\/data\/v1\/tables\/([a-z_][a-z0-9_]*)\/rows(?:\/([^/]+)(\/increment)?)?$/.exec(path);
  if (m === null) return { status: 404, reason: `no data endpoint ${path}; expected /data/v1/tables/{table}/rows[/{key}[/increment]]` };
  const table = m[1] as string;
  if (m[2] === undefined) {
    if (method !== 'GET') return { status: 405, reason: `${method} is not allowed on a table's rows; expected GET (list)` };
    const limit = params.has('limit') ? Number(params.get('limit')) : 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > maxListLimit) return { status: 400, reason: `limit must be an integer from 1 to ${maxListLimit}` };
    const cursor = params.get('cursor') ?? '';
    const after = cursor === '' ? '' : Buffer.from(cursor, 'base64url').toString('utf8');
    return { op: 'list', table, prefix: params.get('prefix') ?? '', limit, after };
  }
  let key: string;
  try {
    key = decodeURIComponent(m[2]);
  } catch {
    return { status: 400, reason: 'the key is not valid percent-encoding' };
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (key.length === 0 || key.length > maxKeyLength || /[\u0000-\u001f\u007f]/.test(key)) return { status: 400, reason: `a key is 1 to ${maxKeyLength} characters without control characters` };
  if (m[3] !== undefined) return method === 'POST' ? { op: 'increment', table, key } : { status: 405, reason: `${method} is not allowed on increment; expected POST` };
  if (method === 'PUT') return { op: 'put', table, key };
  if (method === 'DELETE') return { op: 'delete', table, key };
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, reason: `${method} is not allowed on a row; expected GET, PUT or DELETE` };
  const c = params.get('consistency') ?? (params.has('max_staleness_ms') ? 'max_staleness' : 'local');
  let consistency: Consistency;
  if (c === 'local') consistency = { kind: 'local' };
  else if (c === 'strong') consistency = { kind: 'strong' };
  else if (c === 'max_staleness') {
    const ms = Number(params.get('max_staleness_ms'));
    if (!params.has('max_staleness_ms') || !Number.isFinite(ms) || ms < 0) return { status: 400, reason: 'max_staleness_ms must be a number of milliseconds ≥ 0' };
    consistency = { kind: 'max_staleness', ms };
  } else return { status: 400, reason: `consistency must be local, strong or max_staleness, not ${JSON.stringify(c)}` };
  return { op: 'get', table, key, consistency, home: params.get('home') };
}

export function cursorAfter(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}
