// What a simulated user asks of the example application: mostly reads, some writes to
// its own rows, counter increments — one request of each table kind the topology
// declares (examples/world.yaml), so the world exercises placement, forwarding and
// replication the way a shop's traffic would. PURE: the user, its home and a random
// source in, the request out.

import type { RegionId } from '../lib/index.js';

export interface UserRequest {
  /** What the request does, for the report: `page`, `read catalog`, `write carts`, `increment views`, ... */
  readonly op: string;
  readonly method: 'GET' | 'PUT' | 'POST';
  readonly path: string;
  /** JSON, for PUT and POST. */
  readonly body?: string;
}

export interface RequestingUser {
  readonly id: number;
  readonly city: string;
  readonly country: string;
}

/** Catalog items and pages the users share: few, so that reads of them overlap. */
export const catalogSkus = 20;
export const viewedPages = 10;

/**
 * The request mix, cumulative weights out of 100: 79% reads (a quarter of them the plain
 * page the world always asked for), 11% counter increments, 10% writes. Writes go to the
 * user's own rows (`u<id>`, `c<id>`), with its home region — the region nearest it —
 * as the account's home and the cart's `region` field.
 */
const mix: readonly [number, (u: RequestingUser, home: RegionId, r: () => number) => UserRequest][] = [
  [25, () => ({ op: 'page', method: 'GET', path: '/api/hello' })],
  [50, (_u, _h, r) => ({ op: 'read catalog', method: 'GET', path: `/api/catalog/sku-${1 + Math.floor(r() * catalogSkus)}` })],
  [62, (u) => ({ op: 'read prefs', method: 'GET', path: `/api/prefs/u${u.id}` })],
  [70, (u, h) => ({ op: 'read accounts', method: 'GET', path: `/api/accounts/u${u.id}?home=${h}` })],
  [75, (u, h) => ({ op: 'read carts', method: 'GET', path: `/api/carts/c${u.id}?home=${h}` })],
  [79, (_u, _h, r) => ({ op: 'read views', method: 'GET', path: `/api/views/page-${1 + Math.floor(r() * viewedPages)}` })],
  [90, (_u, _h, r) => ({ op: 'increment views', method: 'POST', path: `/api/views/page-${1 + Math.floor(r() * viewedPages)}`, body: '{"by":1}' })],
  [95, (u, _h, r) => ({ op: 'write prefs', method: 'PUT', path: `/api/prefs/u${u.id}`, body: JSON.stringify({ theme: r() < 0.5 ? 'dark' : 'light', lang: u.country.toLowerCase() }) })],
  [98, (u, h, r) => ({ op: 'write carts', method: 'PUT', path: `/api/carts/c${u.id}`, body: JSON.stringify({ region: h, items: Array.from({ length: 1 + Math.floor(r() * 3) }, () => `sku-${1 + Math.floor(r() * catalogSkus)}`) }) })],
  [100, (u, h) => ({ op: 'write accounts', method: 'PUT', path: `/api/accounts/u${u.id}?home=${h}`, body: JSON.stringify({ city: u.city, country: u.country }) })],
];

export function nextUserRequest(user: RequestingUser, home: RegionId, rand: () => number): UserRequest {
  const x = rand() * 100;
  const pick = mix.find(([upTo]) => x < upTo) ?? (mix[mix.length - 1] as (typeof mix)[number]);
  return pick[1](user, home, rand);
}

/** The catalog the world writes before users arrive (catalog is written at the primary). */
export function catalogItems(): { sku: string; value: { title: string; priceCents: number } }[] {
  return Array.from({ length: catalogSkus }, (_, i) => ({ sku: `sku-${i + 1}`, value: { title: `item ${i + 1}`, priceCents: 500 + 250 * i } }));
}
