// The purge API (mesh/admin): POST /cache/purge with {"url": ...} or {"key": ...} or
// {"all": true}. The receiving region purges its own cache and carries the purge to every
// other region over the mesh; a carried purge is not carried again.

import type { HttpCache } from '../cache/index.js';
import type { RegionId } from '../lib/index.js';
import type { MeshClient } from '../mesh/index.js';

export const purgeFanoutHeader = 'x-meridian-purge-from';

export type PurgeRequest = { url: string } | { key: string } | { all: true };

export function parsePurge(body: unknown): PurgeRequest | string {
  if (body === null || typeof body !== 'object') return 'expected a JSON object: {"url": "..."}, {"key": "..."} or {"all": true}';
  const b = body as Record<string, unknown>;
  const given = ['url', 'key', 'all'].filter((k) => b[k] !== undefined);
  if (given.length !== 1) return 'give exactly one of url, key, all';
  if (typeof b.url === 'string') {
    try {
      const u = new URL(b.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'url must be http(s)';
    } catch {
      return 'url must be absolute, like http://www.shop.example.test/static/app.css';
    }
    return { url: b.url };
  }
  if (typeof b.key === 'string' && b.key.trim() !== '' && !/\s/.test(b.key.trim())) return { key: b.key.trim() };
  if (b.all === true) return { all: true };
  return 'url must be a string, key a single surrogate key, all true';
}

export function purgeLocal(cache: HttpCache, p: PurgeRequest): number {
  if ('url' in p) {
    const u = new URL(p.url);
    return cache.purgeUrl(u.host, `${u.pathname}${u.search}`);
  }
  if ('key' in p) return cache.purgeKey(p.key);
  return cache.purgeAll();
}

export async function purgeEverywhere(
  self: RegionId,
  peers: readonly RegionId[],
  mesh: MeshClient,
  cache: HttpCache,
  p: PurgeRequest,
): Promise<{ region: RegionId; removed: number; peers: Record<string, { removed: number } | { error: string }> }> {
  const removed = purgeLocal(cache, p);
  const results = await Promise.all(
    peers.map(async (peer): Promise<[string, { removed: number } | { error: string }]> => {
      try {
        const res = await mesh.request(peer, {
          method: 'POST',
          path: '/cache/purge',
          headers: { 'content-type': 'application/json', [purgeFanoutHeader]: self },
          body: JSON.stringify(p),
          timeoutMs: 3000,
        });
        const out = (await res.body.json()) as { removed?: number; reason?: string };
        return [peer, res.statusCode === 200 ? { removed: out.removed ?? 0 } : { error: out.reason ?? `HTTP ${res.statusCode}` }];
      } catch (e) {
        return [peer, { error: (e as { code?: string }).code ?? (e as Error).message }];
      }
    }),
  );
  return { region: self, removed, peers: Object.fromEntries(results) };
}
