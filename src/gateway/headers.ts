// Header handling at the edge: hop-by-hop headers stop here (RFC 9110 §7.6.1), and the
// forwarding headers say who the client was.

import type { IncomingHttpHeaders } from 'node:http';

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** Copies end-to-end headers only: hop-by-hop ones and those the Connection header names are dropped. */
export function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== ''),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    if (v === undefined || hopByHop.has(key) || named.has(key)) continue;
    out[key] = v;
  }
  return out;
}

/** Names the Connection field lists, lower case; null when there is none (most requests). */
function connectionNamed(connection: string | string[] | undefined): Set<string> | null {
  if (connection === undefined) return null;
  // What nearly every upstream sends: names nothing beyond the hop-by-hop fields dropped anyway.
  if (typeof connection === 'string') {
    const v = connection.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return null;
  }
  const named = new Set<string>();
  for (const s of String(connection).split(',')) {
    const name = s.trim().toLowerCase();
    if (name !== '') named.add(name);
  }
  return named;
}

/**
 * What the gateway sends on, in one pass over the client's fields (node's: lower-case
 * names): end-to-end fields only, without `drop` (the mesh's own), with the forwarding
 * fields added — the same as withForwarding(endToEnd(h)) less `drop`, without the copies.
 */
export function forwardHeaders(h: IncomingHttpHeaders, clientIp: string, host: string | undefined, drop: ReadonlySet<string>): Record<string, string | string[]> {
  const named = connectionNamed(h.connection);
  const out: Record<string, string | string[]> = {};
  for (const key in h) {
    const v = h[key];
    if (v === undefined || hopByHop.has(key) || drop.has(key) || (named !== null && named.has(key))) continue;
    out[key] = v;
  }
  const prior = out['x-forwarded-for'];
  out['x-forwarded-for'] = prior === undefined ? clientIp : `${String(prior)}, ${clientIp}`;
  out['x-forwarded-proto'] = 'http';
  if (host !== undefined) out['x-forwarded-host'] = host;
  const node = clientIp.includes(':') ? `"[${clientIp}]"` : clientIp;
  const fwd = host !== undefined ? `for=${node};proto=http;host="${host}"` : `for=${node};proto=http`;
  const forwarded = out.forwarded;
  out.forwarded = forwarded === undefined ? fwd : `${String(forwarded)}, ${fwd}`;
  return out;
}

/** Fields the gateway writes itself; another region's gateway wrote them for its own reply. */
const gatewayWritten = new Set(['server-timing', 'x-meridian-region', 'x-meridian-route', 'x-meridian-cache']);

/**
 * A reply's fields as the client gets them, as writeHead's flat list [name, value, ...]:
 * end-to-end ones only, without those the gateway writes itself (server-timing,
 * x-meridian-region/-route/-cache: the caller appends its own). A list, as the hit path
 * writes (hit.ts): node's header writing then sees one shape for every response.
 */
export function replyFields(h: Readonly<Record<string, string | string[] | undefined>>): (string | string[])[] {
  const named = connectionNamed(h.connection);
  const out: (string | string[])[] = [];
  for (const key in h) {
    const v = h[key];
    if (v === undefined || gatewayWritten.has(key) || hopByHop.has(key) || (named !== null && named.has(key))) continue;
    out.push(key, v);
  }
  return out;
}

/** Adds X-Forwarded-For / -Proto / -Host and Forwarded (RFC 7239) for the client. */
export function withForwarding(h: Record<string, string | string[]>, clientIp: string, host: string | undefined): Record<string, string | string[]> {
  const prior = h['x-forwarded-for'];
  const node = clientIp.includes(':') ? `"[${clientIp}]"` : clientIp;
  const fwd = `for=${node};proto=http${host !== undefined ? `;host="${host}"` : ''}`;
  return {
    ...h,
    'x-forwarded-for': prior === undefined ? clientIp : `${String(prior)}, ${clientIp}`,
    'x-forwarded-proto': 'http',
    ...(host !== undefined && { 'x-forwarded-host': host }),
    forwarded: h.forwarded === undefined ? fwd : `${String(h.forwarded)}, ${fwd}`,
  };
}
