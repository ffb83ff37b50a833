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
